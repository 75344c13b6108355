//! The transactional outbox: every event that must reach a queue is written in the same
//! transaction as the change it announces, so an acknowledged write can never lose its
//! event. The API relays it right after the commit; the consumer marks it done in the
//! transaction that applies it (which also makes redelivery harmless); a scheduled job
//! re-sends whatever is still pending after a while (a queue outage delays, never loses).

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use domain::events::OutboxEvent;
use domain::EventId;

use crate::items::{self, data, n, s};
use crate::keys::{self, Due, Index, OUTBOX_SK};
use crate::tx::{self, Condition};
use crate::{Store, StoreError};

/// Pending events are spread over this many index partitions.
const SHARDS: u32 = 8;
/// After this many relays without being processed, an event is parked (and logged) rather
/// than re-sent forever: it is in the dead-letter queue for an operator to look at.
pub const MAX_RELAYS: u32 = 5;
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
    item.insert("relays".into(), n(0));
    tx::put(table, item, Condition::new("attribute_not_exists(pk)"))
}

/// Marks the event done; fails its condition if it was done before (a redelivery).
pub(crate) fn complete_item(table: &str, event: &OutboxEvent) -> Result<TransactWriteItem, StoreError> {
    let now = Utc::now();
    let set = items::SetExpression {
        expression: "SET #done = :now, #exp = :exp REMOVE #gpk, #gsk".into(),
        names: [
            ("#done", "done_at"),
            ("#exp", items::EXPIRES_AT),
            ("#gpk", Index::Gsi1.pk()),
            ("#gsk", Index::Gsi1.sk()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        values: [
            (":now".to_owned(), s(keys::timestamp(&now))),
            (":exp".to_owned(), n(now.timestamp() + DONE_RETENTION_SECS)),
        ]
        .into_iter()
        .collect(),
    };
    let key = items::key(keys::outbox_pk(&event.org, &event.id), OUTBOX_SK);
    tx::update(table, key, set, "attribute_exists(pk) AND attribute_not_exists(#done)")
}

/// Holds only while the event is not done: a change that is one step of applying it (a
/// large team joins over several transactions) is refused for a redelivered event.
pub(crate) fn not_done_check(table: &str, event: &OutboxEvent) -> Result<TransactWriteItem, StoreError> {
    let key = items::key(keys::outbox_pk(&event.org, &event.id), OUTBOX_SK);
    tx::check(
        table,
        key,
        Condition::new("attribute_exists(pk) AND attribute_not_exists(#done)").name("#done", "done_at"),
    )
}

impl Store {
    /// Marks an event done outside any other change (events whose effect is a queue send).
    /// `Ok(false)`: it was done before.
    pub async fn complete_event(&self, event: &OutboxEvent) -> Result<bool, StoreError> {
        self.write_one(complete_item(&self.table, event)?).await
    }

    /// Whether an event is already done (a redelivery of a processed message).
    pub async fn event_done(&self, event: &OutboxEvent) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(keys::outbox_pk(&event.org, &event.id), OUTBOX_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(out.item().is_none_or(|i| i.contains_key("done_at")))
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

    /// Counts a relay of a pending event; parks it (out of the pending index) after
    /// [`MAX_RELAYS`]. Returns whether it is parked now.
    pub async fn note_relay(&self, event: &OutboxEvent) -> Result<bool, StoreError> {
        let key = items::key(keys::outbox_pk(&event.org, &event.id), OUTBOX_SK);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .update_expression("ADD relays :one")
            .condition_expression("attribute_exists(#gpk)")
            .expression_attribute_names("#gpk", Index::Gsi1.pk())
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        let relays = match out {
            Ok(out) => out
                .attributes()
                .and_then(|a| a.get("relays"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0),
            // Done meanwhile: nothing to park.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                return Ok(false)
            }
            Err(e) => return Err(StoreError::unavailable(e)),
        };
        if relays < MAX_RELAYS {
            return Ok(false);
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET parked = :t REMOVE #gpk, #gsk")
            .expression_attribute_names("#gpk", Index::Gsi1.pk())
            .expression_attribute_names("#gsk", Index::Gsi1.sk())
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(true)
    }
}
