//! What the routes of a conversation share: the clock at the precision of ids and keys,
//! loading a thread the caller may work in or only read, and a participant record for a
//! user joining.

use chrono::{DateTime, Utc};
use domain::{policy, DomainError, ErrorCode, MessageId, ThreadId, User};
use store::{ParticipantRecord, ThreadView};

use crate::categories::CategoryRole;
use crate::{App, Error};

/// The current time at millisecond precision, the precision every id and key uses.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default()
}

pub fn millis(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or_default()
}

/// Loads a thread the caller may work in (its participants, facility admins); an auditor
/// or a dispatcher of its category, who may not post in it, gets 403; anyone else 404,
/// whether absent or not theirs.
pub async fn load_visible(app: &App, actor: &User, id: &ThreadId) -> Result<ThreadView, Error> {
    let (view, role) = load_with_role(app, actor, id).await?;
    match role {
        Access::Member => Ok(view),
        Access::Category(_) => {
            let message = "auditors and dispatchers read a category's threads; they do not write in them";
            Err(DomainError::forbidden(ErrorCode::NotAllowed, message).into())
        }
    }
}

/// Loads a thread the caller may read: as [`load_visible`], and its category's auditors and
/// dispatchers.
pub async fn load_readable(app: &App, actor: &User, id: &ThreadId) -> Result<ThreadView, Error> {
    Ok(load_with_role(app, actor, id).await?.0)
}

/// Loads a thread the caller may add people to: as [`load_visible`], and its category's
/// dispatchers (an auditor gets 403).
pub async fn load_assignable(app: &App, actor: &User, id: &ThreadId) -> Result<ThreadView, Error> {
    match load_with_role(app, actor, id).await? {
        (view, Access::Member | Access::Category(CategoryRole::Dispatcher)) => Ok(view),
        (_, Access::Category(CategoryRole::Auditor)) => {
            let message = "auditors read a category's threads, never write";
            Err(DomainError::forbidden(ErrorCode::NotAllowed, message).into())
        }
    }
}

enum Access {
    /// A participant, or a facility admin.
    Member,
    Category(CategoryRole),
}

/// A thread the caller may read, and why; 404 when absent or not theirs.
async fn load_with_role(app: &App, actor: &User, id: &ThreadId) -> Result<(ThreadView, Access), Error> {
    let view = app.store.load_thread(&actor.org, id).await?.ok_or(DomainError::NotFound("thread"))?;
    if policy::can_view_thread(actor, view.participant(&actor.id).is_some()) {
        return Ok((view, Access::Member));
    }
    let summary = &view.thread.summary;
    let property = summary.resident.property_id.as_deref();
    match crate::categories::role_in(app, actor, &summary.category_id, property).await? {
        Some(role) => Ok((view, Access::Category(role))),
        None => Err(DomainError::NotFound("thread").into()),
    }
}

pub fn participant(user: &User, at: DateTime<Utc>, last_read_id: Option<MessageId>) -> ParticipantRecord {
    ParticipantRecord {
        user_id: user.id.clone(),
        name: user.name.clone(),
        role: user.role,
        joined_at: at,
        last_read_id,
        // Callers mark only public messages read here (a new thread's first message).
        public_read_id: last_read_id,
    }
}
