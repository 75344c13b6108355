//! Hands a committed outbox event to its queue right away. If the queue cannot take it,
//! the event stays pending in the outbox and the repair job sends it later: the request
//! still succeeds, and nothing is lost.

use domain::events::OutboxEvent;

use crate::App;

pub async fn relay(app: &App, event: &OutboxEvent) {
    if let Err(e) = app.queues.send_routing(event).await {
        tracing::warn!(event_id = %event.id, error = ?e, "event left in the outbox for the repair job");
    }
}
