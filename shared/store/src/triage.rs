//! Triage: the thread's classification (on its record), the org's queue of escalated
//! threads nobody acknowledged (`keys::triage_pk`, listed in order on `keys::triage_queue`
//! and, while an emergency may escalate again, on the due partition `Due::Escalation`), and
//! each contact's recently triaged threads per path (`keys::triaged_sk`).

use aws_sdk_dynamodb::types::Select;
use chrono::{DateTime, Utc};
use domain::events::OutboxEvent;
use domain::triage::{Escalation, Path};
use domain::{MessageId, OrgId, ThreadId, UserId};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, s, Item};
use crate::keys::{self, Due, Index, PK, SK};
use crate::records::{EventRecord, ThreadRecord, ThreadView};
use crate::tx::{self, Condition};
use crate::{ArchiveCheck, Cursor, Page, Store, StoreError};

/// Recently triaged threads are kept this long (the item expires after).
const TRIAGED_TTL_DAYS: i64 = 90;

/// An escalated thread waiting for a staff member to acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = TriageQueueItem)]
pub struct QueueEntry {
    pub thread_id: ThreadId,
    #[serde(skip)]
    pub org: Option<OrgId>,
    pub escalation: Escalation,
    pub path: Path,
    pub subject: String,
    pub resident_id: UserId,
    pub resident_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The resident's message that was escalated.
    pub message_id: MessageId,
    pub escalated_at: DateTime<Utc>,
    /// 1 when first escalated; each time nobody acknowledged in time, one more.
    pub level: u32,
    /// When it escalates again if still not acknowledged (emergencies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
}

/// What a triage change does to the queue.
pub enum QueueChange<'a> {
    Keep,
    /// Put in (or replace) the thread's entry.
    Enqueue {
        org: &'a OrgId,
        entry: &'a QueueEntry,
    },
    /// Take the thread out (acknowledged).
    Dequeue {
        org: &'a OrgId,
        thread: &'a ThreadId,
    },
}

const ORG: &str = "org";
const THREAD: &str = "thread";

fn entry_item(org: &OrgId, entry: &QueueEntry) -> Result<Item, StoreError> {
    let mut item = key(keys::triage_pk(org), entry.thread_id.to_string());
    item.insert(items::DATA.into(), items::av(entry)?);
    item.insert(ORG.into(), s(org.to_string()));
    let (list, partition) = keys::triage_queue(org);
    let emergency = entry.escalation == Escalation::Emergency;
    item.insert(list.pk().into(), s(partition));
    item.insert(list.sk().into(), s(keys::triage_queue_sk(emergency, &entry.escalated_at, &entry.thread_id)));
    if let Some(due) = entry.due_at {
        let index = Index::Gsi1;
        item.insert(index.pk().into(), s(Due::Escalation.partition()));
        item.insert(index.sk().into(), s(keys::due_sk(&due, org, &entry.thread_id)));
    }
    Ok(item)
}

fn read_entry(item: &Item) -> Result<QueueEntry, StoreError> {
    let mut entry: QueueEntry = data(item)?;
    let org: String = items::field(item, ORG).unwrap_or_default();
    entry.org = OrgId::parse(&org).ok();
    Ok(entry)
}

impl Store {
    /// Replaces the thread record if nobody changed it since `view` was read, with its
    /// timeline `events`, its archive check, the queue change and the event that
    /// `announce`s it, all or nothing. `Ok(false)`: stale view.
    pub async fn change_thread(
        &self,
        view: &ThreadView,
        after: &ThreadRecord,
        events: &[EventRecord],
        check: ArchiveCheck,
        queue: QueueChange<'_>,
        announce: Option<&OutboxEvent>,
    ) -> Result<bool, StoreError> {
        let mut extra = Vec::new();
        match queue {
            QueueChange::Keep => {}
            QueueChange::Enqueue { org, entry } => {
                extra.push(tx::put(&self.table, entry_item(org, entry)?, Condition::always())?);
            }
            QueueChange::Dequeue { org, thread } => {
                let at = key(keys::triage_pk(org), thread.to_string());
                extra.push(tx::delete(&self.table, at, Condition::always())?);
            }
        }
        if let Some(event) = announce {
            extra.push(crate::outbox::put_item(&self.table, event)?);
        }
        self.update_thread_with(view, after, events, check, extra).await
    }

    /// One page of the org's triage queue: emergencies first, then oldest first.
    pub async fn triage_queue(
        &self,
        org: &OrgId,
        cursor: Option<&Cursor>,
        limit: i32,
    ) -> Result<Page<QueueEntry>, StoreError> {
        self.index_page(org, keys::triage_queue(org), cursor, limit, true).await
    }

    /// Escalations of every org whose acknowledgement is overdue at `now`, oldest first.
    pub async fn due_escalations(
        &self,
        now: &DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        let items = self.query_due(Due::Escalation, keys::due_by(now), limit).await?;
        items.iter().map(read_entry).collect()
    }

    /// Records that the contact's thread is on `path` (once per thread and path).
    pub async fn record_triaged(
        &self,
        org: &OrgId,
        contact: &UserId,
        path: Path,
        thread: &ThreadId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item = key(keys::user_pk(org, contact), keys::triaged_sk(path.as_str(), thread));
        item.insert("at".into(), s(keys::timestamp(&at)));
        // A plain copy of the thread: a Query's filter may not name the sort key.
        item.insert(THREAD.into(), s(thread.to_string()));
        let expires = at + chrono::Duration::days(TRIAGED_TTL_DAYS);
        item.insert(items::EXPIRES_AT.into(), items::n(expires.timestamp()));
        self.put(item).await
    }

    /// How many of the contact's threads other than `thread` were put on `path` since
    /// `since` (one Query counting keys; at most 100 are counted).
    pub async fn count_triaged(
        &self,
        org: &OrgId,
        contact: &UserId,
        path: Path,
        thread: &ThreadId,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .filter_expression("#at >= :since AND #thread <> :own")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#at", "at")
            .expression_attribute_names("#thread", THREAD)
            .expression_attribute_values(":pk", s(keys::user_pk(org, contact)))
            .expression_attribute_values(":prefix", s(keys::triaged_prefix(path.as_str())))
            .expression_attribute_values(":since", s(keys::timestamp(&since)))
            .expression_attribute_values(":own", s(thread.to_string()))
            .select(Select::Count)
            .limit(100)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(u32::try_from(out.count).unwrap_or_default())
    }
}
