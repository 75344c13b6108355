//! Triage routes: the queue of escalated threads and their acknowledgement (staff), and
//! the org's triage rules (staff read, facility admins write). What triage does is in
//! `app::triage`.

use app::triage;
use axum::extract::State;
use axum::Json;
use domain::triage::TriageSettings;
use store::QueueEntry;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound};
use crate::extract::{JsonBody, ListParams, ThreadPath};
use crate::views::{thread_body, ThreadBody, TriageQueuePage};
use crate::{Actor, ApiError, AppState};

/// The queue and acknowledgement (served with the threads).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_queue)).routes(routes!(acknowledge))
}

/// The rules (served with the settings).
pub(crate) fn settings_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, put_settings))
}

/// The triage queue
///
/// Staff only (403 staff_only): escalated threads nobody acknowledged yet, emergencies
/// first, then oldest first; facility admins see all, other staff those they work in.
#[utoipa::path(get, path = "/v1/triage/queue", tag = "triage", operation_id = "getTriageQueue",
    params(ListParams),
    responses((status = 200, description = "A page of the queue.", body = TriageQueuePage)))]
async fn get_queue(
    State(app): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<TriageQueuePage>, ApiError> {
    let page = triage::queue(&app, &actor, params.cursor.as_ref(), params.limit).await?;
    Ok(Json(TriageQueuePage::from_page(page, |entry: QueueEntry| entry)))
}

/// Acknowledge an escalated thread
///
/// Staff who work in the thread (403 staff_only for residents): takes it out of the triage
/// queue and stops its escalation (timeline event `acknowledged`); `triage.acknowledged_at`
/// and `acknowledged_by` say who. Acknowledging a thread not waiting changes nothing.
#[utoipa::path(post, path = "/v1/threads/{id}/acknowledge", tag = "triage", operation_id = "acknowledgeThread",
    params(ThreadPath),
    responses(
        (status = 200, description = "The thread after the acknowledgement.", body = ThreadBody),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn acknowledge(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
) -> Result<Json<ThreadBody>, ApiError> {
    Ok(Json(thread_body(&app, &actor, triage::acknowledge(&app, &actor, id)).await?))
}

/// Triage rules
///
/// Staff only. Until set: the shipped rules and prompts in English and French, on, on-call
/// empty (emergencies page the facility admins), `ack_minutes` 15.
#[utoipa::path(get, path = "/v1/settings/triage", tag = "settings", operation_id = "getTriageSettings",
    responses((status = 200, description = "The triage rules.", body = TriageSettings)))]
async fn get_settings(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<TriageSettings>, ApiError> {
    Ok(Json(triage::settings(&app, &actor).await?))
}

/// Change the triage rules
///
/// Facility admins only. A field left out keeps the shipped default. Phrases: at most 200 per
/// list and language, each 2 to 60 characters; prompts for `unit`, `photo`, `entry`,
/// `urgency` and the safety notice, 1 to 500 characters in each language; `ack_minutes` 1 to
/// 1440; at most 10 `on_call`, each an active staff member (422 unknown_staff); `routes`
/// name topics the org offers (422 unknown_topic); else 422 invalid_triage. Applies within a
/// minute.
#[utoipa::path(put, path = "/v1/settings/triage", tag = "settings", operation_id = "putTriageSettings",
    request_body = TriageSettings,
    responses((status = 200, description = "The triage rules.", body = TriageSettings)))]
async fn put_settings(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(new): JsonBody<TriageSettings>,
) -> Result<Json<TriageSettings>, ApiError> {
    Ok(Json(triage::set_settings(&app, &actor, new).await?))
}
