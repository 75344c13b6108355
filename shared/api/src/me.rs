//! The caller's own settings: notification preferences.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use domain::notify::NotificationPreferences;
use domain::policy;

use crate::extract::JsonBody;
use crate::{Actor, ApiError, AppState, Myself};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/me/notification-preferences", get(get_preferences).put(put_preferences))
        .with_state(state)
}

/// The caller's preferences, or the defaults they are notified with until they set some.
async fn get_preferences(
    State(state): State<AppState>,
    Myself(actor): Myself,
) -> Result<Json<NotificationPreferences>, ApiError> {
    let prefs = state.store.get_preferences(&actor.org, &actor.id).await?;
    Ok(Json(match prefs {
        Some(p) => p,
        None => state.store.get_notification_defaults(&actor.org).await?.for_user(&actor),
    }))
}

async fn put_preferences(
    State(state): State<AppState>,
    Actor(actor): Actor,
    JsonBody(prefs): JsonBody<NotificationPreferences>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    policy::ensure_can_write(&actor)?;
    state.store.put_preferences(&actor.org, &actor.id, &prefs).await?;
    Ok(Json(prefs))
}
