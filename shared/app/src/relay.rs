//! Publishes a committed outbox event right away and marks it done. If the topic cannot
//! take it, the event stays pending in the outbox and the repair job publishes it later:
//! the request still succeeds, and nothing is lost.

use domain::events::OutboxEvent;

use crate::App;

pub async fn relay(app: &App, event: &OutboxEvent) {
    if let Err(e) = app.events.publish(event).await {
        tracing::warn!(event_id = %event.id, error = ?e, "event left in the outbox for the repair job");
        return;
    }
    // Not marked: the repair job publishes it again, and every consumer is idempotent.
    if let Err(e) = app.store.complete_event(event).await {
        tracing::warn!(event_id = %event.id, error = %e, "published event not marked done");
    }
}
