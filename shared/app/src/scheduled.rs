//! Scheduled sends: staff schedule a reply or a new conversation for `send_at`; the `jobs`
//! schedule posts it then through the same use cases as a live post (signature, status,
//! notifications), exactly once.
//!
//! Exactly once across crashes: the schedule first claims a due message (`sending`, which
//! also ends editing), then posts it with an Idempotency-Key of its own (`scheduled {id}`,
//! which no client can send: client keys have no spaces), then records it `sent`. A run that
//! dies after the post leaves it `sending` on the due index; the next run posts again, gets
//! the first post's answer back, and records that.

use chrono::{DateTime, Utc};
use domain::scheduled::{self, ScheduledStatus};
use domain::{policy, DomainError, ErrorCode, MessageBody, Role, ScheduledId, ThreadId, User};
use store::{Cursor, Page, ScheduledList, ScheduledPost, ScheduledRecord, Scheduling, StoreError};

use crate::conversation::{load_visible, millis, now};
use crate::messages::{self, Body, NewMessage};
use crate::threads::{self, NewThread};
use crate::{App, Error, Idempotency, WorkError};

/// Pending scheduled messages a staff member may have at once.
pub const MAX_PENDING: usize = 100;
/// Due messages read at once, and how many such batches one run takes (the rest wait for
/// the next run, a minute later).
const BATCH: i32 = 25;
const MAX_BATCHES: usize = 8;

/// A reply to schedule: the message as for a live post, and when.
pub struct ScheduledReply {
    pub message: NewMessage,
    pub send_at: DateTime<Utc>,
    pub cancel_on_reply: bool,
}

/// Schedules a message in a thread the actor may post to (staff only).
pub async fn reply(
    app: &App,
    actor: &User,
    thread_id: ThreadId,
    new: ScheduledReply,
    request: Idempotency,
) -> Result<ScheduledRecord, Error> {
    let view = load_visible(app, actor, &thread_id).await?;
    policy::ensure_staff(actor)?;
    policy::ensure_can_post(actor, new.message.internal)?;
    if !new.message.attachment_ids.is_empty() {
        let message = "a scheduled message carries no attachments: send them now, or link them in the text";
        return Err(DomainError::invalid(ErrorCode::InvalidRequest, message).into());
    }
    if new.message.expected_last.is_some() {
        let message = "expected_last_message_id guards a message sent now, not a scheduled one";
        return Err(DomainError::invalid(ErrorCode::InvalidRequest, message).into());
    }
    // A template is rendered now, so the author sees and may edit what will be sent; the
    // signature is added when it is sent, as for any post.
    let body = messages::unsigned(app, actor, &view, new.message.body).await?;
    let post =
        ScheduledPost::Reply { thread_id, internal: new.message.internal, seen_last: view.thread.last_id() };
    create(app, actor, post, body, (new.send_at, new.cancel_on_reply), request).await
}

/// Schedules a new conversation with a resident (staff only).
pub async fn thread(
    app: &App,
    actor: &User,
    new: NewThread,
    send_at: DateTime<Utc>,
    request: Idempotency,
) -> Result<ScheduledRecord, Error> {
    policy::ensure_staff(actor)?;
    let admitted = threads::admit(app, actor, &new).await?;
    let post = ScheduledPost::Thread {
        topic: admitted.topic,
        subject: new.subject,
        resident_id: admitted.resident.id,
        priority: new.priority,
        linked_record: new.linked_record,
        category_id: admitted.category_id,
    };
    create(app, actor, post, new.body, (send_at, false), request).await
}

/// Stores a scheduled message (`when`: its send time, and whether a resident's reply
/// cancels it); with an Idempotency-Key, a retry of the same request answers the message
/// the first one scheduled.
async fn create(
    app: &App,
    actor: &User,
    post: ScheduledPost,
    body: MessageBody,
    (send_at, cancel_on_reply): (DateTime<Utc>, bool),
    request: Idempotency,
) -> Result<ScheduledRecord, Error> {
    if app.store.count_scheduled(&actor.org, &actor.id).await? >= MAX_PENDING {
        let message = format!("at most {MAX_PENDING} messages may wait to be sent; cancel one first");
        return Err(DomainError::conflict(ErrorCode::TooManyScheduled, message).into());
    }
    let at = now();
    let record = ScheduledRecord {
        id: ScheduledId::new_at(millis(at)),
        org: actor.org.clone(),
        author_id: actor.id.clone(),
        status: ScheduledStatus::Scheduled,
        send_at,
        post,
        body,
        cancel_on_reply,
        sent_thread_id: None,
        message_id: None,
        reason: None,
        created_at: at,
        updated_at: at,
        rev: 1,
    };
    match app.store.put_scheduled(&record, request.record()).await? {
        Scheduling::Stored => Ok(record),
        Scheduling::Replayed(first) if request.is_replay_of(&first.request_hash) => {
            let first = app.store.get_scheduled(&actor.org, &first.scheduled_id).await?;
            // Cancelled since: nothing to answer with.
            Ok(first.ok_or(DomainError::NotFound("scheduled message"))?)
        }
        Scheduling::Replayed(_) => Err(Error::key_reused()),
    }
}

/// The pending scheduled messages the actor may see, soonest first: an admin's are the
/// org's, anyone else's their own.
pub async fn list(
    app: &App,
    actor: &User,
    cursor: Option<&Cursor>,
    limit: i32,
) -> Result<Page<ScheduledRecord>, Error> {
    policy::ensure_staff(actor)?;
    let list =
        if actor.role == Role::FacilityAdmin { ScheduledList::Org } else { ScheduledList::Author(&actor.id) };
    Ok(app.store.list_scheduled(&actor.org, list, cursor, limit).await?)
}

/// A scheduled message the actor may see (its author's, or any for an admin), in any state.
pub async fn show(app: &App, actor: &User, id: &ScheduledId) -> Result<ScheduledRecord, Error> {
    policy::ensure_staff(actor)?;
    let found = app.store.get_scheduled(&actor.org, id).await?;
    found
        .filter(|s| s.author_id == actor.id || actor.role == Role::FacilityAdmin)
        .ok_or_else(|| DomainError::NotFound("scheduled message").into())
}

/// What an edit changes; `None` leaves a field as it is.
#[derive(Default)]
pub struct Change {
    pub body: Option<MessageBody>,
    pub send_at: Option<DateTime<Utc>>,
    pub cancel_on_reply: Option<bool>,
}

/// Edits a message still scheduled (409 already_sent once it is being sent).
pub async fn edit(
    app: &App,
    actor: &User,
    id: &ScheduledId,
    change: Change,
) -> Result<ScheduledRecord, Error> {
    let before = editable(app, actor, id).await?;
    if change.body.is_some() && before.author_id != actor.id {
        // It goes out in its author's name: only they change what it says.
        let message = "only its author changes what a scheduled message says; you may move or cancel it";
        return Err(DomainError::forbidden(ErrorCode::NotAllowed, message).into());
    }
    let is_reply = matches!(before.post, ScheduledPost::Reply { .. });
    if change.cancel_on_reply == Some(true) && !is_reply {
        let message = "cancel_on_reply applies to a reply in an existing conversation";
        return Err(DomainError::invalid(ErrorCode::InvalidRequest, message).into());
    }
    let after = ScheduledRecord {
        body: change.body.unwrap_or_else(|| before.body.clone()),
        send_at: change.send_at.unwrap_or(before.send_at),
        cancel_on_reply: change.cancel_on_reply.unwrap_or(before.cancel_on_reply),
        updated_at: now(),
        rev: before.rev + 1,
        ..before
    };
    if app.store.replace_scheduled(&after).await? {
        return Ok(after);
    }
    // Claimed by the schedule, edited or cancelled meanwhile: say which.
    editable(app, actor, id).await?;
    Err(StoreError::Contention.into())
}

/// Cancels a message still scheduled; one that ended unsent (cancelled, failed) is removed.
pub async fn cancel(app: &App, actor: &User, id: &ScheduledId) -> Result<(), Error> {
    let record = show(app, actor, id).await?;
    policy::ensure_can_write(actor)?;
    if matches!(record.status, ScheduledStatus::Sending | ScheduledStatus::Sent) {
        record.status.ensure_editable()?;
    }
    if app.store.delete_scheduled(&record).await? {
        return Ok(());
    }
    editable(app, actor, id).await?;
    Err(StoreError::Contention.into())
}

async fn editable(app: &App, actor: &User, id: &ScheduledId) -> Result<ScheduledRecord, Error> {
    let record = show(app, actor, id).await?;
    policy::ensure_can_write(actor)?;
    record.status.ensure_editable()?;
    Ok(record)
}

/// What one run of the schedule did.
#[derive(Debug, Default)]
pub struct SendReport {
    pub sent: usize,
    /// Not sent: cancelled by a resident's reply, or refused when due.
    pub dropped: usize,
}

/// Posts every scheduled message due at `now`, a batch after another while batches come
/// full (at most [`MAX_BATCHES`] a run). A message whose post fails for a reason of ours
/// (storage, quota) stays due for the next run; the others go on.
pub async fn run_due(app: &App, at: DateTime<Utc>) -> Result<SendReport, WorkError> {
    let mut report = SendReport::default();
    let mut first_error = None;
    for _ in 0..MAX_BATCHES {
        let due = app.store.scheduled_due(at, BATCH).await?;
        let full = due.len() == usize::try_from(BATCH).unwrap_or_default();
        let mut progressed = false;
        for message in due {
            match send(app, message).await {
                Ok(Some(ScheduledStatus::Sent)) => report.sent += 1,
                Ok(Some(_)) => report.dropped += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "a scheduled message waits for the next run");
                    first_error.get_or_insert(e);
                    continue;
                }
            }
            progressed = true;
        }
        if !full || !progressed {
            break;
        }
    }
    match first_error {
        Some(e) if report.sent + report.dropped == 0 => Err(e),
        _ => Ok(report),
    }
}

/// Claims, posts and settles one due message; `None` when someone else changed it first.
async fn send(app: &App, due: ScheduledRecord) -> Result<Option<ScheduledStatus>, WorkError> {
    let outcome = match due.status {
        ScheduledStatus::Scheduled => {
            // Whether the resident answered first is decided before the claim, once.
            if due.cancel_on_reply && resident_replied(app, &due).await? {
                let outcome =
                    Outcome::Dropped { status: ScheduledStatus::Cancelled, reason: "resident_replied" };
                return settle(app, due, outcome).await;
            }
            let claimed = ScheduledRecord {
                status: ScheduledStatus::Sending,
                updated_at: now(),
                rev: due.rev + 1,
                ..due
            };
            if !app.store.replace_scheduled(&claimed).await? {
                return Ok(None);
            }
            let outcome = post(app, &claimed).await?;
            return settle(app, claimed, outcome).await;
        }
        // A run stopped between the claim and the record of the post: if the post was
        // made, record it as it was; else post now.
        ScheduledStatus::Sending => match posted_before(app, &due).await? {
            Some(outcome) => outcome,
            None => post(app, &due).await?,
        },
        _ => return Ok(None),
    };
    settle(app, due, outcome).await
}

/// Records how a claimed (or, cancelled, still scheduled) message ended.
async fn settle(
    app: &App,
    before: ScheduledRecord,
    outcome: Outcome,
) -> Result<Option<ScheduledStatus>, WorkError> {
    let settled = ScheduledRecord { updated_at: now(), rev: before.rev + 1, ..before };
    let settled = match outcome {
        Outcome::Sent { thread_id, message_id } => ScheduledRecord {
            status: ScheduledStatus::Sent,
            sent_thread_id: Some(thread_id),
            message_id: Some(message_id),
            ..settled
        },
        Outcome::Dropped { status, reason } => {
            tracing::info!(id = %settled.id, reason, "a scheduled message was not sent");
            ScheduledRecord { status, reason: Some(reason.to_owned()), ..settled }
        }
    };
    let status = settled.status;
    // Someone else (another run, an edit before the claim) changed it first.
    Ok(app.store.replace_scheduled(&settled).await?.then_some(status))
}

enum Outcome {
    Sent { thread_id: ThreadId, message_id: domain::MessageId },
    Dropped { status: ScheduledStatus, reason: &'static str },
}

/// The Idempotency-Key a scheduled message is posted with: no client can send it (client
/// keys have no spaces).
pub fn idempotency(id: &ScheduledId) -> Idempotency {
    Idempotency::new(Some(key(id)), "scheduled", id)
}

fn key(id: &ScheduledId) -> String {
    format!("scheduled {id}")
}

/// The post an earlier run made of a claimed message, if it made one.
async fn posted_before(app: &App, scheduled: &ScheduledRecord) -> Result<Option<Outcome>, WorkError> {
    let first = app.store.replay(&scheduled.org, &scheduled.author_id, &key(&scheduled.id)).await?;
    Ok(first.map(|f| Outcome::Sent { thread_id: f.message.thread_id, message_id: f.message.id }))
}

/// Posts a claimed message as its author, now, if they may still write.
async fn post(app: &App, scheduled: &ScheduledRecord) -> Result<Outcome, WorkError> {
    let failed =
        |code: ErrorCode| Outcome::Dropped { status: ScheduledStatus::Failed, reason: code.as_str() };
    let Some(author) = app.store.get_user(&scheduled.org, &scheduled.author_id).await? else {
        return Ok(failed(ErrorCode::UnknownUser));
    };
    // As every request: an archived or locked author has no voice any more.
    if let Err(refused) = policy::ensure_can_act(&author) {
        return Ok(failed(refused.code()));
    }
    let request = idempotency(&scheduled.id);
    let posted = match &scheduled.post {
        ScheduledPost::Reply { thread_id, internal, .. } => {
            let new = NewMessage {
                body: Body::Text(scheduled.body.clone()),
                attachment_ids: vec![],
                internal: *internal,
                expected_last: None,
            };
            messages::post(app, &author, *thread_id, new, request)
                .await
                .map(|posted| Outcome::Sent { thread_id: *thread_id, message_id: posted.message().id })
        }
        ScheduledPost::Thread { topic, subject, resident_id, priority, linked_record, category_id } => {
            let new = NewThread {
                topic: topic.clone(),
                subject: subject.clone(),
                body: scheduled.body.clone(),
                priority: *priority,
                linked_record: linked_record.clone(),
                resident_id: Some(resident_id.clone()),
                category_id: Some(category_id.clone()),
                attachment_ids: Vec::new(),
            };
            match threads::start(app, &author, new, request).await {
                Ok(view) => {
                    // The first message: the thread's own, or the replayed one's.
                    let first = app.store.replay(&scheduled.org, &author.id, &key(&scheduled.id)).await?;
                    let message_id = first.map(|f| f.message.id).or(view.thread.public_last.map(|m| m.id));
                    match message_id {
                        Some(message_id) => {
                            Ok(Outcome::Sent { thread_id: view.thread.summary.id, message_id })
                        }
                        None => Err(Error::from(store::StoreError::Contention)),
                    }
                }
                Err(e) => Err(e),
            }
        }
    };
    match posted {
        Ok(sent) => Ok(sent),
        // Refused as its author now stands (left the thread, resident gone, consent withdrawn…).
        Err(Error::Domain(refused)) => Ok(failed(refused.code())),
        Err(e) => Err(WorkError::UseCase(Box::new(e))),
    }
}

/// Whether the thread's resident wrote after the author scheduled the reply.
async fn resident_replied(app: &App, scheduled: &ScheduledRecord) -> Result<bool, WorkError> {
    /// Messages read to find one; a thread busier than that since counts as answered.
    const LOOK_AT: usize = 100;
    let ScheduledPost::Reply { thread_id, seen_last: Some(seen), .. } = &scheduled.post else {
        return Ok(false);
    };
    let Some(view) = app.store.load_thread(&scheduled.org, thread_id).await? else { return Ok(false) };
    let resident = view.thread.summary.resident.id;
    let newer = app.store.messages_after(&scheduled.org, thread_id, seen, false, LOOK_AT).await?;
    Ok(newer.len() >= LOOK_AT || newer.iter().any(|m| m.author_id == resident))
}

/// `send_at` as a request gives it, checked against the clock.
pub fn send_at(raw: &str) -> Result<DateTime<Utc>, DomainError> {
    scheduled::send_at(raw, now())
}
