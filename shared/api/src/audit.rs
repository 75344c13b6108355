//! The record: a thread's audit chain, its export (JSON or PDF) and the check of an export.
//! What is chained and how is in `domain::audit` and `app::audit`.

use app::audit::{self, ExportFile, ExportFormat};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::audit::{ChainEntry, Export, Verification};
use domain::{DomainError, ErrorCode};
use serde::Serialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Forbidden, NotFound, UnprocessableEntity};
use crate::extract::{JsonBody, ListParams, QueryMap, ThreadPath};
use crate::{Actor, ApiError, AppState};

/// The largest export `POST /v1/audit/verify` takes (Lambda's request limit).
const MAX_EXPORT_BYTES: usize = 6 * 1024 * 1024;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(chain)).routes(routes!(export)).routes(routes!(verify))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChainPage {
    items: Vec<ChainEntry>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

/// A thread's audit chain
///
/// Staff who may read the thread (403 staff_only for residents). Oldest first: the thread's
/// opening, every message and internal note (by the SHA-256 of its body), status, priority,
/// linked record and participant change, escalation and acknowledgement, each `hash`
/// chained to the previous entry's (`prev_hash`). Entries are never changed or removed.
#[utoipa::path(get, path = "/v1/threads/{id}/audit", tag = "audit", operation_id = "listAuditEntries",
    params(ThreadPath, ListParams),
    responses(
        (status = 200, description = "A page of the chain.", body = ChainPage),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn chain(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
    params: ListParams,
) -> Result<Json<ChainPage>, ApiError> {
    let page = audit::entries(&app, &actor, id, params.cursor.as_ref(), params.limit).await?;
    Ok(Json(ChainPage { items: page.items, next_cursor: page.next.map(|c| c.as_str().to_owned()) }))
}

/// Export a thread
///
/// Staff who may read the thread. `format=json` (default): the thread, its participants,
/// every message and event in chain order, the chain and its head; `format=pdf`: the same
/// as a printable transcript. `include_internal=true` adds internal notes (their entries
/// are withheld, not removed, without it). An export past 4 MB is answered 303 with a
/// download URL (valid 5 minutes) of a copy kept a day or two. 422 too_large past 5,000 entries.
#[utoipa::path(get, path = "/v1/threads/{id}/export", tag = "audit", operation_id = "exportThread",
    params(ThreadPath,
        ("format" = Option<String>, Query, description = "`json` (default) or `pdf`."),
        ("include_internal" = Option<bool>, Query, description = "Internal notes too (default false).")),
    responses(
        (status = 200, description = "The export.", body = Export, content(
            (Export = "application/json"),
            (Vec<u8> = "application/pdf"))),
        (status = 303, description = "Too large to answer inline: download it from `location`.",
            headers(("location" = String, description = "Presigned S3 GET of the export, valid 5 minutes."))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
    ))]
async fn export(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
    QueryMap(query): QueryMap,
) -> Result<Response, ApiError> {
    let invalid = |message: &str| ApiError::from(DomainError::invalid(ErrorCode::InvalidQuery, message));
    if let Some(unknown) = query.keys().find(|k| !["format", "include_internal"].contains(&k.as_str())) {
        return Err(invalid(&format!("unknown parameter {unknown}")));
    }
    let format = match query.get("format").map(String::as_str) {
        None | Some("json") => ExportFormat::Json,
        Some("pdf") => ExportFormat::Pdf,
        Some(_) => return Err(invalid("format is json or pdf")),
    };
    let include_internal = match query.get("include_internal").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("include_internal is true or false")),
    };
    Ok(match audit::export_file(&app, &actor, id, include_internal, format).await? {
        ExportFile::Inline { bytes, file_name } => {
            // A copy of the record (internal notes too, if asked) for the one who downloads
            // it: no cache keeps it, so the conditional-GET rule leaves it alone as well.
            let headers = [
                (header::CONTENT_TYPE, format.content_type()),
                (header::CACHE_CONTROL, crate::etag::NO_STORE),
            ];
            let mut response = (headers, bytes).into_response();
            if format == ExportFormat::Pdf {
                let disposition = format!("attachment; filename=\"{file_name}\"");
                if let Ok(value) = header::HeaderValue::from_str(&disposition) {
                    response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
                }
            }
            response
        }
        ExportFile::Stored { url } => (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response(),
    })
}

/// Verify an export
///
/// Staff. Checks a JSON export: each entry's hashes and links, that every message and
/// event is the one its entry recorded (none edited, added, removed or reordered), that
/// only internal notes are withheld; and, for a thread of the caller's org they may read,
/// that the chain is the one on record (`matches_record`). `{valid: false, first_bad_seq}`
/// names the first entry that does not match. At most 6 MB.
#[utoipa::path(post, path = "/v1/audit/verify", tag = "audit", operation_id = "verifyExport",
    request_body = Export,
    responses(
        (status = 200, description = "What the check found.", body = Verification),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
    ))]
async fn verify(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(body): JsonBody<Value, MAX_EXPORT_BYTES>,
) -> Result<Json<Verification>, ApiError> {
    // The description's integers are int64: a larger one is refused as it says, not read.
    if !within_int64(&body) {
        let message = "integers are at most 9223372036854775807";
        return Err(DomainError::invalid(ErrorCode::InvalidRequest, message).into());
    }
    let export: Export = serde_json::from_value(body)
        .map_err(|e| ApiError::from(DomainError::invalid(ErrorCode::InvalidRequest, e.to_string())))?;
    Ok(Json(audit::verify(&app, &actor, &export).await?))
}

/// Whether every integer in `value` fits an int64.
fn within_int64(value: &Value) -> bool {
    match value {
        Value::Number(n) => !n.is_u64() || n.as_i64().is_some(),
        Value::Array(items) => items.iter().all(within_int64),
        Value::Object(map) => map.values().all(within_int64),
        _ => true,
    }
}
