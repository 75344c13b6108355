//! Scheduled sends (staff): the messages and conversations waiting for their `send_at`,
//! edited or cancelled until then. Scheduling itself is a `send_at` on the post or the new
//! thread; what may be done is in `app::scheduled`.

use app::scheduled::{self, Change};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::{DomainError, ErrorCode, MessageBody};
use serde::{Deserialize, Serialize};
use store::ScheduledRecord;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound};
use crate::extract::{JsonBody, ListParams, ScheduledPath};
use crate::views::ScheduledPage;
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show, edit, cancel))
}

/// List scheduled messages
///
/// The messages waiting for their send_at, soonest first: the caller's own, or for a
/// facility admin the organization's. Sent, cancelled and failed ones leave the list (see
/// them with their id for 30 days). Staff only (403 staff_only).
#[utoipa::path(get, path = "/v1/scheduled", tag = "scheduled", operation_id = "listScheduled",
    params(ListParams),
    responses((status = 200, description = "A page of scheduled messages.", body = ScheduledPage)))]
async fn list(
    State(app): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<ScheduledPage>, ApiError> {
    let page = scheduled::list(&app, &actor, params.cursor.as_ref(), params.limit).await?;
    Ok(Json(ScheduledPage::from_page(page, |s| s)))
}

/// Show a scheduled message
///
/// In any state: `scheduled`, `sending`, `sent` (with the thread and message it became),
/// `cancelled` (the resident replied first and cancel_on_reply was set) or `failed` (the
/// post was refused when due; `reason` holds the error code). Its author's, or any of the
/// organization's for a facility admin.
#[utoipa::path(get, path = "/v1/scheduled/{id}", tag = "scheduled", operation_id = "getScheduled",
    params(ScheduledPath),
    responses(
        (status = 200, description = "The scheduled message.", body = ScheduledRecord),
        (status = 404, response = NotFound),
    ))]
async fn show(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ScheduledPath(id): ScheduledPath,
) -> Result<Json<ScheduledRecord>, ApiError> {
    Ok(Json(scheduled::show(&app, &actor, &id).await?))
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EditScheduled {
    /// The text to send instead (the signature is still added when it is sent).
    #[schema(value_type = Option<MessageBody>)]
    body: Option<String>,
    /// A new time: RFC 3339 with its offset, in the future and within 365 days (422
    /// invalid_send_at).
    #[schema(format = DateTime)]
    send_at: Option<String>,
    /// A reply: not sent if the resident writes before send_at.
    cancel_on_reply: Option<bool>,
}

/// Edit a scheduled message
///
/// Changes its text, time or cancel_on_reply until it is sent: 409 already_sent once the
/// schedule took it, 409 not_scheduled once cancelled or failed. An empty change is 422
/// empty_patch.
#[utoipa::path(patch, path = "/v1/scheduled/{id}", tag = "scheduled", operation_id = "editScheduled",
    params(ScheduledPath), request_body = EditScheduled,
    responses(
        (status = 200, description = "The scheduled message as changed.", body = ScheduledRecord),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn edit(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ScheduledPath(id): ScheduledPath,
    JsonBody(req): JsonBody<EditScheduled>,
) -> Result<Json<ScheduledRecord>, ApiError> {
    if req.body.is_none() && req.send_at.is_none() && req.cancel_on_reply.is_none() {
        return Err(DomainError::invalid(ErrorCode::EmptyPatch, "nothing to change").into());
    }
    let change = Change {
        body: req.body.as_deref().map(MessageBody::parse).transpose()?,
        send_at: req.send_at.as_deref().map(scheduled::send_at).transpose()?,
        cancel_on_reply: req.cancel_on_reply,
    };
    Ok(Json(scheduled::edit(&app, &actor, &id, change).await?))
}

/// Cancel a scheduled message
///
/// Nothing is sent. 409 already_sent once the schedule took it; a message that was
/// cancelled or failed is removed.
#[utoipa::path(delete, path = "/v1/scheduled/{id}", tag = "scheduled", operation_id = "cancelScheduled",
    params(ScheduledPath),
    responses(
        (status = 204, description = "Cancelled."),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn cancel(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ScheduledPath(id): ScheduledPath,
) -> Result<StatusCode, ApiError> {
    scheduled::cancel(&app, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
