//! Outbox repair (scheduled): publishes every event still pending after `min_age` (its
//! publish after the commit failed, or the function stopped before it), so an outage of
//! the events topic delays routing and notifications but loses nothing.

use std::time::Duration;

use crate::{App, WorkError};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RepairReport {
    pub resent: usize,
    pub failed: usize,
}

/// Events handled per run, per index shard.
const BATCH: i32 = 100;

pub async fn repair_outbox(app: &App, min_age: Duration) -> Result<RepairReport, WorkError> {
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(min_age).unwrap_or_default();
    let mut report = RepairReport::default();
    for event in app.store.pending_events(cutoff, BATCH).await? {
        match app.events.publish(&event).await {
            Ok(()) => {
                report.resent += 1;
                app.store.complete_event(&event).await?;
            }
            Err(e) => {
                tracing::warn!(event_id = %event.id, error = ?e, "events topic still unavailable; will retry");
                report.failed += 1;
            }
        }
    }
    if report != RepairReport::default() {
        tracing::info!(?report, "outbox repair");
    }
    Ok(report)
}
