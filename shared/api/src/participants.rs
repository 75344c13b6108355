//! Who is in a conversation: staff add a colleague (or the thread's resident) mid-thread,
//! staff leave, admins remove. Every join and leave is a timeline event.

use app::participants;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use domain::{DomainError, ThreadId, UserId};
use serde::Deserialize;

use crate::extract::{JsonBody, PathText, ThreadPath};
use crate::views::ThreadBody;
use crate::{Actor, ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/threads/{id}/participants", post(add))
        .route("/v1/threads/{id}/participants/{user_id}", delete(remove))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddParticipant {
    user_id: String,
}

async fn add(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
    JsonBody(req): JsonBody<AddParticipant>,
) -> Result<(StatusCode, Json<ThreadBody>), ApiError> {
    let user_id = UserId::parse(req.user_id)?;
    let view = participants::add(&app, &actor, id, user_id).await?;
    Ok((StatusCode::CREATED, Json(ThreadBody::new(&view, &actor))))
}

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
