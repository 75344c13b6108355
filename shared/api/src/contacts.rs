//! Contact routes (staff read, facility admins write) and invitations; what each does is
//! in `app::contacts` and `app::invitations`.

use app::contacts;
use app::invitations::{self, Accepted, Invited};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use directory::Password;
use domain::contact::{ContactKind, ContactPatch, Lock, NewContact};
use domain::{AccountState, DomainError, ErrorCode, Role, User, UserId};
use serde::{Deserialize, Serialize};
use store::{AuditEntry, ContactQuery};

use crate::extract::{JsonBody, ListParams, PathText};
use crate::views::PageBody;
use crate::{Actor, ApiError, AppState, Myself};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/contacts", get(list).post(create))
        .route("/v1/contacts/{id}", get(show).patch(update))
        .route("/v1/contacts/{id}/lock", post(lock))
        .route("/v1/contacts/{id}/unlock", post(unlock))
        .route("/v1/contacts/{id}/archive", post(archive))
        .route("/v1/contacts/{id}/unarchive", post(unarchive))
        .route("/v1/contacts/{id}/audit", get(audit))
        .route("/v1/contacts/{id}/invite", post(invite))
        .with_state(state)
}

/// Routes that need no token: accepting an invitation (its token is the credential).
pub fn public_router(state: AppState) -> Router {
    Router::new().route("/v1/invites/accept", post(accept)).with_state(state)
}

/// The `{id}` of a contact route. An id that cannot exist names no contact.
fn contact_id(raw: String) -> Result<UserId, ApiError> {
    Ok(UserId::parse(raw).map_err(|_| DomainError::NotFound("contact"))?)
}

async fn invite(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
) -> Result<(StatusCode, Json<Invited>), ApiError> {
    let invited = invitations::invite(&app, &actor, &contact_id(id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(invited)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Accept {
    token: String,
    /// The password the invited person will sign in with.
    password: String,
}

async fn accept(
    State(app): State<AppState>,
    JsonBody(req): JsonBody<Accept>,
) -> Result<Json<Accepted>, ApiError> {
    let password = Password::parse(req.password)?;
    Ok(Json(invitations::accept(&app, &req.token, password).await?))
}

#[derive(Serialize)]
pub struct ContactBody {
    id: UserId,
    kind: Option<ContactKind>,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    property_id: Option<String>,
    unit: Option<String>,
    role: Role,
    state: AccountState,
    lock: Option<Lock>,
    archive_at: Option<DateTime<Utc>>,
}

impl From<User> for ContactBody {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            kind: u.kind,
            name: u.name,
            email: u.email,
            phone: u.phone,
            property_id: u.property_id,
            unit: u.unit,
            role: u.role,
            state: u.state,
            lock: u.lock,
            archive_at: u.archive_at,
        }
    }
}

async fn create(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(req): JsonBody<NewContact>,
) -> Result<(StatusCode, Json<ContactBody>), ApiError> {
    let user = contacts::create(&app, &actor, req).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

async fn list(
    State(app): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<PageBody<ContactBody>>, ApiError> {
    domain::policy::ensure_staff(&actor)?;
    let text = |name: &str| params.rest.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let kind = text("kind")
        .map(|k| serde_json::from_value::<ContactKind>(serde_json::Value::String(k)))
        .transpose()
        .map_err(|_| {
            DomainError::invalid(ErrorCode::InvalidKind, "kind is resident, owner, staff or vendor")
        })?;
    let query = ContactQuery {
        name_prefix: text("q"),
        property_id: text("property_id"),
        unit: text("unit"),
        kind,
        include_archived: text("include_archived").as_deref() == Some("true"),
        cursor: params.cursor,
        limit: params.limit,
    };
    let page = contacts::search(&app, &actor, query).await?;
    Ok(Json(PageBody::from_page(page, ContactBody::from)))
}

async fn show(
    State(app): State<AppState>,
    Myself(actor): Myself,
    PathText(id): PathText<String>,
) -> Result<Json<ContactBody>, ApiError> {
    let id = contact_id(id)?;
    Ok(Json(contacts::show(&app, &actor, &id).await?.into()))
}

async fn update(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
    JsonBody(patch): JsonBody<ContactPatch>,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::update(&app, &actor, &contact_id(id)?, patch).await?.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockRequest {
    reason: Option<String>,
}

async fn lock(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
    JsonBody(req): JsonBody<LockRequest>,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::lock(&app, &actor, &contact_id(id)?, req.reason.as_deref()).await?.into()))
}

async fn unlock(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::unlock(&app, &actor, &contact_id(id)?).await?.into()))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ArchiveRequest {
    at: Option<DateTime<Utc>>,
}

async fn archive(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
    JsonBody(req): JsonBody<ArchiveRequest>,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::archive(&app, &actor, &contact_id(id)?, req.at).await?.into()))
}

async fn unarchive(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::unarchive(&app, &actor, &contact_id(id)?).await?.into()))
}

#[derive(Serialize)]
struct AuditBody {
    items: Vec<AuditEntry>,
}

async fn audit(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
) -> Result<Json<AuditBody>, ApiError> {
    Ok(Json(AuditBody { items: contacts::audit(&app, &actor, &contact_id(id)?).await? }))
}
