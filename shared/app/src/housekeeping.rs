//! The `jobs` schedule's run: emergencies escalated again, scheduled sends, outbox repair, attachment retention,
//! scheduled contact archives, archiving resolved threads and sealing audit chains. Each task runs whatever the others did: one failing (an S3 outage, say) must
//! not keep the outbox from being repaired.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::repair::RepairReport;
use crate::retention::RetentionReport;
use crate::scheduled::SendReport;
use crate::{App, WorkError};

/// What each task of one run did, or why it failed.
#[derive(Debug)]
pub struct Run {
    pub escalated: Result<usize, WorkError>,
    pub scheduled: Result<SendReport, WorkError>,
    pub repair: Result<RepairReport, WorkError>,
    pub retention: Result<RetentionReport, WorkError>,
    pub archived: Result<usize, WorkError>,
    pub threads_archived: Result<usize, WorkError>,
    /// Audit chain heads signed into the Object Lock bucket.
    pub sealed: Result<usize, WorkError>,
}

pub async fn run(app: &App, repair_after: Duration, now: DateTime<Utc>) -> Run {
    Run {
        // First: an emergency nobody acknowledged, then what people wait for to the minute.
        escalated: crate::triage::escalate_overdue(app, now).await,
        scheduled: crate::scheduled::run_due(app, now).await,
        repair: crate::repair::repair_outbox(app, repair_after).await,
        retention: crate::retention::run(app, now).await,
        archived: crate::archives::run_archives(app, now).await,
        threads_archived: crate::resolved::run(app, now).await,
        sealed: crate::audit::checkpoint::run(app, now).await,
    }
}

impl Run {
    pub fn failed(&self) -> bool {
        self.escalated.is_err()
            || self.scheduled.is_err()
            || self.repair.is_err()
            || self.retention.is_err()
            || self.archived.is_err()
            || self.threads_archived.is_err()
            || self.sealed.is_err()
    }

    /// One line per task: its figures, or its error.
    pub fn report(&self) -> Value {
        fn outcome<T>(result: &Result<T, WorkError>, figures: impl Fn(&T) -> Value) -> Value {
            match result {
                Ok(done) => figures(done),
                Err(e) => json!({ "error": format!("{e:#}") }),
            }
        }
        json!({
            "escalated": outcome(&self.escalated, |n| json!(n)),
            "scheduled": outcome(&self.scheduled, |r| json!({"sent": r.sent, "dropped": r.dropped})),
            "repair": outcome(&self.repair, |r| json!({"resent": r.resent, "failed": r.failed})),
            "retention": outcome(&self.retention, |r| json!({"attachments_archived": r.archived, "uploads_expired": r.expired})),
            "contacts_archived": outcome(&self.archived, |n| json!(n)),
            "threads_archived": outcome(&self.threads_archived, |n| json!(n)),
            "audit_heads_sealed": outcome(&self.sealed, |n| json!(n)),
        })
    }
}
