//! Message routes: a thread's timeline, posting (with Idempotency-Key), read receipts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::events::{OutboxEvent, OutboxKind};
use domain::{policy, DomainError, MessageBody, MessageId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{MessageRecord, NewIdempotency, PostOutcome, ReadOutcome, TimelineItem};

use crate::extract::{IdempotencyKey, JsonBody, ListParams, ThreadPath};
use crate::relay::relay;
use crate::threads::{load_visible, millis, now};
use crate::views::PageBody;
use crate::{Actor, ApiError, AppState};

/// At most this many attachments on one message.
pub const MAX_ATTACHMENTS: usize = 3;

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
    if req.attachment_ids.len() > MAX_ATTACHMENTS {
        return Err(DomainError::invalid(
            "too_many_attachments",
            format!("at most {MAX_ATTACHMENTS} attachments per message"),
        )
        .into());
    }
    if !req.attachment_ids.is_empty() {
        // Uploads arrive with the attachments capability; until then no id can be valid.
        return Err(
            DomainError::invalid("unknown_attachment", "attachment_ids name no uploaded attachment").into()
        );
    }
    let view = load_visible(&state, &actor, &thread_id).await?;
    policy::ensure_can_post(&actor, req.internal)?;

    let at = now();
    let msg = MessageRecord {
        id: MessageId::new_at(millis(at)),
        thread_id,
        author_id: actor.id.clone(),
        author_name: actor.name.clone(),
        body,
        attachments: vec![],
        internal: req.internal,
        created_at: at,
    };
    let request_hash = request_hash(&thread_id.to_string(), &req);
    let idempotency = key.as_deref().map(|key| NewIdempotency { key, request_hash: request_hash.clone() });
    let event = OutboxEvent {
        id: MessageId::new_at(millis(at)),
        org: actor.org.clone(),
        thread_id,
        at,
        kind: OutboxKind::MessagePosted {
            message_id: msg.id,
            author_id: actor.id.clone(),
            internal: msg.internal,
        },
    };
    let posted = match state.store.post_message(view, &msg, actor.role, idempotency, &event).await? {
        PostOutcome::Posted => {
            relay(&state, &event).await;
            msg
        }
        PostOutcome::Replayed(first) if first.request_hash == request_hash => first.message,
        PostOutcome::Replayed(_) => {
            return Err(DomainError::invalid(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            )
            .into())
        }
    };
    Ok((StatusCode::CREATED, Json(TimelineItem::Message(posted))))
}

/// Identifies what was asked, so a replay can be told from a reuse of the key.
fn request_hash(thread_id: &str, req: &PostMessage) -> String {
    let mut hasher = Sha256::new();
    hasher.update(thread_id.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(req).unwrap_or_default());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
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
        .map_err(|_| DomainError::invalid("invalid_message_id", "message_id is not a message id"))?;
    let view = load_visible(&state, &actor, &thread_id).await?;
    // Read receipts are per participant; an admin browsing a thread leaves none.
    if view.participant(&actor.id).is_none() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let include_internal = actor.role.is_staff();
    match state.store.mark_read(&actor.org, &thread_id, &actor.id, &message_id, include_internal).await? {
        ReadOutcome::Marked | ReadOutcome::AlreadyRead => Ok(StatusCode::NO_CONTENT),
        ReadOutcome::NoSuchMessage => Err(DomainError::NotFound("message").into()),
    }
}
