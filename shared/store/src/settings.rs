//! Per-organization settings items (`keys::settings_pk` / one sort key per kind).

use domain::{OrgId, RoutingSettings};

use crate::items::key;
use crate::keys::{settings_pk, ROUTING_SETTINGS_SK};
use crate::{Store, StoreError};

impl Store {
    /// The org's routing settings; `None` if never set (nothing is routed).
    pub async fn get_routing(&self, org: &OrgId) -> Result<Option<RoutingSettings>, StoreError> {
        self.get_data(key(settings_pk(org), ROUTING_SETTINGS_SK), false).await
    }

    pub async fn put_routing(&self, org: &OrgId, settings: &RoutingSettings) -> Result<(), StoreError> {
        self.put_data(key(settings_pk(org), ROUTING_SETTINGS_SK), settings).await
    }
}
