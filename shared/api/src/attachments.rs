//! Attachment routes: a presigned upload URL for a photo or PDF, and its metadata with a
//! short-lived download URL for those who may see it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::attachment::{check_size, sanitize_file_name, ContentType};
use domain::{AttachmentId, DomainError, ErrorCode, User};
use files::Files;
use serde::{Deserialize, Serialize};
use store::{AttachmentRecord, AttachmentStatus};

use crate::conversation::{load_visible, millis, now};
use crate::extract::{JsonBody, PathText};
use crate::{Actor, ApiError, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/attachments", post(create))
        .route("/v1/attachments/{id}", get(show))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAttachment {
    file_name: String,
    content_type: String,
    size_bytes: i64,
}

#[derive(Serialize)]
struct Upload {
    id: AttachmentId,
    upload_url: String,
    /// Send exactly these headers with the PUT: S3 checks them against the signature.
    upload_headers: std::collections::BTreeMap<String, String>,
    expires_at: DateTime<Utc>,
}

async fn create(
    State(state): State<AppState>,
    Actor(actor): Actor,
    JsonBody(req): JsonBody<CreateAttachment>,
) -> Result<(StatusCode, Json<Upload>), ApiError> {
    domain::policy::ensure_can_write(&actor)?;
    let content_type = ContentType::parse(&req.content_type)?;
    let size_bytes = match check_size(req.size_bytes, state.files.max_bytes) {
        Err(DomainError::Invalid { code: ErrorCode::TooLarge, .. }) => {
            return Err(ApiError::PayloadTooLarge { what: "the file", limit_bytes: state.files.max_bytes })
        }
        other => other?,
    };
    let file_name = sanitize_file_name(&req.file_name)?;
    let taken = crate::quota::take(&state, &actor, domain::quota::QuotaKind::Upload, None).await?;
    let upload = async {
        let at = now();
        let id = AttachmentId::new_at(millis(at));
        let object_key = Files::object_key(&actor.org, &id);
        let record = AttachmentRecord {
            id,
            org: actor.org.clone(),
            uploader: actor.id.clone(),
            file_name,
            content_type,
            size_bytes,
            object_key: object_key.clone(),
            status: AttachmentStatus::Pending,
            thread_id: None,
            message_id: None,
            created_at: at,
            archive_at: None,
            internal: false,
            version_id: None,
        };
        let presigned = state.files.presign_upload(&object_key, content_type, size_bytes).await?;
        state.store.create_attachment(&record).await?;
        let expires_at = at + chrono::Duration::from_std(files::URL_TTL).unwrap_or_default();
        let upload = Upload {
            id,
            upload_url: presigned.url,
            upload_headers: presigned.headers.into_iter().collect(),
            expires_at,
        };
        Ok(upload)
    }
    .await;
    taken.settle(&state, upload, |_| true).await.map(|upload| (StatusCode::CREATED, Json(upload)))
}

#[derive(Serialize)]
struct AttachmentBody {
    id: AttachmentId,
    file_name: String,
    content_type: ContentType,
    size_bytes: u64,
    status: AttachmentStatus,
    /// Absent once archived.
    download_url: Option<String>,
}

/// The uploader sees their upload before it is attached; after, those who may see its
/// message: the thread's participants (and facility admins), staff only for an internal
/// note. Everyone else gets 404.
async fn may_see(state: &AppState, actor: &User, a: &AttachmentRecord) -> Result<bool, ApiError> {
    if !domain::policy::can_see_message(actor, a.internal) {
        return Ok(false);
    }
    match a.thread_id {
        None => Ok(a.uploader == actor.id),
        Some(thread) => match load_visible(state, actor, &thread).await {
            Ok(_) => Ok(true),
            Err(ApiError::Domain(DomainError::NotFound(_))) => Ok(false),
            Err(e) => Err(e),
        },
    }
}

async fn show(
    State(state): State<AppState>,
    Actor(actor): Actor,
    PathText(raw): PathText<String>,
) -> Result<Json<AttachmentBody>, ApiError> {
    let not_found = || ApiError::Domain(DomainError::NotFound("attachment"));
    let id = AttachmentId::parse(&raw).map_err(|_| not_found())?;
    let a = state.store.get_attachment(&actor.org, &id).await?.ok_or_else(not_found)?;
    if !may_see(&state, &actor, &a).await? {
        return Err(not_found());
    }
    let download_url = match a.status {
        AttachmentStatus::Archived => None,
        _ => Some(state.files.presign_download(&a.object_key, a.version_id.as_deref(), &a.file_name).await?),
    };
    Ok(Json(AttachmentBody {
        id: a.id,
        file_name: a.file_name,
        content_type: a.content_type,
        size_bytes: a.size_bytes,
        status: a.status,
        download_url,
    }))
}
