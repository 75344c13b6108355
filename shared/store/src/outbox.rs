//! The transactional outbox: every event is written in the same transaction as the change
//! it announces, so an acknowledged write can never lose its event. Whoever wrote it
//! publishes it right after the commit and then marks it done (published); a scheduled job
//! publishes whatever is still pending after a while (an outage delays, never loses). A
//! consumer that must apply an event exactly once keeps its own mark (the router's
//! `ROUTED`, written in the transaction that applies the event).

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use domain::events::OutboxEvent;
use domain::EventId;

use crate::items::{self, data, n, s};
use crate::keys::{self, Due, Index, OUTBOX_SK, ROUTED_SK};
use crate::tx::{self, Condition};
use crate::{Store, StoreError};

/// Pending events are spread over this many index partitions.
const SHARDS: u32 = 8;
const DONE_RETENTION_SECS: i64 = 7 * 24 * 3600;

fn shard_of(id: &EventId) -> u32 {
    id.to_string().bytes().map(u32::from).sum::<u32>() % SHARDS
}

/// The outbox item, written in the transaction of the change it announces.
pub(crate) fn put_item(table: &str, event: &OutboxEvent) -> Result<TransactWriteItem, StoreError> {
    let mut item = items::key(keys::outbox_pk(&event.org, &event.id), OUTBOX_SK);
    item.insert(items::DATA.into(), items::av(event)?);
    item.insert(Index::Gsi1.pk().into(), s(Due::Outbox { shard: shard_of(&event.id) }.partition()));
    item.insert(Index::Gsi1.sk().into(), s(keys::log_sk(&event.at, &event.id)));
    tx::put(table, item, Condition::new("attribute_not_exists(pk)"))
}

/// Marks the event done (published); fails its condition if it was done before.
fn complete_item(table: &str, event: &OutboxEvent) -> Result<TransactWriteItem, StoreError> {
    let now = Utc::now();
    let set = items::SetExpression::new(
        "SET #done = :now, #exp = :exp REMOVE #gpk, #gsk",
        &[
            ("#done", "done_at"),
            ("#exp", items::EXPIRES_AT),
            ("#gpk", Index::Gsi1.pk()),
            ("#gsk", Index::Gsi1.sk()),
        ],
        vec![(":now", s(keys::timestamp(&now))), (":exp", n(now.timestamp() + DONE_RETENTION_SECS))],
    );
    let key = items::key(keys::outbox_pk(&event.org, &event.id), OUTBOX_SK);
    tx::update(table, key, set, "attribute_exists(pk) AND attribute_not_exists(#done)")
}

/// The router's mark that it applied `event`; fails its condition if it did before (a
/// redelivery).
pub(crate) fn routed_item(table: &str, event: &OutboxEvent) -> Result<TransactWriteItem, StoreError> {
    let mut item = items::key(keys::outbox_pk(&event.org, &event.id), ROUTED_SK);
    item.insert(items::EXPIRES_AT.into(), n(Utc::now().timestamp() + DONE_RETENTION_SECS));
    tx::put(table, item, Condition::new("attribute_not_exists(pk)"))
}

/// Holds while the router has not applied `event`: a change that is one step of applying
/// it (a large team joins over several transactions) is refused for a redelivered event.
pub(crate) fn not_routed_check(table: &str, event: &OutboxEvent) -> Result<TransactWriteItem, StoreError> {
    let key = items::key(keys::outbox_pk(&event.org, &event.id), ROUTED_SK);
    tx::check(table, key, Condition::new("attribute_not_exists(pk)"))
}

impl Store {
    /// Marks an event done: it is published. `Ok(false)`: it was done before.
    pub async fn complete_event(&self, event: &OutboxEvent) -> Result<bool, StoreError> {
        self.write_one(complete_item(&self.table, event)?).await
    }

    /// Events still pending that were written before `cutoff`, oldest first (one Query
    /// per shard of the pending index; maintenance only).
    pub async fn pending_events(
        &self,
        cutoff: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let mut events = Vec::new();
        for shard in 0..SHARDS {
            let due = self.query_due(Due::Outbox { shard }, keys::timestamp(&cutoff), limit).await?;
            for item in &due {
                events.push(data::<OutboxEvent>(item)?);
            }
        }
        events.sort_by_key(|e| e.id);
        Ok(events)
    }
}
