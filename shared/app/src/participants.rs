//! Who is in a conversation: staff add a colleague (or the thread's resident) mid-thread,
//! staff leave, admins remove. Every join and leave is a timeline event.

use domain::events::{OutboxEvent, OutboxKind};
use domain::{policy, DomainError, ErrorCode, EventId, ThreadId, User, UserId};
use store::retry::Tries;
use store::{EventKind, EventRecord, EventStep, MembershipChange, MembershipOutcome, ThreadView};

use crate::conversation::{load_assignable, load_visible, millis, now, participant};
use crate::relay::relay;
use crate::{App, Error};

/// What announces a join or leave to the consumers (search narrows to who takes part).
fn announcement(actor: &User, thread_id: ThreadId, added: &[&UserId], removed: &[&UserId]) -> OutboxEvent {
    let at = now();
    OutboxEvent {
        id: EventId::new_at(millis(at)),
        org: actor.org.clone(),
        thread_id,
        at,
        kind: OutboxKind::ParticipantsChanged {
            added: added.iter().map(|&u| u.clone()).collect(),
            removed: removed.iter().map(|&u| u.clone()).collect(),
        },
    }
}

fn event(thread_id: ThreadId, kind: EventKind, actor: &UserId, subject: &UserId) -> EventRecord {
    let at = now();
    EventRecord {
        id: EventId::new_at(millis(at)),
        thread_id,
        event: kind,
        actor_id: actor.clone(),
        subject_id: Some(subject.clone()),
        status: None,
        priority: None,
        linked_record: None,
        at,
    }
}

/// Adds a user of the org to a thread; the thread as it is afterwards.
pub async fn add(app: &App, actor: &User, id: ThreadId, user_id: UserId) -> Result<ThreadView, Error> {
    let mut view = load_assignable(app, actor, &id).await?;
    let added = app.store.get_user(&actor.org, &user_id).await?.ok_or_else(|| {
        DomainError::invalid(ErrorCode::UnknownUser, "user_id does not name a user of this organization")
    })?;
    policy::ensure_can_add_participant(actor, &added, &view.thread.summary.resident.id)?;
    let mut tries = Tries::new();
    while tries.another().await {
        if view.participant(&added.id).is_some() {
            return Err(DomainError::conflict(
                ErrorCode::AlreadyParticipant,
                "this user is already in the conversation",
            )
            .into());
        }
        policy::ensure_room_for(view.participants.len(), 1)?;
        let joined = participant(&added, now(), None);
        let events = [event(id, EventKind::ParticipantJoined, &actor.id, &added.id)];
        let announced = announcement(actor, id, &[&added.id], &[]);
        let change = MembershipChange {
            joins: std::slice::from_ref(&joined),
            leaves: &[],
            events: &events,
            event: Some(EventStep::Announces(&announced)),
        };
        if let MembershipOutcome::Done = app.store.change_members(&view, change).await? {
            relay(app, &announced).await;
            view.participants.push(joined);
            return Ok(view);
        }
        view = load_assignable(app, actor, &id).await?;
    }
    Err(store::StoreError::Contention.into())
}

/// Removes a participant (staff themselves, or anyone but the resident by an admin).
pub async fn remove(app: &App, actor: &User, id: ThreadId, user_id: UserId) -> Result<(), Error> {
    let mut view: ThreadView = load_visible(app, actor, &id).await?;
    policy::ensure_can_remove_participant(actor, &user_id, &view.thread.summary.resident.id)?;
    let mut tries = Tries::new();
    while tries.another().await {
        if view.participant(&user_id).is_none() {
            return Err(DomainError::NotFound("participant").into());
        }
        let events = [event(id, EventKind::ParticipantLeft, &actor.id, &user_id)];
        let announced = announcement(actor, id, &[], &[&user_id]);
        let change = MembershipChange {
            joins: &[],
            leaves: std::slice::from_ref(&user_id),
            events: &events,
            event: Some(EventStep::Announces(&announced)),
        };
        if let MembershipOutcome::Done = app.store.change_members(&view, change).await? {
            relay(app, &announced).await;
            return Ok(());
        }
        // After leaving, a staff member may no longer see the thread: that is a 404 then.
        view = load_visible(app, actor, &id).await?;
    }
    Err(store::StoreError::Contention.into())
}
