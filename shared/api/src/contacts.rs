//! Contacts (staff read, facility admins write): residents, owners, staff and vendors;
//! search by name prefix, unit or property; lock with a documented reason; archive now or
//! on a date. Every lock, unlock, archive and unarchive goes in the contact's audit trail.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::contact::{lock_reason, ContactKind, ContactPatch, Lock, NewContact};
use domain::notify::Channel;
use domain::{policy, AccountState, DomainError, ErrorCode, Role, User, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{AuditEntry, ContactQuery};
use workers::channels::Outgoing;

use crate::conversation::{millis, now};
use crate::extract::{JsonBody, ListParams, PathText};
use crate::views::PageBody;
use crate::{Actor, ApiError, AppState, Myself};
use directory::{Directory, Password, SignIn};

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

/// How long an invitation link stays valid.
const INVITE_TTL: chrono::Duration = chrono::Duration::days(7);

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize)]
struct Invited {
    user_id: UserId,
    expires_at: DateTime<Utc>,
}

/// A fresh invitation token: 256 bits from the operating system's generator, as hex.
fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(ApiError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Sends an invitation e-mail with a single-use link valid for seven days. The link is the
/// contact's only valid one: sending another, or changing the contact's e-mail, revokes it.
async fn invite(
    State(state): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
) -> Result<(StatusCode, Json<Invited>), ApiError> {
    let contact = load_for_admin(&state, &actor, &id).await?;
    let email = contact.email.clone().ok_or_else(|| {
        DomainError::invalid(ErrorCode::EmailRequired, "this contact has no e-mail address")
    })?;
    if contact.state == AccountState::Archived {
        return Err(
            DomainError::conflict(ErrorCode::ContactArchived, "archived contacts are not invited").into()
        );
    }
    let taken =
        crate::quota::take(&state, &actor, domain::quota::QuotaKind::Invitation, Some(&contact.id)).await?;
    let sent = send_invitation(&state, &actor, contact, email).await;
    taken.settle(&state, sent, |_| true).await.map(|invited| (StatusCode::ACCEPTED, Json(invited)))
}

/// Makes the contact's sign-in user if it has none, records a new link as its only one and
/// mails it.
async fn send_invitation(
    state: &AppState,
    actor: &User,
    contact: User,
    email: String,
) -> Result<Invited, ApiError> {
    let login = Directory::login_for(&email);
    if let Some(directory) = &state.directory {
        if directory.ensure_user(&actor.org, &contact.id, &login).await? == SignIn::Active {
            return Err(already_active());
        }
    }
    let token = new_token()?;
    let hash = token_hash(&token);
    let at = now();
    let expires_at = at + INVITE_TTL;
    let record = store::Invite {
        org: actor.org.clone(),
        user_id: contact.id.clone(),
        invited_by: actor.id.clone(),
        expires_at,
        email: Some(email.clone()),
    };
    state.store.create_invite(&hash, &record).await?;
    // The contact names this link as its current one before anyone can receive it.
    let audit = entry("invited", actor, &contact, None);
    let after =
        User { invite: Some(hash.clone()), login: Some(login), rev: contact.rev + 1, ..contact.clone() };
    state.store.write_contact(Some(&contact), &after, Some(&audit)).await?;
    let link = |token: &str| {
        format!(
            "{} invited you to message your property management team.\nAccept within 7 days: {}/invite?token={token}\nThe link works once.",
            actor.name, state.app_url
        )
    };
    let out = Outgoing { to: &email, title: "Your invitation", text: &link(&token), idempotency_key: &hash };
    state.providers.send(Channel::Email, &out).await.map_err(|e| {
        tracing::warn!(error = %e, "invitation e-mail not sent");
        ApiError::Mail(e)
    })?;
    // The log shows what was sent, but not the token: it opens the account.
    let delivery = store::Delivery {
        channel: Channel::Email,
        to: email,
        user_id: contact.id.clone(),
        thread_id: None,
        message_id: None,
        message_ids: vec![],
        body: link("[redacted]"),
        sent_at: at,
    };
    state.store.record_delivery(&actor.org, &delivery).await?;
    Ok(Invited { user_id: contact.id, expires_at })
}

fn already_active() -> ApiError {
    DomainError::conflict(ErrorCode::AlreadyActive, "this account already signs in; it needs no invitation")
        .into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Accept {
    token: String,
    /// The password the invited person will sign in with.
    password: String,
}

#[derive(Serialize)]
struct Accepted {
    user_id: UserId,
    org_id: domain::OrgId,
    /// The user name to sign in with (the invited e-mail address).
    login: Option<String>,
}

fn invite_invalid() -> ApiError {
    DomainError::conflict(
        ErrorCode::InviteInvalid,
        "this invitation link was used, has expired, was replaced or does not exist",
    )
    .into()
}

/// Uses an invitation link: sets the password of the sign-in user the invitation created,
/// if the link is still the contact's current one, for the address it was sent to, and the
/// user has not signed in yet. The link is taken first (single use) and given back if the
/// directory fails, so a retry with the same link works.
async fn accept(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<Accept>,
) -> Result<Json<Accepted>, ApiError> {
    let password = Password::parse(req.password)?;
    if req.token.len() != 64 || !req.token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invite_invalid());
    }
    let (hash, at) = (token_hash(&req.token), now());
    let invite = state.store.accept_invite(&hash, at).await?.ok_or_else(invite_invalid)?;
    let contact = state.store.get_user(&invite.org, &invite.user_id).await?.ok_or_else(invite_invalid)?;
    let current = contact.invite.as_deref() == Some(hash.as_str())
        && invite.email.is_some()
        && contact.email == invite.email
        && policy::ensure_can_sign_in(&contact).is_ok();
    if !current {
        return Err(invite_invalid());
    }
    let login = match &state.directory {
        Some(directory) => match set_up_sign_in(directory, &contact, &password).await {
            Ok(login) => Some(login),
            Err(e) => {
                if !matches!(
                    &e,
                    ApiError::Domain(DomainError::Conflict { code: ErrorCode::AlreadyActive, .. })
                ) {
                    state.store.release_invite(&hash, at).await?;
                }
                return Err(e);
            }
        },
        None => None,
    };
    Ok(Json(Accepted { user_id: invite.user_id, org_id: invite.org, login }))
}

/// Sets the first password of the user the invitation created; never that of a user who
/// already signs in, nor of one that is not this contact's.
async fn set_up_sign_in(
    directory: &Directory,
    contact: &User,
    password: &Password,
) -> Result<String, ApiError> {
    let login = contact.login.clone().ok_or_else(invite_invalid)?;
    match directory.owned_sign_in(&contact.org, &contact.id, &login).await? {
        Some(SignIn::Invited) => {}
        Some(SignIn::Active) => return Err(already_active()),
        None => return Err(invite_invalid()),
    }
    directory.set_password(&login, password).await?;
    Ok(login)
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

async fn load(state: &AppState, actor: &User, raw: &str) -> Result<User, ApiError> {
    let not_found = || ApiError::Domain(DomainError::NotFound("contact"));
    let id = UserId::parse(raw).map_err(|_| not_found())?;
    state.store.get_user(&actor.org, &id).await?.ok_or_else(not_found)
}

/// A contact an admin is about to change: staff who are not admins learn it exists (403),
/// everyone else gets 404.
async fn load_for_admin(state: &AppState, actor: &User, raw: &str) -> Result<User, ApiError> {
    policy::ensure_staff(actor)?;
    let contact = load(state, actor, raw).await?;
    policy::ensure_org_admin(actor)?;
    Ok(contact)
}

async fn create(
    State(state): State<AppState>,
    Actor(actor): Actor,
    JsonBody(req): JsonBody<NewContact>,
) -> Result<(StatusCode, Json<ContactBody>), ApiError> {
    policy::ensure_org_admin(&actor)?;
    let id = UserId::new_contact(millis(now()));
    let user = req.into_user(id, actor.org.clone())?;
    if !state.store.create_contact(&user).await? {
        return Err(store::StoreError::Contention.into());
    }
    Ok((StatusCode::CREATED, Json(user.into())))
}

async fn list(
    State(state): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<PageBody<ContactBody>>, ApiError> {
    policy::ensure_staff(&actor)?;
    let text = |name: &str| params.rest.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let kind = text("kind")
        .map(|k| serde_json::from_value::<ContactKind>(serde_json::Value::String(k)))
        .transpose()
        .map_err(|_| {
            DomainError::invalid(ErrorCode::InvalidKind, "kind is resident, owner, staff or vendor")
        })?;
    let name_prefix = text("q");
    if name_prefix.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(DomainError::invalid(ErrorCode::InvalidQuery, "q is at most 100 characters").into());
    }
    let query = ContactQuery {
        name_prefix,
        property_id: text("property_id"),
        unit: text("unit"),
        kind,
        include_archived: text("include_archived").as_deref() == Some("true"),
        cursor: params.cursor,
        limit: params.limit,
    };
    if query.unit.is_some() && query.property_id.is_none() {
        return Err(
            DomainError::invalid(ErrorCode::PropertyRequired, "searching by unit needs property_id").into()
        );
    }
    let page = state.store.search_contacts(&actor.org, &query).await?;
    Ok(Json(PageBody::from_page(page, ContactBody::from)))
}

async fn show(
    State(state): State<AppState>,
    Myself(actor): Myself,
    PathText(id): PathText<String>,
) -> Result<Json<ContactBody>, ApiError> {
    if id == actor.id.as_str() {
        // Anyone reads their own profile: the caller's record, just read, is it.
        return Ok(Json(actor.into()));
    }
    // Anything else needs an account that may act.
    policy::ensure_can_act(&actor)?;
    let contact = load(&state, &actor, &id).await?;
    // Staff read every contact; anyone reads their own.
    if !actor.role.is_staff() && contact.id != actor.id {
        return Err(DomainError::NotFound("contact").into());
    }
    Ok(Json(contact.into()))
}

/// Writes a change made by `actor` to the contact as read, with its audit entry.
async fn save(
    state: &AppState,
    before: &User,
    mut after: User,
    entry: Option<AuditEntry>,
) -> Result<Json<ContactBody>, ApiError> {
    after.rev = before.rev + 1;
    state.store.write_contact(Some(before), &after, entry.as_ref()).await?;
    Ok(Json(after.into()))
}

fn entry(action: &str, actor: &User, subject: &User, reason: Option<String>) -> AuditEntry {
    AuditEntry {
        action: action.to_owned(),
        actor_id: actor.id.clone(),
        subject_id: subject.id.clone(),
        reason,
        at: now(),
    }
}

async fn update(
    State(state): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
    JsonBody(patch): JsonBody<ContactPatch>,
) -> Result<Json<ContactBody>, ApiError> {
    let before = load_for_admin(&state, &actor, &id).await?;
    let after = patch.apply(before.clone())?;
    // A new address: whoever signs in with the old one (perhaps the wrong person, who got
    // a link sent to a mistyped address) loses the account now; the API also refuses their
    // tokens, whose e-mail is no longer the contact's.
    if let (Some(directory), Some(login), None) = (&state.directory, &before.login, &after.login) {
        directory.delete_owned(&before.org, &before.id, login).await?;
    }
    save(&state, &before, after, None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockRequest {
    reason: Option<String>,
}

async fn lock(
    State(state): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
    JsonBody(req): JsonBody<LockRequest>,
) -> Result<Json<ContactBody>, ApiError> {
    let before = load_for_admin(&state, &actor, &id).await?;
    let reason = lock_reason(req.reason.as_deref())?;
    if before.id == actor.id {
        return Err(
            DomainError::conflict(ErrorCode::CannotLockSelf, "admins cannot lock their own account").into()
        );
    }
    let after = User {
        state: AccountState::Locked,
        lock: Some(Lock { reason: reason.clone(), by: actor.id.clone(), at: now() }),
        ..before.clone()
    };
    let audit = entry("locked", &actor, &before, Some(reason));
    save(&state, &before, after, Some(audit)).await
}

async fn unlock(
    State(state): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
) -> Result<Json<ContactBody>, ApiError> {
    let before = load_for_admin(&state, &actor, &id).await?;
    if before.state != AccountState::Locked {
        return Err(DomainError::conflict(ErrorCode::NotLocked, "this account is not locked").into());
    }
    let after = User { state: AccountState::Active, lock: None, ..before.clone() };
    let audit = entry("unlocked", &actor, &before, None);
    save(&state, &before, after, Some(audit)).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ArchiveRequest {
    at: Option<DateTime<Utc>>,
}

async fn archive(
    State(state): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
    JsonBody(req): JsonBody<ArchiveRequest>,
) -> Result<Json<ContactBody>, ApiError> {
    let before = load_for_admin(&state, &actor, &id).await?;
    if before.state == AccountState::Archived {
        return Err(DomainError::conflict(ErrorCode::AlreadyArchived, "this contact is archived").into());
    }
    if let Some(at) = req.at.filter(|at| *at > now()) {
        let after = User { archive_at: Some(at), ..before.clone() };
        let audit = entry("archive_scheduled", &actor, &before, Some(at.to_rfc3339()));
        return save(&state, &before, after, Some(audit)).await;
    }
    if state.store.has_open_threads(&actor.org, &before.id).await? {
        return Err(DomainError::conflict(
            ErrorCode::OutstandingItems,
            "this contact still has conversations that are not resolved",
        )
        .into());
    }
    let after = User { state: AccountState::Archived, archive_at: None, ..before.clone() };
    let audit = entry("archived", &actor, &before, None);
    // Sign-in first: if the directory fails, nothing is archived and the admin retries.
    set_sign_in(&state, &before, false).await?;
    save(&state, &before, after, Some(audit)).await
}

/// Staff, admins and vendors who are archived stop signing in (the API refuses them too);
/// archived residents keep their sign-in. A contact never invited has no sign-in user.
async fn set_sign_in(state: &AppState, contact: &User, enabled: bool) -> Result<(), ApiError> {
    if let (Some(directory), Some(login), false) =
        (&state.directory, &contact.login, contact.role.is_resident())
    {
        directory.set_enabled(login, enabled).await?;
    }
    Ok(())
}

async fn unarchive(
    State(state): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
) -> Result<Json<ContactBody>, ApiError> {
    let before = load_for_admin(&state, &actor, &id).await?;
    if before.state != AccountState::Archived && before.archive_at.is_none() {
        return Err(DomainError::conflict(ErrorCode::NotArchived, "this contact is not archived").into());
    }
    let after = User { state: AccountState::Active, archive_at: None, ..before.clone() };
    let audit = entry("unarchived", &actor, &before, None);
    set_sign_in(&state, &before, true).await?;
    save(&state, &before, after, Some(audit)).await
}

#[derive(Serialize)]
struct AuditBody {
    items: Vec<AuditEntry>,
}

async fn audit(
    State(state): State<AppState>,
    Actor(actor): Actor,
    PathText(id): PathText<String>,
) -> Result<Json<AuditBody>, ApiError> {
    let contact = load_for_admin(&state, &actor, &id).await?;
    Ok(Json(AuditBody { items: state.store.audit_trail(&actor.org, &contact.id).await? }))
}
