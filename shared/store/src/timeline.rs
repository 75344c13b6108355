//! A thread's timeline (messages and events), oldest first, one Query per page.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{OrgId, ThreadId};

use crate::items::{data, s, INTERNAL};
use crate::keys::{self, PK, SK};
use crate::records::TimelineItem;
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
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :tl)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":tl", s(keys::TIMELINE_PREFIX))
            .limit(limit)
            .set_exclusive_start_key(start);
        if !include_internal {
            query = query
                .filter_expression("#internal = :false")
                .expression_attribute_names("#internal", INTERNAL)
                .expression_attribute_values(":false", AttributeValue::Bool(false));
        }
        let out = query.send().await.map_err(StoreError::unavailable)?;
        let items = out.items().iter().map(data::<TimelineItem>).collect::<Result<_, _>>()?;
        Ok(Page { items, next: out.last_evaluated_key().and_then(Cursor::encode) })
    }
}
