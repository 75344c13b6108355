//! The caller: who they are, their notification preferences, and staff's signature.

use app::settings;
use axum::extract::State;
use axum::Json;
use domain::notify::NotificationPreferences;
use domain::template::Signature;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::consents::{self, ConsentView};
use serde::{Deserialize, Serialize};

use crate::doc::NotFound;
use crate::extract::{JsonBody, PathText};
use crate::{Actor, ApiError, AppState, Myself};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(whoami))
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(get_signature, put_signature))
        .routes(routes!(my_consents))
        .routes(routes!(set_my_consent))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Me)]
struct MeBody {
    id: domain::UserId,
    name: String,
    role: domain::Role,
    org_id: domain::OrgId,
    /// A resident's unit.
    unit: Option<String>,
    /// A resident's property, or staff's home property.
    property_id: Option<String>,
    /// The properties staff work for (empty: all of the organization's).
    property_ids: Vec<String>,
}

/// Who I am
///
/// The signed-in user as the organization knows them: what a client needs to show the
/// right screens (a resident's or staff's). Locked accounts may read it.
#[utoipa::path(get, path = "/v1/me", tag = "me", operation_id = "getMe",
    responses((status = 200, description = "The caller.", body = MeBody)))]
async fn whoami(Myself(actor): Myself) -> Json<MeBody> {
    Json(MeBody {
        id: actor.id,
        name: actor.name,
        role: actor.role,
        org_id: actor.org,
        unit: actor.unit,
        property_id: actor.property_id,
        property_ids: actor.property_ids,
    })
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

/// My signature
///
/// Staff only (403 staff_only). Off until set.
#[utoipa::path(get, path = "/v1/me/signature", tag = "me", operation_id = "getSignature",
    responses((status = 200, description = "The signature.", body = Signature)))]
async fn get_signature(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<Signature>, ApiError> {
    Ok(Json(app::templates::signature(&app, &actor).await?))
}

/// Replace my signature
///
/// Staff only. When enabled and not empty, it is added after a blank line to every message
/// the staff member posts but internal notes; a message it would make longer than 5000
/// characters is refused (422 too_long).
#[utoipa::path(put, path = "/v1/me/signature", tag = "me", operation_id = "putSignature",
    request_body = Signature,
    responses((status = 200, description = "The signature as saved (trimmed).", body = Signature)))]
async fn put_signature(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(signature): JsonBody<Signature>,
) -> Result<Json<Signature>, ApiError> {
    Ok(Json(app::templates::set_signature(&app, &actor, signature).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentList {
    /// Each category that needs consent (not transactional), by name.
    pub items: Vec<ConsentView>,
}

/// My consents
///
/// Whether the caller gets each category's messages: their decision, or the category's
/// default (opt_in: yes until they opt out; request and opt_out: no until they consent).
#[utoipa::path(get, path = "/v1/me/consents", tag = "me", operation_id = "getMyConsents",
    responses((status = 200, description = "The caller's consents.", body = ConsentList)))]
async fn my_consents(
    State(app): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<ConsentList>, ApiError> {
    Ok(Json(ConsentList { items: consents::mine(&app, &actor).await? }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SetConsent {
    subscribed: bool,
}

/// Change my consent to a category
///
/// Takes effect at once and is recorded in the caller's consent ledger (source `portal`,
/// basis `express`). A transactional category needs none (422 consent_not_needed); an
/// unknown one is 404.
#[utoipa::path(put, path = "/v1/me/consents/{category_id}", tag = "me", operation_id = "setMyConsent",
    params(("category_id" = String, Path, description = "The category.")), request_body = SetConsent,
    responses((status = 200, description = "The consent as it now stands.", body = ConsentView), (status = 404, response = NotFound)))]
async fn set_my_consent(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(category_id): PathText<String>,
    JsonBody(req): JsonBody<SetConsent>,
) -> Result<Json<ConsentView>, ApiError> {
    Ok(Json(consents::set_mine(&app, &actor, &category_id, req.subscribed).await?))
}
