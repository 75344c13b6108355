//! The search index's version (`keys::search_pk` / `INDEX`), and what a search reads of
//! the table to confirm each hit: the caller's view of its thread and the message itself.

use std::collections::{BTreeSet, HashMap};

use domain::search::IndexSnapshot;
use domain::{MessageId, OrgId, ThreadId, UserId};

use crate::items::{self, key};
use crate::keys::{self, search_pk, SEARCH_INDEX_SK};
use crate::records::{MessageRecord, Summary, ThreadRecord, TimelineItem};
use crate::tx::{self, Condition};
use crate::{Store, StoreError};

const GENERATION: &str = "generation";

/// What the table says of a page of hits.
#[derive(Debug, Default)]
pub struct HitContext {
    /// The caller's inbox row of each thread they may see.
    pub threads: HashMap<ThreadId, Summary>,
    /// The messages that still exist.
    pub messages: HashMap<MessageId, MessageRecord>,
}

impl Store {
    /// The version of the org's index to read; `None` before anything was indexed.
    pub async fn get_search_index(
        &self,
        org: &OrgId,
        consistent: bool,
    ) -> Result<Option<IndexSnapshot>, StoreError> {
        self.get_data(key(search_pk(org), SEARCH_INDEX_SK), consistent).await
    }

    /// Records `next` as the org's index if the recorded one is still `base`. `Ok(false)`:
    /// another writer recorded a version meanwhile.
    pub async fn put_search_index(
        &self,
        org: &OrgId,
        next: &IndexSnapshot,
        base: Option<&IndexSnapshot>,
    ) -> Result<bool, StoreError> {
        let mut item = key(search_pk(org), SEARCH_INDEX_SK);
        item.insert(items::DATA.into(), items::av(next)?);
        item.insert(GENERATION.into(), items::n(next.generation));
        let cond = match base {
            None => Condition::new("attribute_not_exists(pk)"),
            Some(b) => Condition::new("#g = :g").name("#g", GENERATION).value(":g", items::n(b.generation)),
        };
        self.write_one(tx::put(&self.table, item, cond)?).await
    }

    /// The messages named, those that exist: one BatchGetItem per 100 (each key once: a batch
    /// may name a message twice, and BatchGetItem refuses a duplicate key).
    pub async fn get_messages(
        &self,
        org: &OrgId,
        ids: &[(ThreadId, MessageId)],
    ) -> Result<HashMap<MessageId, MessageRecord>, StoreError> {
        let unique: BTreeSet<&(ThreadId, MessageId)> = ids.iter().collect();
        let wanted =
            unique.into_iter().map(|(t, m)| key(keys::thread_pk(org, t), keys::timeline_sk(*m))).collect();
        let mut found = HashMap::new();
        for item in self.batch_get(wanted, false).await? {
            if let TimelineItem::Message(m) = items::data(&item)? {
                found.insert(m.id, m);
            }
        }
        Ok(found)
    }

    /// One BatchGetItem (per 100 keys): for each thread, the caller's participant item
    /// (`member`), or the thread item for someone who sees every thread (`None`); and each
    /// message's timeline entry. A thread the caller is not in, or a message gone, is
    /// simply absent from the answer.
    pub async fn hit_context(
        &self,
        org: &OrgId,
        member: Option<&UserId>,
        hits: &[(ThreadId, MessageId)],
    ) -> Result<HitContext, StoreError> {
        let mut threads: Vec<ThreadId> = hits.iter().map(|(t, _)| *t).collect();
        threads.sort();
        threads.dedup();
        let head = |t: &ThreadId| match member {
            Some(user) => key(keys::thread_pk(org, t), keys::participant_sk(user)),
            None => key(keys::thread_pk(org, t), keys::META_SK),
        };
        let mut wanted: Vec<_> = threads.iter().map(head).collect();
        wanted.extend(hits.iter().map(|(t, m)| key(keys::thread_pk(org, t), keys::timeline_sk(*m))));
        let mut context = HitContext::default();
        for item in self.batch_get(wanted, false).await? {
            let sk = item.get(keys::SK).and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default();
            if sk == keys::META_SK {
                let thread: ThreadRecord = items::data(&item)?;
                context.threads.insert(thread.summary.id, thread.summary);
            } else if sk.starts_with(keys::PARTICIPANT_PREFIX) {
                let summary: Summary = items::field(&item, items::SUMMARY)?;
                context.threads.insert(summary.id, summary);
            } else if let TimelineItem::Message(m) = items::data(&item)? {
                context.messages.insert(m.id, m);
            }
        }
        Ok(context)
    }
}
