//! What the routes of a conversation share: the clock at the precision of ids and keys,
//! loading a thread the caller may work in or only read, and a participant record for a
//! user joining.

use chrono::{DateTime, Utc};
use domain::{policy, DomainError, ErrorCode, MessageId, ThreadId, User};
use store::{ParticipantRecord, ThreadView};

use crate::{App, Error};

/// The current time at millisecond precision, the precision every id and key uses.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default()
}

pub fn millis(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or_default()
}

/// Loads a thread the caller may work in (its participants, facility admins); an auditor
/// of its category, who may only read it, gets 403; anyone else 404, whether absent or
/// not theirs.
pub async fn load_visible(app: &App, actor: &User, id: &ThreadId) -> Result<ThreadView, Error> {
    let view = app.store.load_thread(&actor.org, id).await?.ok_or(DomainError::NotFound("thread"))?;
    if policy::can_view_thread(actor, view.participant(&actor.id).is_some()) {
        return Ok(view);
    }
    if crate::categories::audits(app, actor, &view.thread.summary.category_id).await? {
        let message = "auditors read a category's threads, never write";
        return Err(DomainError::forbidden(ErrorCode::NotAllowed, message).into());
    }
    Err(DomainError::NotFound("thread").into())
}

/// Loads a thread the caller may read: as [`load_visible`], and auditors of its category.
pub async fn load_readable(app: &App, actor: &User, id: &ThreadId) -> Result<ThreadView, Error> {
    let view = app.store.load_thread(&actor.org, id).await?.ok_or(DomainError::NotFound("thread"))?;
    let auditor = || crate::categories::audits(app, actor, &view.thread.summary.category_id);
    if policy::can_view_thread(actor, view.participant(&actor.id).is_some()) || auditor().await? {
        Ok(view)
    } else {
        Err(DomainError::NotFound("thread").into())
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
