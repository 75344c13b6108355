//! Contacts (staff read, facility admins write): residents, owners, staff and vendors;
//! search by name prefix, unit or property; lock with a documented reason; archive now or
//! on a date. Every lock, unlock, archive and unarchive goes in the contact's audit trail.

use chrono::{DateTime, Utc};
use domain::contact::{lock_reason, ContactPatch, Lock, NewContact};
use domain::{policy, AccountState, DomainError, ErrorCode, User, UserId};
use store::{AuditEntry, ContactQuery, Page};

use crate::conversation::{millis, now};
use crate::{App, Error};

/// A contact the actor may read: staff read every contact; anyone reads their own.
pub async fn show(app: &App, actor: &User, id: &UserId) -> Result<User, Error> {
    if *id == actor.id {
        // Anyone reads their own profile: the caller's record, just read, is it.
        return Ok(actor.clone());
    }
    // Anything else needs an account that may act.
    policy::ensure_can_act(actor)?;
    let contact = load(app, actor, id).await?;
    if !actor.role.is_staff() {
        return Err(DomainError::NotFound("contact").into());
    }
    Ok(contact)
}

async fn load(app: &App, actor: &User, id: &UserId) -> Result<User, Error> {
    Ok(app.store.get_user(&actor.org, id).await?.ok_or(DomainError::NotFound("contact"))?)
}

/// A contact an admin is about to change: staff who are not admins learn it exists (403),
/// everyone else gets 404.
pub(crate) async fn load_for_admin(app: &App, actor: &User, id: &UserId) -> Result<User, Error> {
    policy::ensure_staff(actor)?;
    let contact = load(app, actor, id).await?;
    policy::ensure_org_admin(actor)?;
    Ok(contact)
}

pub async fn create(app: &App, actor: &User, new: NewContact) -> Result<User, Error> {
    policy::ensure_org_admin(actor)?;
    let id = UserId::new_contact(millis(now()));
    let user = new.into_user(id, actor.org.clone())?;
    if !app.store.create_contact(&user).await? {
        return Err(store::StoreError::Contention.into());
    }
    Ok(user)
}

/// One page of the org's contacts matching `query`.
pub async fn search(app: &App, actor: &User, query: ContactQuery) -> Result<Page<User>, Error> {
    policy::ensure_staff(actor)?;
    if query.name_prefix.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(DomainError::invalid(ErrorCode::InvalidQuery, "q is at most 100 characters").into());
    }
    if query.unit.is_some() && query.property_id.is_none() {
        return Err(
            DomainError::invalid(ErrorCode::PropertyRequired, "searching by unit needs property_id").into()
        );
    }
    Ok(app.store.search_contacts(&actor.org, &query).await?)
}

/// Writes a change made by an admin to the contact as read, with its audit entry.
pub(crate) async fn save(
    app: &App,
    before: &User,
    mut after: User,
    entry: Option<AuditEntry>,
) -> Result<User, Error> {
    after.rev = before.rev + 1;
    app.store.write_contact(Some(before), &after, entry.as_ref()).await?;
    Ok(after)
}

pub(crate) fn entry(action: &str, actor: &User, subject: &User, reason: Option<String>) -> AuditEntry {
    AuditEntry {
        action: action.to_owned(),
        actor_id: actor.id.clone(),
        subject_id: subject.id.clone(),
        reason,
        at: now(),
    }
}

pub async fn update(app: &App, actor: &User, id: &UserId, patch: ContactPatch) -> Result<User, Error> {
    let before = load_for_admin(app, actor, id).await?;
    let after = patch.apply(before.clone())?;
    let mailbox_changed = domain::contact::mailbox_changed(&before, &after);
    // It would end their own sign-in, with nobody to invite them again: another admin
    // changes it, as they lock or archive.
    if mailbox_changed && before.id == actor.id {
        let message = "admins cannot change or remove their own e-mail address";
        return Err(DomainError::conflict(ErrorCode::CannotChangeOwnEmail, message).into());
    }
    let after = save(app, &before, after, None).await?;
    // A new address, or none: whoever signs in with the old one (perhaps the wrong person,
    // who got a link sent to a mistyped address) has lost the account with the write, which
    // also dropped the channels they chose (the API refuses their tokens, whose e-mail is no
    // longer the contact's); their sign-in goes now. Only after the write, which may fail:
    // a sign-in deleted first would leave the contact unable to sign in or be invited.
    if let (true, Some(directory), Some(login)) = (mailbox_changed, &app.directory, &before.login) {
        if let Err(e) = directory.delete_owned(&before.org, &before.id, login).await {
            // Left behind: its tokens are refused while the contact has another address,
            // but it keeps that address from being invited for anyone else.
            tracing::error!(contact = %before.id, error = %e, "the old sign-in could not be deleted");
        }
    }
    Ok(after)
}

pub async fn lock(app: &App, actor: &User, id: &UserId, reason: Option<&str>) -> Result<User, Error> {
    let before = load_for_admin(app, actor, id).await?;
    let reason = lock_reason(reason)?;
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
    let audit = entry("locked", actor, &before, Some(reason));
    save(app, &before, after, Some(audit)).await
}

pub async fn unlock(app: &App, actor: &User, id: &UserId) -> Result<User, Error> {
    let before = load_for_admin(app, actor, id).await?;
    if before.state != AccountState::Locked {
        return Err(DomainError::conflict(ErrorCode::NotLocked, "this account is not locked").into());
    }
    let after = User { state: AccountState::Active, lock: None, ..before.clone() };
    let audit = entry("unlocked", actor, &before, None);
    save(app, &before, after, Some(audit)).await
}

/// Archives a contact now (refused while they have unresolved conversations), or on `at`
/// when that is in the future (the housekeeping job does it then).
pub async fn archive(app: &App, actor: &User, id: &UserId, at: Option<DateTime<Utc>>) -> Result<User, Error> {
    let before = load_for_admin(app, actor, id).await?;
    if before.id == actor.id {
        // An archived admin can do nothing, not even unarchive themself.
        let message = "admins cannot archive their own account";
        return Err(DomainError::conflict(ErrorCode::CannotArchiveSelf, message).into());
    }
    if before.state == AccountState::Archived {
        return Err(DomainError::conflict(ErrorCode::AlreadyArchived, "this contact is archived").into());
    }
    if let Some(at) = at.filter(|at| *at > now()) {
        let after = User { archive_at: Some(at), ..before.clone() };
        let audit = entry("archive_scheduled", actor, &before, Some(at.to_rfc3339()));
        return save(app, &before, after, Some(audit)).await;
    }
    if app.store.has_open_threads(&actor.org, &before.id).await? {
        return Err(DomainError::conflict(
            ErrorCode::OutstandingItems,
            "this contact still has conversations that are not resolved",
        )
        .into());
    }
    let after = User { state: AccountState::Archived, archive_at: None, ..before.clone() };
    let audit = entry("archived", actor, &before, None);
    // Sign-in first: if the directory fails, nothing is archived and the admin retries.
    set_sign_in(app, &before, false).await?;
    save(app, &before, after, Some(audit)).await
}

/// Staff, admins and vendors who are archived stop signing in (the API refuses them too);
/// archived residents keep their sign-in. A contact never invited has no sign-in user.
async fn set_sign_in(app: &App, contact: &User, enabled: bool) -> Result<(), Error> {
    if let (Some(directory), Some(login), false) =
        (&app.directory, &contact.login, contact.role.is_resident())
    {
        directory.set_enabled(login, enabled).await?;
    }
    Ok(())
}

pub async fn unarchive(app: &App, actor: &User, id: &UserId) -> Result<User, Error> {
    let before = load_for_admin(app, actor, id).await?;
    if before.state != AccountState::Archived && before.archive_at.is_none() {
        return Err(DomainError::conflict(ErrorCode::NotArchived, "this contact is not archived").into());
    }
    let after = User { state: AccountState::Active, archive_at: None, ..before.clone() };
    let audit = entry("unarchived", actor, &before, None);
    set_sign_in(app, &before, true).await?;
    save(app, &before, after, Some(audit)).await
}

/// Every lock, unlock, archive, unarchive and invitation of a contact, oldest first.
pub async fn audit(app: &App, actor: &User, id: &UserId) -> Result<Vec<AuditEntry>, Error> {
    let contact = load_for_admin(app, actor, id).await?;
    Ok(app.store.audit_trail(&actor.org, &contact.id).await?)
}
