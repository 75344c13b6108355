//! Bulk import of conversations as they are (their thread item, participants and messages):
//! BatchWriteItem, 25 items a request, and no outbox events, so nothing is routed or
//! notified. What a migration from another system, or a benchmark's generated portfolio,
//! writes; the search index is then rebuilt from the table.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use crate::items;
use crate::records::{MessageRecord, ParticipantRecord, ThreadRecord, TimelineItem};
use crate::{Store, StoreError};

/// Rounds of unprocessed items before the import counts as failed.
const MAX_ATTEMPTS: u32 = 8;

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
        for chunk in puts.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item.clone())).build();
                    put.map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(StoreError::unavailable)
                })
                .collect::<Result<_, _>>()?;
            let mut attempt = 0;
            while !requests.is_empty() {
                if attempt == MAX_ATTEMPTS {
                    return Err(StoreError::unavailable(std::io::Error::other(
                        "BatchWriteItem left items unprocessed",
                    )));
                }
                if attempt > 0 {
                    crate::retry::backoff(attempt - 1).await;
                }
                attempt += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(StoreError::unavailable)?;
                requests =
                    out.unprocessed_items().and_then(|u| u.get(&self.table)).cloned().unwrap_or_default();
            }
        }
        Ok(())
    }
}
