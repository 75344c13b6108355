//! A thread's timeline (messages and events), oldest first, one Query per page.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{MessageId, OrgId, ThreadId};

use crate::items::{data, s, INTERNAL};
use crate::keys::{self, PK, SK};
use crate::records::{MessageRecord, TimelineItem};
use crate::{Cursor, Page, Store, StoreError};

impl Store {
    /// A page of the timeline. Without `include_internal`, internal notes are filtered
    /// out by the Query itself, so they never leave the table for a resident's request.
    pub async fn list_timeline(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        include_internal: bool,
        cursor: Option<&Cursor>,
        limit: i32,
    ) -> Result<Page<TimelineItem>, StoreError> {
        let pk = keys::thread_pk(org, thread);
        let start = cursor.map(|c| c.decode(&[PK, SK], (PK, &pk), &keys::org_prefix(org))).transpose()?;
        let mut query = self
            .query()
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :tl)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":tl", s(keys::TIMELINE_PREFIX))
            .limit(limit);
        if !include_internal {
            query = query
                .filter_expression("#internal = :false")
                .expression_attribute_names("#internal", INTERNAL)
                .expression_attribute_values(":false", AttributeValue::Bool(false));
        }
        self.data_page(query, start).await
    }

    /// Up to `limit` messages of a thread newer than `after`, oldest first, as a reader who
    /// sees internal notes or not: what a poster missed.
    pub async fn messages_after(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        after: &MessageId,
        include_internal: bool,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        // Timeline keys sort after `TL#{after}` and before `TL$` (the next prefix).
        let end = format!("{}\u{7f}", keys::TIMELINE_PREFIX);
        let pages = self
            .query()
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :after AND :end")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(keys::thread_pk(org, thread)))
            .expression_attribute_values(":after", s(keys::timeline_sk(*after)))
            .expression_attribute_values(":end", s(end))
            .consistent_read(true)
            // Bounded: what the answer shows is the first few.
            .limit(100)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let entries = pages.items().iter().map(data::<TimelineItem>);
        let mut newer = Vec::new();
        for entry in entries {
            match entry? {
                TimelineItem::Message(m) if m.id > *after && (include_internal || !m.internal) => {
                    newer.push(m)
                }
                _ => {}
            }
            if newer.len() == limit {
                break;
            }
        }
        Ok(newer)
    }
}
