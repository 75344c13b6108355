//! Contact routes (staff read, facility admins write) and invitations; what each does is
//! in `app::contacts` and `app::invitations`.

use app::contacts;
use app::invitations::{self, Accepted, Invited};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use directory::Password;
use domain::contact::{ContactKind, ContactPatch, Lock, NewContact};
use domain::{AccountState, DomainError, ErrorCode, Role, User, UserId};
use serde::{Deserialize, Serialize};
use store::{AuditEntry, ContactQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound, RateLimited, Unavailable, UnprocessableEntity};
use crate::extract::{ContactPath, JsonBody, ListParams};
use crate::views::ContactPage;
use crate::{Actor, ApiError, AppState, Myself};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update))
        .routes(routes!(lock))
        .routes(routes!(unlock))
        .routes(routes!(archive))
        .routes(routes!(unarchive))
        .routes(routes!(audit))
        .routes(routes!(contact_consents, record_consent))
        .routes(routes!(invite))
}

/// Routes that need no token: accepting an invitation (its token is the credential).
pub(crate) fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(accept))
}

/// E-mail an invitation
///
/// Facility admins only. Sends (SES) a single-use link valid 7 days with a 256-bit token;
/// only its SHA-256 is stored and the delivery log keeps the text without it. The newest
/// link is the only valid one: inviting again or changing the contact's e-mail revokes
/// every older link. 422 email_required, 409 contact_archived, 409 already_active (the
/// account signs in already), 409 email_in_use. Recorded in the audit trail.
#[utoipa::path(post, path = "/v1/contacts/{id}/invite", tag = "contacts", operation_id = "inviteContact", params(ContactPath),
    responses(
        (status = 202, description = "Sent.", body = Invited),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = RateLimited),
    ))]
async fn invite(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ContactPath(id): ContactPath,
) -> Result<(StatusCode, Json<Invited>), ApiError> {
    let invited = invitations::invite(&app, &actor, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(invited)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Accept {
    /// The token of the invitation link.
    token: String,
    /// The password the invited person will sign in with: 12 to 256 characters with a
    /// lower-case letter, an upper-case letter, a digit and a symbol (422 weak_password).
    #[schema(min_length = 12, max_length = 256)]
    password: String,
}

/// Use an invitation link
///
/// No token needed: the invitation token is the credential. Sets the password of the
/// sign-in (Cognito) user the invitation created; the user name is the invited e-mail
/// address. Works once, within 7 days, and only while it is the contact's newest link sent
/// to its current e-mail (409 invite_invalid otherwise); never for an account that already
/// signs in (409 already_active). A refused password (422 weak_password) does not use the
/// link up.
#[utoipa::path(post, path = "/v1/invites/accept", tag = "contacts", operation_id = "acceptInvite",
    request_body = Accept,
    responses(
        (status = 200, description = "Accepted.", body = Accepted),
        (status = 409, response = Conflict),
        (status = 503, response = Unavailable),
    ))]
async fn accept(
    State(app): State<AppState>,
    JsonBody(req): JsonBody<Accept>,
) -> Result<Json<Accepted>, ApiError> {
    let password = Password::parse(req.password)?;
    Ok(Json(invitations::accept(&app, &req.token, password).await?))
}

/// What a change to a contact answers: the contact as changed, or why not.
struct ContactChanged;

impl utoipa::IntoResponses for ContactChanged {
    fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        use utoipa::{ToResponse, ToSchema};
        let body = ContentBuilder::new().schema(Some(Ref::from_schema_name(ContactBody::name()))).build();
        let changed = ResponseBuilder::new().description("The contact.").content("application/json", body);
        [
            ("200", changed.build().into()),
            ("404", Ref::from_response_name(<NotFound as ToResponse>::response().0).into()),
            ("409", Ref::from_response_name(<Conflict as ToResponse>::response().0).into()),
        ]
        .into_iter()
        .map(|(status, answer)| (status.to_owned(), answer))
        .collect()
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Contact)]
pub struct ContactBody {
    id: UserId,
    kind: Option<ContactKind>,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    property_id: Option<String>,
    /// Staff: the properties they work for besides `property_id` (where they dispatch).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    property_ids: Vec<String>,
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
            property_ids: u.property_ids,
            unit: u.unit,
            role: u.role,
            state: u.state,
            lock: u.lock,
            archive_at: u.archive_at,
        }
    }
}

/// Create a contact
///
/// Facility admins only. Residents and owners need property_id and unit (422
/// unit_required); role is for staff only (422 invalid_role); email and phone are checked
/// (422 invalid_address).
#[utoipa::path(post, path = "/v1/contacts", tag = "contacts", operation_id = "createContact",
    request_body = NewContact,
    responses((status = 201, description = "The contact.", body = ContactBody)))]
async fn create(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(req): JsonBody<NewContact>,
) -> Result<(StatusCode, Json<ContactBody>), ApiError> {
    let user = contacts::create(&app, &actor, req).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Find contacts
///
/// Staff only. One Query on an index: by name prefix (any word, case- and
/// accent-insensitive), by unit (with property_id), by property, or all; archived contacts
/// only with include_archived=true.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", operation_id = "listContacts",
    params(
        ("q" = Option<String>, Query, description = "Name prefix."),
        ("property_id" = Option<String>, Query, description = "Only contacts of this property."),
        ("unit" = Option<String>, Query, description = "Only contacts of this unit; needs property_id."),
        ("kind" = Option<String>, Query, description = "resident, owner, staff or vendor (422 invalid_kind otherwise)."),
        ("include_archived" = Option<String>, Query, description = "true to include archived contacts."),
        ListParams,
    ),
    responses((status = 200, description = "A page of contacts.", body = ContactPage)))]
async fn list(
    State(app): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<ContactPage>, ApiError> {
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
    Ok(Json(ContactPage::from_page(page, ContactBody::from)))
}

/// A contact
///
/// Staff, or the contact themself.
#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts", operation_id = "getContact", params(ContactPath),
    responses((status = 200, description = "The contact.", body = ContactBody), (status = 404, response = NotFound)))]
async fn show(
    State(app): State<AppState>,
    Myself(actor): Myself,
    ContactPath(id): ContactPath,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::show(&app, &actor, &id).await?.into()))
}

/// Change a contact
///
/// Facility admins only.
#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "contacts", operation_id = "updateContact", params(ContactPath),
    request_body = ContactPatch,
    responses(ContactChanged))]
async fn update(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ContactPath(id): ContactPath,
    JsonBody(patch): JsonBody<ContactPatch>,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::update(&app, &actor, &id, patch).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LockRequest {
    /// The documented reason, 1 to 500 characters once trimmed (422 reason_required).
    #[schema(required, min_length = 1, max_length = 500)]
    reason: Option<String>,
}

/// Lock an account
///
/// Facility admins only. Recorded in the audit trail. A documented reason is required (422
/// reason_required). Writes by the locked user answer 403 account_locked from the next
/// request; reads still work.
#[utoipa::path(post, path = "/v1/contacts/{id}/lock", tag = "contacts", operation_id = "lockContact", params(ContactPath),
    request_body = LockRequest,
    responses(ContactChanged))]
async fn lock(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ContactPath(id): ContactPath,
    JsonBody(req): JsonBody<LockRequest>,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::lock(&app, &actor, &id, req.reason.as_deref()).await?.into()))
}

/// Unlock an account
///
/// Facility admins only. Recorded in the audit trail. Takes no body (one sent is ignored).
#[utoipa::path(
    post,
    path = "/v1/contacts/{id}/unlock",
    tag = "contacts",
    operation_id = "unlockContact",
    params(ContactPath),
    responses(ContactChanged)
)]
async fn unlock(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ContactPath(id): ContactPath,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::unlock(&app, &actor, &id).await?.into()))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ArchiveRequest {
    /// When to archive; absent, null or not in the future: now.
    at: Option<DateTime<Utc>>,
}

/// Archive now or on a date
///
/// Facility admins only. Recorded in the audit trail. Body {} archives now (409
/// outstanding_items while the contact has unresolved conversations); {at} in the future
/// schedules it.
#[utoipa::path(post, path = "/v1/contacts/{id}/archive", tag = "contacts", operation_id = "archiveContact", params(ContactPath),
    request_body = ArchiveRequest,
    responses(ContactChanged))]
async fn archive(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ContactPath(id): ContactPath,
    JsonBody(req): JsonBody<ArchiveRequest>,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::archive(&app, &actor, &id, req.at).await?.into()))
}

/// Unarchive
///
/// Facility admins only. Recorded in the audit trail. Also cancels a scheduled archive.
/// Takes no body (one sent is ignored).
#[utoipa::path(
    post,
    path = "/v1/contacts/{id}/unarchive",
    tag = "contacts",
    operation_id = "unarchiveContact",
    params(ContactPath),
    responses(ContactChanged)
)]
async fn unarchive(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ContactPath(id): ContactPath,
) -> Result<Json<ContactBody>, ApiError> {
    Ok(Json(contacts::unarchive(&app, &actor, &id).await?.into()))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuditTrail)]
struct AuditBody {
    /// Oldest first.
    items: Vec<AuditEntry>,
}

/// A contact's audit trail
///
/// Facility admins only: locks, unlocks, archives, unarchives and invitations, with actor
/// and time.
#[utoipa::path(get, path = "/v1/contacts/{id}/audit", tag = "contacts", operation_id = "contactAudit", params(ContactPath),
    responses((status = 200, description = "Entries, oldest first.", body = AuditBody), (status = 404, response = NotFound)))]
async fn audit(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ContactPath(id): ContactPath,
) -> Result<Json<AuditBody>, ApiError> {
    Ok(Json(AuditBody { items: contacts::audit(&app, &actor, &id).await? }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ContactConsents {
    /// Each category that needs consent (not transactional), by name.
    items: Vec<app::consents::ConsentView>,
    /// The ledger: every change, oldest first, never changed or deleted.
    history: Vec<domain::consent::ConsentEntry>,
}

/// A contact's consents
///
/// Staff only: where the contact stands with each category that needs consent, and the
/// ledger of every change (who, when, basis, source, evidence): what CASL's burden of
/// proof needs.
#[utoipa::path(get, path = "/v1/contacts/{id}/consents", tag = "contacts", operation_id = "contactConsents",
    params(ContactPath),
    responses((status = 200, description = "Consents and their history.", body = ContactConsents), (status = 404, response = NotFound)))]
async fn contact_consents(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ContactPath(id): ContactPath,
) -> Result<Json<ContactConsents>, ApiError> {
    let (items, history) = app::consents::of_contact(&app, &actor, &id).await?;
    Ok(Json(ContactConsents { items, history }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordConsent {
    category_id: String,
    subscribed: bool,
    /// What the contact said, when and how (1 to 2000 characters; 422 evidence_required).
    #[schema(max_length = 2000)]
    evidence: Option<String>,
}

/// Record a contact's consent
///
/// Facility admins only, with evidence: an entry of the contact's ledger (source `admin`,
/// basis `express`), effective at once. A transactional category needs none (422
/// consent_not_needed).
#[utoipa::path(post, path = "/v1/contacts/{id}/consents", tag = "contacts", operation_id = "recordConsent",
    params(ContactPath), request_body = RecordConsent,
    responses((status = 201, description = "The consent as it now stands.", body = app::consents::ConsentView), (status = 404, response = NotFound)))]
async fn record_consent(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ContactPath(id): ContactPath,
    JsonBody(req): JsonBody<RecordConsent>,
) -> Result<(StatusCode, Json<app::consents::ConsentView>), ApiError> {
    let recorded = app::consents::record_for(
        &app,
        &actor,
        &id,
        &req.category_id,
        req.subscribed,
        req.evidence.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}
