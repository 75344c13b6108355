//! Saved replies (org-wide in the org's template partition, personal in their author's user
//! partition) and staff signatures (in the user partition).

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::Select;
use chrono::{DateTime, Utc};
use domain::template::{Signature, TemplateBody};
use domain::{OrgId, TemplateId, UserId};
use serde::{Deserialize, Serialize};

use crate::items::{data, key, s, Item};
use crate::keys::{self, PK, SK};
use crate::tx::{self, Condition};
use crate::{Store, StoreError};

/// A saved reply as stored. `owner` is its author for a personal template; org-wide ones
/// have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRecord {
    pub id: TemplateId,
    pub org: OrgId,
    pub name: String,
    pub body: TemplateBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    pub created_by: UserId,
    pub updated_at: DateTime<Utc>,
}

impl TemplateRecord {
    fn key(&self) -> Item {
        template_key(&self.org, self.owner.as_ref(), &self.id)
    }
}

fn template_key(org: &OrgId, owner: Option<&UserId>, id: &TemplateId) -> Item {
    let pk = match owner {
        Some(user) => keys::user_pk(org, user),
        None => keys::org_templates_pk(org),
    };
    key(pk, keys::template_sk(id))
}

impl Store {
    /// Saves a template: `new` ones must not exist yet, others must still exist.
    pub async fn save_template(&self, record: &TemplateRecord, new: bool) -> Result<bool, StoreError> {
        let mut item = record.key();
        item.insert(crate::items::DATA.into(), crate::items::av(record)?);
        let condition = if new { "attribute_not_exists(pk)" } else { "attribute_exists(pk)" };
        self.write_one(tx::put(&self.table, item, Condition::new(condition))?).await
    }

    /// Deletes a template; `Ok(false)`: it was gone already.
    pub async fn delete_template(&self, record: &TemplateRecord) -> Result<bool, StoreError> {
        let delete = tx::delete(&self.table, record.key(), Condition::new("attribute_exists(pk)"))?;
        self.write_one(delete).await
    }

    /// The template `id` as `user` may find it: the org's, or their own (one BatchGetItem).
    pub async fn find_template(
        &self,
        org: &OrgId,
        user: &UserId,
        id: &TemplateId,
    ) -> Result<Option<TemplateRecord>, StoreError> {
        let wanted = vec![template_key(org, None, id), template_key(org, Some(user), id)];
        let found = self.batch_get(wanted, true).await?;
        found.first().map(data::<TemplateRecord>).transpose()
    }

    /// The org's templates and `user`'s own, each list read whole (both are capped).
    pub async fn list_templates(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Vec<TemplateRecord>, StoreError> {
        let mut all = self.templates_in(keys::org_templates_pk(org)).await?;
        all.extend(self.templates_in(keys::user_pk(org, user)).await?);
        Ok(all)
    }

    /// How many templates `owner` (or, with `None`, the org) has: counted by the Query,
    /// the templates themselves are not sent.
    pub async fn count_templates(&self, org: &OrgId, owner: Option<&UserId>) -> Result<usize, StoreError> {
        let pk = owner.map_or_else(|| keys::org_templates_pk(org), |user| keys::user_pk(org, user));
        let pages = self.templates_query(pk).select(Select::Count).into_paginator().send();
        let counts: Vec<_> = pages.collect::<Result<_, _>>().await.map_err(StoreError::unavailable)?;
        Ok(counts.iter().map(|page| page.count() as usize).sum())
    }

    fn templates_query(&self, pk: String) -> QueryFluentBuilder {
        self.query()
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(keys::TEMPLATE_PREFIX))
    }

    async fn templates_in(&self, pk: String) -> Result<Vec<TemplateRecord>, StoreError> {
        let pages = self.templates_query(pk).into_paginator().items().send();
        let items: Vec<Item> = pages.collect::<Result<_, _>>().await.map_err(StoreError::unavailable)?;
        items.iter().map(data::<TemplateRecord>).collect()
    }

    pub async fn get_signature(&self, org: &OrgId, user: &UserId) -> Result<Option<Signature>, StoreError> {
        self.get_data(key(keys::user_pk(org, user), keys::SIGNATURE_SK), false).await
    }

    pub async fn put_signature(
        &self,
        org: &OrgId,
        user: &UserId,
        signature: &Signature,
    ) -> Result<(), StoreError> {
        self.put_data(key(keys::user_pk(org, user), keys::SIGNATURE_SK), signature).await
    }
}
