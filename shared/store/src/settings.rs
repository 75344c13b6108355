//! Per-organization settings items (`ORG#{org}#SETTINGS` / `{name}`).

use domain::{OrgId, RoutingSettings};

use crate::items::{self, data, key};
use crate::{Store, StoreError};

const ROUTING_SK: &str = "ROUTING";

fn settings_pk(org: &OrgId) -> String {
    format!("ORG#{org}#SETTINGS")
}

impl Store {
    /// The org's routing settings; `None` if never set (nothing is routed).
    pub async fn get_routing(&self, org: &OrgId) -> Result<Option<RoutingSettings>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(settings_pk(org), ROUTING_SK)))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item().map(data::<RoutingSettings>).transpose()
    }

    pub async fn put_routing(&self, org: &OrgId, settings: &RoutingSettings) -> Result<(), StoreError> {
        let mut item = key(settings_pk(org), ROUTING_SK);
        item.insert(items::DATA.into(), items::av(settings)?);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}
