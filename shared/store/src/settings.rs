//! Per-organization settings items (`ORG#{org}#SETTINGS` / `{name}`).

use domain::{OrgId, RoutingSettings};

use crate::items::key;
use crate::{Store, StoreError};

const ROUTING_SK: &str = "ROUTING";

fn settings_pk(org: &OrgId) -> String {
    format!("ORG#{org}#SETTINGS")
}

impl Store {
    /// The org's routing settings; `None` if never set (nothing is routed).
    pub async fn get_routing(&self, org: &OrgId) -> Result<Option<RoutingSettings>, StoreError> {
        self.get_data(key(settings_pk(org), ROUTING_SK), false).await
    }

    pub async fn put_routing(&self, org: &OrgId, settings: &RoutingSettings) -> Result<(), StoreError> {
        self.put_data(key(settings_pk(org), ROUTING_SK), settings).await
    }
}
