//! The events adapter: publishes each outbox event to the events topic (SNS), with its kind
//! as the `kind` message attribute; each consumer's SQS queue subscribes with a filter on
//! the kinds it handles (template.yaml). Publishing is at-least-once; every consumer is
//! idempotent on the event id. [`batch`] takes the SQS batches the consumers receive.

pub mod batch;

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
