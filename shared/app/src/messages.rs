//! Messages: posting (with Idempotency-Key and attachments), a thread's timeline, read
//! receipts.

use chrono::{DateTime, Utc};
use domain::attachment::ContentType;
use domain::events::{OutboxEvent, OutboxKind};
use domain::quota::QuotaKind;
use domain::response::Posting;
use domain::{
    policy, AttachmentId, DomainError, ErrorCode, EventId, MessageBody, MessageId, Role, TemplateId,
    ThreadId, ThreadStatus, User,
};
use store::{
    AttachmentRecord, AttachmentRef, AttachmentStatus, Cursor, MessageRecord, NewPost, Page, PostOutcome,
    ReadOutcome, ThreadView, TimelineItem,
};

use crate::conversation::{load_readable, load_visible, millis, now};
use crate::relay::relay;
use crate::templates;
use crate::{quota, App, Error, Idempotency};

/// What a message says: its text, or a saved reply to render from the thread (staff).
pub enum Body {
    Text(MessageBody),
    Template(TemplateId),
}

/// A message as asked: attachments the poster uploaded, distinct, at most a message's worth.
pub struct NewMessage {
    pub body: Body,
    pub attachment_ids: Vec<AttachmentId>,
    pub internal: bool,
    /// Staff: the newest message the poster saw; a newer one refuses the post.
    pub expected_last: Option<MessageId>,
}

/// A post's outcome: a new message, or the one an earlier request with the same
/// Idempotency-Key made.
pub enum Posted {
    New(MessageRecord),
    Replayed(MessageRecord),
}

impl Posted {
    pub fn message(self) -> MessageRecord {
        let (Self::New(message) | Self::Replayed(message)) = self;
        message
    }
}

/// At most this many of the messages a refused poster missed come with the refusal.
const MOVED_ON_SHOWN: usize = 10;

/// Posts a message to a thread the actor may see and post to.
pub async fn post(
    app: &App,
    actor: &User,
    thread_id: ThreadId,
    new: NewMessage,
    request: Idempotency,
) -> Result<Posted, Error> {
    let view = load_visible(app, actor, &thread_id).await?;
    policy::ensure_can_post(actor, new.internal)?;
    if new.expected_last.is_some() {
        policy::ensure_staff(actor)?;
    }
    let body = written(app, actor, &view, new.body, new.internal).await?;
    let first_answer = |e: Error| async {
        match request.first_answer(app, actor).await? {
            Some(first) => Ok(Posted::Replayed(first)),
            None => Err(e),
        }
    };
    // A retry of a post counted and stored before answers the first answer, not a 429.
    let taken = match quota::take(app, actor, QuotaKind::Message, None).await {
        Ok(taken) => taken,
        Err(e) => return first_answer(e).await,
    };
    let posted = async {
        let at = now();
        let message_id = MessageId::new_at(millis(at));
        let target = Target { thread_id, message_id, internal: new.internal, at };
        let attached = match take_attachments(app, actor, &new.attachment_ids, &target).await {
            Ok(attached) => attached,
            // A replay of a post whose attachments it took itself answers the first answer.
            Err(e) => return first_answer(e).await,
        };
        let msg = MessageRecord {
            id: message_id,
            thread_id,
            author_id: actor.id.clone(),
            author_name: actor.name.clone(),
            body,
            attachments: attached.iter().map(AttachmentRef::from).collect(),
            internal: new.internal,
            created_at: at,
            automated: false,
            automated_kind: None,
        };
        let summary = &view.thread.summary;
        let posting = Posting {
            id: msg.id,
            by_resident: actor.id == summary.resident.id,
            role: actor.role,
            internal: msg.internal,
            automated: false,
            status: summary.status,
        };
        let mut event = OutboxEvent {
            id: EventId::new_at(millis(at)),
            org: actor.org.clone(),
            thread_id,
            at,
            kind: OutboxKind::MessagePosted {
                message_id: msg.id,
                author_id: actor.id.clone(),
                internal: msg.internal,
                reopened: actor.role == Role::Resident
                    && matches!(summary.status, ThreadStatus::Resolved | ThreadStatus::Archived),
                author_role: Some(actor.role),
                notice: Some(msg.notice()),
                // Named by the post, as it writes the clock.
                answers: None,
                author_state: Some(actor.state),
            },
        };
        let post = NewPost {
            message: &msg,
            posting,
            event: &mut event,
            attachments: &attached,
            idempotency: request.record(),
            expected_last: new.expected_last,
            auto_reply_for: None,
        };
        let outcome = app.store.post_message(view, post).await?;
        match outcome {
            PostOutcome::Posted => {
                relay(app, &event).await;
                Ok(Posted::New(msg))
            }
            PostOutcome::Replayed(first) if request.is_replay_of(&first.request_hash) => {
                Ok(Posted::Replayed(first.message))
            }
            PostOutcome::AttachmentTaken => Err(attachment_taken()),
            PostOutcome::Replayed(_) => Err(Error::key_reused()),
            // Only an automatic reply is ever not needed.
            PostOutcome::NotNeeded => Err(store::StoreError::Contention.into()),
            PostOutcome::MovedOn => {
                let seen = new.expected_last.unwrap_or(msg.id);
                let newer =
                    app.store.messages_after(&actor.org, &thread_id, &seen, true, MOVED_ON_SHOWN).await?;
                Err(Error::MovedOn { newer })
            }
        }
    }
    .await;
    let is_new = |posted: &Posted| matches!(posted, Posted::New(_));
    taken.settle(app, posted, is_new).await
}

/// The text a post stores: its own or its template's, signed by staff writing to residents.
async fn written(
    app: &App,
    actor: &User,
    view: &ThreadView,
    body: Body,
    internal: bool,
) -> Result<MessageBody, Error> {
    let body = unsigned(app, actor, view, body).await?;
    signed(app, actor, body, internal).await
}

/// The text a message says before any signature: its own, or its template's rendered from
/// the thread.
pub(crate) async fn unsigned(
    app: &App,
    actor: &User,
    view: &ThreadView,
    body: Body,
) -> Result<MessageBody, Error> {
    match body {
        Body::Text(text) => Ok(text),
        Body::Template(id) => templates::render(app, actor, view, &id).await,
    }
}

/// `body` with the actor's signature, if they are staff writing to residents (not an
/// internal note) and have one.
pub(crate) async fn signed(
    app: &App,
    actor: &User,
    body: MessageBody,
    internal: bool,
) -> Result<MessageBody, Error> {
    if !actor.role.is_staff() || internal {
        return Ok(body);
    }
    match app.store.get_signature(&actor.org, &actor.id).await? {
        Some(signature) => Ok(signature.sign(body)?),
        None => Ok(body),
    }
}

/// One page of a thread's timeline; internal notes and events only for staff.
pub async fn timeline(
    app: &App,
    actor: &User,
    thread_id: ThreadId,
    cursor: Option<&Cursor>,
    limit: i32,
) -> Result<Page<TimelineItem>, Error> {
    load_readable(app, actor, &thread_id).await?;
    let include_internal = actor.role.is_staff();
    Ok(app.store.list_timeline(&actor.org, &thread_id, include_internal, cursor, limit).await?)
}

/// Moves the actor's read marker to `message_id` (never backwards). Read receipts are per
/// participant: an admin browsing a thread leaves none.
pub async fn mark_read(
    app: &App,
    actor: &User,
    thread_id: ThreadId,
    message_id: MessageId,
) -> Result<(), Error> {
    let view = load_visible(app, actor, &thread_id).await?;
    policy::ensure_can_write(actor)?;
    if view.participant(&actor.id).is_none() {
        return Ok(());
    }
    let include_internal = actor.role.is_staff();
    match app.store.mark_read(&view, &actor.id, &message_id, include_internal).await? {
        ReadOutcome::Marked | ReadOutcome::AlreadyRead => Ok(()),
        ReadOutcome::NoSuchMessage => Err(DomainError::NotFound("message").into()),
    }
}

/// An attachment another message carries already.
pub(crate) fn attachment_taken() -> Error {
    DomainError::invalid(ErrorCode::AttachmentUnavailable, "an attachment is already used by another message")
        .into()
}

/// The message attachments are about to go on.
pub(crate) struct Target {
    pub thread_id: ThreadId,
    pub message_id: MessageId,
    pub internal: bool,
    pub at: DateTime<Utc>,
}

/// Checks each attachment may go on this message (the poster's own upload, not used yet,
/// its stored bytes of the declared size and type, encrypted) and returns the records as
/// they will be once attached. The post's transaction takes them, conditioned on being
/// still unused.
pub(crate) async fn take_attachments(
    app: &App,
    actor: &User,
    ids: &[AttachmentId],
    target: &Target,
) -> Result<Vec<AttachmentRecord>, Error> {
    let Target { thread_id, message_id, internal, at } = *target;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let (found, retention) = app.store.attachments_with_retention(&actor.org, ids).await?;
    let rejected =
        |why: &str| Error::from(DomainError::invalid(ErrorCode::AttachmentRejected, why.to_owned()));
    let mut mine = Vec::with_capacity(ids.len());
    for id in ids {
        // Someone else's upload is indistinguishable from no upload.
        let a = found.iter().find(|a| &a.id == id && a.uploader == actor.id).ok_or_else(|| {
            DomainError::invalid(
                ErrorCode::UnknownAttachment,
                "attachment_ids name no attachment you uploaded",
            )
        })?;
        if a.status != AttachmentStatus::Pending {
            return Err(attachment_taken());
        }
        mine.push(a);
    }
    // Each file read through once, all at the same time.
    let inspections = mine.iter().map(|a| app.files.inspect(&a.object_key, a.size_bytes));
    let stored_all = futures::future::try_join_all(inspections).await?;
    let mut taken = Vec::with_capacity(ids.len());
    for (a, stored) in mine.into_iter().zip(stored_all) {
        let Some(stored) = stored else {
            return Err(DomainError::invalid(
                ErrorCode::AttachmentNotUploaded,
                "an attachment was not uploaded yet",
            )
            .into());
        };
        let Some(sha256) = stored.sha256 else {
            return Err(rejected("the uploaded file's size differs from the declared size"));
        };
        if ContentType::sniff(&stored.head) != Some(a.content_type) {
            return Err(rejected("the uploaded file's content is not the declared type"));
        }
        if !stored.kms_encrypted {
            return Err(rejected("the uploaded file is not encrypted with the attachments key"));
        }
        let archive_at = at + chrono::Duration::days(i64::from(retention.attachment_retention_days));
        taken.push(AttachmentRecord {
            status: AttachmentStatus::Attached,
            thread_id: Some(thread_id),
            message_id: Some(message_id),
            archive_at: Some(archive_at),
            internal,
            version_id: stored.version_id,
            sha256: Some(sha256),
            ..a.clone()
        });
    }
    Ok(taken)
}
