//! Outbox repair (scheduled): re-sends every event still pending after `min_age`, so a
//! queue outage delays routing and notifications but loses nothing. An event relayed
//! [`store::MAX_RELAYS`] times without being processed is parked and logged: it is poison,
//! and its copies are in the dead-letter queue.

use std::time::Duration;

use crate::{App, WorkError};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RepairReport {
    pub resent: usize,
    pub parked: usize,
    pub failed: usize,
}

/// Events handled per run, per index shard.
const BATCH: i32 = 100;

pub async fn repair_outbox(app: &App, min_age: Duration) -> Result<RepairReport, WorkError> {
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(min_age).unwrap_or_default();
    let mut report = RepairReport::default();
    for event in app.store.pending_events(cutoff, BATCH).await? {
        match app.queues.send_routing(&event).await {
            Ok(()) => {
                report.resent += 1;
                // Only sends that went through count towards parking: an outage never
                // parks anything.
                if app.store.note_relay(&event).await? {
                    tracing::error!(event_id = %event.id, "event parked after repeated relays; see the dead-letter queue");
                    report.parked += 1;
                }
            }
            Err(e) => {
                tracing::warn!(event_id = %event.id, error = ?e, "queue still unavailable; will retry");
                report.failed += 1;
            }
        }
    }
    if report != RepairReport::default() {
        tracing::info!(?report, "outbox repair");
    }
    Ok(report)
}
