//! A thread's audit chain, in a partition of its own (`keys::chain_pk`) so the thread's
//! Queries never read it: entries written once (never updated or deleted by the API) and a
//! head naming the last one. Entries are appended with the head in one transaction
//! conditioned on the head's `seq`, so two appenders cannot both extend the same entry.

use std::collections::HashSet;

use domain::audit::{ChainEntry, ChainHead};
use domain::{EntryId, OrgId, ThreadId};
use serde::{Deserialize, Serialize};

use crate::items::{av, data, key, n, s, DATA};
use crate::keys::{self, PK, SK};
use crate::records::TimelineItem;
use crate::tx::{self, Condition, TxOutcome};
use crate::{Cursor, Page, Store, StoreError};

/// The most entries one append writes (with the head, a transaction's limit).
pub const MAX_APPEND: usize = tx::MAX_ITEMS - 1;

/// The head's top-level copy of its `seq`, which appends are conditioned on.
const SEQ: &str = "seq";

/// A chain's head: its last entry, and which timeline entries it chained lately (those
/// made within the appender's look-back of `watermark`), so entries that committed out of
/// id order are chained once, late, rather than twice or never.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHeadRecord {
    pub head: ChainHead,
    /// The newest timeline entry chained (`None` before the first).
    pub watermark: Option<EntryId>,
    pub recent: Vec<EntryId>,
}

impl Store {
    pub async fn chain_head(
        &self,
        org: &OrgId,
        thread: &ThreadId,
    ) -> Result<Option<ChainHeadRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::chain_pk(org, thread), keys::CHAIN_HEAD_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item().map(data).transpose()
    }

    pub async fn chain_entry(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        seq: u64,
    ) -> Result<Option<ChainEntry>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::chain_pk(org, thread), keys::chain_entry_sk(seq))))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item().map(data).transpose()
    }

    /// Writes `entries` (at most [`MAX_APPEND`]) and moves the head to `head`, if the head
    /// is still at `expected` (`None`: there is none yet). `Ok(false)`: another appender
    /// moved it first.
    pub async fn append_chain(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        expected: Option<u64>,
        entries: &[ChainEntry],
        head: &ChainHeadRecord,
    ) -> Result<bool, StoreError> {
        let pk = keys::chain_pk(org, thread);
        let mut writes = Vec::with_capacity(entries.len() + 1);
        for entry in entries {
            let mut item = key(pk.clone(), keys::chain_entry_sk(entry.seq));
            item.insert(DATA.into(), av(entry)?);
            writes.push(tx::put(&self.table, item, Condition::new("attribute_not_exists(pk)"))?);
        }
        let mut item = key(pk, keys::CHAIN_HEAD_SK);
        item.insert(DATA.into(), av(head)?);
        item.insert(SEQ.into(), n(head.head.seq));
        let condition = match expected {
            None => Condition::new("attribute_not_exists(pk)"),
            Some(seq) => Condition::new("#seq = :seq").name("#seq", SEQ).value(":seq", n(seq)),
        };
        writes.push(tx::put(&self.table, item, condition)?);
        Ok(match self.transact(writes).await? {
            TxOutcome::Committed => true,
            TxOutcome::Cancelled(_) => false,
        })
    }

    /// A page of the chain, oldest first.
    pub async fn chain_entries(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        cursor: Option<&Cursor>,
        limit: i32,
    ) -> Result<Page<ChainEntry>, StoreError> {
        let pk = keys::chain_pk(org, thread);
        let start = cursor.map(|c| c.decode(&[PK, SK], (PK, &pk), &keys::org_prefix(org))).transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :e)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":e", s(keys::CHAIN_ENTRY_PREFIX))
            .consistent_read(true)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let items = out.items().iter().map(data::<ChainEntry>).collect::<Result<_, _>>()?;
        Ok(Page { items, next: out.last_evaluated_key().and_then(Cursor::encode) })
    }

    /// Up to `want` timeline entries from `from` on (all without it), oldest first, except
    /// those in `skip`; strongly consistent, internal notes included.
    pub async fn timeline_since(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        from: Option<EntryId>,
        skip: &HashSet<EntryId>,
        want: usize,
    ) -> Result<Vec<TimelineItem>, StoreError> {
        let from = from.map_or_else(|| keys::TIMELINE_PREFIX.to_owned(), keys::timeline_sk);
        // Timeline keys sort before `TL$`, the next prefix.
        let end = format!("{}\u{7f}", keys::TIMELINE_PREFIX);
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :end")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(keys::thread_pk(org, thread)))
                .expression_attribute_values(":from", s(from.clone()))
                .expression_attribute_values(":end", s(end.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for item in out.items() {
                let entry = data::<TimelineItem>(item)?;
                if !skip.contains(&entry.id()) {
                    found.push(entry);
                    if found.len() == want {
                        return Ok(found);
                    }
                }
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(found),
            }
        }
    }
}
