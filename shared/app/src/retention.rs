//! Attachment retention (scheduled): files attached longer than the org's retention window
//! are tagged for the bucket's archival lifecycle rule and marked archived (metadata stays,
//! downloads stop); uploads never attached are deleted after a day.

use chrono::{DateTime, Utc};

use crate::{App, WorkError};

/// Uploads never attached are removed this long after their URL was issued.
pub const UNATTACHED_TTL: chrono::Duration = chrono::Duration::days(1);
const BATCH: i32 = 100;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub archived: usize,
    pub expired: usize,
}

pub async fn run(app: &App, now: DateTime<Utc>) -> Result<RetentionReport, WorkError> {
    let mut report = RetentionReport::default();
    for a in app.store.attachments_due(true, now, BATCH).await? {
        app.files.tag_archived(&a.object_key, a.version_id.as_deref()).await?;
        app.store.mark_archived(&a).await?;
        report.archived += 1;
    }
    for a in app.store.attachments_due(false, now - UNATTACHED_TTL, BATCH).await? {
        // The record goes first: a message cannot take an upload whose record is gone.
        if app.store.delete_pending_attachment(&a).await? {
            app.files.delete(&a.object_key).await?;
            report.expired += 1;
        }
    }
    if report != RetentionReport::default() {
        tracing::info!(?report, "attachment retention");
    }
    Ok(report)
}
