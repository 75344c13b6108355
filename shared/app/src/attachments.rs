//! Attachments: a presigned upload for a photo or PDF, and an attachment's record with a
//! short-lived download link for those who may see it.

use chrono::{DateTime, Utc};
use domain::attachment::{check_size, sanitize_file_name, ContentType};
use domain::quota::QuotaKind;
use domain::{policy, AttachmentId, DomainError, ErrorCode, User};
use files::Files;
use store::{AttachmentRecord, AttachmentStatus};

use crate::conversation::{load_readable, millis, now};
use crate::{quota, App, Error};

/// An upload as declared: what the presigned PUT will be held to.
pub struct NewUpload<'a> {
    pub file_name: &'a str,
    pub content_type: ContentType,
    pub size_bytes: i64,
}

/// Where and how to PUT the file, until `expires_at`.
pub struct Upload {
    pub id: AttachmentId,
    pub url: String,
    /// Send exactly these headers with the PUT: S3 checks them against the signature.
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

pub async fn upload(app: &App, actor: &User, new: NewUpload<'_>) -> Result<Upload, Error> {
    policy::ensure_can_write(actor)?;
    let size_bytes = match check_size(new.size_bytes, app.files.max_bytes) {
        Err(DomainError::Invalid { code: ErrorCode::TooLarge, .. }) => {
            return Err(Error::PayloadTooLarge { what: "the file", limit_bytes: app.files.max_bytes })
        }
        other => other?,
    };
    let file_name = sanitize_file_name(new.file_name)?;
    let taken = quota::take(app, actor, QuotaKind::Upload, None).await?;
    let upload = async {
        let at = now();
        let id = AttachmentId::new_at(millis(at));
        let object_key = Files::object_key(&actor.org, &id);
        let record = AttachmentRecord {
            id,
            org: actor.org.clone(),
            uploader: actor.id.clone(),
            file_name,
            content_type: new.content_type,
            size_bytes,
            object_key: object_key.clone(),
            status: AttachmentStatus::Pending,
            thread_id: None,
            message_id: None,
            created_at: at,
            archive_at: None,
            internal: false,
            version_id: None,
            sha256: None,
        };
        let presigned = app.files.presign_upload(&object_key, new.content_type, size_bytes).await?;
        app.store.create_attachment(&record).await?;
        let expires_at = at + chrono::Duration::from_std(files::URL_TTL).unwrap_or_default();
        Ok(Upload { id, url: presigned.url, headers: presigned.headers.into_iter().collect(), expires_at })
    }
    .await;
    taken.settle(app, upload, |_| true).await
}

/// An attachment the actor may see, with a download link unless it is archived.
pub async fn show(
    app: &App,
    actor: &User,
    id: AttachmentId,
) -> Result<(AttachmentRecord, Option<String>), Error> {
    let not_found = || Error::Domain(DomainError::NotFound("attachment"));
    let a = app.store.get_attachment(&actor.org, &id).await?.ok_or_else(not_found)?;
    if !may_see(app, actor, &a).await? {
        return Err(not_found());
    }
    let download_url = match a.status {
        AttachmentStatus::Archived => None,
        _ => Some(app.files.presign_download(&a.object_key, a.version_id.as_deref(), &a.file_name).await?),
    };
    Ok((a, download_url))
}

/// The uploader sees their upload before it is attached; after, those who may see its
/// message: the thread's participants (and facility admins, and its category's auditors),
/// staff only for an internal note. Everyone else gets 404.
async fn may_see(app: &App, actor: &User, a: &AttachmentRecord) -> Result<bool, Error> {
    if !policy::can_see_message(actor, a.internal) {
        return Ok(false);
    }
    match a.thread_id {
        None => Ok(a.uploader == actor.id),
        Some(thread) => match load_readable(app, actor, &thread).await {
            Ok(_) => Ok(true),
            Err(Error::Domain(DomainError::NotFound(_))) => Ok(false),
            Err(e) => Err(e),
        },
    }
}
