//! Notifications. The notifier (consumer of `message_posted` and `thread_routed` events)
//! turns a new message into one pending notification per recipient (everyone in the thread but the
//! author; staff only for internal notes; for a resident's message also its category's
//! dispatchers of the thread's property), each a conditional write, so a redelivered event
//! adds nothing. Urgent ones it hands to the dispatcher at once, within a time budget that
//! keeps the batch well inside the function's timeout; the dispatcher (scheduled,
//! [`crate::dispatch`]) sends everything else.

use std::time::Duration;

use chrono::Utc;
use domain::category::{self, Category, ConsentMode};
use domain::events::{OutboxEvent, OutboxKind};
use domain::notify::PendingNotification;
use domain::{policy, MessageId, OrgId, Priority, Role, UserId};
use tokio::time::Instant;

use crate::dispatch::{self, Notifier};
use crate::WorkError;

/// Urgent notifications of one notifier invocation are sent within this time of its start
/// (the function's timeout is 10 s); what is not sent by then stays due for the dispatcher.
pub const URGENT_BUDGET: Duration = Duration::from_secs(4);

/// The deadline of the urgent sends of an invocation that starts now.
pub fn urgent_deadline() -> Instant {
    Instant::now() + URGENT_BUDGET
}

/// The thread's category (`None`: the built-in one), as last read (once a minute per org
/// and instance; a category newer than that read is read again).
async fn category_of(n: &Notifier, org: &OrgId, id: &str) -> Result<Option<Category>, WorkError> {
    if id == category::SERVICE {
        return Ok(None);
    }
    let read = async { n.store.get_categories(org).await.map(|(all, _)| all) };
    let found = n.categories.get(org, read).await?.into_iter().find(|c| c.id == id);
    match found {
        Some(category) => Ok(Some(category)),
        None => Ok(n.store.get_categories(org).await?.0.into_iter().find(|c| c.id == id)),
    }
}

/// Handles one notification-queue event: records the pending notifications, then sends
/// the urgent ones by `deadline` (see [`URGENT_BUDGET`]).
pub async fn handle(n: &Notifier, event: OutboxEvent, deadline: Instant) -> Result<(), WorkError> {
    let (message_id, notice) = match event.kind {
        OutboxKind::Escalated { level, escalation, message_id, ref paged } => {
            let page = Page { level, escalation, message_id, paged };
            return page_staff(n, &event, page, deadline).await;
        }
        OutboxKind::MessagePosted { message_id, ref notice, .. } => (message_id, notice.clone()),
        OutboxKind::ThreadRouted { first_message_id, ref notice } => (first_message_id, notice.clone()),
        // Not subscribed to: the thread's recipients are known once it is routed.
        OutboxKind::ThreadCreated { .. }
        | OutboxKind::ParticipantsChanged { .. }
        | OutboxKind::ThreadChanged { .. } => return Ok(()),
    };
    let view = n
        .store
        .load_thread(&event.org, &event.thread_id)
        .await?
        .ok_or(WorkError::MissingThread(event.thread_id))?;
    // Events carry what a notification shows; those written before they did are read.
    let msg = match notice {
        Some(notice) => notice,
        None => n
            .store
            .get_message(&event.org, &event.thread_id, &message_id)
            .await?
            .ok_or(WorkError::MissingMessage(message_id))?
            .notice(),
    };
    let urgent = view.thread.summary.priority == Priority::Urgent;
    let now = Utc::now();
    let due =
        if urgent { now } else { now + chrono::Duration::from_std(n.digest_window).unwrap_or_default() };
    let pending = PendingNotification {
        message_id,
        thread_id: event.thread_id,
        subject: view.thread.summary.subject.as_str().to_owned(),
        author_name: msg.author_name.clone(),
        preview: msg.preview.clone(),
        urgent,
        at: msg.at,
        consent_category: None,
        page: false,
    };
    let category = category_of(n, &event.org, &view.thread.summary.category_id).await?;
    let consent = category.as_ref().filter(|c| c.consent != ConsentMode::Transactional);
    let mut recipients = Vec::new();
    for p in &view.participants {
        // Never the author; internal notes only to staff; what the system answers a
        // resident only to residents.
        if p.user_id == msg.author_id
            || (msg.internal && !p.role.is_staff())
            || (msg.automated && p.role.is_staff())
        {
            continue;
        }
        let mut pending = pending.clone();
        if let Some(category) = consent.filter(|_| p.role == Role::Resident) {
            // A conversation staff started reaches a resident only while they consent; one
            // the resident started is their own request, answered whatever they decided.
            if view.thread.created_by != p.user_id {
                let (consents, _) = n.store.get_consents(&event.org, &p.user_id).await?;
                if !consents.allows(category) {
                    continue;
                }
            }
            pending.consent_category = Some(category.id.clone());
        }
        n.store.enqueue_notification(&event.org, &p.user_id, &pending, due).await?;
        recipients.push(p.user_id.clone());
    }
    // A resident's message alerts the category's dispatchers of the thread's property.
    let summary = &view.thread.summary;
    if let Some(category) =
        category.as_ref().filter(|_| msg.author_id == summary.resident.id && !msg.internal)
    {
        let outside: Vec<UserId> =
            category.dispatchers.iter().filter(|d| view.participant(d).is_none()).cloned().collect();
        if !outside.is_empty() {
            let property = summary.resident.property_id.as_deref();
            for dispatcher in n.store.get_users(&event.org, &outside).await? {
                if policy::works_for(&dispatcher, property) && policy::ensure_can_act(&dispatcher).is_ok() {
                    n.store.enqueue_notification(&event.org, &dispatcher.id, &pending, due).await?;
                    recipients.push(dispatcher.id);
                }
            }
        }
    }
    if !urgent {
        return Ok(());
    }
    // Urgent ones go out now, not at the next scheduled dispatch, but never past the
    // budget: a recipient not reached by then is the dispatcher's (the bucket stays due).
    for user in &recipients {
        if Instant::now() >= deadline {
            break;
        }
        if let Some(bucket) = n.store.bucket_of(&event.org, user).await?.filter(|b| b.due <= now) {
            if let Err(e) = dispatch::bucket_now(n, &bucket, now, deadline).await {
                tracing::warn!(user = %user, error = ?e, "urgent dispatch failed; the dispatcher retries");
            }
        }
    }
    Ok(())
}

/// An escalation to page staff about.
struct Page<'a> {
    level: u32,
    escalation: domain::triage::Escalation,
    message_id: MessageId,
    paged: &'a [UserId],
}

/// Pages each staff member of an escalation at once on every channel they have, quiet hours
/// or not (a page per escalation event: a redelivery adds nothing).
async fn page_staff(
    n: &Notifier,
    event: &OutboxEvent,
    page: Page<'_>,
    deadline: Instant,
) -> Result<(), WorkError> {
    let view = n
        .store
        .load_thread(&event.org, &event.thread_id)
        .await?
        .ok_or(WorkError::MissingThread(event.thread_id))?;
    let Some(msg) = n.store.get_message(&event.org, &event.thread_id, &page.message_id).await? else {
        return Err(WorkError::MissingMessage(page.message_id));
    };
    let summary = &view.thread.summary;
    let again = if page.level > 1 {
        format!(" — not acknowledged, escalation {}", page.level)
    } else {
        String::new()
    };
    let unit = summary.resident.unit.as_deref().map(|u| format!(", unit {u}")).unwrap_or_default();
    let pending = PendingNotification {
        // One page per escalation event, whatever its level.
        message_id: MessageId::parse(&event.id.to_string()).unwrap_or(page.message_id),
        thread_id: event.thread_id,
        subject: summary.subject.as_str().to_owned(),
        author_name: format!("{} ({}{unit})", page.escalation.as_str().to_uppercase(), summary.resident.name),
        preview: format!("{}{again}", msg.body.preview()),
        urgent: true,
        at: event.at,
        consent_category: None,
        page: true,
    };
    let now = Utc::now();
    for user in page.paged {
        n.store.enqueue_notification(&event.org, user, &pending, now).await?;
    }
    for user in page.paged {
        if Instant::now() >= deadline {
            break;
        }
        if let Some(bucket) = n.store.bucket_of(&event.org, user).await?.filter(|b| b.due <= now) {
            if let Err(e) = dispatch::bucket_now(n, &bucket, now, deadline).await {
                tracing::warn!(user = %user, error = ?e, "page failed; the dispatcher retries");
            }
        }
    }
    Ok(())
}
