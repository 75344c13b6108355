//! Organization settings routes (facility admins): topic routing and teams.

use std::collections::HashSet;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use domain::notify::NotificationDefaults;
use domain::{policy, DomainError, ErrorCode, RoutingSettings, UserId};
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
    State(state): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<RoutingSettings>, ApiError> {
    policy::ensure_staff(&actor)?;
    Ok(Json(state.store.get_routing(&actor.org).await?.unwrap_or_default()))
}

async fn put_routing(
    State(state): State<AppState>,
    Actor(actor): Actor,
    JsonBody(settings): JsonBody<RoutingSettings>,
) -> Result<Json<RoutingSettings>, ApiError> {
    policy::ensure_org_admin(&actor)?;
    let named: Vec<UserId> = settings.validate()?.into_iter().collect();
    let staff: HashSet<UserId> = state
        .store
        .get_users(&actor.org, &named)
        .await?
        .into_iter()
        .filter(|u| u.role.is_staff())
        .map(|u| u.id)
        .collect();
    if let Some(user_id) = named.iter().find(|id| !staff.contains(id)) {
        return Err(DomainError::invalid(
            ErrorCode::UnknownStaff,
            format!("'{user_id}' is not a staff member of this organization"),
        )
        .into());
    }
    state.store.put_routing(&actor.org, &settings).await?;
    Ok(Json(settings))
}

async fn get_retention(
    State(state): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<RetentionSettings>, ApiError> {
    policy::ensure_staff(&actor)?;
    Ok(Json(state.store.get_retention(&actor.org).await?))
}

/// At most ten years; zero archives attachments at the next retention run.
const MAX_RETENTION_DAYS: u32 = 3650;

async fn put_retention(
    State(state): State<AppState>,
    Actor(actor): Actor,
    JsonBody(settings): JsonBody<RetentionSettings>,
) -> Result<Json<RetentionSettings>, ApiError> {
    policy::ensure_org_admin(&actor)?;
    if settings.attachment_retention_days > MAX_RETENTION_DAYS {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRetention,
            format!("at most {MAX_RETENTION_DAYS} days"),
        )
        .into());
    }
    state.store.put_retention(&actor.org, &settings).await?;
    Ok(Json(settings))
}

async fn get_notifications(
    State(state): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<NotificationDefaults>, ApiError> {
    policy::ensure_staff(&actor)?;
    Ok(Json(state.store.get_notification_defaults(&actor.org).await?))
}

async fn put_notifications(
    State(state): State<AppState>,
    Actor(actor): Actor,
    JsonBody(defaults): JsonBody<NotificationDefaults>,
) -> Result<Json<NotificationDefaults>, ApiError> {
    policy::ensure_org_admin(&actor)?;
    state.store.put_notification_defaults(&actor.org, &defaults).await?;
    Ok(Json(defaults))
}
