//! Per-organization settings items (`keys::settings_pk` / one sort key per kind).

use domain::category::Category;
use domain::hours::BusinessHours;
use domain::messaging::MessagingSettings;
use domain::triage::TriageSettings;
use domain::{OrgId, RoutingSettings};

use crate::items::{self, key, REV};
use crate::keys::{
    settings_pk, BUSINESS_HOURS_SK, CATEGORIES_SK, MESSAGING_SETTINGS_SK, ROUTING_SETTINGS_SK,
    TRIAGE_SETTINGS_SK,
};
use crate::tx::{self, Condition};
use crate::{Store, StoreError};

impl Store {
    /// The org's routing settings; `None` if never set (nothing is routed). Strongly
    /// consistent: a topic routed a moment ago is offered, and routed, at once.
    pub async fn get_routing(&self, org: &OrgId) -> Result<Option<RoutingSettings>, StoreError> {
        self.get_data(key(settings_pk(org), ROUTING_SETTINGS_SK), true).await
    }

    /// The org's messaging settings; the defaults until set.
    pub async fn get_messaging(&self, org: &OrgId) -> Result<MessagingSettings, StoreError> {
        Ok(self.get_data(key(settings_pk(org), MESSAGING_SETTINGS_SK), false).await?.unwrap_or_default())
    }

    pub async fn put_messaging(&self, org: &OrgId, settings: &MessagingSettings) -> Result<(), StoreError> {
        self.put_data(key(settings_pk(org), MESSAGING_SETTINGS_SK), settings).await
    }

    pub async fn put_routing(&self, org: &OrgId, settings: &RoutingSettings) -> Result<(), StoreError> {
        self.put_data(key(settings_pk(org), ROUTING_SETTINGS_SK), settings).await
    }

    /// The org's business hours; the defaults (no automatic reply) until set.
    pub async fn get_business_hours(&self, org: &OrgId) -> Result<BusinessHours, StoreError> {
        Ok(self.get_data(key(settings_pk(org), BUSINESS_HOURS_SK), false).await?.unwrap_or_default())
    }

    pub async fn put_business_hours(&self, org: &OrgId, hours: &BusinessHours) -> Result<(), StoreError> {
        self.put_data(key(settings_pk(org), BUSINESS_HOURS_SK), hours).await
    }

    /// The org's triage rules; the shipped ones until set.
    pub async fn get_triage_settings(&self, org: &OrgId) -> Result<TriageSettings, StoreError> {
        Ok(self.get_data(key(settings_pk(org), TRIAGE_SETTINGS_SK), false).await?.unwrap_or_default())
    }

    pub async fn put_triage_settings(
        &self,
        org: &OrgId,
        settings: &TriageSettings,
    ) -> Result<(), StoreError> {
        self.put_data(key(settings_pk(org), TRIAGE_SETTINGS_SK), settings).await
    }

    /// The org's categories (not the built-in one) and their revision (0: never set).
    pub async fn get_categories(&self, org: &OrgId) -> Result<(Vec<Category>, u64), StoreError> {
        let item = self.get_item(key(settings_pk(org), CATEGORIES_SK), true).await?;
        match item {
            Some(item) => Ok((items::data(&item)?, items::field(&item, REV)?)),
            None => Ok((vec![], 0)),
        }
    }

    /// Replaces the org's categories if still at revision `rev`. `Ok(false)`: changed since.
    pub async fn put_categories(
        &self,
        org: &OrgId,
        categories: &[Category],
        rev: u64,
    ) -> Result<bool, StoreError> {
        let mut item = key(settings_pk(org), CATEGORIES_SK);
        item.insert(items::DATA.into(), items::av(&categories)?);
        item.insert(REV.into(), items::n(rev + 1));
        let cond = if rev == 0 {
            Condition::new("attribute_not_exists(pk)")
        } else {
            Condition::new("#rev = :rev").name("#rev", REV).value(":rev", items::n(rev))
        };
        self.write_one(tx::put(&self.table, item, cond)?).await
    }
}
