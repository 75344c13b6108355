//! Message routes: a thread's timeline, posting (with Idempotency-Key), read receipts.

use app::messages::{self, Body, NewMessage};
use app::scheduled::{self, ScheduledReply};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::attachment::MAX_PER_MESSAGE;
use domain::{AttachmentId, DomainError, ErrorCode, MessageBody, MessageId, TemplateId};
use serde::{Deserialize, Serialize};
use store::{ScheduledRecord, TimelineItem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound, RateLimited};
use crate::extract::{IdempotencyKey, JsonBody, ListParams, ThreadPath};
use crate::views::TimelinePage;
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages, post_message))
        .routes(routes!(mark_read))
        .merge(crate::scheduled::routes())
}

/// A message: its `body`, or (staff) the `template_id` of a saved reply rendered from the
/// thread; exactly one of the two (422 body_or_template).
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PostMessage {
    #[serde(default)]
    #[schema(value_type = Option<MessageBody>)]
    body: Option<String>,
    /// A template the poster may use (422 unknown_template otherwise; residents 403
    /// staff_only).
    #[serde(default)]
    #[schema(value_type = Option<TemplateId>)]
    template_id: Option<String>,
    /// Ids of attachments the caller uploaded and that no message carries yet (422
    /// too_many_attachments, duplicate_attachment, unknown_attachment, attachment_rejected).
    #[serde(default)]
    #[schema(max_items = 3)]
    attachment_ids: Vec<String>,
    /// An internal note for staff; staff only.
    #[serde(default)]
    internal: bool,
    /// Staff: the newest message the poster has seen. When the thread has a newer one, the
    /// post is refused with 409 thread_moved_on (the error's `newer` lists the first
    /// messages missed) and nothing is stored. Malformed: 422 invalid_message_id.
    #[serde(default)]
    #[schema(value_type = Option<MessageId>)]
    expected_last_message_id: Option<String>,
    /// Staff: post it at this time instead of now, through the same path (signature,
    /// status, notifications): RFC 3339 with its offset, in the future and within 365 days
    /// (422 invalid_send_at). Answered 202 with the scheduled message; nobody else sees it
    /// before then. No attachments, no expected_last_message_id (422 invalid_request).
    #[schema(format = DateTime)]
    send_at: Option<String>,
    /// With send_at: not sent if the resident writes first (422 invalid_request without
    /// send_at).
    cancel_on_reply: Option<bool>,
}

/// Post a message
///
/// Adds a message to the thread. A resident's message makes the thread `unread`, a staff
/// message makes it `open`; internal notes (staff only, 403 staff_only) change no status.
/// With an Idempotency-Key, repeating the same request by the same author answers the first
/// message again with 201; the same key with a different request is 422
/// idempotency_key_reused. With send_at (staff), the message is scheduled instead: 202 with
/// the scheduled message, posted once at that time (see /v1/scheduled); an Idempotency-Key
/// then answers a retry with the message the first request scheduled.
#[utoipa::path(post, path = "/v1/threads/{id}/messages", tag = "messages", operation_id = "postMessage",
    params(ThreadPath, IdempotencyKey), request_body = PostMessage,
    responses(
        (status = 201, description = "The message as posted (or as first posted, on a replay).", body = TimelineItem),
        (status = 202, description = "Scheduled for send_at.", body = ScheduledRecord),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 429, response = RateLimited),
    ))]
async fn post_message(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(thread_id): ThreadPath,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(req): JsonBody<PostMessage>,
) -> Result<Response, ApiError> {
    let new = NewMessage {
        body: message_body(&req)?,
        attachment_ids: parse_attachment_ids(&req.attachment_ids)?,
        internal: req.internal,
        expected_last: req.expected_last_message_id.as_deref().map(message_id).transpose()?,
    };
    if let Some(send_at) = req.send_at.as_deref() {
        let later = ScheduledReply {
            message: new,
            send_at: scheduled::send_at(send_at)?,
            cancel_on_reply: req.cancel_on_reply.unwrap_or(false),
        };
        let request = app::Idempotency::new(key, &thread_id.to_string(), &req);
        let record = scheduled::reply(&app, &actor, thread_id, later, request).await?;
        return Ok((StatusCode::ACCEPTED, Json(record)).into_response());
    }
    if req.cancel_on_reply.is_some() {
        let message = "cancel_on_reply applies to a message scheduled with send_at";
        return Err(DomainError::invalid(ErrorCode::InvalidRequest, message).into());
    }
    let request = app::Idempotency::new(key, &thread_id.to_string(), &req);
    let posted = messages::post(&app, &actor, thread_id, new, request).await?;
    Ok((StatusCode::CREATED, Json(TimelineItem::Message(posted.message()))).into_response())
}

/// List a thread's timeline
///
/// Messages and events, oldest first. Internal notes are omitted for residents, so a page
/// may hold fewer than `limit` items (even none); keep paging while next_cursor is not null.
#[utoipa::path(get, path = "/v1/threads/{id}/messages", tag = "messages", operation_id = "listMessages",
    params(ThreadPath, ListParams),
    responses(
        (status = 200, description = "A page of the timeline.", body = TimelinePage),
        (status = 404, response = NotFound),
    ))]
async fn list_messages(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(thread_id): ThreadPath,
    params: ListParams,
) -> Result<Json<TimelinePage>, ApiError> {
    let page = messages::timeline(&app, &actor, thread_id, params.cursor.as_ref(), params.limit).await?;
    Ok(Json(TimelinePage::from_page(page, |item| item)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MarkRead {
    /// The newest message the caller has read (422 invalid_message_id if malformed).
    #[schema(value_type = MessageId)]
    message_id: String,
}

/// Mark a thread read up to a message
///
/// Moves the caller's read marker to message_id; the marker never moves backwards. A message
/// id that is not in the thread or not visible to the caller is 404. A facility admin who is
/// not a participant leaves no marker (still 204).
#[utoipa::path(post, path = "/v1/threads/{id}/read", tag = "messages", operation_id = "markRead",
    params(ThreadPath), request_body = MarkRead,
    responses(
        (status = 204, description = "Marked (or already read that far)."),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn mark_read(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(thread_id): ThreadPath,
    JsonBody(req): JsonBody<MarkRead>,
) -> Result<StatusCode, ApiError> {
    let message_id = message_id(&req.message_id)?;
    messages::mark_read(&app, &actor, thread_id, message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn message_id(raw: &str) -> Result<MessageId, DomainError> {
    MessageId::parse(raw).map_err(|_| {
        DomainError::invalid(ErrorCode::InvalidMessageId, format!("{raw:?} is not a message id"))
    })
}

fn message_body(req: &PostMessage) -> Result<Body, ApiError> {
    match (&req.body, &req.template_id) {
        (Some(text), None) => Ok(Body::Text(MessageBody::parse(text)?)),
        (None, Some(id)) => {
            let unknown =
                |_| DomainError::invalid(ErrorCode::UnknownTemplate, "template_id names no template");
            Ok(Body::Template(TemplateId::parse(id).map_err(unknown)?))
        }
        _ => {
            Err(DomainError::invalid(ErrorCode::BodyOrTemplate, "give a body or a template_id, not both")
                .into())
        }
    }
}

pub(crate) fn parse_attachment_ids(raw: &[String]) -> Result<Vec<AttachmentId>, ApiError> {
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
