//! Who is in a conversation: staff add a colleague (or the thread's resident) mid-thread,
//! staff leave, admins remove. Every join and leave is a timeline event.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use domain::{policy, DomainError, ErrorCode, EventId, ThreadId, UserId};
use serde::Deserialize;
use store::retry::Tries;
use store::{EventKind, EventRecord, MembershipChange, MembershipOutcome, ThreadView};

use crate::conversation::{load_visible, millis, now, participant};
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

fn event(thread_id: ThreadId, kind: EventKind, actor: &UserId, subject: &UserId) -> EventRecord {
    let at = now();
    EventRecord {
        id: EventId::new_at(millis(at)),
        thread_id,
        event: kind,
        actor_id: actor.clone(),
        subject_id: Some(subject.clone()),
        status: None,
        priority: None,
        at,
    }
}

async fn add(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
    JsonBody(req): JsonBody<AddParticipant>,
) -> Result<(StatusCode, Json<ThreadBody>), ApiError> {
    let user_id = UserId::parse(req.user_id)?;
    let mut view = load_visible(&state, &actor, &id).await?;
    let added = state.store.get_user(&actor.org, &user_id).await?.ok_or_else(|| {
        DomainError::invalid(ErrorCode::UnknownUser, "user_id does not name a user of this organization")
    })?;
    policy::ensure_can_add_participant(&actor, &added, &view.thread.summary.resident.id)?;
    let mut tries = Tries::new();
    while tries.another().await {
        if view.participant(&added.id).is_some() {
            return Err(DomainError::conflict(
                ErrorCode::AlreadyParticipant,
                "this user is already in the conversation",
            )
            .into());
        }
        policy::ensure_room_for(view.participants.len(), 1)?;
        let joined = participant(&added, now(), None);
        let events = [event(id, EventKind::ParticipantJoined, &actor.id, &added.id)];
        let change = MembershipChange {
            joins: std::slice::from_ref(&joined),
            leaves: &[],
            events: &events,
            extra: vec![],
        };
        if let MembershipOutcome::Done = state.store.change_members(&view, change).await? {
            view.participants.push(joined);
            return Ok((StatusCode::CREATED, Json(ThreadBody::new(&view, &actor))));
        }
        view = load_visible(&state, &actor, &id).await?;
    }
    Err(store::StoreError::Contention.into())
}

async fn remove(
    State(state): State<AppState>,
    Actor(actor): Actor,
    PathText((raw_id, raw_user)): PathText<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = ThreadId::parse(&raw_id)?;
    let user_id = UserId::parse(raw_user).map_err(|_| DomainError::NotFound("participant"))?;
    let mut view: ThreadView = load_visible(&state, &actor, &id).await?;
    policy::ensure_can_remove_participant(&actor, &user_id, &view.thread.summary.resident.id)?;
    let mut tries = Tries::new();
    while tries.another().await {
        if view.participant(&user_id).is_none() {
            return Err(DomainError::NotFound("participant").into());
        }
        let events = [event(id, EventKind::ParticipantLeft, &actor.id, &user_id)];
        let change = MembershipChange {
            joins: &[],
            leaves: std::slice::from_ref(&user_id),
            events: &events,
            extra: vec![],
        };
        if let MembershipOutcome::Done = state.store.change_members(&view, change).await? {
            return Ok(StatusCode::NO_CONTENT);
        }
        // After leaving, a staff member may no longer see the thread: that is a 404 then.
        view = load_visible(&state, &actor, &id).await?;
    }
    Err(store::StoreError::Contention.into())
}
