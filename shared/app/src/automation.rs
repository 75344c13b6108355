//! Automation on residents' messages (consumer of `thread_created` and `message_posted`):
//! the automatic reply outside business hours. One per thread per closed period, only to
//! the thread's resident, never for staff messages; it leaves the thread's status as it is
//! (still waiting for staff) and is no staff response. Idempotent: the thread records the
//! period it answered in the same transaction as the reply, so a redelivered event, or a
//! second message in the same period, adds nothing. The hours are read once a minute per
//! instance: a change applies within a minute.

use domain::events::{OutboxEvent, OutboxKind};
use domain::messaging::AutomatedKind;
use domain::response::{Answers, Posting};
use domain::{EventId, MessageId, Role, UserId};
use store::{MessageRecord, NewPost, PostOutcome, ThreadView};

use crate::conversation::{millis, now};
use crate::relay::relay;
use crate::{App, WorkError};

/// The orgs' business hours as last read, per function instance.
pub type HoursCache = crate::org_cache::OrgCache<domain::hours::BusinessHours>;

/// The author of automated messages, as timelines show it.
pub const AUTOMATION_ACTOR: &str = "system";
const AUTOMATION_NAME: &str = "Automatic reply";

/// An automated message in the thread of `view`, as the response clock sees it: it answers
/// no cycle, but the clock sees it (else the next staff reply would not know what it
/// answers).
pub(crate) fn automated_posting(view: &ThreadView, msg: &MessageRecord) -> Posting {
    Posting {
        id: msg.id,
        by_resident: false,
        role: Role::Staff,
        internal: false,
        automated: true,
        status: view.thread.summary.status,
    }
}

/// An automated message in the thread of `event`, by `name`, and the event announcing it.
pub(crate) fn automated_message(
    event: &OutboxEvent,
    name: &str,
    body: domain::MessageBody,
    kind: AutomatedKind,
    at: chrono::DateTime<chrono::Utc>,
) -> (MessageRecord, OutboxEvent) {
    let msg = MessageRecord {
        id: MessageId::new_at(millis(at)),
        thread_id: event.thread_id,
        author_id: UserId::parse(AUTOMATION_ACTOR).expect("valid id"),
        author_name: name.to_owned(),
        body,
        attachments: vec![],
        internal: false,
        created_at: at,
        automated: true,
        automated_kind: Some(kind),
    };
    let posted = OutboxEvent {
        id: EventId::new_at(millis(at)),
        org: event.org.clone(),
        thread_id: event.thread_id,
        at,
        kind: OutboxKind::MessagePosted {
            message_id: msg.id,
            author_id: msg.author_id.clone(),
            internal: false,
            reopened: false,
            author_role: None,
            notice: Some(msg.notice()),
            // Automation never answers.
            answers: Some(Answers::Nothing),
            author_state: None,
        },
    };
    (msg, posted)
}

pub async fn handle(app: &App, event: OutboxEvent) -> Result<(), WorkError> {
    let author = match &event.kind {
        OutboxKind::MessagePosted { author_id, internal: false, .. } => Some(author_id.clone()),
        // The thread's first message: its author is who created the thread.
        OutboxKind::ThreadCreated { .. } => None,
        _ => return Ok(()),
    };
    auto_reply(app, &event, author).await
}

async fn auto_reply(app: &App, event: &OutboxEvent, author: Option<UserId>) -> Result<(), WorkError> {
    let hours = app.hours.get(&event.org, app.store.get_business_hours(&event.org)).await?;
    if !hours.auto_reply.enabled {
        return Ok(());
    }
    let Some(period) = hours.closed_since(event.at) else { return Ok(()) };
    let view = app
        .store
        .load_thread(&event.org, &event.thread_id)
        .await?
        .ok_or(WorkError::MissingThread(event.thread_id))?;
    let author = author.unwrap_or_else(|| view.thread.created_by.clone());
    // Only the resident's own messages are answered (never staff's, nor one staff wrote
    // for them).
    if author != view.thread.summary.resident.id
        || view.thread.auto_replied_for.is_some_and(|done| done >= period)
    {
        return Ok(());
    }
    let at = now();
    let (msg, mut posted) =
        automated_message(event, AUTOMATION_NAME, hours.auto_reply.body, AutomatedKind::AutoReply, at);
    let post = NewPost {
        message: &msg,
        posting: automated_posting(&view, &msg),
        event: &mut posted,
        attachments: &[],
        idempotency: None,
        expected_last: None,
        auto_reply_for: Some(period),
    };
    match app.store.post_message(view, post).await? {
        PostOutcome::Posted => {
            relay(app, &posted).await;
            Ok(())
        }
        PostOutcome::NotNeeded => Ok(()),
        PostOutcome::Replayed(_) | PostOutcome::AttachmentTaken | PostOutcome::MovedOn => {
            Err(store::StoreError::Contention.into())
        }
    }
}
