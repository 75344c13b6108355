//! Message routes: a thread's timeline, posting (with Idempotency-Key), read receipts.

use app::messages::{self, NewMessage};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::attachment::MAX_PER_MESSAGE;
use domain::{AttachmentId, DomainError, ErrorCode, MessageBody, MessageId};
use serde::{Deserialize, Serialize};
use store::TimelineItem;

use crate::extract::{IdempotencyKey, JsonBody, ListParams, ThreadPath};
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
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(thread_id): ThreadPath,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(req): JsonBody<PostMessage>,
) -> Result<(StatusCode, Json<TimelineItem>), ApiError> {
    let new = NewMessage {
        body: MessageBody::parse(&req.body)?,
        attachment_ids: parse_attachment_ids(&req.attachment_ids)?,
        internal: req.internal,
    };
    let request = app::Idempotency::new(key, &thread_id.to_string(), &req);
    let posted = messages::post(&app, &actor, thread_id, new, request).await?;
    Ok((StatusCode::CREATED, Json(TimelineItem::Message(posted.message()))))
}

async fn list_messages(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(thread_id): ThreadPath,
    params: ListParams,
) -> Result<Json<PageBody<TimelineItem>>, ApiError> {
    let page = messages::timeline(&app, &actor, thread_id, params.cursor.as_ref(), params.limit).await?;
    Ok(Json(PageBody::from_page(page, |item| item)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkRead {
    message_id: String,
}

async fn mark_read(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(thread_id): ThreadPath,
    JsonBody(req): JsonBody<MarkRead>,
) -> Result<StatusCode, ApiError> {
    let message_id = MessageId::parse(&req.message_id)
        .map_err(|_| DomainError::invalid(ErrorCode::InvalidMessageId, "message_id is not a message id"))?;
    messages::mark_read(&app, &actor, thread_id, message_id).await?;
    Ok(StatusCode::NO_CONTENT)
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
