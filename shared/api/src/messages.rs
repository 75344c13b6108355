//! Message routes: a thread's timeline, posting (with Idempotency-Key), read receipts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::attachment::{ContentType, MAX_PER_MESSAGE};
use domain::events::{OutboxEvent, OutboxKind};
use domain::{policy, AttachmentId, DomainError, ErrorCode, EventId, MessageBody, MessageId};
use serde::{Deserialize, Serialize};
use store::{
    AttachmentRecord, AttachmentRef, AttachmentStatus, MessageRecord, NewIdempotency, PostOutcome,
    ReadOutcome, TimelineItem,
};

use crate::conversation::{load_visible, millis, now};
use crate::extract::{IdempotencyKey, JsonBody, ListParams, ThreadPath};
use crate::relay::relay;
use crate::views::PageBody;
use crate::{Actor, ApiError, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/threads/{id}/messages", get(list_messages).post(post_message))
        .route("/v1/threads/{id}/read", post(mark_read))
        .with_state(state)
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PostMessage {
    body: String,
    #[serde(default)]
    attachment_ids: Vec<String>,
    #[serde(default)]
    internal: bool,
}

async fn post_message(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(thread_id): ThreadPath,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(req): JsonBody<PostMessage>,
) -> Result<(StatusCode, Json<TimelineItem>), ApiError> {
    let body = MessageBody::parse(&req.body)?;
    let attachment_ids = parse_attachment_ids(&req.attachment_ids)?;
    let view = load_visible(&state, &actor, &thread_id).await?;
    policy::ensure_can_post(&actor, req.internal)?;
    let request_hash = IdempotencyKey::request_hash(&thread_id.to_string(), &req);
    let first_answer = |e: ApiError| async {
        match IdempotencyKey::first_answer(&state, &actor, key.as_deref(), &request_hash).await? {
            Some(first) => Ok(Posted::Replayed(first)),
            None => Err(e),
        }
    };
    // A retry of a post counted and stored before answers the first answer, not a 429.
    let taken = match crate::quota::take(&state, &actor, domain::quota::QuotaKind::Message, None).await {
        Ok(taken) => taken,
        Err(e) => return first_answer(e).await.map(Posted::answer),
    };
    let posted = async {
        let at = now();
        let message_id = MessageId::new_at(millis(at));
        let target = Target { thread_id, message_id, internal: req.internal, at };
        let attached = match take_attachments(&state, &actor, &attachment_ids, &target).await {
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
            internal: req.internal,
            created_at: at,
        };
        let idempotency =
            key.as_deref().map(|key| NewIdempotency { key, request_hash: request_hash.clone() });
        let event = OutboxEvent {
            id: EventId::new_at(millis(at)),
            org: actor.org.clone(),
            thread_id,
            at,
            kind: OutboxKind::MessagePosted {
                message_id: msg.id,
                author_id: actor.id.clone(),
                internal: msg.internal,
            },
        };
        match state.store.post_message(view, &msg, actor.role, idempotency, &event, &attached).await? {
            PostOutcome::Posted => {
                relay(&state, &event).await;
                Ok(Posted::New(msg))
            }
            PostOutcome::Replayed(first) if first.request_hash == request_hash => {
                Ok(Posted::Replayed(first.message))
            }
            PostOutcome::AttachmentTaken => Err(DomainError::invalid(
                ErrorCode::AttachmentUnavailable,
                "an attachment is already used by another message",
            )
            .into()),
            PostOutcome::Replayed(_) => Err(IdempotencyKey::reused()),
        }
    }
    .await;
    let is_new = |posted: &Posted| matches!(posted, Posted::New(_));
    taken.settle(&state, posted, is_new).await.map(Posted::answer)
}

/// A post's outcome: a new message, or the one an earlier request with the same
/// Idempotency-Key made.
enum Posted {
    New(MessageRecord),
    Replayed(MessageRecord),
}

impl Posted {
    fn answer(self) -> (StatusCode, Json<TimelineItem>) {
        let (Self::New(message) | Self::Replayed(message)) = self;
        (StatusCode::CREATED, Json(TimelineItem::Message(message)))
    }
}

async fn list_messages(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(thread_id): ThreadPath,
    params: ListParams,
) -> Result<Json<PageBody<TimelineItem>>, ApiError> {
    load_visible(&state, &actor, &thread_id).await?;
    let include_internal = actor.role.is_staff();
    let page = state
        .store
        .list_timeline(&actor.org, &thread_id, include_internal, params.cursor.as_ref(), params.limit)
        .await?;
    Ok(Json(PageBody::from_page(page, |item| item)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkRead {
    message_id: String,
}

async fn mark_read(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(thread_id): ThreadPath,
    JsonBody(req): JsonBody<MarkRead>,
) -> Result<StatusCode, ApiError> {
    let message_id = MessageId::parse(&req.message_id)
        .map_err(|_| DomainError::invalid(ErrorCode::InvalidMessageId, "message_id is not a message id"))?;
    let view = load_visible(&state, &actor, &thread_id).await?;
    policy::ensure_can_write(&actor)?;
    // Read receipts are per participant; an admin browsing a thread leaves none.
    if view.participant(&actor.id).is_none() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let include_internal = actor.role.is_staff();
    match state.store.mark_read(&view, &actor.id, &message_id, include_internal).await? {
        ReadOutcome::Marked | ReadOutcome::AlreadyRead => Ok(StatusCode::NO_CONTENT),
        ReadOutcome::NoSuchMessage => Err(DomainError::NotFound("message").into()),
    }
}

fn parse_attachment_ids(raw: &[String]) -> Result<Vec<AttachmentId>, ApiError> {
    if raw.len() > MAX_PER_MESSAGE {
        let message = format!("at most {MAX_PER_MESSAGE} attachments per message");
        return Err(DomainError::invalid(ErrorCode::TooManyAttachments, message).into());
    }
    let unknown = || {
        DomainError::invalid(ErrorCode::UnknownAttachment, "attachment_ids name no attachment you uploaded")
    };
    let ids: Vec<AttachmentId> =
        raw.iter().map(|r| AttachmentId::parse(r).map_err(|_| unknown())).collect::<Result<_, _>>()?;
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    if distinct.len() != ids.len() {
        return Err(
            DomainError::invalid(ErrorCode::DuplicateAttachment, "an attachment appears twice").into()
        );
    }
    Ok(ids)
}

/// The message attachments are about to go on.
struct Target {
    thread_id: domain::ThreadId,
    message_id: MessageId,
    internal: bool,
    at: chrono::DateTime<chrono::Utc>,
}

/// Checks each attachment may go on this message (the poster's own upload, not used yet,
/// its stored bytes of the declared size and type, encrypted) and returns the records as
/// they will be once attached. The post's transaction takes them, conditioned on being
/// still unused.
async fn take_attachments(
    state: &AppState,
    actor: &domain::User,
    ids: &[AttachmentId],
    target: &Target,
) -> Result<Vec<AttachmentRecord>, ApiError> {
    let Target { thread_id, message_id, internal, at } = *target;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let (found, retention) = state.store.attachments_with_retention(&actor.org, ids).await?;
    let rejected =
        |why: &str| ApiError::from(DomainError::invalid(ErrorCode::AttachmentRejected, why.to_owned()));
    let mut taken = Vec::with_capacity(ids.len());
    for id in ids {
        // Someone else's upload is indistinguishable from no upload.
        let a = found.iter().find(|a| &a.id == id && a.uploader == actor.id).ok_or_else(|| {
            DomainError::invalid(
                ErrorCode::UnknownAttachment,
                "attachment_ids name no attachment you uploaded",
            )
        })?;
        if a.status != AttachmentStatus::Pending {
            return Err(DomainError::invalid(
                ErrorCode::AttachmentUnavailable,
                "an attachment is already used by another message",
            )
            .into());
        }
        let stored = state.files.inspect(&a.object_key).await?;
        let Some(stored) = stored else {
            return Err(DomainError::invalid(
                ErrorCode::AttachmentNotUploaded,
                "an attachment was not uploaded yet",
            )
            .into());
        };
        if stored.size_bytes != a.size_bytes || stored.size_bytes > state.files.max_bytes {
            return Err(rejected("the uploaded file's size differs from the declared size"));
        }
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
            ..a.clone()
        });
    }
    Ok(taken)
}
