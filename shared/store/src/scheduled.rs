//! Scheduled messages (`keys::scheduled_pk`): while pending, on the due partition the
//! `jobs` schedule reads (`Due::Scheduled`, by send time) and on their author's and the
//! org's lists (`keys::ScheduledList`); once sent, cancelled or failed, off all three and
//! kept 30 days so their author can see what became of them.

use aws_sdk_dynamodb::types::Select;
use chrono::{DateTime, Utc};
use domain::scheduled::ScheduledStatus;
use domain::{
    LinkedRecord, MessageBody, MessageId, OrgId, Priority, ScheduledId, Subject, ThreadId, Topic, UserId,
};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, s, Item, REV};
use crate::keys::{self, Due, Index, ScheduledList};
use crate::tx::{self, Condition};
use crate::{Cursor, Page, Store, StoreError};

/// How long a record stays once it left the schedule.
const KEPT_DAYS: i64 = 30;

/// What is posted when the time comes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScheduledPost {
    /// A message in an existing thread.
    Reply {
        thread_id: ThreadId,
        #[serde(default)]
        internal: bool,
        /// The newest message of the thread when it was scheduled: with `cancel_on_reply`,
        /// a resident's message after it cancels the send.
        #[schema(value_type = Option<domain::MessageId>)]
        seen_last: Option<MessageId>,
    },
    /// A new conversation with a resident.
    Thread {
        topic: Topic,
        subject: Subject,
        resident_id: UserId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<Priority>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        linked_record: Option<LinkedRecord>,
        category_id: String,
    },
}

/// A scheduled message as stored and shown to staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduledRecord {
    pub id: ScheduledId,
    pub org: OrgId,
    pub author_id: UserId,
    pub status: ScheduledStatus,
    pub send_at: DateTime<Utc>,
    pub post: ScheduledPost,
    pub body: MessageBody,
    /// A reply the resident answers before `send_at` is not sent.
    pub cancel_on_reply: bool,
    /// Once sent: the thread it went to (the new one, for a conversation) and the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_thread_id: Option<ThreadId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<domain::MessageId>)]
    pub message_id: Option<MessageId>,
    /// Why it was cancelled or failed, as an error code (`resident_replied` for a cancel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes with every write; a write holds only over the revision it read.
    pub rev: u32,
}

impl ScheduledRecord {
    fn item(&self) -> Result<Item, StoreError> {
        let mut item = key(keys::scheduled_pk(&self.org, &self.id), keys::SCHEDULED_SK);
        item.insert(items::DATA.into(), items::av(self)?);
        item.insert(REV.into(), items::n(self.rev));
        if self.status.is_pending() {
            item.insert(Index::Gsi1.pk().into(), s(Due::Scheduled.partition()));
            item.insert(Index::Gsi1.sk().into(), s(keys::due_sk(&self.send_at, &self.org, &self.id)));
            let sort = keys::scheduled_sk(&self.send_at, &self.id);
            for list in [ScheduledList::Author(&self.author_id), ScheduledList::Org] {
                let (index, partition) = list.partition(&self.org);
                item.insert(index.pk().into(), s(partition));
                item.insert(index.sk().into(), s(sort.clone()));
            }
        } else {
            let expires = self.updated_at + chrono::Duration::days(KEPT_DAYS);
            item.insert(items::EXPIRES_AT.into(), items::n(expires.timestamp()));
        }
        Ok(item)
    }
}

fn record(item: &Item) -> Result<ScheduledRecord, StoreError> {
    data::<ScheduledRecord>(item)
}

/// What an Idempotency-Key used to schedule a message recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduledKey {
    pub request_hash: String,
    pub scheduled_id: ScheduledId,
}

/// A scheduling's outcome: stored, or the one an earlier request with the key stored.
pub type Scheduling = crate::Once<ScheduledKey>;

impl Store {
    /// Stores a new scheduled message, with its Idempotency-Key's record when the client
    /// sent one (both or neither).
    pub async fn put_scheduled(
        &self,
        record: &ScheduledRecord,
        idempotency: Option<crate::NewIdempotency<'_>>,
    ) -> Result<Scheduling, StoreError> {
        let put = tx::put(&self.table, record.item()?, Condition::new("attribute_not_exists(pk)"))?;
        let Some(idem) = idempotency else {
            return if self.write_one(put).await? {
                Ok(Scheduling::Stored)
            } else {
                Err(StoreError::Contention)
            };
        };
        let marker = key(
            keys::idempotency_pk(&record.org, &record.author_id, idem.key),
            keys::SCHEDULED_IDEMPOTENCY_SK,
        );
        let recorded = ScheduledKey { request_hash: idem.request_hash, scheduled_id: record.id };
        self.put_once(put, marker, &recorded).await
    }

    /// Replaces a scheduled message that is still at the revision `after.rev - 1`.
    /// `Ok(false)`: someone changed it since.
    pub async fn replace_scheduled(&self, after: &ScheduledRecord) -> Result<bool, StoreError> {
        let cond = Condition::new("#rev = :rev").name("#rev", REV).value(":rev", items::n(after.rev - 1));
        self.write_one(tx::put(&self.table, after.item()?, cond)?).await
    }

    /// Deletes a scheduled message still at `rev`. `Ok(false)`: changed or gone since.
    pub async fn delete_scheduled(&self, record: &ScheduledRecord) -> Result<bool, StoreError> {
        let key = key(keys::scheduled_pk(&record.org, &record.id), keys::SCHEDULED_SK);
        let cond = Condition::new("#rev = :rev").name("#rev", REV).value(":rev", items::n(record.rev));
        self.write_one(tx::delete(&self.table, key, cond)?).await
    }

    pub async fn get_scheduled(
        &self,
        org: &OrgId,
        id: &ScheduledId,
    ) -> Result<Option<ScheduledRecord>, StoreError> {
        self.get_data(key(keys::scheduled_pk(org, id), keys::SCHEDULED_SK), true).await
    }

    /// One page of pending scheduled messages, soonest first.
    pub async fn list_scheduled(
        &self,
        org: &OrgId,
        list: ScheduledList<'_>,
        cursor: Option<&Cursor>,
        limit: i32,
    ) -> Result<Page<ScheduledRecord>, StoreError> {
        self.index_page(org, list.partition(org), cursor, limit, true).await
    }

    /// How many messages `author` has pending: counted by the Query, not sent.
    pub async fn count_scheduled(&self, org: &OrgId, author: &UserId) -> Result<usize, StoreError> {
        let (index, partition) = ScheduledList::Author(author).partition(org);
        let pages = self
            .query()
            .index_name(index.name())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index.pk())
            .expression_attribute_values(":pk", s(partition))
            .select(Select::Count)
            .into_paginator()
            .send();
        let counts: Vec<_> = pages.collect::<Result<_, _>>().await.map_err(StoreError::unavailable)?;
        Ok(counts.iter().map(|page| page.count() as usize).sum())
    }

    /// Scheduled messages due at `now` (every org), soonest first.
    pub async fn scheduled_due(
        &self,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<ScheduledRecord>, StoreError> {
        let due = self.query_due(Due::Scheduled, keys::due_by(&now), limit).await?;
        due.iter().map(record).collect()
    }
}
