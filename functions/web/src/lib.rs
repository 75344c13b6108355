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
/// `/threads…` and `/invite` are the links notifications and invitations carry: the page,
/// which opens the conversation or the invitation they name.
pub const ROUTES: [(&str, &str); 6] = [
    ("GET", "/"),
    ("GET", "/assets/{file}"),
    ("GET", "/config.json"),
    ("GET", "/threads"),
    ("GET", "/threads/{id}"),
    ("GET", "/invite"),
];

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
    /// Origins besides its own the page may send requests to (the hosted UI's token
    /// endpoint, S3's presigned uploads), for its Content-Security-Policy.
    #[serde(skip)]
    pub connect_to: Vec<String>,
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
        let domain = var("COGNITO_DOMAIN")?;
        Ok(Self {
            picker: false,
            // Uploads go straight to the attachments bucket (https://BUCKET.s3.REGION.amazonaws.com).
            connect_to: vec![domain.clone(), "https://*.amazonaws.com".to_owned()],
            hosted_ui: Some(HostedUi { domain, client_id: var("COGNITO_CLIENT_ID")? }),
        })
    }

    /// The page's policy: its own scripts and styles only, requests to itself and
    /// `connect_to`, previews of chosen photos (blob:), never framed (clickjacking).
    fn content_security_policy(&self) -> String {
        let connect: Vec<&str> =
            std::iter::once("'self'").chain(self.connect_to.iter().map(String::as_str)).collect();
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
             connect-src {}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
            connect.join(" ")
        )
    }
}

struct Web {
    files: Files,
    config: ClientConfig,
    policy: String,
}

pub fn router(files: Files, config: ClientConfig) -> Router {
    if let Files::Embedded([]) = files {
        eprintln!("the web client was not built into this binary (make web, then build it again)");
    }
    let policy = config.content_security_policy();
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
        .route("/config.json", get(sign_in_config))
        .route("/threads", get(index))
        .route("/threads/{id}", get(index))
        .route("/invite", get(index))
        .with_state(Arc::new(Web { files, config, policy }))
}

async fn index(State(web): State<Arc<Web>>) -> Response {
    let mut page = file(&web.files, "index.html").await;
    if page.status().is_success() {
        if let Ok(policy) = header::HeaderValue::from_str(&web.policy) {
            page.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        page.headers_mut().insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    }
    page
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

    async fn headers(path: &str) -> axum::http::HeaderMap {
        let config =
            ClientConfig { picker: true, hosted_ui: None, connect_to: vec!["http://127.0.0.1:5000".into()] };
        let app = router(Files::Embedded(FILES), config);
        let request = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
        app.oneshot(request).await.unwrap().headers().clone()
    }

    #[tokio::test]
    async fn every_route_serves_and_the_links_of_notifications_and_invitations_open_the_page() {
        for (_, route) in ROUTES {
            let path = route.replace("{file}", "index-abc.js").replace("{id}", "01J0000000000000000000000A");
            let (status, _, body) = get(&path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            if route.starts_with("/threads") || route == "/invite" {
                assert_eq!(body, b"<!doctype html>", "{path}");
            }
        }
    }

    #[tokio::test]
    async fn the_page_may_not_be_framed_and_talks_only_to_what_it_needs() {
        let headers = headers("/").await;
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self';"),
            "{policy}"
        );
        assert!(policy.contains("connect-src 'self' http://127.0.0.1:5000;"), "{policy}");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    }

    async fn get(path: &str) -> (StatusCode, String, Vec<u8>) {
        let config = ClientConfig {
            picker: false,
            hosted_ui: Some(HostedUi { domain: "https://x.auth".into(), client_id: "abc".into() }),
            connect_to: vec!["https://x.auth".into()],
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
