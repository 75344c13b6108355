//! Invitations: an admin e-mails a contact a single-use link valid for seven days; the
//! person who follows it sets the password of the sign-in user the invitation made.

use channels::Outgoing;
use chrono::{DateTime, Utc};
use directory::{Directory, Password, SignIn};
use domain::notify::Channel;
use domain::quota::QuotaKind;
use domain::{policy, AccountState, DomainError, ErrorCode, OrgId, User, UserId};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::contacts::{entry, load_for_admin};
use crate::conversation::now;
use crate::{quota, App, Error};

/// How long an invitation link stays valid.
const INVITE_TTL: chrono::Duration = chrono::Duration::days(7);

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// An invitation sent: to whom, and until when its link works.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Invited {
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
}

/// A fresh invitation token: 256 bits from the operating system's generator, as hex.
fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(Error::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Sends an invitation e-mail with a single-use link valid for seven days. The link is the
/// contact's only valid one: sending another, or changing the contact's e-mail, revokes it.
pub async fn invite(app: &App, actor: &User, id: &UserId) -> Result<Invited, Error> {
    let contact = load_for_admin(app, actor, id).await?;
    let email = contact.email.clone().ok_or_else(|| {
        DomainError::invalid(ErrorCode::EmailRequired, "this contact has no e-mail address")
    })?;
    if contact.state == AccountState::Archived {
        return Err(
            DomainError::conflict(ErrorCode::ContactArchived, "archived contacts are not invited").into()
        );
    }
    let taken = quota::take(app, actor, QuotaKind::Invitation, Some(&contact.id)).await?;
    let sent = send_invitation(app, actor, contact, email).await;
    taken.settle(app, sent, |_| true).await
}

/// Makes the contact's sign-in user if it has none, records a new link as its only one and
/// mails it.
async fn send_invitation(app: &App, actor: &User, contact: User, email: String) -> Result<Invited, Error> {
    let login = Directory::login_for(&email);
    if let Some(directory) = &app.directory {
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
    app.store.create_invite(&hash, &record).await?;
    // The contact names this link as its current one before anyone can receive it.
    let audit = entry("invited", actor, &contact, None);
    let after =
        User { invite: Some(hash.clone()), login: Some(login), rev: contact.rev + 1, ..contact.clone() };
    app.store.write_contact(Some(&contact), &after, Some(&audit)).await?;
    let link = |token: &str| {
        format!(
            "{} invited you to message your property management team.\nAccept within 7 days: {}/invite?token={token}\nThe link works once.",
            actor.name, app.app_url
        )
    };
    let out = Outgoing {
        to: &email,
        title: "Your invitation",
        text: &link(&token),
        idempotency_key: &hash,
        unsubscribe: None,
    };
    app.providers.send(Channel::Email, &out).await.map_err(|e| {
        tracing::warn!(error = %e, "invitation e-mail not sent");
        Error::Mail(e)
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
    app.store.record_delivery(&actor.org, &delivery).await?;
    Ok(Invited { user_id: contact.id, expires_at })
}

fn already_active() -> Error {
    DomainError::conflict(ErrorCode::AlreadyActive, "this account already signs in; it needs no invitation")
        .into()
}

/// An invitation used: the account that now signs in.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub user_id: UserId,
    pub org_id: OrgId,
    /// The user name to sign in with (the invited e-mail address).
    pub login: Option<String>,
}

fn invite_invalid() -> Error {
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
pub async fn accept(app: &App, token: &str, password: Password) -> Result<Accepted, Error> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invite_invalid());
    }
    let (hash, at) = (token_hash(token), now());
    let invite = app.store.accept_invite(&hash, at).await?.ok_or_else(invite_invalid)?;
    let contact = app.store.get_user(&invite.org, &invite.user_id).await?.ok_or_else(invite_invalid)?;
    let current = contact.invite.as_deref() == Some(hash.as_str())
        && invite.email.is_some()
        && domain::contact::same_mailbox(contact.email.as_deref(), invite.email.as_deref())
        && policy::ensure_can_sign_in(&contact).is_ok();
    if !current {
        return Err(invite_invalid());
    }
    let login = match &app.directory {
        Some(directory) => match set_up_sign_in(directory, &contact, &password).await {
            Ok(login) => Some(login),
            Err(e) => {
                if !matches!(&e, Error::Domain(DomainError::Conflict { code: ErrorCode::AlreadyActive, .. }))
                {
                    app.store.release_invite(&hash, at).await?;
                }
                return Err(e);
            }
        },
        None => None,
    };
    Ok(Accepted { user_id: invite.user_id, org_id: invite.org, login })
}

/// Sets the first password of the user the invitation created; never that of a user who
/// already signs in, nor of one that is not this contact's.
async fn set_up_sign_in(directory: &Directory, contact: &User, password: &Password) -> Result<String, Error> {
    let login = contact.login.clone().ok_or_else(invite_invalid)?;
    match directory.owned_sign_in(&contact.org, &contact.id, &login).await? {
        Some(SignIn::Invited) => {}
        Some(SignIn::Active) => return Err(already_active()),
        None => return Err(invite_invalid()),
    }
    directory.set_password(&login, password).await?;
    Ok(login)
}
