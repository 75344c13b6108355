//! Resolved threads move to Archived once untouched for the org's period
//! (`archive_resolved_after_days` of the messaging settings; 0: never), run by the `jobs`
//! schedule. Each resolved thread has a check on the schedule's due index, written with the
//! change that resolved it; when due, the thread is archived (a `status_changed` event by
//! `system`), looked at again a day later (its period is not over, or was lengthened), or
//! forgotten (no longer resolved); with the period set to never, looked at again a week
//! later. Each move of a check holds only if the check is still the one read, so a thread
//! resolved again meanwhile keeps its new check.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use domain::messaging::MessagingSettings;
use domain::{EventId, OrgId, ThreadStatus, UserId};
use store::{ArchiveCheck, DueThread, EventKind, EventRecord};

use crate::conversation::millis;
use crate::{App, WorkError};

const BATCH: i32 = 100;
const MAX_BATCHES: usize = 5;
/// How often a resolved thread of an org that never archives is looked at again, so that
/// a period set later applies to it too.
const NEVER_RECHECK_DAYS: i64 = 7;

/// Archives the resolved threads whose period is over at `now`; how many.
pub async fn run(app: &App, now: DateTime<Utc>) -> Result<usize, WorkError> {
    let mut settings: HashMap<OrgId, MessagingSettings> = HashMap::new();
    let mut archived = 0;
    // Batch after batch while they come full: every check looked at moves off `now`.
    for _ in 0..MAX_BATCHES {
        let due = app.store.archive_checks_due(now, BATCH).await?;
        let full = due.len() == usize::try_from(BATCH).unwrap_or_default();
        for check in due {
            if !settings.contains_key(&check.org) {
                settings.insert(check.org.clone(), app.store.get_messaging(&check.org).await?);
            }
            archived += usize::from(look_at(app, &check, &settings[&check.org], now).await?);
        }
        if !full {
            break;
        }
    }
    Ok(archived)
}

/// Archives one thread if its period is over, else moves or drops its check.
async fn look_at(
    app: &App,
    due: &DueThread,
    settings: &MessagingSettings,
    now: DateTime<Utc>,
) -> Result<bool, WorkError> {
    let next = |check| app.store.move_archive_check(due, check);
    let Some(view) = app.store.load_thread(&due.org, &due.thread_id).await? else {
        next(ArchiveCheck::Drop).await?;
        return Ok(false);
    };
    let thread = &view.thread;
    if thread.summary.status != ThreadStatus::Resolved {
        next(ArchiveCheck::Drop).await?;
        return Ok(false);
    }
    let Some(archive_at) = settings.archive_at(thread.summary.updated_at) else {
        // Never archived, for now: looked at again in a week, in case a period is set.
        next(ArchiveCheck::At(now + Duration::days(NEVER_RECHECK_DAYS))).await?;
        return Ok(false);
    };
    if archive_at > now {
        next(ArchiveCheck::At(archive_at.min(now + Duration::days(1)))).await?;
        return Ok(false);
    }
    let Ok(Some(change)) = thread.summary.status.change_to(ThreadStatus::Archived) else { return Ok(false) };
    let mut after = thread.clone();
    after.summary.status = change.to;
    after.summary.updated_at = now;
    after.version += 1;
    let event = EventRecord {
        id: EventId::new_at(millis(now)),
        thread_id: due.thread_id,
        event: EventKind::StatusChanged,
        actor_id: UserId::parse(crate::automation::AUTOMATION_ACTOR).expect("valid id"),
        subject_id: None,
        status: Some(change.to),
        priority: None,
        linked_record: None,
        at: now,
    };
    // Someone changed the thread meanwhile: the check stays due, the next run looks again.
    Ok(app.store.update_thread(&view, &after, &[event], ArchiveCheck::Drop).await?)
}
