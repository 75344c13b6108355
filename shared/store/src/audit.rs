//! A thread's audit chain, in a partition of its own (`keys::chain_pk`) so the thread's
//! Queries never read it: entries written once (never updated or deleted by the API) and a
//! head naming the last one. Entries are appended with the head in one transaction
//! conditioned on the head's `seq`, so two appenders cannot both extend the same entry.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use domain::audit::{ChainEntry, ChainHead, SignedSeal};
use domain::{EntryId, OrgId, ThreadId};
use serde::{Deserialize, Serialize};

use crate::items::{av, data, key, n, s, DATA};
use crate::keys::{self, Due, Index, PK, SK};
use crate::records::TimelineItem;
use crate::tx::{self, Condition, TxOutcome};
use crate::{Cursor, Page, Store, StoreError};

/// Unsealed heads are spread over this many index partitions.
const SHARDS: u32 = 8;

fn shard_of(thread: &ThreadId) -> u32 {
    thread.to_string().bytes().map(u32::from).sum::<u32>() % SHARDS
}

/// The most entries one append writes (with the head, a transaction's limit).
pub const MAX_APPEND: usize = tx::MAX_ITEMS - 1;

/// The head's top-level copy of its `seq`, which appends are conditioned on.
const SEQ: &str = "seq";

/// A chain's head: its last entry, and which timeline entries it chained lately (those
/// made within the appender's look-back of `watermark`), so entries that committed out of
/// id order are chained once, late, rather than twice or never.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHeadRecord {
    pub org: OrgId,
    pub thread_id: ThreadId,
    pub head: ChainHead,
    /// When the chain first moved past its last checkpoint (`None`: sealed as it is); the
    /// head waits on the unsealed index meanwhile.
    #[serde(default)]
    pub unsealed_since: Option<DateTime<Utc>>,
    /// The newest timeline entry chained (`None` before the first).
    pub watermark: Option<EntryId>,
    pub recent: Vec<EntryId>,
    /// Where the look-back stops when `recent` was cut short (a very busy thread).
    #[serde(default)]
    pub floor: Option<EntryId>,
}

impl Store {
    pub async fn chain_head(
        &self,
        org: &OrgId,
        thread: &ThreadId,
    ) -> Result<Option<ChainHeadRecord>, StoreError> {
        self.get_data(key(keys::chain_pk(org, thread), keys::CHAIN_HEAD_SK), true).await
    }

    pub async fn chain_entry(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        seq: u64,
    ) -> Result<Option<ChainEntry>, StoreError> {
        self.get_data(key(keys::chain_pk(org, thread), keys::chain_entry_sk(seq)), true).await
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
        if let Some(since) = &head.unsealed_since {
            let due = Due::Unsealed { shard: shard_of(thread) }.partition();
            item.insert(Index::Gsi1.pk().into(), s(due));
            item.insert(Index::Gsi1.sk().into(), s(keys::due_sk(since, org, thread)));
        }
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

    /// Heads unsealed since before `by`, a page per shard (the checkpoint run's work).
    pub async fn unsealed_heads(
        &self,
        by: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<ChainHeadRecord>, StoreError> {
        let mut heads = Vec::new();
        for shard in 0..SHARDS {
            let items = self.query_due(Due::Unsealed { shard }, keys::due_by(&by), limit).await?;
            for item in &items {
                heads.push(data::<ChainHeadRecord>(item)?);
            }
        }
        Ok(heads)
    }

    /// Records `sealed` as the thread's latest checkpoint and takes the head off the
    /// unsealed index if it has not moved since. `Ok(false)`: it moved (the next run seals
    /// it again).
    pub async fn mark_sealed(&self, sealed: &SignedSeal) -> Result<bool, StoreError> {
        let seal = &sealed.seal;
        let org = OrgId::parse(seal.org_id.as_str())
            .map_err(|e| StoreError::unavailable(std::io::Error::other(e.to_string())))?;
        let thread = ThreadId::parse(&seal.thread_id)
            .map_err(|e| StoreError::unavailable(std::io::Error::other(e.to_string())))?;
        let pk = keys::chain_pk(&org, &thread);
        let mut item = key(pk.clone(), keys::CHAIN_SEAL_SK);
        item.insert(DATA.into(), av(sealed)?);
        item.insert(SEQ.into(), n(seal.seq));
        let newer = Condition::new("attribute_not_exists(pk) OR #seq < :seq")
            .name("#seq", SEQ)
            .value(":seq", n(seal.seq));
        self.write_one(tx::put(&self.table, item, newer)?).await?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, keys::CHAIN_HEAD_SK)))
            .update_expression("REMOVE #gpk, #gsk, #d.unsealed_since")
            .condition_expression("#seq = :seq")
            .expression_attribute_names("#gpk", Index::Gsi1.pk())
            .expression_attribute_names("#gsk", Index::Gsi1.sk())
            .expression_attribute_names("#d", DATA)
            .expression_attribute_names("#seq", SEQ)
            .expression_attribute_values(":seq", n(seal.seq))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// The thread's latest checkpoint.
    pub async fn chain_seal(&self, org: &OrgId, thread: &ThreadId) -> Result<Option<SignedSeal>, StoreError> {
        self.get_data(key(keys::chain_pk(org, thread), keys::CHAIN_SEAL_SK), true).await
    }
}
