//! Inbox lists: one Query on one of four indexes, newest activity first.

use domain::{MessageId, OrgId, ThreadStatus, Topic, UserId};

use crate::items::{data, field, s, Item, SUMMARY};
use crate::keys::{self, PK, SK};
use crate::records::{ParticipantRecord, Summary, ThreadRecord};
use crate::{Cursor, Page, Store, StoreError};

/// Whose inbox: the whole org's (facility admins) or one participant's.
#[derive(Debug, Clone)]
pub enum InboxScope {
    Org(OrgId),
    User(OrgId, UserId),
}

impl InboxScope {
    pub fn prefix(&self) -> String {
        match self {
            Self::Org(org) => format!("ORG#{org}#INBOX_ALL"),
            Self::User(org, user) => format!("ORG#{org}#INBOX_USER#{user}"),
        }
    }
    fn org(&self) -> &OrgId {
        match self {
            Self::Org(org) | Self::User(org, _) => org,
        }
    }
}

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
        let prefix = q.scope.prefix();
        let (index, partition) = match (&q.status, &q.topic) {
            (Some(st), None) => (1, format!("{prefix}#S#{}", st.as_str())),
            (None, None) => (2, prefix),
            (Some(st), Some(t)) => (3, format!("{prefix}#S#{}#T#{}", st.as_str(), t.as_str())),
            (None, Some(t)) => (4, format!("{prefix}#T#{}", t.as_str())),
        };
        let (gpk, gsk) = (format!("gsi{index}pk"), format!("gsi{index}sk"));
        let start = q
            .cursor
            .as_ref()
            .map(|c| c.decode(&[PK, SK, &gpk, &gsk], (&gpk, &partition), &keys::org_prefix(q.scope.org())))
            .transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(format!("gsi{index}"))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", &gpk)
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
