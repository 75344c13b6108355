//! The web client, locally: the `web` function's router over `web/dist` (read on each
//! request, so a rebuilt client shows at once), the "Sign in as" picker's two endpoints
//! (`GET /local/users`, `POST /local/token`) and a stand-in for Cognito's hosted UI below
//! `/local/cognito` (authorization code with PKCE, as the client uses it in AWS). Local
//! stack only: none of this is deployed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use domain::{ErrorCode, OrgId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{seed, token};

/// How long a token from the picker lasts.
const TOKEN_TTL_SECS: i64 = 12 * 3600;
/// How long an ID token of the hosted UI stand-in lasts (Cognito's default).
const ID_TOKEN_TTL_SECS: i64 = 3600;
/// The stand-in's app client id.
pub const LOCAL_CLIENT_ID: &str = "local-web";
/// Where the stand-in's endpoints are (`/oauth2/authorize`, `/oauth2/token`, `/logout`).
const HOSTED_UI: &str = "/local/cognito";

/// Where `make web` builds the client.
pub fn dist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist")
}

#[derive(Default)]
struct HostedUi {
    /// Authorization codes not yet exchanged.
    codes: HashMap<String, Grant>,
    /// Refresh tokens, to the user they sign in.
    refresh: HashMap<String, domain::User>,
}

struct Grant {
    user: domain::User,
    challenge: String,
    redirect_uri: String,
}

struct Local {
    secret: String,
    hosted: Mutex<HostedUi>,
}

/// `storage`: where presigned uploads go (the emulator), which the page may connect to.
pub fn router(dist: PathBuf, secret: String, storage: &str) -> Router {
    let config = web::ClientConfig {
        picker: true,
        hosted_ui: Some(web::HostedUi {
            domain: HOSTED_UI.to_owned(),
            client_id: LOCAL_CLIENT_ID.to_owned(),
        }),
        connect_to: vec![storage.to_owned()],
    };
    let local = Arc::new(Local { secret, hosted: Mutex::default() });
    let hosted = Router::new()
        .route("/oauth2/authorize", get(authorize_page))
        .route("/login", post(login))
        .route("/oauth2/token", post(exchange))
        .route("/oauth2/revoke", post(revoke))
        .route("/logout", get(logout));
    web::router(web::Files::Dir(dist), config).merge(
        Router::new()
            .route("/local/users", get(users))
            .route("/local/token", post(sign_in))
            .nest(HOSTED_UI, hosted)
            .with_state(local),
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

fn demo_account(id: &str) -> Option<domain::User> {
    demo_accounts().into_iter().find(|u| u.id.as_str() == id)
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

async fn sign_in(State(local): State<Arc<Local>>, Json(req): Json<SignIn>) -> Response {
    let Some(user) = demo_account(&req.user_id) else {
        return api::error_response(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such demo user");
    };
    let token = token::mint(&local.secret, user.id.as_str(), user.org.as_str(), TOKEN_TTL_SECS);
    Json(serde_json::json!({ "token": token, "expires_in": TOKEN_TTL_SECS })).into_response()
}

/// What the client sends to `/oauth2/authorize`, and the login form carries on.
#[derive(Deserialize)]
struct Authorize {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
}

impl Authorize {
    fn fields(&self) -> [(&'static str, &str); 6] {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
        ]
    }

    /// What Cognito refuses too: another flow, another client, no S256 challenge.
    fn problem(&self) -> Option<&'static str> {
        if self.response_type != "code" {
            Some("unsupported_response_type")
        } else if self.client_id != LOCAL_CLIENT_ID {
            Some("invalid_client")
        } else if self.code_challenge_method != "S256" || self.code_challenge.len() < 43 {
            Some("invalid_request")
        } else if !is_callback(&self.redirect_uri) {
            // Cognito sends the browser back only to the app client's callback URLs.
            Some("redirect_mismatch")
        } else {
            None
        }
    }
}

fn oauth_error(code: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": code }))).into_response()
}

/// The sign-in page: the demo users instead of a password.
async fn authorize_page(Query(req): Query<Authorize>) -> Response {
    if let Some(problem) = req.problem() {
        return oauth_error(problem);
    }
    let escape =
        |s: &str| s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
    let hidden: String = req
        .fields()
        .iter()
        .map(|(k, v)| format!(r#"<input type="hidden" name="{k}" value="{}">"#, escape(v)))
        .collect();
    let options: String = demo_accounts()
        .iter()
        .map(|u| {
            format!(
                r#"<option value="{}">{} ({})</option>"#,
                escape(u.id.as_str()),
                escape(&u.name),
                escape(u.id.as_str())
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in (local identity provider)</title></head>
<body><main><h1>Sign in (local identity provider)</h1>
<form method="post" action="{HOSTED_UI}/login">{hidden}
<label for="user">Account</label> <select id="user" name="user_id">{options}</select>
<button type="submit">Continue</button></form></main></body></html>"#
    ))
    .into_response()
}

#[derive(Deserialize)]
struct Login {
    user_id: String,
    #[serde(flatten)]
    authorize: Authorize,
}

/// Signs the chosen user in and sends the browser back with a one-time code.
async fn login(State(local): State<Arc<Local>>, Form(form): Form<Login>) -> Response {
    if let Some(problem) = form.authorize.problem() {
        return oauth_error(problem);
    }
    let Some(user) = demo_account(&form.user_id) else { return oauth_error("access_denied") };
    let code = random_token();
    let back = match url::Url::parse_with_params(
        &form.authorize.redirect_uri,
        [("code", code.as_str()), ("state", form.authorize.state.as_str())],
    ) {
        Ok(url) => url,
        Err(_) => return oauth_error("invalid_request"),
    };
    let grant =
        Grant { user, challenge: form.authorize.code_challenge, redirect_uri: form.authorize.redirect_uri };
    local.hosted.lock().expect("not poisoned").codes.insert(code, grant);
    Redirect::to(back.as_str()).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    client_id: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

/// `/oauth2/token`: a code (with the verifier of its challenge) or a refresh token for an
/// ID token, as Cognito's token endpoint answers a public client.
async fn exchange(State(local): State<Arc<Local>>, Form(req): Form<TokenRequest>) -> Response {
    if req.client_id != LOCAL_CLIENT_ID {
        return oauth_error("invalid_client");
    }
    let mut hosted = local.hosted.lock().expect("not poisoned");
    let (user, refresh) = match req.grant_type.as_str() {
        "authorization_code" => {
            // A code is spent by its first use, right or wrong.
            let Some(grant) = req.code.as_ref().and_then(|c| hosted.codes.remove(c)) else {
                return oauth_error("invalid_grant");
            };
            let verifier = req.code_verifier.unwrap_or_default();
            let proof = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if proof != grant.challenge || req.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
                return oauth_error("invalid_grant");
            }
            let refresh = random_token();
            hosted.refresh.insert(refresh.clone(), grant.user.clone());
            (grant.user, Some(refresh))
        }
        "refresh_token" => {
            let Some(user) = req.refresh_token.as_ref().and_then(|r| hosted.refresh.get(r)).cloned() else {
                return oauth_error("invalid_grant");
            };
            (user, None)
        }
        _ => return oauth_error("unsupported_grant_type"),
    };
    let id_token = token::mint(&local.secret, user.id.as_str(), user.org.as_str(), ID_TOKEN_TTL_SECS);
    let mut answer = serde_json::json!({
        "id_token": id_token,
        "access_token": id_token,
        "token_type": "Bearer",
        "expires_in": ID_TOKEN_TTL_SECS,
    });
    if let Some(refresh) = refresh {
        answer["refresh_token"] = refresh.into();
    }
    ([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response()
}

#[derive(Deserialize)]
struct Logout {
    logout_uri: String,
}

async fn logout(Query(req): Query<Logout>) -> Response {
    Redirect::to(&req.logout_uri).into_response()
}

/// The local client's callback: the root of a stack on this machine.
fn is_callback(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(u.host_str(), Some("127.0.0.1" | "localhost"))
            && u.path() == "/"
            && u.query().is_none()
    })
}

#[derive(Deserialize)]
struct Revoke {
    token: String,
    client_id: String,
}

/// `/oauth2/revoke`: the refresh token signs no one in any more (sign-out).
async fn revoke(State(local): State<Arc<Local>>, Form(req): Form<Revoke>) -> Response {
    if req.client_id != LOCAL_CLIENT_ID {
        return oauth_error("invalid_client");
    }
    local.hosted.lock().expect("not poisoned").refresh.remove(&req.token);
    StatusCode::OK.into_response()
}

/// 256 random bits, URL-safe.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS has a random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::is_callback;

    #[test]
    fn only_the_root_of_a_local_stack_is_a_callback() {
        assert!(is_callback("http://127.0.0.1:3000/") && is_callback("http://localhost:3000/"));
        let others = [
            "https://evil.example/",
            "http://127.0.0.1:3000/x",
            "http://127.0.0.1.evil/",
            "http://127.0.0.1:3000/?a=1",
            "javascript:alert(1)",
        ];
        for other in others {
            assert!(!is_callback(other), "{other}");
        }
    }

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
