//! Triage routes: the queue of escalated threads and their acknowledgement (staff), and
//! the org's triage rules (staff read, facility admins write). What triage does is in
//! `app::triage`.

use app::metrics::{self, Metrics};
use app::triage;
use axum::extract::State;
use axum::Json;
use domain::triage::{Path, TriageSettings};
use serde::Deserialize;
use store::QueueEntry;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound, UnprocessableEntity};
use crate::extract::{JsonBody, ListParams, QueryMap, ThreadPath};
use crate::search::{short, time};
use crate::views::{thread_body, ThreadBody, TriageQueuePage};
use crate::{Actor, ApiError, AppState};

/// The queue and acknowledgement (served with the threads).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_queue))
        .routes(routes!(acknowledge))
        .routes(routes!(correct))
        .routes(routes!(get_metrics))
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TriageCorrection)]
struct Correction {
    /// The path the thread's resident message belongs to.
    path: Path,
}

/// Correct triage's path
///
/// Staff who work in the thread: the path triage chose was wrong. The correction is kept
/// (`triage.corrected_by`, `triage.classified_path`) and counted against
/// `auto_routed_share` in the metrics. 409 `not_triaged` when triage never classified the
/// thread.
#[utoipa::path(put, path = "/v1/threads/{id}/triage", tag = "triage", operation_id = "correctTriage",
    params(ThreadPath), request_body = Correction,
    responses(
        (status = 200, description = "The thread after the correction.", body = ThreadBody),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn correct(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
    JsonBody(req): JsonBody<Correction>,
) -> Result<Json<ThreadBody>, ApiError> {
    Ok(Json(thread_body(&app, &actor, triage::correct(&app, &actor, id, req.path)).await?))
}

/// Response metrics
///
/// Staff only (403 staff_only). Over the resident messages (new threads and re-openings)
/// of the period: minutes to the first reply of a human staff member (automated messages
/// never count), overall and per topic (p50/p90, nearest rank); minutes to resolution; the
/// share triage routed without a staff correction; escalations and minutes to
/// acknowledgement; and the backlog now (unread and open threads, the oldest unread's
/// wait). Period: `from` to `to`, default the last 30 days, at most 92 days (422
/// invalid_query).
#[utoipa::path(get, path = "/v1/metrics", tag = "triage", operation_id = "getMetrics",
    params(
        ("from" = Option<String>, Query, description = "Start (RFC 3339, or YYYY-MM-DD from its start, UTC)."),
        ("to" = Option<String>, Query, description = "End (RFC 3339, or YYYY-MM-DD to its end, UTC); default now."),
        ("property_id" = Option<String>, Query, description = "Only threads of residents of this property (at most 64 characters)."),
    ),
    responses(
        (status = 200, description = "The metrics.", body = Metrics),
        (status = 422, response = UnprocessableEntity),
    ))]
async fn get_metrics(
    State(app): State<AppState>,
    Actor(actor): Actor,
    QueryMap(params): QueryMap,
) -> Result<Json<Metrics>, ApiError> {
    let value = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let from = value("from").map(|v| time(v, false)).transpose()?;
    let to = value("to").map(|v| time(v, true)).transpose()?;
    let property = short(&params, "property_id")?;
    Ok(Json(metrics::metrics(&app, &actor, from, to, property).await?))
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
