//! Webhooks: an org's endpoints (`keys::webhooks_pk`, a handful, read whole), and each
//! endpoint's deliveries (`keys::webhook_deliveries_pk`): the exact body sent, every
//! attempt, and while one is to be tried (again) its place on the due partition
//! `Due::Webhook`. A delivery is held by whoever set its `next_at` last (the claim), so a
//! retry is attempted once however many runs see it due.

use chrono::{DateTime, Utc};
use domain::webhook::{DeliveryId, SigningSecret, WebhookEvent, WebhookUrl, ROTATION_OVERLAP};
use domain::{OrgId, ThreadId, UserId, WebhookId};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, s, Item};
use crate::keys::{self, Due, Index};
use crate::tx::{self, Condition};
use crate::{Cursor, Page, Store, StoreError};

/// Deliveries are kept this long for the log and redelivery (the item expires after).
const DELIVERY_TTL_DAYS: i64 = 30;
/// Attempts kept per delivery: the first ones and the latest.
const KEPT_ATTEMPTS: usize = 20;
const ORG: &str = "org";
const NEXT_AT: &str = "next_at";

/// An endpoint as stored. `secrets` are newest first; an older one signs too until its
/// `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRecord {
    pub id: WebhookId,
    pub org: OrgId,
    pub url: WebhookUrl,
    pub events: Vec<WebhookEvent>,
    pub include_internal: bool,
    pub secrets: Vec<SecretRecord>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    /// Every delivery since then failed (cleared by the next success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    /// Disabled after failing too long; nothing is sent until an admin enables it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Bumped by every change, which is conditioned on it.
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRecord {
    pub secret: SigningSecret,
    /// A replaced secret signs until then; the newest has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

impl WebhookRecord {
    /// The secrets that sign at `now`, newest first.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> impl Iterator<Item = &SigningSecret> {
        self.secrets.iter().filter(move |s| s.until.is_none_or(|until| until > now)).map(|s| &s.secret)
    }

    /// Whether the endpoint subscribes to `event` (a note only with `include_internal`).
    /// Disabled or not: a disabled one's deliveries are logged as failed, so that what it
    /// missed can be redelivered once it is enabled.
    pub fn wants(&self, event: WebhookEvent, internal: bool) -> bool {
        self.events.contains(&event) && (!internal || self.include_internal)
    }

    /// `secret` signs from `now`; the one it replaces signs too for [`ROTATION_OVERLAP`],
    /// and any older one no more, so an endpoint has at most two secrets.
    pub fn rotate(&mut self, secret: SigningSecret, now: DateTime<Utc>) {
        self.secrets.truncate(1);
        if let Some(previous) = self.secrets.first_mut() {
            previous.until = Some(now + ROTATION_OVERLAP);
        }
        self.secrets.insert(0, SecretRecord { secret, until: None });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Being tried, or waiting for its next attempt (`next_at`).
    Pending,
    Delivered,
    /// Refused for good, retries spent, or its endpoint disabled.
    Failed,
}

/// One attempt: the answer's status, or what went wrong before one came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = WebhookAttempt)]
pub struct AttemptRecord {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// A delivery as stored: the body is fixed when made, so every retry sends the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct DeliveryRecord {
    #[schema(value_type = String)]
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    #[serde(rename = "type")]
    pub event: WebhookEvent,
    pub thread_id: ThreadId,
    pub created_at: DateTime<Utc>,
    /// The JSON body, as sent.
    pub body: String,
    pub state: DeliveryState,
    pub attempt_count: u32,
    /// Attempts since it was made or last redelivered: where it is on the retry schedule.
    #[serde(default)]
    pub series_attempts: u32,
    /// The first and the latest attempts (at most 20).
    pub attempts: Vec<AttemptRecord>,
    /// When it is tried next (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<DateTime<Utc>>,
}

impl DeliveryRecord {
    /// Adds an attempt, dropping the oldest but the first past the kept number.
    pub fn record(&mut self, attempt: AttemptRecord) {
        self.attempt_count += 1;
        if self.attempts.len() >= KEPT_ATTEMPTS {
            self.attempts.remove(1);
        }
        self.attempts.push(attempt);
    }
}

/// A due delivery, with whose it is.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub org: OrgId,
    pub delivery: DeliveryRecord,
}

fn webhook_key(org: &OrgId, id: &WebhookId) -> Item {
    key(keys::webhooks_pk(org), keys::webhook_sk(id))
}

fn delivery_key(org: &OrgId, webhook: &WebhookId, id: &DeliveryId) -> Item {
    key(keys::webhook_deliveries_pk(org, webhook), keys::webhook_delivery_sk(id))
}

fn delivery_item(org: &OrgId, d: &DeliveryRecord) -> Result<Item, StoreError> {
    let mut item = delivery_key(org, &d.webhook_id, &d.id);
    item.insert(items::DATA.into(), items::av(d)?);
    item.insert(ORG.into(), s(org.to_string()));
    let expires = d.created_at + chrono::Duration::days(DELIVERY_TTL_DAYS);
    item.insert(items::EXPIRES_AT.into(), items::n(expires.timestamp()));
    if let (DeliveryState::Pending, Some(next)) = (d.state, d.next_at) {
        item.insert(NEXT_AT.into(), s(keys::timestamp(&next)));
        let index = Index::Gsi1;
        item.insert(index.pk().into(), s(Due::Webhook.partition()));
        item.insert(index.sk().into(), s(keys::due_sk(&next, org, &d.id)));
    }
    Ok(item)
}

impl Store {
    /// Adds an endpoint unless the org has `max` already. `Ok(false)`: it has.
    pub async fn add_webhook(&self, record: &WebhookRecord, max: usize) -> Result<bool, StoreError> {
        if self.list_webhooks(&record.org).await?.len() >= max {
            return Ok(false);
        }
        let mut item = webhook_key(&record.org, &record.id);
        item.insert(items::DATA.into(), items::av(record)?);
        let put = tx::put(&self.table, item, Condition::new("attribute_not_exists(pk)"))?;
        if self.write_one(put).await? {
            Ok(true)
        } else {
            Err(StoreError::Contention)
        }
    }

    /// Replaces an endpoint if it is still at the version `record` was read at (the stored
    /// one is bumped). `Ok(false)`: it changed or went meanwhile.
    pub async fn save_webhook(&self, record: &WebhookRecord) -> Result<bool, StoreError> {
        let mut next = record.clone();
        next.version += 1;
        let mut item = webhook_key(&record.org, &record.id);
        item.insert(items::DATA.into(), items::av(&next)?);
        let cond = Condition::new("#d.#v = :v")
            .name("#d", items::DATA)
            .name("#v", items::VERSION)
            .value(":v", items::n(record.version));
        self.write_one(tx::put(&self.table, item, cond)?).await
    }

    /// The org's endpoints, oldest first (one strongly consistent Query; there are at most a
    /// handful).
    pub async fn list_webhooks(&self, org: &OrgId) -> Result<Vec<WebhookRecord>, StoreError> {
        Ok(self.partition_page(org, keys::webhooks_pk(org), None, None, true).await?.items)
    }

    pub async fn get_webhook(
        &self,
        org: &OrgId,
        id: &WebhookId,
    ) -> Result<Option<WebhookRecord>, StoreError> {
        self.get_data(webhook_key(org, id), true).await
    }

    /// Removes an endpoint; its deliveries expire on their own. `Ok(false)`: none such.
    pub async fn delete_webhook(&self, org: &OrgId, id: &WebhookId) -> Result<bool, StoreError> {
        let delete = tx::delete(&self.table, webhook_key(org, id), Condition::new("attribute_exists(pk)"))?;
        self.write_one(delete).await
    }

    /// Records a new delivery, held by its maker until `next_at`. `Ok(false)`: it exists
    /// (the event was handled before).
    pub async fn create_delivery(&self, org: &OrgId, d: &DeliveryRecord) -> Result<bool, StoreError> {
        let put = tx::put(&self.table, delivery_item(org, d)?, Condition::new("attribute_not_exists(pk)"))?;
        self.write_one(put).await
    }

    pub async fn get_delivery(
        &self,
        org: &OrgId,
        webhook: &WebhookId,
        id: &DeliveryId,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        self.get_data(delivery_key(org, webhook, id), true).await
    }

    /// Replaces the delivery if its `next_at` is still `held` (what the caller set or saw).
    /// `Ok(false)`: someone else holds or settled it meanwhile.
    pub async fn save_delivery(
        &self,
        org: &OrgId,
        d: &DeliveryRecord,
        held: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let cond = match held {
            Some(at) => {
                Condition::new("#next = :held").name("#next", NEXT_AT).value(":held", s(keys::timestamp(&at)))
            }
            None => {
                Condition::new("attribute_exists(pk) AND attribute_not_exists(#next)").name("#next", NEXT_AT)
            }
        };
        self.write_one(tx::put(&self.table, delivery_item(org, d)?, cond)?).await
    }

    /// An endpoint's deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        org: &OrgId,
        webhook: &WebhookId,
        cursor: Option<&Cursor>,
        limit: i32,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        self.partition_page(org, keys::webhook_deliveries_pk(org, webhook), cursor, Some(limit), false).await
    }

    /// Deliveries due at `now` (every org), oldest due first.
    pub async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let items = self.query_due(Due::Webhook, keys::due_by(&now), limit).await?;
        items
            .iter()
            .map(|item| {
                let org: String = items::field(item, ORG)?;
                let org = OrgId::parse(org)
                    .map_err(|e| StoreError::unavailable(std::io::Error::other(e.to_string())))?;
                Ok(DueDelivery { org, delivery: data(item)? })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(n: u8) -> SigningSecret {
        SigningSecret::from_base64_key(&n.to_string())
    }

    #[test]
    fn a_second_rotation_within_the_overlap_keeps_only_the_newest_previous_secret() {
        let now = Utc::now();
        let mut webhook = WebhookRecord {
            id: WebhookId::new_at(1_000),
            org: OrgId::parse("demo").unwrap(),
            url: WebhookUrl::parse("https://pms.example.com/", Default::default()).unwrap(),
            events: vec![WebhookEvent::MessageCreated],
            include_internal: false,
            secrets: vec![SecretRecord { secret: secret(1), until: None }],
            created_by: UserId::parse("admin-1").unwrap(),
            created_at: now,
            failing_since: None,
            disabled_at: None,
            version: 0,
        };
        webhook.rotate(secret(2), now);
        webhook.rotate(secret(3), now + chrono::Duration::hours(1));
        let signing: Vec<_> = webhook.signing_secrets(now + chrono::Duration::hours(2)).cloned().collect();
        assert_eq!(signing, [secret(3), secret(2)]);
        assert_eq!(webhook.secrets.len(), 2);
        assert_eq!(webhook.secrets[1].until, Some(now + chrono::Duration::hours(1) + ROTATION_OVERLAP));
        let later = now + chrono::Duration::hours(1) + ROTATION_OVERLAP;
        assert_eq!(webhook.signing_secrets(later).cloned().collect::<Vec<_>>(), [secret(3)]);
    }
}
