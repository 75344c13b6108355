//! Who is in a conversation: staff add a colleague (or the thread's resident) mid-thread,
//! staff leave, admins remove. Every join and leave is a timeline event.

use app::participants;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::{DomainError, ThreadId, UserId};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound};
use crate::extract::{JsonBody, PathText, ThreadPath};
use crate::views::{thread_body, ThreadBody};
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add)).routes(routes!(remove))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AddParticipant {
    #[schema(value_type = UserId)]
    user_id: String,
}

/// Add someone to the conversation
///
/// Staff only. The added person must be staff of the organization (403 staff_only for
/// residents; 422 not_addable otherwise) or the thread's resident; they read the whole
/// history and can reply. 409 already_participant. Recorded as a participant_joined event.
#[utoipa::path(post, path = "/v1/threads/{id}/participants", tag = "participants", operation_id = "addParticipant",
    params(ThreadPath), request_body = AddParticipant,
    responses(
        (status = 201, description = "The thread with its new participant.", body = ThreadBody),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn add(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
    JsonBody(req): JsonBody<AddParticipant>,
) -> Result<(StatusCode, Json<ThreadBody>), ApiError> {
    let user_id = UserId::parse(req.user_id)?;
    let body = thread_body(&app, &actor, participants::add(&app, &actor, id, user_id)).await?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// Leave, or remove someone from, the conversation
///
/// Staff may remove themselves; a facility admin may remove anyone but the resident (403
/// cannot_remove_resident, 403 not_allowed). Recorded as a participant_left event.
#[utoipa::path(delete, path = "/v1/threads/{id}/participants/{user_id}", tag = "participants",
    operation_id = "removeParticipant",
    params(ThreadPath, ("user_id" = UserId, Path, description = "The participant to remove.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn remove(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText((raw_id, raw_user)): PathText<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = ThreadId::parse(&raw_id)?;
    let user_id = UserId::parse(raw_user).map_err(|_| DomainError::NotFound("participant"))?;
    participants::remove(&app, &actor, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
