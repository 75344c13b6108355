//! Property tests of the dev gateway's tokens: whatever a client puts in `Authorization`
//! never panics and never authenticates unless it is an unexpired HS256 token we signed;
//! a token we mint carries its claims through.
//!
//! The gateway runs over clients pointed at a closed port: a refused request never
//! reaches a handler, and the one that does gets a storage error instead of a 401.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::Router;
use infra::token::{mint, verify};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;

const SECRET: &str = "gateway-secret";

/// `{"alg":"none","typ":"JWT"}` and `{"alg":"none"}`, base64url.
const NONE_HEADERS: [&str; 2] = ["eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", "eyJhbGciOiJub25lIn0"];

struct Gateway {
    runtime: tokio::runtime::Runtime,
    app: Router,
}

fn gateway() -> &'static Gateway {
    static GATEWAY: OnceLock<Gateway> = OnceLock::new();
    GATEWAY.get_or_init(|| {
        // A port nothing listens on: connections to it are refused at once.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let endpoint = format!("http://{closed}");
        // Set once, before any client reads the environment.
        for (name, value) in [
            ("TABLE_NAME", "table"),
            ("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:000000000000:EventsTopic"),
            ("ATTACHMENTS_BUCKET", "bucket"),
            ("ATTACHMENTS_KEY_ID", "key"),
            ("MAX_ATTACHMENT_BYTES", "1000"),
            ("SEARCH_BUCKET", "searchbucket"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_MAX_ATTEMPTS", "1"),
        ] {
            std::env::set_var(name, value);
        }
        for name in ["USER_POOL_ID", "EMAIL_FROM", "AWS_PROFILE", "LINK_KEY", "LINK_KEY_PARAMETER"] {
            std::env::remove_var(name);
        }
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let state = runtime.block_on(api::AppState::from_env()).unwrap();
        Gateway { app: infra::gateway::app(state, SECRET.to_owned()), runtime }
    })
}

/// The status of `GET /v1/threads` with this `Authorization` header, and the error code.
fn get_threads(authorization: Option<HeaderValue>) -> (StatusCode, Option<String>) {
    let g = gateway();
    let mut req = Request::get("/v1/threads").body(Body::empty()).unwrap();
    if let Some(v) = authorization {
        req.headers_mut().insert(header::AUTHORIZATION, v);
    }
    g.runtime.block_on(async {
        let res = g.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
        let code = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
            v.pointer("/error/code").or(v.get("code")).and_then(Value::as_str).map(str::to_owned)
        });
        (status, code)
    })
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn sign(alg: Algorithm, secret: &str, claims: &Value) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

/// The claims `mint` puts in a token, valid for an hour.
fn claims(user: &str, org: &str) -> Value {
    json!({"sub": user, "custom:org_id": org, "iat": now(), "exp": now() + 3600, "token_use": "id"})
}

fn segments(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

/// Ways to get a token past the gateway without our secret or after its time.
#[derive(Debug, Clone)]
enum Forgery {
    OtherSecret(String),
    Expired(i64),
    NoExp,
    ExpNotANumber(Value),
    NoSub,
    AlgNone {
        header: usize,
        keep_signature: bool,
    },
    OtherAlgorithm(Algorithm),
    /// Another payload (other user or org), with the header and signature of a real token.
    SplicedPayload,
    /// One character of a real token changed.
    Changed(usize, char),
}

fn forgery() -> impl Strategy<Value = Forgery> {
    prop_oneof![
        "[ -~]{0,24}".prop_filter("our secret", |s| s != SECRET).prop_map(Forgery::OtherSecret),
        (1i64..10_000_000).prop_map(Forgery::Expired),
        Just(Forgery::NoExp),
        prop_oneof![
            Just(json!("9999999999")),
            Just(json!(null)),
            Just(json!(true)),
            Just(json!([9_999_999_999i64])),
            Just(json!({"n": 1})),
            Just(json!(-1)),
        ]
        .prop_map(Forgery::ExpNotANumber),
        Just(Forgery::NoSub),
        (0..NONE_HEADERS.len(), any::<bool>())
            .prop_map(|(header, keep_signature)| Forgery::AlgNone { header, keep_signature }),
        prop::sample::select(vec![Algorithm::HS384, Algorithm::HS512]).prop_map(Forgery::OtherAlgorithm),
        Just(Forgery::SplicedPayload),
        (any::<usize>(), prop_oneof![4 => proptest::char::range('A', 'z'), 1 => any::<char>()])
            .prop_map(|(i, c)| Forgery::Changed(i, c)),
    ]
}

impl Forgery {
    /// The forged token, from `real`, a token we minted for `user` of `org`.
    fn token(&self, real: &str, user: &str, org: &str) -> String {
        let with = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
            let mut c = claims(user, org);
            edit(c.as_object_mut().unwrap());
            sign(Algorithm::HS256, SECRET, &c)
        };
        match self {
            Self::OtherSecret(secret) => mint(secret, user, org, 3600),
            Self::Expired(secs) => mint(SECRET, user, org, -secs),
            Self::NoExp => with(&|c| {
                c.remove("exp");
            }),
            Self::ExpNotANumber(v) => with(&|c| {
                c.insert("exp".into(), v.clone());
            }),
            Self::NoSub => with(&|c| {
                c.remove("sub");
            }),
            Self::AlgNone { header, keep_signature } => {
                let s = segments(real);
                let signature = if *keep_signature { s[2] } else { "" };
                format!("{}.{}.{signature}", NONE_HEADERS[*header], s[1])
            }
            Self::OtherAlgorithm(alg) => sign(*alg, SECRET, &claims(user, org)),
            Self::SplicedPayload => {
                let other = mint("attacker", "admin-1", &format!("{org}-other"), 3600);
                let (s, o) = (segments(real), segments(&other));
                format!("{}.{}.{}", s[0], o[1], s[2])
            }
            Self::Changed(i, c) => {
                let i = i % real.len();
                let mut t = real.to_owned();
                t.replace_range(i..=i, &c.to_string());
                t
            }
        }
    }
}

/// What a client may send as `Authorization`.
fn authorization() -> impl Strategy<Value = Vec<u8>> {
    let token_like = "[A-Za-z0-9_-]{0,40}(\\.[A-Za-z0-9_-]{0,40}){0,3}";
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..120),
        "[ -~]{0,120}".prop_map(String::into_bytes),
        token_like.prop_map(|t| format!("Bearer {t}").into_bytes()),
        (
            prop_oneof![Just("Bearer"), Just("bearer "), Just("Basic "), Just("Bearer  "), Just("")],
            token_like
        )
            .prop_map(|(scheme, t)| format!("{scheme}{t}").into_bytes()),
        any::<String>().prop_map(|t| format!("Bearer {t}").into_bytes()),
    ]
}

/// Ids as an identity provider might send them, and anything else.
fn claim_text() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9._-]{1,64}", any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_authorization_header_authenticates(raw in authorization()) {
        // Bytes a header cannot carry never reach the gateway.
        let Ok(value) = HeaderValue::from_bytes(&raw) else { return Ok(()) };
        let (status, code) = get_threads(Some(value));
        prop_assert_eq!(status, StatusCode::UNAUTHORIZED);
        prop_assert_eq!(code.as_deref(), Some("unauthorized"));
    }

    #[test]
    fn forged_and_expired_tokens_are_refused_at_the_gateway(
        forgery in forgery(),
        user in "[A-Za-z0-9._-]{1,64}",
        org in "[A-Za-z0-9._-]{1,64}",
    ) {
        let real = mint(SECRET, &user, &org, 3600);
        let token = forgery.token(&real, &user, &org);
        prop_assume!(token != real);
        prop_assert!(verify(SECRET, &token).is_none(), "{forgery:?} verified");
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
            prop_assert_eq!(get_threads(Some(value)).0, StatusCode::UNAUTHORIZED);
        }
    }
}

proptest! {
    #[test]
    fn a_minted_token_carries_its_claims(user in claim_text(), org in claim_text(), ttl in 1i64..100_000_000) {
        let claims = verify(SECRET, &mint(SECRET, &user, &org, ttl)).expect("a fresh token verifies");
        prop_assert_eq!(&claims["sub"], &user);
        prop_assert_eq!(&claims["custom:org_id"], &org);
        prop_assert_eq!(claims["token_use"].as_str(), "id");
        let (iat, exp): (i64, i64) = (claims["iat"].parse().unwrap(), claims["exp"].parse().unwrap());
        prop_assert_eq!(exp - iat, ttl);
    }

    #[test]
    fn a_token_verifies_only_with_its_own_secret(a in "[ -~]{1,32}", b in "[ -~]{1,32}") {
        let token = mint(&a, "resident-1", "demo", 60);
        prop_assert_eq!(verify(&b, &token).is_some(), a == b);
    }

    #[test]
    fn arbitrary_text_never_verifies(token in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{0,60}(\\.[A-Za-z0-9_-]{0,60}){0,3}"]) {
        prop_assert!(verify(SECRET, &token).is_none());
    }
}

#[test]
fn a_missing_header_is_refused() {
    assert_eq!(get_threads(None).0, StatusCode::UNAUTHORIZED);
}

/// The other side of the properties above: a good token does get through the gateway
/// (here to a handler whose storage is unreachable).
#[test]
fn a_valid_token_passes_the_gateway() {
    let token = mint(SECRET, "resident-1", "demo", 60);
    let (status, _) = get_threads(Some(bearer(&token)));
    assert_ne!(status, StatusCode::UNAUTHORIZED);
    assert!(status.is_server_error(), "{status}");
    // The token is trimmed, as API Gateway does.
    assert_ne!(get_threads(Some(bearer(&format!("{token}  ")))).0, StatusCode::UNAUTHORIZED);
}
