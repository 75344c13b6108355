//! Organization settings routes (staff read, facility admins write): topic routing and
//! teams, retention, notification defaults.

use app::settings;
use axum::extract::State;
use axum::Json;
use domain::hours::BusinessHours;
use domain::messaging::MessagingSettings;
use domain::notify::NotificationDefaults;
use domain::RoutingSettings;
use store::RetentionSettings;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::JsonBody;
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_routing, put_routing))
        .routes(routes!(get_retention, put_retention))
        .routes(routes!(get_messaging, put_messaging))
        .routes(routes!(get_business_hours, put_business_hours))
        .routes(routes!(get_notifications, put_notifications))
}

/// Topic routing of the organization
///
/// Staff only.
#[utoipa::path(get, path = "/v1/settings/routing", tag = "settings", operation_id = "getRouting",
    responses((status = 200, description = "The routing settings.", body = RoutingSettings)))]
async fn get_routing(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<RoutingSettings>, ApiError> {
    Ok(Json(settings::routing(&app, &actor).await?))
}

/// Replace the topic routing
///
/// Facility admins only (403 admin_only). Every user named must be staff of the
/// organization (422 unknown_staff); teams referenced must exist, topics and team ids are
/// lower-case slugs, a team has 1 to 100 distinct members (422 invalid_routing). Topics
/// routed beyond the built-in ones become available to residents.
#[utoipa::path(put, path = "/v1/settings/routing", tag = "settings", operation_id = "putRouting",
    request_body = RoutingSettings,
    responses((status = 200, description = "The saved settings.", body = RoutingSettings)))]
async fn put_routing(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(new): JsonBody<RoutingSettings>,
) -> Result<Json<RoutingSettings>, ApiError> {
    Ok(Json(settings::set_routing(&app, &actor, new).await?))
}

/// Attachment retention
///
/// Staff only.
#[utoipa::path(get, path = "/v1/settings/retention", tag = "settings", operation_id = "getRetention",
    responses((status = 200, description = "The retention settings.", body = RetentionSettings)))]
async fn get_retention(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<RetentionSettings>, ApiError> {
    Ok(Json(settings::retention(&app, &actor).await?))
}

/// Change attachment retention
///
/// Facility admins only. Applies to attachments attached from now on.
#[utoipa::path(put, path = "/v1/settings/retention", tag = "settings", operation_id = "putRetention",
    request_body = RetentionSettings,
    responses((status = 200, description = "The retention settings.", body = RetentionSettings)))]
async fn put_retention(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(new): JsonBody<RetentionSettings>,
) -> Result<Json<RetentionSettings>, ApiError> {
    Ok(Json(settings::set_retention(&app, &actor, new).await?))
}

/// The org's default notification channels
///
/// Staff only.
#[utoipa::path(get, path = "/v1/settings/notifications", tag = "settings", operation_id = "getNotificationDefaults",
    responses((status = 200, description = "The defaults.", body = NotificationDefaults)))]
async fn get_notifications(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<NotificationDefaults>, ApiError> {
    Ok(Json(settings::notification_defaults(&app, &actor).await?))
}

/// Change the org's default notification channels
///
/// Facility admins only. Each channel once, at least one (422 invalid_defaults).
#[utoipa::path(put, path = "/v1/settings/notifications", tag = "settings", operation_id = "putNotificationDefaults",
    request_body = NotificationDefaults,
    responses((status = 200, description = "The defaults.", body = NotificationDefaults)))]
async fn put_notifications(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(new): JsonBody<NotificationDefaults>,
) -> Result<Json<NotificationDefaults>, ApiError> {
    Ok(Json(settings::set_notification_defaults(&app, &actor, new).await?))
}

/// Messaging settings
///
/// Staff only. Until set: read receipts for everyone, residents may start conversations.
#[utoipa::path(get, path = "/v1/settings/messaging", tag = "settings", operation_id = "getMessagingSettings",
    responses((status = 200, description = "The messaging settings.", body = MessagingSettings)))]
async fn get_messaging(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<MessagingSettings>, ApiError> {
    Ok(Json(settings::messaging(&app, &actor).await?))
}

/// Change the messaging settings
///
/// Facility admins only. `read_receipts`: `everyone`; `staff` (residents see no one's read
/// marker but their own); `off` (each sees only their own). `residents_can_start: false`:
/// a resident starting a conversation is refused with 403 conversations_closed; replies
/// still work. Applies from the next request.
#[utoipa::path(put, path = "/v1/settings/messaging", tag = "settings", operation_id = "putMessagingSettings",
    request_body = MessagingSettings,
    responses((status = 200, description = "The messaging settings.", body = MessagingSettings)))]
async fn put_messaging(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(new): JsonBody<MessagingSettings>,
) -> Result<Json<MessagingSettings>, ApiError> {
    Ok(Json(settings::set_messaging(&app, &actor, new).await?))
}

/// Business hours
///
/// Staff only. Until set: weekdays 09:00 to 17:00 in America/Toronto, no closed dates, the
/// automatic reply off.
#[utoipa::path(get, path = "/v1/settings/business-hours", tag = "settings", operation_id = "getBusinessHours",
    responses((status = 200, description = "The business hours.", body = BusinessHours)))]
async fn get_business_hours(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<BusinessHours>, ApiError> {
    Ok(Json(settings::business_hours(&app, &actor).await?))
}

/// Change the business hours
///
/// Facility admins only. Each day's spans in order, not touching or overlapping, `end` after
/// `start` (`24:00` allowed), at most six a day; closed dates are whole local days; else 422
/// invalid_business_hours (or invalid_request for a malformed time, date or zone). With
/// `auto_reply.enabled`, a resident who writes outside the hours gets `auto_reply.body` in
/// the thread (`automated: true`, `automated_kind: auto_reply`), once per thread until the
/// hours open again; it leaves the thread unread for staff. Applies to messages from now on.
#[utoipa::path(put, path = "/v1/settings/business-hours", tag = "settings", operation_id = "putBusinessHours",
    request_body = BusinessHours,
    responses((status = 200, description = "The business hours.", body = BusinessHours)))]
async fn put_business_hours(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(new): JsonBody<BusinessHours>,
) -> Result<Json<BusinessHours>, ApiError> {
    Ok(Json(settings::set_business_hours(&app, &actor, new).await?))
}
