//! Per-organization settings items (`keys::settings_pk` / one sort key per kind).

use domain::hours::BusinessHours;
use domain::messaging::MessagingSettings;
use domain::{OrgId, RoutingSettings};

use crate::items::key;
use crate::keys::{settings_pk, BUSINESS_HOURS_SK, MESSAGING_SETTINGS_SK, ROUTING_SETTINGS_SK};
use crate::{Store, StoreError};

impl Store {
    /// The org's routing settings; `None` if never set (nothing is routed).
    pub async fn get_routing(&self, org: &OrgId) -> Result<Option<RoutingSettings>, StoreError> {
        self.get_data(key(settings_pk(org), ROUTING_SETTINGS_SK), false).await
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
}
