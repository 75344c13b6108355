//! The web client, served at `/` of the HTTP API (same origin as the API: no CORS, no
//! server of its own): its built files, embedded in the Lambda at build time or read from
//! `web/dist` by the local stack, and `/config.json`, which tells the client how to sign in.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

mod dist {
    include!(concat!(env!("OUT_DIR"), "/dist.rs"));
}

/// What this function serves; template.yaml routes them to WebFunction without a token.
pub const ROUTES: [(&str, &str); 3] = [("GET", "/"), ("GET", "/assets/{file}"), ("GET", "/config.json")];

/// The client as `make web` built it before this binary was compiled (empty if it was not).
pub fn embedded() -> &'static [(&'static str, &'static [u8])] {
    dist::DIST
}

/// Where the client's files come from.
pub enum Files {
    /// Compiled in, as `(path below dist/, bytes)`: the Lambda.
    Embedded(&'static [(&'static str, &'static [u8])]),
    /// Read on each request (a rebuilt client shows at once): the local stack.
    Dir(PathBuf),
}

impl Files {
    async fn read(&self, name: &str) -> Option<Bytes> {
        match self {
            Self::Embedded(files) => {
                files.iter().find(|(n, _)| *n == name).map(|(_, b)| Bytes::from_static(b))
            }
            Self::Dir(dir) => tokio::fs::read(dir.join(name)).await.ok().map(Bytes::from),
        }
    }
}

/// How the client signs in: told by `/config.json`, so one build serves every stack.
#[derive(Clone, Debug, Serialize)]
pub struct ClientConfig {
    /// The local stack's "Sign in as" picker over the demo users.
    pub picker: bool,
    /// Cognito's hosted UI (authorization code with PKCE); its ID token is the API's bearer token.
    pub hosted_ui: Option<HostedUi>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HostedUi {
    /// The user pool domain's base URL (`https://{prefix}.auth.{region}.amazoncognito.com`):
    /// `/oauth2/authorize`, `/oauth2/token` and `/logout` are below it.
    pub domain: String,
    /// The app client (public: no secret); the ID token's audience.
    pub client_id: String,
}

impl ClientConfig {
    /// In AWS: `COGNITO_DOMAIN` and `COGNITO_CLIENT_ID`, set by template.yaml.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(Self {
            picker: false,
            hosted_ui: Some(HostedUi {
                domain: var("COGNITO_DOMAIN")?,
                client_id: var("COGNITO_CLIENT_ID")?,
            }),
        })
    }
}

struct Web {
    files: Files,
    config: ClientConfig,
}

pub fn router(files: Files, config: ClientConfig) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
        .route("/config.json", get(sign_in_config))
        .with_state(Arc::new(Web { files, config }))
}

async fn index(State(web): State<Arc<Web>>) -> Response {
    file(&web.files, "index.html").await
}

async fn asset(State(web): State<Arc<Web>>, UrlPath(name): UrlPath<String>) -> Response {
    // One plain name below assets/: nothing reaches outside the build.
    let plain = matches!(Path::new(&name).components().collect::<Vec<_>>()[..], [Component::Normal(_)]);
    if !plain {
        return not_found();
    }
    file(&web.files, &format!("assets/{name}")).await
}

async fn sign_in_config(State(web): State<Arc<Web>>) -> Response {
    ([(header::CACHE_CONTROL, "no-cache")], Json(web.config.clone())).into_response()
}

async fn file(files: &Files, name: &str) -> Response {
    let Some(bytes) = files.read(name).await else { return not_found() };
    let content_type = match Path::new(name).extension().and_then(|e| e.to_str()) {
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
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (headers, bytes).into_response()
}

/// 404 in the API's error shape.
fn not_found() -> Response {
    let body = serde_json::json!({
        "error": {"code": "not_found", "message": "no such file (make web builds the client)"}
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    static FILES: &[(&str, &[u8])] =
        &[("index.html", b"<!doctype html>"), ("assets/index-abc.js", b"console.log(1)")];

    async fn get(path: &str) -> (StatusCode, String, Vec<u8>) {
        let config = ClientConfig {
            picker: false,
            hosted_ui: Some(HostedUi { domain: "https://x.auth".into(), client_id: "abc".into() }),
        };
        let app = router(Files::Embedded(FILES), config);
        let resp = app
            .oneshot(axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        let cache = resp.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_owned());
        let status = resp.status();
        (status, cache.unwrap_or_default(), resp.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    #[tokio::test]
    async fn the_page_is_asked_again_and_hashed_assets_are_kept() {
        assert_eq!(get("/").await, (StatusCode::OK, "no-cache".into(), b"<!doctype html>".to_vec()));
        let (status, cache, body) = get("/assets/index-abc.js").await;
        assert_eq!(
            (status, cache.as_str(), body),
            (StatusCode::OK, "public, max-age=31536000, immutable", b"console.log(1)".to_vec())
        );
    }

    #[tokio::test]
    async fn nothing_outside_the_build_is_served() {
        for path in ["/assets/..%2Findex.html", "/assets/missing.js", "/assets/..", "/index.html.map"] {
            let (status, _, body) = get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            if !body.is_empty() {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(json["error"]["code"], "not_found", "{path}");
            }
        }
    }

    #[tokio::test]
    async fn the_config_names_the_hosted_ui() {
        let (status, cache, body) = get("/config.json").await;
        assert_eq!((status, cache.as_str()), (StatusCode::OK, "no-cache"));
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"picker": false, "hosted_ui": {"domain": "https://x.auth", "client_id": "abc"}})
        );
    }
}
