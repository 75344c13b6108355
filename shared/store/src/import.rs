//! Bulk import of conversations as they are (their thread item, participants and messages):
//! BatchWriteItem, 25 items a request, and no outbox events, so nothing is routed or
//! notified. What a migration from another system, or a benchmark's generated portfolio,
//! writes; the search index is then rebuilt from the table.

use crate::items;
use crate::records::{MessageRecord, ParticipantRecord, ThreadRecord, TimelineItem};
use crate::{Store, StoreError};

/// A conversation to import.
pub struct Imported<'a> {
    pub thread: &'a ThreadRecord,
    pub participants: &'a [ParticipantRecord],
    pub messages: &'a [MessageRecord],
}

impl Store {
    /// Writes the conversations' items, replacing any with the same keys.
    pub async fn import(&self, conversations: &[Imported<'_>]) -> Result<(), StoreError> {
        let mut puts = Vec::new();
        for c in conversations {
            let (org, id) = (&c.thread.org, &c.thread.summary.id);
            puts.push(items::thread_item(c.thread)?);
            for p in c.participants {
                puts.push(items::participant_item(org, p, &c.thread.view_for(p.role))?);
            }
            for m in c.messages {
                puts.push(items::timeline_item(org, id, &TimelineItem::Message(m.clone()))?);
            }
        }
        self.put_all(puts).await
    }
}
