//! Unauthenticated system routes: health and the OpenAPI description.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

/// The whole HTTP API as OpenAPI 3.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

pub fn health_router() -> Router {
    Router::new().route("/health", get(|| async { Json(serde_json::json!({ "status": "ok" })) })).route(
        "/openapi.json",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response() }),
    )
}
