//! Consent: a contact's latest decisions (`CONSENTS` in their user partition, written on its
//! revision) and the append-only ledger of every change (`keys::consent_log_pk`), written
//! together in one transaction so the state never moves without its proof.

use domain::consent::{ConsentEntry, Consents};
use domain::{LogId, OrgId, UserId};

use crate::items::{self, data, key, s, Item, REV};
use crate::keys::{self, PK};
use crate::tx::{self, Condition, TxOutcome};
use crate::{Store, StoreError};

impl Store {
    /// A contact's latest decisions and their revision (0: none yet).
    pub async fn get_consents(&self, org: &OrgId, contact: &UserId) -> Result<(Consents, u64), StoreError> {
        match self.get_item(key(keys::user_pk(org, contact), keys::CONSENTS_SK), true).await? {
            Some(item) => Ok((data(&item)?, items::field(&item, REV)?)),
            None => Ok((Consents::default(), 0)),
        }
    }

    /// Records `entry`: the decisions as they are after it, if still at revision `rev`, and
    /// the ledger entry. `Ok(false)`: someone decided meanwhile.
    pub async fn record_consent(
        &self,
        org: &OrgId,
        contact: &UserId,
        after: &Consents,
        rev: u64,
        entry: &ConsentEntry,
    ) -> Result<bool, StoreError> {
        let mut state = key(keys::user_pk(org, contact), keys::CONSENTS_SK);
        state.insert(items::DATA.into(), items::av(after)?);
        state.insert(REV.into(), items::n(rev + 1));
        let cond = if rev == 0 {
            Condition::new("attribute_not_exists(pk)")
        } else {
            Condition::new("#rev = :rev").name("#rev", REV).value(":rev", items::n(rev))
        };
        let id = LogId::new_at(u64::try_from(entry.at.timestamp_millis()).unwrap_or_default());
        let mut log: Item = key(keys::consent_log_pk(org, contact), keys::log_sk(&entry.at, &id));
        log.insert(items::DATA.into(), items::av(entry)?);
        let writes = vec![
            tx::put(&self.table, state, cond)?,
            tx::put(&self.table, log, Condition::new("attribute_not_exists(pk)"))?,
        ];
        match self.transact(writes).await? {
            TxOutcome::Committed => Ok(true),
            outcome if outcome.failed_condition(0) || outcome.conflicted() => Ok(false),
            TxOutcome::Cancelled(_) => Err(StoreError::Contention),
        }
    }

    /// A contact's whole ledger, oldest first (every page).
    pub async fn consent_history(
        &self,
        org: &OrgId,
        contact: &UserId,
    ) -> Result<Vec<ConsentEntry>, StoreError> {
        let pages = self
            .query()
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(keys::consent_log_pk(org, contact)))
            .into_paginator()
            .items()
            .send();
        let found: Vec<Item> = pages.collect::<Result<_, _>>().await.map_err(StoreError::unavailable)?;
        found.iter().map(data::<ConsentEntry>).collect()
    }
}
