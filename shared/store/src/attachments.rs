//! Attachment records (`keys::attachment_pk` / `ATTACHMENT_SK`), on a schedule partition
//! by what happens next to them: an upload never attached expires (`Due::Unattached`, by
//! creation time), an attached file is archived after the org's retention window
//! (`Due::AttachmentArchive`, by due time). Also the org's retention setting.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use domain::attachment::ContentType;
use domain::{AttachmentId, MessageId, OrgId, ThreadId, UserId};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, s, Item};
use crate::keys::{self, Due, Index, ATTACHMENT_SK, RETENTION_SETTINGS_SK};
use crate::tx::{self, Condition};
use crate::{Store, StoreError};

/// 18 months.
pub const DEFAULT_RETENTION_DAYS: u32 = 548;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentStatus {
    /// Upload URL issued; not referenced by a message yet.
    Pending,
    Attached,
    Archived,
}

impl AttachmentStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Attached => "attached",
            Self::Archived => "archived",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    pub id: AttachmentId,
    pub org: OrgId,
    pub uploader: UserId,
    pub file_name: String,
    pub content_type: ContentType,
    pub size_bytes: u64,
    pub object_key: String,
    pub status: AttachmentStatus,
    pub thread_id: Option<ThreadId>,
    pub message_id: Option<MessageId>,
    pub created_at: DateTime<Utc>,
    pub archive_at: Option<DateTime<Utc>>,
    /// Set when attached: whether its message is an internal note (staff only then).
    #[serde(default)]
    pub internal: bool,
    /// The object version whose bytes were checked when it was attached; the only one
    /// ever served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// SHA-256 (hex) of that version's bytes, computed when it was attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What a message shows of each of its attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttachmentRef {
    pub id: AttachmentId,
    pub file_name: String,
    pub content_type: ContentType,
    #[schema(minimum = 1)]
    pub size_bytes: u64,
    /// SHA-256 (lower-case hex) of the file's bytes, computed when it was attached
    /// (absent on files attached before hashes were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl From<&AttachmentRecord> for AttachmentRef {
    fn from(a: &AttachmentRecord) -> Self {
        Self {
            id: a.id,
            file_name: a.file_name.clone(),
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Attachments are archived this many days after they were attached (default 548,
    /// about 18 months).
    #[schema(maximum = 3650)]
    pub attachment_retention_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { attachment_retention_days: DEFAULT_RETENTION_DAYS }
    }
}

fn settings_key(org: &OrgId) -> Item {
    key(keys::settings_pk(org), RETENTION_SETTINGS_SK)
}

/// The attachments and the retention setting among the items of a batch read.
fn sort_batch(items: &[Item]) -> Result<(Vec<AttachmentRecord>, RetentionSettings), StoreError> {
    let mut found = Vec::new();
    let mut retention = RetentionSettings::default();
    for item in items {
        match item.get(crate::keys::SK).and_then(|v| v.as_s().ok()).map(String::as_str) {
            Some(RETENTION_SETTINGS_SK) => retention = data(item)?,
            _ => found.push(data::<AttachmentRecord>(item)?),
        }
    }
    Ok((found, retention))
}

/// The full item of a record in its current status, with the index entry that status needs.
fn attachment_item(a: &AttachmentRecord) -> Result<Item, StoreError> {
    let mut item = key(keys::attachment_pk(&a.org, &a.id), ATTACHMENT_SK);
    item.insert(items::DATA.into(), items::av(a)?);
    item.insert("status".into(), s(a.status.as_str()));
    let index = match (a.status, a.archive_at) {
        (AttachmentStatus::Pending, _) => Some((Due::Unattached, a.created_at)),
        (AttachmentStatus::Attached, Some(at)) => Some((Due::AttachmentArchive, at)),
        _ => None,
    };
    if let Some((due, at)) = index {
        item.insert(Index::Gsi1.pk().into(), s(due.partition()));
        item.insert(Index::Gsi1.sk().into(), s(keys::due_sk(&at, &a.org, &a.id)));
    }
    Ok(item)
}

/// Writes `after` over a record that must still be in `expected` status: how a message
/// takes an attachment, so two messages can never take the same one.
pub(crate) fn transition(
    table: &str,
    after: &AttachmentRecord,
    expected: AttachmentStatus,
) -> Result<TransactWriteItem, StoreError> {
    let cond = Condition::new("#status = :expected")
        .name("#status", "status")
        .value(":expected", s(expected.as_str()));
    tx::put(table, attachment_item(after)?, cond)
}

impl Store {
    pub async fn create_attachment(&self, a: &AttachmentRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attachment_item(a)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    pub async fn get_attachment(
        &self,
        org: &OrgId,
        id: &AttachmentId,
    ) -> Result<Option<AttachmentRecord>, StoreError> {
        self.get_data(key(keys::attachment_pk(org, id), ATTACHMENT_SK), true).await
    }

    /// Attachments by id and the org's retention setting, in one BatchGetItem (again for
    /// any keys DynamoDB leaves unprocessed, as it may under load or throttling).
    pub async fn attachments_with_retention(
        &self,
        org: &OrgId,
        ids: &[AttachmentId],
    ) -> Result<(Vec<AttachmentRecord>, RetentionSettings), StoreError> {
        let mut keys: Vec<Item> =
            ids.iter().map(|id| key(keys::attachment_pk(org, id), ATTACHMENT_SK)).collect();
        keys.push(settings_key(org));
        sort_batch(&self.batch_get(keys, true).await?)
    }

    pub async fn get_retention(&self, org: &OrgId) -> Result<RetentionSettings, StoreError> {
        Ok(self.get_data(settings_key(org), false).await?.unwrap_or_default())
    }

    pub async fn put_retention(&self, org: &OrgId, settings: &RetentionSettings) -> Result<(), StoreError> {
        self.put_data(settings_key(org), settings).await
    }

    /// Attached files due for archival by `now`, or uploads never attached created before
    /// `now` (maintenance: one index Query).
    pub async fn attachments_due(
        &self,
        archive: bool,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<AttachmentRecord>, StoreError> {
        let due = if archive { Due::AttachmentArchive } else { Due::Unattached };
        let items = self.query_due(due, keys::timestamp(&now), limit).await?;
        items.iter().map(data::<AttachmentRecord>).collect()
    }

    /// Records that an attached file was archived (it leaves the archive index).
    pub async fn mark_archived(&self, a: &AttachmentRecord) -> Result<(), StoreError> {
        let after = AttachmentRecord { status: AttachmentStatus::Archived, ..a.clone() };
        match self.write_one(transition(&self.table, &after, AttachmentStatus::Attached)?).await? {
            true => Ok(()),
            false => Err(StoreError::Contention),
        }
    }

    /// Removes the record of an upload never attached (only while still pending).
    pub async fn delete_pending_attachment(&self, a: &AttachmentRecord) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::attachment_pk(&a.org, &a.id), ATTACHMENT_SK)))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }
}
