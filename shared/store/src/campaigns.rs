//! Campaigns (`keys::campaign_pk`): the record, on the org's list (`keys::campaign_list`)
//! and, while scheduled or running, on the due partition the campaign schedule reads
//! (`Due::Campaign`, by when it may next run). Each recipient is claimed by a marker before
//! anything is sent to them, so no one gets a campaign twice: a message campaign's marker is
//! in its own partition; a consent request's is in the contact's partition, per category,
//! so nobody is asked twice for the same category by any campaign.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::campaign::{Audience, CampaignKind, CampaignStatus, Counts};
use domain::consent::Consents;
use domain::{CampaignId, MessageBody, OrgId, Subject, ThreadId, Topic, UserId};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, s, Item, REV};
use crate::keys::{self, Due, PK};
use crate::tx::{self, Condition};
use crate::{Cursor, Page, Store, StoreError};

const STATUS: &str = "status";

/// Where a campaign stands in its audience: the contact list it is in, and the page after
/// the last one it finished.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub segment: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub id: CampaignId,
    pub org: OrgId,
    pub author_id: UserId,
    pub kind: CampaignKind,
    pub category_id: String,
    pub audience: Audience,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<MessageBody>,
    /// A message campaign's conversations' topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<Topic>,
    /// Who the consent request says it is from.
    pub sender_name: String,
    pub status: CampaignStatus,
    pub start_at: DateTime<Utc>,
    pub counts: Counts,
    pub progress: Progress,
    /// A run holds the campaign until then; another run waits for it (or for its crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub rev: u32,
}

impl CampaignRecord {
    /// When the schedule may next take it.
    pub fn due(&self) -> DateTime<Utc> {
        self.lease_until.map_or(self.start_at, |lease| lease.max(self.start_at))
    }

    fn item(&self) -> Result<Item, StoreError> {
        let mut item = key(keys::campaign_pk(&self.org, &self.id), keys::CAMPAIGN_SK);
        item.insert(items::DATA.into(), items::av(self)?);
        item.insert(REV.into(), items::n(self.rev));
        item.insert(STATUS.into(), items::av(&self.status)?);
        let (list, partition) = keys::campaign_list(&self.org);
        item.insert(list.pk().into(), s(partition));
        item.insert(list.sk().into(), s(keys::log_sk(&self.created_at, &self.id)));
        if self.status.is_active() {
            let due = keys::Index::Gsi1;
            item.insert(due.pk().into(), s(Due::Campaign.partition()));
            item.insert(due.sk().into(), s(keys::due_sk(&self.due(), &self.org, &self.id)));
        }
        Ok(item)
    }
}

/// Who claims a recipient: this campaign, or (a consent request) the contact's one request
/// per category.
#[derive(Debug, Clone, Copy)]
pub enum RecipientKey<'a> {
    Campaign { campaign: &'a CampaignId, contact: &'a UserId },
    Asked { contact: &'a UserId, category: &'a str },
}

impl RecipientKey<'_> {
    fn contact(&self) -> &UserId {
        match self {
            Self::Campaign { contact, .. } | Self::Asked { contact, .. } => contact,
        }
    }

    fn key(&self, org: &OrgId) -> Item {
        match self {
            Self::Campaign { campaign, contact } => {
                key(keys::campaign_pk(org, campaign), keys::recipient_sk(contact))
            }
            Self::Asked { contact, category } => {
                key(keys::user_pk(org, contact), keys::consent_asked_sk(category))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkState {
    /// Claimed; the send may or may not have happened (a run stopped here).
    Sending,
    Sent,
    /// Not known to have gone (a run stopped mid-send): never tried again.
    Failed,
    /// The provider refused it: nothing went, so a later campaign may try again.
    Refused,
    /// A message campaign's conversation was refused for want of consent.
    NoConsent,
}

impl MarkState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Refused => "refused",
            Self::NoConsent => "no_consent",
        }
    }
}

/// What a campaign did for one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientMark {
    pub campaign_id: CampaignId,
    pub state: MarkState,
    /// Where in the audience the campaign met them: a page read again after a crash counts
    /// its marked recipients; one met again elsewhere (renamed, moved) is not counted twice.
    #[serde(default)]
    pub page: Progress,
    /// A consent request: the address it went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// A message campaign: the conversation it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<ThreadId>,
    pub at: DateTime<Utc>,
}

const STATE: &str = "state";

fn mark_item(org: &OrgId, at: RecipientKey<'_>, mark: &RecipientMark) -> Result<Item, StoreError> {
    let mut item = at.key(org);
    item.insert(items::DATA.into(), items::av(mark)?);
    item.insert(STATE.into(), s(mark.state.as_str()));
    Ok(item)
}

/// What an Idempotency-Key used to create a campaign recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignKey {
    pub request_hash: String,
    pub campaign_id: CampaignId,
}

impl Store {
    /// What an earlier creation with the caller's Idempotency-Key recorded, if any.
    pub async fn campaign_key(
        &self,
        org: &OrgId,
        author: &UserId,
        idempotency_key: &str,
    ) -> Result<Option<CampaignKey>, StoreError> {
        let marker = key(keys::idempotency_pk(org, author, idempotency_key), keys::CAMPAIGN_IDEMPOTENCY_SK);
        self.marker(marker).await
    }

    /// Stores a new campaign, with its Idempotency-Key's marker when the client sent one
    /// (both or neither).
    pub async fn put_campaign(
        &self,
        record: &CampaignRecord,
        idempotency: Option<crate::NewIdempotency<'_>>,
    ) -> Result<crate::Once<CampaignKey>, StoreError> {
        let put = tx::put(&self.table, record.item()?, Condition::new("attribute_not_exists(pk)"))?;
        let Some(idem) = idempotency else {
            return match self.write_one(put).await? {
                true => Ok(crate::Once::Stored),
                false => Err(StoreError::Contention),
            };
        };
        let marker = key(
            keys::idempotency_pk(&record.org, &record.author_id, idem.key),
            keys::CAMPAIGN_IDEMPOTENCY_SK,
        );
        let recorded = CampaignKey { request_hash: idem.request_hash, campaign_id: record.id };
        self.put_once(put, marker, &recorded).await
    }

    /// Replaces a campaign still at revision `after.rev - 1`. `Ok(false)`: changed since.
    pub async fn replace_campaign(&self, after: &CampaignRecord) -> Result<bool, StoreError> {
        let cond = Condition::new("#rev = :rev").name("#rev", REV).value(":rev", items::n(after.rev - 1));
        self.write_one(tx::put(&self.table, after.item()?, cond)?).await
    }

    pub async fn get_campaign(
        &self,
        org: &OrgId,
        id: &CampaignId,
    ) -> Result<Option<CampaignRecord>, StoreError> {
        self.get_data(key(keys::campaign_pk(org, id), keys::CAMPAIGN_SK), true).await
    }

    /// One page of the org's campaigns, newest first.
    pub async fn list_campaigns(
        &self,
        org: &OrgId,
        cursor: Option<&Cursor>,
        limit: i32,
    ) -> Result<Page<CampaignRecord>, StoreError> {
        self.index_page(org, keys::campaign_list(org), cursor, limit, false).await
    }

    /// The org's campaigns still scheduled or running (the newest 100 looked at).
    pub async fn active_campaigns(&self, org: &OrgId) -> Result<usize, StoreError> {
        let page = self.list_campaigns(org, None, 100).await?;
        Ok(page.items.iter().filter(|c| c.status.is_active()).count())
    }

    /// Campaigns that may run at `now` (every org), soonest first.
    pub async fn campaigns_due(
        &self,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<CampaignRecord>, StoreError> {
        let due = self.query_due(Due::Campaign, keys::due_by(&now), limit).await?;
        due.iter().map(data).collect()
    }

    /// Claims a recipient with `mark` unless someone did before (a marker the provider
    /// refused may be claimed again: nothing went): `Ok(None)` when claimed now, else the
    /// mark already there.
    pub async fn claim_recipient(
        &self,
        org: &OrgId,
        at: RecipientKey<'_>,
        mark: &RecipientMark,
    ) -> Result<Option<RecipientMark>, StoreError> {
        let cond = Condition::new("attribute_not_exists(pk) OR #state = :refused")
            .name("#state", STATE)
            .value(":refused", s(MarkState::Refused.as_str()));
        if self.write_one(tx::put(&self.table, mark_item(org, at, mark)?, cond)?).await? {
            return Ok(None);
        }
        match self.get_data::<RecipientMark>(at.key(org), true).await? {
            Some(first) => Ok(Some(first)),
            None => Err(StoreError::Contention),
        }
    }

    /// Records what became of a claimed recipient.
    pub async fn settle_recipient(
        &self,
        org: &OrgId,
        at: RecipientKey<'_>,
        mark: &RecipientMark,
    ) -> Result<(), StoreError> {
        self.put(mark_item(org, at, mark)?).await
    }

    /// The marks of these recipients that exist (one BatchGetItem per 100).
    pub async fn recipient_marks(
        &self,
        org: &OrgId,
        at: &[RecipientKey<'_>],
    ) -> Result<HashMap<UserId, RecipientMark>, StoreError> {
        let found = self.batch_get(at.iter().map(|k| k.key(org)).collect(), true).await?;
        let mut marks = HashMap::new();
        for item in &found {
            // Keyed by the contact of the key asked for (the item's own keys say which).
            let asked = at.iter().find(|k| {
                let key = k.key(org);
                key.get(PK) == item.get(PK) && key.get(keys::SK) == item.get(keys::SK)
            });
            if let Some(k) = asked {
                marks.insert(k.contact().clone(), data::<RecipientMark>(item)?);
            }
        }
        Ok(marks)
    }

    /// Gives a claim back: nothing was sent (the provider did not take it).
    pub async fn release_recipient(&self, org: &OrgId, at: RecipientKey<'_>) -> Result<(), StoreError> {
        let delete = tx::delete(&self.table, at.key(org), Condition::new("attribute_exists(pk)"))?;
        self.write_one(delete).await?;
        Ok(())
    }

    /// The latest consent decisions of `contacts` (those with none are absent), in one
    /// BatchGetItem per 100.
    pub async fn consents_of(
        &self,
        org: &OrgId,
        contacts: &[UserId],
    ) -> Result<HashMap<UserId, Consents>, StoreError> {
        let keys = contacts.iter().map(|c| key(keys::user_pk(org, c), keys::CONSENTS_SK)).collect();
        let found = self.batch_get(keys, false).await?;
        let mut out = HashMap::new();
        for item in &found {
            let pk: String = items::field(item, PK)?;
            if let Some(user) = contacts.iter().find(|c| pk == keys::user_pk(org, c)) {
                out.insert(user.clone(), data(item)?);
            }
        }
        Ok(out)
    }
}
