//! The caller's own settings: notification preferences.

use app::settings;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use domain::notify::NotificationPreferences;

use crate::extract::JsonBody;
use crate::{Actor, ApiError, AppState, Myself};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/me/notification-preferences", get(get_preferences).put(put_preferences))
        .with_state(state)
}

/// Read by anyone signed in, locked or not; changed only by those who may write.
async fn get_preferences(
    State(app): State<AppState>,
    Myself(actor): Myself,
) -> Result<Json<NotificationPreferences>, ApiError> {
    Ok(Json(settings::preferences(&app, &actor).await?))
}

async fn put_preferences(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(prefs): JsonBody<NotificationPreferences>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    Ok(Json(settings::set_preferences(&app, &actor, prefs).await?))
}
