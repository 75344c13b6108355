//! Thread routes: start a conversation, list an inbox, open a thread, change it.

use app::conversation::load_visible;
use app::threads::{self, InboxFilter, NewThread, ThreadChange};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::{
    DomainError, ErrorCode, LinkedRecord, MessageBody, Priority, Subject, ThreadStatus, Topic, UserId,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::extract::{IdempotencyKey, JsonBody, ListParams, ThreadPath};
use crate::views::{PageBody, SummaryBody, ThreadBody};
use crate::{Actor, ApiError, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/threads", get(list_threads).post(create_thread))
        .route("/v1/threads/{id}", get(get_thread).patch(patch_thread))
        .merge(crate::participants::router())
        .with_state(state)
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CreateThread {
    topic: String,
    subject: String,
    body: String,
    priority: Option<Priority>,
    linked_record: Option<LinkedRecord>,
    resident_id: Option<String>,
}

async fn create_thread(
    State(app): State<AppState>,
    Actor(actor): Actor,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(req): JsonBody<CreateThread>,
) -> Result<(StatusCode, Json<ThreadBody>), ApiError> {
    let request = app::Idempotency::new(key, "new thread", &req);
    let new = NewThread {
        topic: Topic::parse(&req.topic)?,
        subject: Subject::parse(&req.subject)?,
        body: MessageBody::parse(&req.body)?,
        priority: req.priority,
        linked_record: req.linked_record,
        resident_id: req.resident_id.map(UserId::parse).transpose()?,
    };
    let view = threads::start(&app, &actor, new, request).await?;
    Ok((StatusCode::CREATED, Json(ThreadBody::new(&view, &actor))))
}

async fn list_threads(
    State(app): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<PageBody<SummaryBody>>, ApiError> {
    let status = match params.rest.get("folder").map(String::as_str) {
        None | Some("") => None,
        Some(f) => Some(ThreadStatus::parse(f).ok_or_else(|| {
            DomainError::invalid(
                ErrorCode::InvalidFolder,
                "folder is one of unread, open, resolved, archived",
            )
        })?),
    };
    let topic = params.rest.get("topic").filter(|t| !t.is_empty()).map(|t| Topic::parse(t)).transpose()?;
    let filter = InboxFilter { status, topic, cursor: params.cursor, limit: params.limit };
    let inbox = threads::inbox(&app, &actor, filter).await?;
    Ok(Json(PageBody::from_page(inbox.page, |row| SummaryBody::new(row, &actor, inbox.org_wide))))
}

async fn get_thread(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
) -> Result<Json<ThreadBody>, ApiError> {
    let view = load_visible(&app, &actor, &id).await?;
    Ok(Json(ThreadBody::new(&view, &actor)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchThread {
    status: Option<String>,
    priority: Option<Priority>,
    /// Absent: unchanged; `null`: unlinked; a record: linked.
    #[serde(default, deserialize_with = "present")]
    linked_record: Option<Option<LinkedRecord>>,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

async fn patch_thread(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
    JsonBody(req): JsonBody<PatchThread>,
) -> Result<Json<ThreadBody>, ApiError> {
    let status = req
        .status
        .as_deref()
        .map(|s| {
            ThreadStatus::parse(s).ok_or_else(|| {
                DomainError::invalid(ErrorCode::InvalidStatus, "status is one of open, resolved, archived")
            })
        })
        .transpose()?;
    if status.is_none() && req.priority.is_none() && req.linked_record.is_none() {
        return Err(DomainError::invalid(
            ErrorCode::EmptyPatch,
            "give at least one of status, priority, linked_record",
        )
        .into());
    }
    let change = ThreadChange { status, priority: req.priority, linked_record: req.linked_record };
    let view = threads::change(&app, &actor, id, change).await?;
    Ok(Json(ThreadBody::new(&view, &actor)))
}
