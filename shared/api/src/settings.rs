//! Organization settings routes (staff read, facility admins write): topic routing and
//! teams, retention, notification defaults.

use app::settings;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use domain::notify::NotificationDefaults;
use domain::RoutingSettings;
use store::RetentionSettings;

use crate::extract::JsonBody;
use crate::{Actor, ApiError, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/settings/routing", get(get_routing).put(put_routing))
        .route("/v1/settings/retention", get(get_retention).put(put_retention))
        .route("/v1/settings/notifications", get(get_notifications).put(put_notifications))
        .with_state(state)
}

async fn get_routing(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<RoutingSettings>, ApiError> {
    Ok(Json(settings::routing(&app, &actor).await?))
}

async fn put_routing(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(new): JsonBody<RoutingSettings>,
) -> Result<Json<RoutingSettings>, ApiError> {
    Ok(Json(settings::set_routing(&app, &actor, new).await?))
}

async fn get_retention(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<RetentionSettings>, ApiError> {
    Ok(Json(settings::retention(&app, &actor).await?))
}

async fn put_retention(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(new): JsonBody<RetentionSettings>,
) -> Result<Json<RetentionSettings>, ApiError> {
    Ok(Json(settings::set_retention(&app, &actor, new).await?))
}

async fn get_notifications(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<NotificationDefaults>, ApiError> {
    Ok(Json(settings::notification_defaults(&app, &actor).await?))
}

async fn put_notifications(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(new): JsonBody<NotificationDefaults>,
) -> Result<Json<NotificationDefaults>, ApiError> {
    Ok(Json(settings::set_notification_defaults(&app, &actor, new).await?))
}
