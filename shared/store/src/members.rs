//! Joining and leaving a conversation. Each change bumps the thread's `version` and
//! `members_version` under the version read, so it can neither overwrite a concurrent
//! change nor let a concurrent post miss a participant's row.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use domain::events::OutboxEvent;
use domain::UserId;

use crate::items;
use crate::keys;
use crate::outbox;
use crate::records::{EventRecord, ParticipantRecord, ThreadView, TimelineItem};
use crate::tx::{self, Condition, TxOutcome};
use crate::{Store, StoreError};

/// A change of who is in a thread, with the timeline events that tell it.
pub struct MembershipChange<'a> {
    pub joins: &'a [ParticipantRecord],
    pub leaves: &'a [UserId],
    pub events: &'a [EventRecord],
    /// The routing event the change applies, if any (the router's routing of a new thread).
    pub event: Option<EventStep<'a>>,
}

/// What a membership change does to the routing event it applies.
pub enum EventStep<'a> {
    /// The change finishes routing `event`: the router's mark is written with it, so a
    /// redelivery changes nothing, and so is `next`, the event that announces it.
    Completes { event: &'a OutboxEvent, next: &'a OutboxEvent },
    /// The change is one of several the event makes: it commits only while the event is
    /// not routed yet.
    WhileNotDone(&'a OutboxEvent),
    /// A change by a person: `event` announces it.
    Announces(&'a OutboxEvent),
}

impl EventStep<'_> {
    fn writes(&self, table: &str) -> Result<Vec<TransactWriteItem>, StoreError> {
        Ok(match self {
            Self::Completes { event, next } => {
                vec![outbox::routed_item(table, event)?, outbox::put_item(table, next)?]
            }
            Self::WhileNotDone(event) => vec![outbox::not_routed_check(table, event)?],
            Self::Announces(event) => vec![outbox::put_item(table, event)?],
        })
    }
}

/// How a membership change ended.
pub enum MembershipOutcome {
    Done,
    /// The thread changed since it was read: read it again and retry.
    Stale,
    /// The event was routed before (a redelivery): nothing was changed.
    EventDone,
}

impl Store {
    pub async fn change_members(
        &self,
        view: &ThreadView,
        change: MembershipChange<'_>,
    ) -> Result<MembershipOutcome, StoreError> {
        let thread = &view.thread;
        let pk = keys::thread_pk(&thread.org, &thread.summary.id);
        // The event's write comes first, so its condition failure is reported at index 0.
        let mut writes = match &change.event {
            None => vec![],
            Some(step) => step.writes(&self.table)?,
        };
        let event_writes = writes.len();
        let mut set = items::SetExpression::new(
            "SET #v = #v + :one, #mv = #mv + :one",
            &[("#v", items::VERSION), ("#mv", items::MEMBERS_VERSION)],
            vec![(":one", items::n(1)), (":read", items::n(thread.version))],
        );
        if thread.response.known(thread.last_id()).is_some() {
            // The clock stays known at the version this makes (the write holds on the one read).
            set.expression.push_str(", #cv = :cv");
            set.names.insert("#cv".to_owned(), domain::response::KNOWN_AT_FIELD.to_owned());
            set.values.insert(":cv".to_owned(), items::n(thread.version + 1));
        }
        writes.push(tx::update(&self.table, items::key(pk.clone(), keys::META_SK), set, "#v = :read")?);
        for joined in change.joins {
            let item = items::participant_item(&thread.org, joined, &thread.view_for(joined.role))?;
            writes.push(tx::put(&self.table, item, Condition::new("attribute_not_exists(pk)"))?);
        }
        for left in change.leaves {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(items::key(pk.clone(), keys::participant_sk(left))))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(StoreError::unavailable)?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
        }
        for event in change.events {
            let entry = TimelineItem::Event(event.clone());
            let item = items::timeline_item(&thread.org, &thread.summary.id, &entry)?;
            writes.push(tx::put(&self.table, item, Condition::new("attribute_not_exists(pk)"))?);
        }
        let outcome = self.transact(writes).await?;
        if let TxOutcome::Committed = outcome {
            return Ok(MembershipOutcome::Done);
        }
        if event_writes > 0 && outcome.failed_condition(0) {
            return Ok(MembershipOutcome::EventDone);
        }
        // The version moved, the service conflicted, or someone joined or left meanwhile
        // (a join of someone already in, a leave of someone gone): the view was stale.
        Ok(MembershipOutcome::Stale)
    }

    /// Finishes routing an event that needed no membership change. `Ok(false)`: it was
    /// routed before (a redelivery).
    pub async fn finish_routing(&self, step: EventStep<'_>) -> Result<bool, StoreError> {
        match self.transact(step.writes(&self.table)?).await? {
            TxOutcome::Committed => Ok(true),
            o if o.failed_condition(0) => Ok(false),
            _ => Err(StoreError::Contention),
        }
    }
}
