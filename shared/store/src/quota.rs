//! Quota counters: one item per scope, kind and window under the org (`keys::quota_pk` /
//! `keys::quota_sk`), counted with conditional updates and removed by TTL a day
//! after the window ends. The org's own limits, where operations set any, are a settings
//! item (`QUOTAS_SETTINGS_SK`).

use domain::quota::{QuotaKind, Quotas};
use domain::OrgId;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use crate::items::{self, key, n};
use crate::keys::{self, QuotaScope};
use crate::{Store, StoreError};

/// One window of one scope's count.
#[derive(Clone, Debug)]
pub struct Counter {
    pub org: OrgId,
    pub scope: QuotaScope,
    pub kind: QuotaKind,
    /// Epoch seconds the window starts at, and its length.
    pub window_start: i64,
    pub window_secs: u32,
}

impl Store {
    /// Counts one more in each counter's window, all or none: `false`, and nothing left
    /// counted, when any counter already reached its limit, so a refused request never uses
    /// up anyone's quota. One conditional UpdateItem per counter, in order, giving back what
    /// it took when a later one refuses: half the write units of a transaction, and no
    /// transaction conflicts on the org's counter, which every write of the org touches.
    pub async fn take_quotas(&self, counters: &[(Counter, u32)]) -> Result<bool, StoreError> {
        for (taken, (counter, limit)) in counters.iter().enumerate() {
            let expires = counter.window_start + i64::from(counter.window_secs) + 86_400;
            let update = self
                .count(counter, 1)
                .update_expression("ADD #n :one SET #exp = :exp")
                .condition_expression("attribute_not_exists(#n) OR #n < :limit")
                .expression_attribute_names("#exp", items::EXPIRES_AT)
                .expression_attribute_values(":exp", n(expires))
                .expression_attribute_values(":limit", n(limit))
                .build()
                .map_err(StoreError::unavailable)?;
            if !self.write_one(TransactWriteItem::builder().update(update).build()).await? {
                let before: Vec<Counter> = counters[..taken].iter().map(|(c, _)| c.clone()).collect();
                self.give_back_quotas(&before).await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Gives back what `take_quotas` counted, for a write that was then refused; never
    /// below zero (a window that ended meanwhile keeps its count).
    pub async fn give_back_quotas(&self, counters: &[Counter]) -> Result<(), StoreError> {
        for counter in counters {
            let update = self
                .count(counter, -1)
                .update_expression("ADD #n :one")
                .condition_expression("#n > :zero")
                .expression_attribute_values(":zero", n(0))
                .build()
                .map_err(StoreError::unavailable)?;
            // A refused condition: nothing to give back.
            self.write_one(TransactWriteItem::builder().update(update).build()).await?;
        }
        Ok(())
    }

    /// An update of `counter`'s item adding `by` (`:one`) to its count (`#n`).
    fn count(&self, counter: &Counter, by: i64) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        let pk = keys::quota_pk(&counter.org, &counter.scope);
        let sk = keys::quota_sk(counter.kind, counter.window_start);
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .expression_attribute_names("#n", "count")
            .expression_attribute_values(":one", n(by))
    }

    /// The org's limits as operations set them; `None`: the defaults.
    pub async fn get_quotas(&self, org: &OrgId) -> Result<Option<Quotas>, StoreError> {
        self.get_data(key(keys::settings_pk(org), keys::QUOTAS_SETTINGS_SK), false).await
    }

    pub async fn put_quotas(&self, org: &OrgId, quotas: &Quotas) -> Result<(), StoreError> {
        self.put_data(key(keys::settings_pk(org), keys::QUOTAS_SETTINGS_SK), quotas).await
    }
}
