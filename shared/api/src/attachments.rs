//! Attachment routes: a presigned upload URL for a photo or PDF, and its metadata with a
//! short-lived download URL for those who may see it.

use app::attachments::{self, NewUpload};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::attachment::ContentType;
use domain::{AttachmentId, DomainError};
use serde::{Deserialize, Serialize};
use store::AttachmentStatus;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{NotFound, RateLimited};
use crate::extract::{JsonBody, PathText};
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(show))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateAttachment {
    /// Sanitized: no path, no quoting characters, at most 120 characters; a control
    /// character or line break is refused (422 invalid_characters).
    #[schema(pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$")]
    file_name: String,
    /// image/jpeg, image/png, image/heic, image/webp or application/pdf (else 422
    /// unsupported_type).
    content_type: String,
    /// At most MAX_ATTACHMENT_BYTES (10 MB by default; else 413).
    #[schema(minimum = 1)]
    size_bytes: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Upload {
    id: AttachmentId,
    /// Presigned S3 PUT, valid 5 minutes; content type, length and SSE-KMS are signed.
    upload_url: String,
    /// Send exactly these headers with the PUT: S3 checks them against the signature.
    upload_headers: std::collections::BTreeMap<String, String>,
    expires_at: DateTime<Utc>,
}

/// Get a presigned upload URL for a photo or PDF
///
/// The upload is checked when a message references it: the poster's own, unused, its
/// stored bytes of the declared size, type sniffed from its first bytes (422
/// attachment_rejected), encrypted with the attachments key. Uploads never attached are
/// deleted after a day.
#[utoipa::path(post, path = "/v1/attachments", tag = "attachments", operation_id = "createAttachment",
    request_body = CreateAttachment,
    responses(
        (status = 201, description = "Upload URL.", body = Upload),
        (status = 429, response = RateLimited),
    ))]
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

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Attachment)]
struct AttachmentBody {
    id: AttachmentId,
    file_name: String,
    content_type: ContentType,
    size_bytes: u64,
    status: AttachmentStatus,
    /// SHA-256 (lower-case hex) of the bytes, computed when it was attached; absent before.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    /// Presigned S3 GET, valid 5 minutes; null once archived.
    download_url: Option<String>,
}

/// Attachment metadata and a short-lived download URL
///
/// For the participants of the thread whose message carries it (or its uploader before it
/// is attached); 404 for everyone else. The attachment of an internal note is 404 for
/// anyone who is not staff. The download URL names the object version whose bytes were
/// checked when it was attached.
#[utoipa::path(get, path = "/v1/attachments/{id}", tag = "attachments", operation_id = "getAttachment",
    params(("id" = AttachmentId, Path, description = "Attachment id.")),
    responses((status = 200, description = "The attachment.", body = AttachmentBody), (status = 404, response = NotFound)))]
async fn show(
    State(app): State<AppState>,
    Actor(actor): Actor,
    PathText(raw): PathText<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = AttachmentId::parse(&raw).map_err(|_| DomainError::NotFound("attachment"))?;
    let (a, download_url) = attachments::show(&app, &actor, id).await?;
    // The download URL is a credential, new on every answer: never kept, never revalidated.
    Ok((
        crate::etag::NEVER_KEPT,
        Json(AttachmentBody {
            id: a.id,
            file_name: a.file_name,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            status: a.status,
            sha256: a.sha256,
            download_url,
        }),
    ))
}
