//! The schedule partitions (`keys::Due`): what a scheduled job reads, oldest due first.

use crate::items::{s, Item};
use crate::keys::{Due, Index};
use crate::{Store, StoreError};

impl Store {
    /// Up to `limit` items of `due` whose sort key is below `before` (one index Query).
    pub(crate) async fn query_due(
        &self,
        due: Due,
        before: String,
        limit: i32,
    ) -> Result<Vec<Item>, StoreError> {
        let index = Index::Gsi1;
        let out = self
            .query()
            .index_name(index.name())
            .key_condition_expression("#pk = :p AND #sk < :before")
            .expression_attribute_names("#pk", index.pk())
            .expression_attribute_names("#sk", index.sk())
            .expression_attribute_values(":p", s(due.partition()))
            .expression_attribute_values(":before", s(before))
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(out.items.unwrap_or_default())
    }
}
