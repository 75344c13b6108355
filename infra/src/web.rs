//! The web client, locally: its built files (`web/dist`) at `/`, and the two endpoints of
//! its "Sign in as" picker: `GET /local/users` (the demo users) and `POST /local/token`
//! (a local token for one of them). Local stack only: none of this is deployed (signing
//! in with Cognito in AWS is still to come).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::{ErrorCode, OrgId};
use serde::{Deserialize, Serialize};

use crate::{seed, token};

/// How long a token from the picker lasts.
const TOKEN_TTL_SECS: i64 = 12 * 3600;

struct Web {
    dist: PathBuf,
    secret: String,
}

/// Where `make web` builds the client.
pub fn dist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist")
}

pub fn router(dist: PathBuf, secret: String) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*file}", get(asset))
        .route("/local/users", get(users))
        .route("/local/token", post(sign_in))
        .with_state(Arc::new(Web { dist, secret }))
}

async fn index(State(web): State<Arc<Web>>) -> Response {
    file(&web.dist.join("index.html")).await
}

async fn asset(State(web): State<Arc<Web>>, UrlPath(name): UrlPath<String>) -> Response {
    // Plain names below assets/ only: nothing reaches outside the build.
    let inside = Path::new(&name).components().all(|c| matches!(c, Component::Normal(_)));
    if !inside {
        return not_found();
    }
    file(&web.dist.join("assets").join(name)).await
}

async fn file(path: &Path) -> Response {
    let Ok(bytes) = tokio::fs::read(path).await else { return not_found() };
    let content_type = match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    // Built names carry a content hash; the page itself is always asked again.
    let cache = if content_type.starts_with("text/html") {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, cache),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, bytes).into_response()
}

fn not_found() -> Response {
    api::error_response(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such file (run make web to build the client)",
    )
}

#[derive(Serialize)]
struct DemoUser {
    id: String,
    name: String,
    role: domain::Role,
    org_id: String,
    unit: Option<String>,
}

/// Everyone the picker offers: the users of `demo` and `demo-b`.
fn demo_accounts() -> Vec<domain::User> {
    let demo = OrgId::parse("demo").expect("valid");
    let demo_b = OrgId::parse("demo-b").expect("valid");
    seed::demo_users(&demo).into_iter().chain(seed::other_org_users(&demo_b)).collect()
}

async fn users() -> Json<Vec<DemoUser>> {
    Json(
        demo_accounts()
            .into_iter()
            .map(|u| DemoUser {
                id: u.id.to_string(),
                name: u.name,
                role: u.role,
                org_id: u.org.to_string(),
                unit: u.unit,
            })
            .collect(),
    )
}

#[derive(Deserialize)]
struct SignIn {
    user_id: String,
}

async fn sign_in(State(web): State<Arc<Web>>, Json(req): Json<SignIn>) -> Response {
    let Some(user) = demo_accounts().into_iter().find(|u| u.id.as_str() == req.user_id) else {
        return api::error_response(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such demo user");
    };
    let token = token::mint(&web.secret, user.id.as_str(), user.org.as_str(), TOKEN_TTL_SECS);
    Json(serde_json::json!({ "token": token, "expires_in": TOKEN_TTL_SECS })).into_response()
}
#[cfg(test)]
mod tests {
    /// The client's types are generated from web/openapi.json: it must be the API's own.
    #[test]
    fn the_clients_openapi_document_is_the_apis() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/openapi.json");
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let current = serde_json::to_value(api::document()).unwrap();
        assert!(committed == current, "web/openapi.json is stale: run make web-types");
    }
}
