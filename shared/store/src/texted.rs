//! Who was texted in which categories that need consent, by phone (`keys::sms_pk`): what a
//! STOP reply from that phone withdraws. Kept a year after the last such text.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{OrgId, UserId};

use crate::items::{self, s};
use crate::keys::{self, PK};
use crate::{Store, StoreError};

const CATEGORIES: &str = "categories";
const KEPT_DAYS: i64 = 365;

/// A contact texted at a phone, and the categories of what they were texted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texted {
    pub org: OrgId,
    pub contact: UserId,
    pub categories: Vec<String>,
}

impl Store {
    /// Records that `contact` was texted at `phone` in `categories` (added to those before).
    pub async fn record_texted(
        &self,
        phone: &str,
        org: &OrgId,
        contact: &UserId,
        categories: &[String],
    ) -> Result<(), StoreError> {
        // A string set holds each value once (DynamoDB refuses duplicates).
        let mut categories = categories.to_vec();
        categories.sort();
        categories.dedup();
        if categories.is_empty() {
            return Ok(());
        }
        let expires = chrono::Utc::now().timestamp() + KEPT_DAYS * 86_400;
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::sms_pk(phone)))
            .key(keys::SK, s(keys::sms_recipient_sk(org, contact)))
            .update_expression("ADD #c :c SET #org = :org, #user = :user, #exp = :exp")
            .expression_attribute_names("#c", CATEGORIES)
            .expression_attribute_names("#org", "org")
            .expression_attribute_names("#user", "user")
            .expression_attribute_names("#exp", items::EXPIRES_AT)
            .expression_attribute_values(":c", AttributeValue::Ss(categories))
            .expression_attribute_values(":org", s(org.as_str()))
            .expression_attribute_values(":user", s(contact.as_str()))
            .expression_attribute_values(":exp", items::n(expires))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    /// Everyone texted at `phone` in categories that need consent (one Query).
    pub async fn texted_at(&self, phone: &str) -> Result<Vec<Texted>, StoreError> {
        let out = self
            .query()
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(keys::sms_pk(phone)))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.items().iter().map(texted).collect()
    }
}

fn texted(item: &HashMap<String, AttributeValue>) -> Result<Texted, StoreError> {
    let categories = item.get(CATEGORIES).and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default();
    Ok(Texted { org: items::field(item, "org")?, contact: items::field(item, "user")?, categories })
}
