//! The local stand-in for every notification provider: it records each request (what a
//! provider would have received) and answers 200, or the statuses a test queued for one
//! recipient (optionally after a delay, a provider that stalls), so retries, fallbacks and
//! time budgets can be exercised. Like the real providers it refuses a text over the
//! channel's limit with 400. `GET /dev/outbox` lists the deliveries the dispatcher recorded
//! and the notifications that reached nobody. Local stack only: none of this is in
//! template.yaml.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use domain::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::Store;

#[derive(Debug, Clone, Serialize)]
pub struct SinkRequest {
    pub channel: String,
    pub path: String,
    pub to: Option<String>,
    pub body: String,
    pub status: u16,
}

/// A status, answered after a delay.
type Answer = (u16, Duration);

#[derive(Clone, Default)]
pub struct Sink {
    requests: Arc<Mutex<Vec<SinkRequest>>>,
    /// Answers queued per recipient, before answering 200 again.
    failures: Arc<Mutex<HashMap<String, VecDeque<Answer>>>>,
}

#[derive(Clone)]
struct SinkState {
    sink: Sink,
    store: Store,
}

pub fn router(sink: Sink, store: Store) -> Router {
    Router::new()
        .route("/dev/sink/failures", post(queue_failures))
        .route("/dev/sink/requests", get(requests))
        .route("/dev/sink/{channel}/{*rest}", any(receive))
        .route("/dev/outbox", get(outbox))
        .with_state(SinkState { sink, store })
}

/// The recipient of a provider request, whatever the provider's format.
fn recipient(body: &str) -> Option<String> {
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        let to = json.get("to").or_else(|| json.get("chat_id")).or_else(|| json.pointer("/message/token"));
        return to.map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
    }
    body.split('&').find_map(|pair| pair.strip_prefix("To=")).map(|v| v.replace("%2B", "+"))
}

/// Whether the text fits what the provider accepts: SMS 1,600 characters (Twilio error
/// 21617), WhatsApp and Telegram 4,096, an FCM notification 4,096 bytes of payload.
/// Characters are counted in UTF-16 units, as the providers do.
fn within_limit(channel: &str, body: &str) -> bool {
    let units = |t: &str| t.encode_utf16().count();
    let json = serde_json::from_str::<Value>(body).unwrap_or_default();
    match channel {
        "sms" => units(&form_field(body, "Body").unwrap_or_default()) <= 1600,
        "whatsapp" => json.pointer("/text/body").and_then(Value::as_str).is_none_or(|t| units(t) <= 4096),
        "telegram" => json.get("text").and_then(Value::as_str).is_none_or(|t| units(t) <= 4096),
        "push" => json.pointer("/message/notification").is_none_or(|n| n.to_string().len() <= 4096),
        _ => true,
    }
}

/// One field of a form-encoded body, decoded.
fn form_field(body: &str, name: &str) -> Option<String> {
    let raw = body.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped =
            bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], escaped) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

async fn receive(
    State(s): State<SinkState>,
    Path((channel, rest)): Path<(String, String)>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let body = String::from_utf8_lossy(&body).into_owned();
    let to = recipient(&body);
    let queued = to.as_ref().and_then(|t| {
        s.sink.failures.lock().unwrap_or_else(|e| e.into_inner()).get_mut(t).and_then(VecDeque::pop_front)
    });
    let (status, delay) = match queued {
        Some(answer) => answer,
        None if !within_limit(&channel, &body) => (400, Duration::ZERO),
        None => (200, Duration::ZERO),
    };
    let record = SinkRequest { channel, path: format!("/{rest}"), to, body, status };
    s.sink.requests.lock().unwrap_or_else(|e| e.into_inner()).push(record);
    tokio::time::sleep(delay).await;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (status, Json(serde_json::json!({ "ok": status.is_success() })))
}

#[derive(Deserialize)]
struct Failures {
    to: String,
    statuses: Vec<u16>,
    /// How long each of these answers takes (a provider that stalls).
    #[serde(default)]
    delay_ms: u64,
}

async fn queue_failures(State(s): State<SinkState>, Json(f): Json<Failures>) -> StatusCode {
    let delay = Duration::from_millis(f.delay_ms);
    s.sink
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(f.to)
        .or_default()
        .extend(f.statuses.into_iter().map(|status| (status, delay)));
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct RequestsQuery {
    to: Option<String>,
}

async fn requests(State(s): State<SinkState>, Query(q): Query<RequestsQuery>) -> Json<Value> {
    let all = s.sink.requests.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let items: Vec<_> = all.into_iter().filter(|r| q.to.is_none() || r.to == q.to).collect();
    Json(serde_json::json!({ "items": items }))
}

#[derive(Deserialize)]
struct OutboxQuery {
    user_id: String,
    org_id: Option<String>,
}

async fn outbox(State(s): State<SinkState>, Query(q): Query<OutboxQuery>) -> Result<Json<Value>, StatusCode> {
    let org = OrgId::parse(q.org_id.unwrap_or_else(|| "demo".into())).map_err(|_| StatusCode::BAD_REQUEST)?;
    let user = UserId::parse(q.user_id).map_err(|_| StatusCode::BAD_REQUEST)?;
    let unavailable = |_| StatusCode::SERVICE_UNAVAILABLE;
    let tagged = |v: Value, status: &str| match v {
        Value::Object(mut m) => {
            m.insert("status".into(), status.into());
            Value::Object(m)
        }
        other => other,
    };
    let items = s.store.deliveries(&org, &user, 100).await.map_err(unavailable)?;
    let failed = s.store.failed_notifications(&org, &user, 100).await.map_err(unavailable)?;
    let items: Vec<Value> =
        items.iter().map(|d| tagged(serde_json::to_value(d).unwrap_or_default(), "sent")).collect();
    let failed: Vec<Value> =
        failed.iter().map(|f| tagged(serde_json::to_value(f).unwrap_or_default(), "failed")).collect();
    Ok(Json(serde_json::json!({ "items": items, "failed": failed })))
}
