//! The events adapter: publishes each outbox event to the events topic (SNS), with its kind
//! as the `kind` message attribute; each consumer's SQS queue subscribes with a filter on
//! the kinds it handles (template.yaml). Publishing is at-least-once; every consumer is
//! idempotent on the event id. [`batch`] takes the SQS batches the consumers receive.

pub mod batch;
pub mod consumer;

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use domain::events::OutboxEvent;

#[derive(Debug, thiserror::Error)]
#[error("events topic unavailable")]
pub struct QueueError(#[source] Box<dyn std::error::Error + Send + Sync>);

/// The topic events are published to (`EVENTS_TOPIC_ARN`).
#[derive(Debug, Clone)]
pub struct Events {
    client: Client,
    topic_arn: String,
}

/// A queue that takes work to do later (SQS `DelaySeconds`: at most 15 minutes).
#[derive(Debug, Clone)]
pub struct Later {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl Later {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }

    /// Sends `message` (as JSON) to be received `delay` from now (rounded up to a second,
    /// at most 15 minutes).
    pub async fn send<T: serde::Serialize>(
        &self,
        message: &T,
        delay: std::time::Duration,
    ) -> Result<(), QueueError> {
        let body = serde_json::to_string(message).map_err(|e| QueueError(Box::new(e)))?;
        let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(i32::try_from(secs.min(900)).unwrap_or(900))
            .send()
            .await
            .map_err(|e| QueueError(Box::new(e)))?;
        Ok(())
    }
}

impl Events {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self { client, topic_arn: topic_arn.into() }
    }

    /// Publishes an event to every queue subscribed to its kind.
    pub async fn publish(&self, event: &OutboxEvent) -> Result<(), QueueError> {
        let body = serde_json::to_string(event).map_err(|e| QueueError(Box::new(e)))?;
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(event.kind.name())
            .build()
            .map_err(|e| QueueError(Box::new(e)))?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body)
            .message_attributes("kind", kind)
            .send()
            .await
            .map_err(|e| QueueError(Box::new(e)))?;
        Ok(())
    }
}
