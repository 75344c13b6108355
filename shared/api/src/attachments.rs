//! Attachment routes: a presigned upload URL for a photo or PDF, and its metadata with a
//! short-lived download URL for those who may see it.

use app::attachments::{self, NewUpload};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::attachment::ContentType;
use domain::{AttachmentId, DomainError};
use serde::{Deserialize, Serialize};
use store::AttachmentStatus;

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
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(req): JsonBody<CreateAttachment>,
) -> Result<(StatusCode, Json<Upload>), ApiError> {
    let new = NewUpload {
        file_name: &req.file_name,
        content_type: ContentType::parse(&req.content_type)?,
        size_bytes: req.size_bytes,
    };
    let upload = attachments::upload(&app, &actor, new).await?;
    let body = Upload {
        id: upload.id,
        upload_url: upload.url,
        upload_headers: upload.headers.into_iter().collect(),
        expires_at: upload.expires_at,
    };
    Ok((StatusCode::CREATED, Json(body)))
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

async fn show(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(raw): PathText<String>,
) -> Result<Json<AttachmentBody>, ApiError> {
    let id = AttachmentId::parse(&raw).map_err(|_| DomainError::NotFound("attachment"))?;
    let (a, download_url) = attachments::show(&app, &actor, id).await?;
    Ok(Json(AttachmentBody {
        id: a.id,
        file_name: a.file_name,
        content_type: a.content_type,
        size_bytes: a.size_bytes,
        status: a.status,
        download_url,
    }))
}
