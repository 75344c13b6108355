//! A record made once per Idempotency-Key: the record and a marker naming it are written
//! together, so a client retrying after a lost answer finds the marker instead of making a
//! second record.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::items::{self, Item};
use crate::tx::{self, Condition, TxOutcome};
use crate::{Store, StoreError};

/// How long a key is remembered, as for posts.
const TTL_SECS: i64 = 24 * 3600;

/// A write's outcome: stored, or what an earlier request with the key recorded.
pub enum Once<T> {
    Stored,
    Replayed(T),
}

impl Store {
    /// Writes `put` (a new record) with the key's marker at `marker_key` holding `marker`;
    /// both or neither. A marker already there (and not expired) is answered instead.
    pub(crate) async fn put_once<T: Serialize + DeserializeOwned>(
        &self,
        put: TransactWriteItem,
        marker_key: Item,
        marker: &T,
    ) -> Result<Once<T>, StoreError> {
        let now = chrono::Utc::now().timestamp();
        let mut item = marker_key.clone();
        item.insert(items::DATA.into(), items::av(marker)?);
        item.insert(items::EXPIRES_AT.into(), items::n(now + TTL_SECS));
        // TTL deletes late: an expired marker is as good as none.
        let fresh = Condition::new("attribute_not_exists(pk) OR #exp < :now")
            .name("#exp", items::EXPIRES_AT)
            .value(":now", items::n(now));
        let outcome = self.transact(vec![put, tx::put(&self.table, item, fresh)?]).await?;
        if let TxOutcome::Committed = outcome {
            return Ok(Once::Stored);
        }
        if outcome.failed_condition(1) {
            if let Some(first) = self.marker::<T>(marker_key).await? {
                return Ok(Once::Replayed(first));
            }
        }
        Err(StoreError::Contention)
    }

    /// What the marker at `key` records, unless it expired (TTL deletes late).
    pub(crate) async fn marker<T: DeserializeOwned>(&self, key: Item) -> Result<Option<T>, StoreError> {
        let Some(item) = self.get_item(key, true).await? else { return Ok(None) };
        let expires =
            item.get(items::EXPIRES_AT).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok());
        if expires.is_some_and(|at| at < chrono::Utc::now().timestamp()) {
            return Ok(None);
        }
        items::data::<T>(&item).map(Some)
    }
}
