//! SQS adapter: puts outbox events on the routing and notification queues. Sends are
//! at-least-once; every consumer is idempotent on the event id.

pub mod batch;

use aws_sdk_sqs::Client;
use domain::events::OutboxEvent;

#[derive(Debug, thiserror::Error)]
#[error("queue unavailable")]
pub struct QueueError(#[source] Box<dyn std::error::Error + Send + Sync>);

/// The queues a function sends to, by URL (from template.yaml's outputs or the local stack).
#[derive(Debug, Clone)]
pub struct Queues {
    client: Client,
    routing_url: String,
    notification_url: String,
}

impl Queues {
    pub fn new(client: Client, routing_url: impl Into<String>, notification_url: impl Into<String>) -> Self {
        Self { client, routing_url: routing_url.into(), notification_url: notification_url.into() }
    }

    /// Hands an event to the router.
    pub async fn send_routing(&self, event: &OutboxEvent) -> Result<(), QueueError> {
        self.send(&self.routing_url, event).await
    }

    /// Hands a new-message event to the notifier.
    pub async fn send_notification(&self, event: &OutboxEvent) -> Result<(), QueueError> {
        self.send(&self.notification_url, event).await
    }

    async fn send(&self, url: &str, event: &OutboxEvent) -> Result<(), QueueError> {
        let body = serde_json::to_string(event).map_err(|e| QueueError(Box::new(e)))?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| QueueError(Box::new(e)))?;
        Ok(())
    }
}
