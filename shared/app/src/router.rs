//! The router: consumes `thread_created` events. A new thread gets the topic's recipients
//! (from the org's routing settings) as participants, and then a `thread_routed` event
//! announces it (the notifier tells them of the first message). Idempotent: the router's
//! mark on the event is written in the same transaction that applies it, so a redelivered
//! event changes nothing.

use std::sync::Arc;

use domain::events::{OutboxEvent, OutboxKind};
use domain::routing::RoutingSettings;
use domain::{EventId, OrgId, Topic, UserId};
use store::retry::Tries;
use store::{EventKind, EventRecord, EventStep, MembershipChange, MembershipOutcome, ParticipantRecord};

use crate::conversation::{millis, now};
use crate::relay::relay;
use crate::{App, WorkError};

/// Joins per membership transaction: each is two actions (the participant and its timeline
/// event), and a transaction holds at most 100.
pub(crate) const JOINS_PER_TRANSACTION: usize = 40;

/// The actor of what the router does, as shown in timelines.
pub const ROUTER_ACTOR: &str = "system";

/// The orgs' routing settings as last read: a change routes new threads within the
/// cache's minute (the staff it names are read afresh for each thread).
pub type RoutingCache = crate::org_cache::OrgCache<Arc<RoutingSettings>>;

/// Who a new thread on `topic` goes to, from the org's routing settings as last read; a
/// topic they do not route is read again (one routed since: the API offers it at once).
pub async fn recipients(app: &App, org: &OrgId, topic: &Topic) -> Result<Vec<UserId>, store::StoreError> {
    let read = || async {
        Ok::<_, store::StoreError>(Arc::new(app.store.get_routing(org).await?.unwrap_or_default()))
    };
    let cached = app.routing.get(org, read()).await?.recipients(topic);
    if !cached.is_empty() {
        return Ok(cached);
    }
    // Read again through the cache: a change put while this read is under way stays.
    app.routing.forget(org);
    Ok(app.routing.get(org, read()).await?.recipients(topic))
}

pub async fn handle(app: &App, event: OutboxEvent) -> Result<(), WorkError> {
    match &event.kind {
        OutboxKind::ThreadCreated { topic, first_message_id, notice, .. } => {
            let at = now();
            let routed = OutboxEvent {
                id: EventId::new_at(millis(at)),
                org: event.org.clone(),
                thread_id: event.thread_id,
                at,
                kind: OutboxKind::ThreadRouted {
                    first_message_id: *first_message_id,
                    notice: notice.clone(),
                },
            };
            if route_thread(app, &event, topic, &routed).await? {
                relay(app, &routed).await;
            }
            Ok(())
        }
        // Not subscribed to: nothing to do.
        OutboxKind::MessagePosted { .. }
        | OutboxKind::ThreadRouted { .. }
        | OutboxKind::ParticipantsChanged { .. }
        | OutboxKind::Escalated { .. }
        | OutboxKind::ThreadChanged { .. } => Ok(()),
    }
}

/// Adds the topic's recipients; `Ok(false)` if the event was routed before.
async fn route_thread(
    app: &App,
    event: &OutboxEvent,
    topic: &Topic,
    routed: &OutboxEvent,
) -> Result<bool, WorkError> {
    let store = &app.store;
    // Routing names staff; anyone no longer staff of the org is skipped.
    let mut recipients = store.get_users(&event.org, &recipients(app, &event.org, topic).await?).await?;
    recipients.retain(|user| user.role.is_staff());
    let actor = UserId::parse(ROUTER_ACTOR).expect("valid id");
    let mut tries = Tries::new();
    while tries.another().await {
        let view = store
            .load_thread(&event.org, &event.thread_id)
            .await?
            .ok_or(WorkError::MissingThread(event.thread_id))?;
        let room = domain::policy::MAX_PARTICIPANTS.saturating_sub(view.participants.len());
        let missing: Vec<&domain::User> =
            recipients.iter().filter(|u| view.participant(&u.id).is_none()).collect();
        if missing.len() > room {
            tracing::warn!(thread_id = %event.thread_id, left_out = missing.len() - room, "routing: the conversation is full");
        }
        let last_round = missing.len() <= JOINS_PER_TRANSACTION;
        let joins: Vec<ParticipantRecord> = missing
            .into_iter()
            .take(room.min(JOINS_PER_TRANSACTION))
            .map(|u| ParticipantRecord {
                user_id: u.id.clone(),
                name: u.name.clone(),
                role: u.role,
                joined_at: event.at,
                last_read_id: None,
                public_read_id: None,
            })
            .collect();
        if joins.is_empty() {
            return Ok(store.finish_routing(EventStep::Completes { event, next: routed }).await?);
        }
        let now = chrono::Utc::now();
        let events: Vec<EventRecord> = joins
            .iter()
            .map(|j| EventRecord {
                id: EventId::new_at(u64::try_from(now.timestamp_millis()).unwrap_or_default()),
                thread_id: event.thread_id,
                event: EventKind::ParticipantJoined,
                actor_id: actor.clone(),
                subject_id: Some(j.user_id.clone()),
                status: None,
                priority: None,
                linked_record: None,
                at: now,
            })
            .collect();
        // A large team joins over several transactions, each only while the event is not
        // done; the one that adds the last of them marks it done, so a redelivery changes
        // nothing (not even re-adding someone who left since).
        let step = if last_round {
            EventStep::Completes { event, next: routed }
        } else {
            EventStep::WhileNotDone(event)
        };
        let change = MembershipChange { joins: &joins, leaves: &[], events: &events, event: Some(step) };
        match store.change_members(&view, change).await? {
            MembershipOutcome::Done => {
                tracing::info!(event_id = %event.id, thread_id = %event.thread_id, routed = joins.len(), "thread routed");
                if last_round {
                    return Ok(true);
                }
            }
            // Done before: a redelivery.
            MembershipOutcome::EventDone => return Ok(false),
            MembershipOutcome::Stale => continue,
        }
    }
    Err(WorkError::Store(store::StoreError::Contention))
}
