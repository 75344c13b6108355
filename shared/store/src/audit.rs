//! A thread's audit chain: entries written once (never updated or deleted by the API), in
//! a partition of their own (`keys::chain_pk`) so the thread's Queries never read them, and
//! a head naming the last one, in the thread's partition just past the timeline, so the
//! appender reads it with the newest timeline entries in one Query. Entries are appended
//! with the head in one transaction conditioned on the head's `seq`, so two appenders
//! cannot both extend the same entry. Heads of chains last appended before stop 37 are in
//! the chain's partition: read from there, and moved by the next catch-up.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use domain::audit::{ChainEntry, ChainHead, SignedSeal};
use domain::{EntryId, OrgId, ThreadId};
use serde::{Deserialize, Serialize};

use crate::items::{av, data, key, n, s, take_data, DATA};
use crate::keys::{self, Due, Index, PK, SK};
use crate::records::TimelineItem;
use crate::tx::{self, Condition, TxOutcome};
use crate::{Cursor, Page, Store, StoreError};

/// Unsealed heads are spread over this many index partitions.
const SHARDS: u32 = 8;

fn shard_of(thread: &ThreadId) -> u32 {
    thread.to_string().bytes().map(u32::from).sum::<u32>() % SHARDS
}

/// The most entries one append writes (with the head, and the old head's delete when it
/// moves, a transaction's limit).
pub const MAX_APPEND: usize = tx::MAX_ITEMS - 2;

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

/// Where a chain's head is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadPlace {
    /// In the thread's partition, just past the timeline (`keys::AUDIT_HEAD_SK`).
    Thread,
    /// In the chain's partition (`keys::CHAIN_HEAD_SK`), as releases before stop 37 kept
    /// it; the next append moves it.
    Chain,
}

impl HeadPlace {
    fn key(self, org: &OrgId, thread: &ThreadId) -> crate::items::Item {
        match self {
            Self::Thread => key(keys::thread_pk(org, thread), keys::AUDIT_HEAD_SK),
            Self::Chain => key(keys::chain_pk(org, thread), keys::CHAIN_HEAD_SK),
        }
    }
}

/// A chain's head as read, and where it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadRead {
    pub record: ChainHeadRecord,
    pub place: HeadPlace,
}

/// A chain's head and the thread's newest timeline entries, read together.
#[derive(Debug, Clone)]
pub struct ChainRead {
    pub head: Option<HeadRead>,
    /// Oldest first.
    newest: Vec<TimelineItem>,
    /// The read reached the timeline's start.
    whole: bool,
}

impl ChainRead {
    /// The timeline's entries from `from` on (all without it), oldest first, when this
    /// read holds every one of them.
    pub fn entries_from(&self, from: Option<EntryId>) -> Option<Vec<&TimelineItem>> {
        let oldest = self.newest.first().map(TimelineItem::id);
        let holds = self.whole || matches!((from, oldest), (Some(from), Some(oldest)) if oldest <= from);
        holds.then(|| self.newest.iter().filter(|i| from.is_none_or(|from| i.id() >= from)).collect())
    }
}

impl Store {
    /// The chain's head, wherever it is kept.
    pub async fn chain_head(
        &self,
        org: &OrgId,
        thread: &ThreadId,
    ) -> Result<Option<ChainHeadRecord>, StoreError> {
        let here = HeadPlace::Thread.key(org, thread);
        if let Some(head) = self.get_data(here.clone(), true).await? {
            return Ok(Some(head));
        }
        match self.get_data(HeadPlace::Chain.key(org, thread), true).await? {
            Some(head) => Ok(Some(head)),
            // Moved between the two reads, or none.
            None => self.get_data(here, true).await,
        }
    }

    /// The chain's head beside the timeline with the thread's newest timeline entries,
    /// `newest` items in all, in one Query from the head down (strongly consistent, internal
    /// notes included). A head still kept in the chain's partition is not read: see
    /// [`Self::earlier_head`].
    pub async fn chain_read(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        newest: i32,
    ) -> Result<ChainRead, StoreError> {
        let out = self
            .query()
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :head")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(keys::thread_pk(org, thread)))
            .expression_attribute_values(":first", s(keys::TIMELINE_PREFIX))
            .expression_attribute_values(":head", s(keys::AUDIT_HEAD_SK))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(newest)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let mut head = None;
        let mut entries = Vec::with_capacity(out.items().len());
        for item in out.items() {
            if item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(keys::AUDIT_HEAD_SK) {
                head = Some(HeadRead { record: data(item)?, place: HeadPlace::Thread });
            } else {
                entries.push(data::<TimelineItem>(item)?);
            }
        }
        entries.reverse();
        let whole = out.last_evaluated_key().is_none_or(|k| k.is_empty());
        Ok(ChainRead { head, newest: entries, whole })
    }

    /// The head of a chain last appended before stop 37, kept in the chain's partition. An
    /// appender that read no head reads this only once its first append failed (an opening
    /// entry that exists already): a new thread's chain costs no read of it.
    pub async fn earlier_head(&self, org: &OrgId, thread: &ThreadId) -> Result<Option<HeadRead>, StoreError> {
        let record = self.get_data(HeadPlace::Chain.key(org, thread), true).await?;
        Ok(record.map(|record| HeadRead { record, place: HeadPlace::Chain }))
    }

    pub async fn chain_entry(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        seq: u64,
    ) -> Result<Option<ChainEntry>, StoreError> {
        self.get_data(key(keys::chain_pk(org, thread), keys::chain_entry_sk(seq)), true).await
    }

    /// Writes `entries` (at most [`MAX_APPEND`]; none only to move an earlier release's
    /// head) and moves the head to `head`, in the thread's partition, if the head is still as
    /// `read` (`None`: there is none yet). `Ok(false)`: another appender moved it first.
    pub async fn append_chain(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        read: Option<&HeadRead>,
        entries: &[ChainEntry],
        head: &ChainHeadRecord,
    ) -> Result<bool, StoreError> {
        let pk = keys::chain_pk(org, thread);
        let mut writes = Vec::with_capacity(entries.len() + 2);
        for entry in entries {
            let mut item = key(pk.clone(), keys::chain_entry_sk(entry.seq));
            item.insert(DATA.into(), av(entry)?);
            writes.push(tx::put(&self.table, item, Condition::new("attribute_not_exists(pk)"))?);
        }
        let unchanged = |seq: u64| Condition::new("#seq = :seq").name("#seq", SEQ).value(":seq", n(seq));
        let condition = match read {
            Some(HeadRead { record, place: HeadPlace::Thread }) => unchanged(record.head.seq),
            // Moved here from the chain's partition, which it leaves.
            Some(HeadRead { record, place: HeadPlace::Chain }) => {
                let old = HeadPlace::Chain.key(org, thread);
                writes.push(tx::delete(&self.table, old, unchanged(record.head.seq))?);
                Condition::new("attribute_not_exists(pk)")
            }
            None => Condition::new("attribute_not_exists(pk)"),
        };
        let mut item = HeadPlace::Thread.key(org, thread);
        item.insert(DATA.into(), av(head)?);
        item.insert(SEQ.into(), n(head.head.seq));
        if let Some(since) = &head.unsealed_since {
            let due = Due::Unsealed { shard: shard_of(thread) }.partition();
            item.insert(Index::Gsi1.pk().into(), s(due));
            item.insert(Index::Gsi1.sk().into(), s(keys::due_sk(since, org, thread)));
        }
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
        let query = self
            .query()
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :e)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":e", s(keys::CHAIN_ENTRY_PREFIX))
            .consistent_read(true)
            .limit(limit);
        self.data_page(query, start).await
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
        let query = self
            .query()
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :end")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(keys::thread_pk(org, thread)))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":end", s(end))
            .consistent_read(true);
        self.read_on(query, want, |mut item| {
            let entry = take_data::<TimelineItem>(&mut item)?;
            Ok((!skip.contains(&entry.id())).then_some(entry))
        })
        .await
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
        let mut item = key(pk, keys::CHAIN_SEAL_SK);
        item.insert(DATA.into(), av(sealed)?);
        item.insert(SEQ.into(), n(seal.seq));
        let newer = Condition::new("attribute_not_exists(pk) OR #seq < :seq")
            .name("#seq", SEQ)
            .value(":seq", n(seal.seq));
        self.write_one(tx::put(&self.table, item, newer)?).await?;
        // Where the head is kept, unless it moved (a head not yet moved is the rare case).
        for place in [HeadPlace::Thread, HeadPlace::Chain] {
            let update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(place.key(&org, &thread)))
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
                Ok(_) => return Ok(true),
                Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                }
                Err(e) => return Err(StoreError::unavailable(e)),
            }
        }
        Ok(false)
    }

    /// The thread's latest checkpoint.
    pub async fn chain_seal(&self, org: &OrgId, thread: &ThreadId) -> Result<Option<SignedSeal>, StoreError> {
        self.get_data(key(keys::chain_pk(org, thread), keys::CHAIN_SEAL_SK), true).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::MessageRecord;
    use domain::MessageId;

    fn message(at_ms: u64) -> TimelineItem {
        TimelineItem::Message(MessageRecord {
            id: MessageId::new_at(at_ms),
            thread_id: ThreadId::new_at(1),
            author_id: domain::UserId::parse("u").unwrap(),
            author_name: "U".into(),
            body: domain::MessageBody::parse("x").unwrap(),
            attachments: vec![],
            internal: false,
            created_at: Utc::now(),
            automated: false,
            automated_kind: None,
        })
    }

    fn ids(entries: Option<Vec<&TimelineItem>>) -> Option<Vec<u64>> {
        entries.map(|e| e.iter().map(|i| i.id().at_ms()).collect())
    }

    #[test]
    fn a_read_holds_what_follows_a_floor_only_when_it_reached_below_it() {
        let newest = vec![message(10), message(20), message(30)];
        let cut = ChainRead { head: None, newest: newest.clone(), whole: false };
        // Read down to 10: everything from a floor at or above it.
        assert_eq!(ids(cut.entries_from(Some(EntryId::floor_at(20)))), Some(vec![20, 30]));
        assert_eq!(ids(cut.entries_from(Some(EntryId::floor_at(31)))), Some(vec![]));
        // Below what was read, or from the start: there may be more.
        assert_eq!(ids(cut.entries_from(Some(EntryId::floor_at(9)))), None);
        // Another entry of the same millisecond as the oldest read may sort before it.
        assert_eq!(ids(cut.entries_from(Some(EntryId::floor_at(10)))), None);
        assert_eq!(ids(cut.entries_from(None)), None);
        let whole = ChainRead { head: None, newest, whole: true };
        assert_eq!(ids(whole.entries_from(Some(EntryId::floor_at(9)))), Some(vec![10, 20, 30]));
        assert_eq!(ids(whole.entries_from(None)), Some(vec![10, 20, 30]));
        let empty = ChainRead { head: None, newest: vec![], whole: false };
        assert_eq!(ids(empty.entries_from(Some(EntryId::floor_at(9)))), None);
    }
}
