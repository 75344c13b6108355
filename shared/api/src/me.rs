//! The caller's own settings: notification preferences.

use app::settings;
use axum::extract::State;
use axum::{Json, Router};
use domain::notify::NotificationPreferences;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::JsonBody;
use crate::{Actor, ApiError, AppState, Myself};

pub fn router(state: AppState) -> Router {
    crate::doc::serve(routes(), state)
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_preferences, put_preferences))
}

/// My notification preferences
///
/// Until set, the defaults used: the organization's default channels at the contact
/// addresses. Read by anyone signed in, locked or not; changed only by those who may write.
#[utoipa::path(get, path = "/v1/me/notification-preferences", tag = "me", operation_id = "getNotificationPreferences",
    responses((status = 200, description = "The preferences.", body = NotificationPreferences)))]
async fn get_preferences(
    State(app): State<AppState>,
    Myself(actor): Myself,
) -> Result<Json<NotificationPreferences>, ApiError> {
    Ok(Json(settings::preferences(&app, &actor).await?))
}

/// Replace my notification preferences
///
/// 422 on an unknown channel, a malformed address (invalid_address), a repeated channel or
/// an unknown time zone; nothing is saved then.
#[utoipa::path(put, path = "/v1/me/notification-preferences", tag = "me", operation_id = "putNotificationPreferences",
    request_body = NotificationPreferences,
    responses((status = 200, description = "The preferences.", body = NotificationPreferences)))]
async fn put_preferences(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(prefs): JsonBody<NotificationPreferences>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    Ok(Json(settings::set_preferences(&app, &actor, prefs).await?))
}
