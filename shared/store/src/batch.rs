//! Plain puts, many a request (BatchWriteItem, 25 each): for records that may be written
//! again without harm, where a transaction would bill every item twice.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use crate::items::Item;
use crate::retry::Tries;
use crate::{Store, StoreError};

/// The most items one BatchWriteItem takes.
const PER_REQUEST: usize = 25;

impl Store {
    /// Writes every item, replacing any with the same key. What DynamoDB leaves unprocessed
    /// (throttled) is sent again after a pause (`retry::Tries`); still unprocessed after the
    /// last try, the write fails as unavailable, and some items may stand written.
    pub(crate) async fn put_all(&self, items: Vec<Item>) -> Result<(), StoreError> {
        for chunk in items.chunks(PER_REQUEST) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item.clone())).build();
                    put.map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(StoreError::unavailable)
                })
                .collect::<Result<_, _>>()?;
            let mut tries = Tries::new();
            while !requests.is_empty() {
                if !tries.another().await {
                    return Err(StoreError::unavailable(std::io::Error::other(
                        "BatchWriteItem left items unprocessed",
                    )));
                }
                let out = (self.client.batch_write_item().request_items(&self.table, requests))
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
