//! Scheduled archives (daily in spirit, every run in practice): contacts whose archive date
//! has come are archived, unless they still have unresolved conversations, in which case
//! the date moves a day and the reason is logged.

use chrono::{DateTime, Utc};
use domain::{AccountState, User, UserId};
use store::AuditEntry;

use crate::{App, WorkError};

const BATCH: i32 = 100;

pub async fn run_archives(app: &App, now: DateTime<Utc>) -> Result<usize, WorkError> {
    let system = UserId::parse("system").expect("valid id");
    let mut archived = 0;
    for before in app.store.archives_due(now, BATCH).await? {
        let outstanding = app.store.has_open_threads(&before.org, &before.id).await?;
        let (after, action) = if outstanding {
            tracing::warn!(user = %before.id, "scheduled archive postponed: unresolved conversations");
            (
                User { archive_at: Some(now + chrono::Duration::days(1)), ..before.clone() },
                "archive_postponed",
            )
        } else {
            (User { state: AccountState::Archived, archive_at: None, ..before.clone() }, "archived")
        };
        let after = User { rev: before.rev + 1, ..after };
        let entry = AuditEntry {
            action: action.into(),
            actor_id: system.clone(),
            subject_id: before.id.clone(),
            reason: None,
            at: now,
        };
        // As when an admin archives now: staff, admins and vendors stop signing in, first;
        // if the directory fails, the archive stays due for the next run.
        if let (false, false, Some(directory), Some(login)) =
            (outstanding, before.role.is_resident(), &app.directory, &before.login)
        {
            if let Err(e) = directory.set_enabled(login, false).await {
                tracing::warn!(user = %before.id, error = %e, "scheduled archive waits: sign-in not disabled");
                continue;
            }
        }
        app.store.write_contact(Some(&before), &after, Some(&entry)).await?;
        archived += usize::from(!outstanding);
    }
    Ok(archived)
}
