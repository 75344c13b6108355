//! Invitations: single-use, expiring links. Only a hash of the token is stored, keyed by
//! that hash (the accept link carries no org), so a leaked table reveals no usable link.

use chrono::{DateTime, Utc};
use domain::{OrgId, UserId};
use serde::{Deserialize, Serialize};

use crate::items::{self, key, n, s};
use crate::keys;
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub org: OrgId,
    pub user_id: UserId,
    pub invited_by: UserId,
    pub expires_at: DateTime<Utc>,
    /// The address the link was sent to: it opens the account only while the contact
    /// still has this address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

fn invite_key(token_hash: &str) -> crate::items::Item {
    key(keys::invite_pk(token_hash), keys::INVITE_SK)
}

impl Store {
    pub async fn create_invite(&self, token_hash: &str, invite: &Invite) -> Result<(), StoreError> {
        let mut item = invite_key(token_hash);
        item.insert(items::DATA.into(), items::av(invite)?);
        item.insert("valid_until".into(), s(keys::timestamp(&invite.expires_at)));
        // Removed by TTL a day after it lapses.
        item.insert(items::EXPIRES_AT.into(), n(invite.expires_at.timestamp() + 86_400));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    /// Uses an invitation: `None` if it does not exist, was used, or has expired.
    pub async fn accept_invite(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Invite>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(invite_key(token_hash)))
            .update_expression("SET used_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(used_at) AND valid_until > :now",
            )
            .expression_attribute_values(":now", s(keys::timestamp(&now)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => out.attributes().map(items::data::<Invite>).transpose(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                Ok(None)
            }
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// Gives back an invitation used at `used_at` whose sign-in could not be set up, so
    /// the same link can be tried again.
    pub async fn release_invite(&self, token_hash: &str, used_at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(invite_key(token_hash)))
            .update_expression("REMOVE used_at")
            .condition_expression("used_at = :at")
            .expression_attribute_values(":at", s(keys::timestamp(&used_at)))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}
