//! Inbox lists: one Query on one of four indexes, newest activity first.

use domain::{MessageId, ThreadStatus, Topic};

use crate::items::{data, field, s, Item, SUMMARY};
use crate::keys::{self, InboxScope, PK, SK};
use crate::records::{ParticipantRecord, Summary, ThreadRecord};
use crate::{Cursor, Page, Store, StoreError};

#[derive(Debug, Clone)]
pub struct InboxQuery {
    pub scope: InboxScope,
    pub status: Option<ThreadStatus>,
    pub topic: Option<Topic>,
    pub cursor: Option<Cursor>,
    pub limit: i32,
}

/// A row of an inbox, with the reader's read marker when the inbox is a participant's.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub summary: Summary,
    pub last_read_id: Option<MessageId>,
}

impl Store {
    pub async fn list_inbox(&self, q: &InboxQuery) -> Result<Page<InboxRow>, StoreError> {
        let (index, partition) = q.scope.partition(q.status, q.topic.as_ref());
        let (gpk, gsk) = (index.pk(), index.sk());
        let start = q
            .cursor
            .as_ref()
            .map(|c| c.decode(&[PK, SK, gpk, gsk], (gpk, &partition), &keys::org_prefix(q.scope.org())))
            .transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index.name())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", gpk)
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(false)
            .limit(q.limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let items = out.items().iter().map(|item| row(&q.scope, item)).collect::<Result<_, _>>()?;
        Ok(Page { items, next: out.last_evaluated_key().and_then(Cursor::encode) })
    }
}

fn row(scope: &InboxScope, item: &Item) -> Result<InboxRow, StoreError> {
    Ok(match scope {
        InboxScope::Org(_) => InboxRow { summary: data::<ThreadRecord>(item)?.summary, last_read_id: None },
        InboxScope::User(..) => InboxRow {
            summary: field(item, SUMMARY)?,
            last_read_id: data::<ParticipantRecord>(item)?.last_read_id,
        },
    })
}
