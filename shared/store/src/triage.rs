//! Triage: the thread's classification (on its record), the org's queue of escalated
//! threads nobody acknowledged (`keys::triage_pk`, listed in order on `keys::triage_queue`
//! and, while an emergency may escalate again, on the due partition `Due::Escalation`), and
//! each contact's recently triaged threads per path (`keys::triaged_sk`, one item each).

use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use domain::events::OutboxEvent;
use domain::triage::{Escalation, Path};
use domain::{MessageId, OrgId, ThreadId, UserId};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, s, Item};
use crate::keys::{self, Due, Index};
use crate::records::{EventRecord, ThreadRecord, ThreadView};
use crate::tx::{self, Condition};
use crate::{ArchiveCheck, Cursor, Page, Store, StoreError};

/// The most threads a contact's item for a path holds, and counts.
pub const MAX_TRIAGED: usize = 100;
/// The most stale threads one write removes.
const MAX_FORGET: usize = 20;

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

    /// Records that the contact's thread is on `path` now, and counts their other threads
    /// put on it since `since` (at most [`MAX_TRIAGED`]): one UpdateItem of the contact's
    /// item for the path, which holds each thread's latest time on it and answers with what
    /// it held before. Threads older than `since` (or past the most recent
    /// [`MAX_TRIAGED`]) are removed then, in a second write, once each.
    pub async fn note_triaged(
        &self,
        org: &OrgId,
        contact: &UserId,
        path: Path,
        thread: &ThreadId,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let pk = keys::user_pk(org, contact);
        let sk = keys::triaged_sk(path.as_str());
        // Kept as long as it counts: `since` before the latest.
        let expires = at + (at - since);
        let own = keys::triaged_attr(thread);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk.clone(), sk.clone())))
            .update_expression("SET #t = :at, #exp = :exp")
            .expression_attribute_names("#t", &own)
            .expression_attribute_names("#exp", items::EXPIRES_AT)
            .expression_attribute_values(":at", s(keys::timestamp(&at)))
            .expression_attribute_values(":exp", items::n(expires.timestamp()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let since = keys::timestamp(&since);
        let mut others: Vec<(&str, &str)> = out
            .attributes()
            .into_iter()
            .flatten()
            .filter(|(name, _)| name.starts_with(keys::TRIAGED_ATTR_PREFIX) && **name != own)
            .filter_map(|(name, at)| Some((at.as_s().ok()?.as_str(), name.as_str())))
            .collect();
        // Newest first: what is past the cap or older than `since` goes.
        others.sort_unstable_by(|a, b| b.cmp(a));
        let recent = others.iter().take(MAX_TRIAGED).take_while(|(at, _)| **at >= *since).count();
        let mut stale: Vec<(&str, &str)> = others.split_off(recent);
        // The oldest, in a bounded write (the rest goes the next time; normally one or none
        // is stale).
        stale.reverse();
        stale.truncate(MAX_FORGET);
        if !stale.is_empty() {
            self.forget_triaged(pk, sk, &stale).await?;
        }
        Ok(u32::try_from(recent).unwrap_or(u32::MAX))
    }

    /// Removes threads from a contact's item for a path, unless one was put on it again
    /// meanwhile (then the next triage removes what is still stale).
    async fn forget_triaged(&self, pk: String, sk: String, stale: &[(&str, &str)]) -> Result<(), StoreError> {
        let mut update = self.client.update_item().table_name(&self.table).set_key(Some(key(pk, sk)));
        let mut removes = Vec::with_capacity(stale.len());
        let mut unchanged = Vec::with_capacity(stale.len());
        for (i, (at, name)) in stale.iter().enumerate() {
            removes.push(format!("#s{i}"));
            unchanged.push(format!("#s{i} = :s{i}"));
            update = update
                .expression_attribute_names(format!("#s{i}"), *name)
                .expression_attribute_values(format!(":s{i}"), s(at.to_string()));
        }
        let out = update
            .update_expression(format!("REMOVE {}", removes.join(", ")))
            .condition_expression(unchanged.join(" AND "))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(())
            }
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }
}
