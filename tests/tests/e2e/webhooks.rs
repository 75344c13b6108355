//! Webhooks: admins register endpoints; each thread, message, participant and status change
//! is POSTed to a receiver this test runs on loopback, signed as Standard Webhooks with the
//! secret shown once; failures are retried with the same `webhook-id`, refusals are final,
//! internal notes go only where asked, and addresses inside the network are refused.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::{error_code, eventually, sent_mail, World};

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    id: String,
    timestamp: String,
    signature: String,
    raw: String,
    body: Value,
    at: Instant,
}

/// A scripted answer: a status, and a `Retry-After` to send with it.
type Answer = (u16, Option<&'static str>);

/// An HTTP receiver on loopback: records every request, answers with the next scripted
/// status (and `Retry-After`), then 200.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    async fn start() -> Self {
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let script: Arc<Mutex<VecDeque<Answer>>> = Arc::default();
        let (g, s) = (got.clone(), script.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, raw: String| {
            let (got, script) = (g.clone(), s.clone());
            async move {
                let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                got.lock().unwrap().push(Got {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body: serde_json::from_str(&raw).unwrap_or(Value::Null),
                    raw,
                    at: Instant::now(),
                });
                let (status, retry_after) = script.lock().unwrap().pop_front().unwrap_or((200, None));
                let mut answer =
                    axum::http::Response::builder().status(AxumStatus::from_u16(status).unwrap());
                if let Some(secs) = retry_after {
                    answer = answer.header("retry-after", secs);
                }
                answer.body(axum::body::Body::empty()).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/pms", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, got, script }
    }

    /// The next answers, in order.
    fn answer(&self, answers: &[Answer]) {
        self.script.lock().unwrap().extend(answers.iter().copied());
    }

    fn all(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Waits for a request whose body matches.
    async fn first(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Got {
        eventually(30, what, || async { self.all().into_iter().find(|g| matches(&g.body)) }).await
    }
}

/// Whether `got` carries a `v1` signature made with `secret`, per the Standard Webhooks
/// specification: HMAC-SHA256 over `{id}.{timestamp}.{body}` with the secret's base64 key.
fn signed_with(got: &Got, secret: &str) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("a whsec_ secret")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", got.id, got.timestamp, got.raw).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    got.signature.split(' ').any(|s| s == expected)
}

fn of_type(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |b| b["type"] == kind
}

impl World {
    /// Registers an endpoint as admin-1; returns its id and secret.
    async fn webhook(&self, url: &str, events: Value, include_internal: bool) -> (String, String) {
        let body = json!({"url": url, "events": events, "include_internal": include_internal});
        let (status, made) = self.post("admin-1", "/v1/webhooks", body).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        // Consumers read an org's endpoints at most once a second locally (a minute in AWS).
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        (made["id"].as_str().unwrap().to_owned(), made["secret"].as_str().unwrap().to_owned())
    }

    async fn deliveries(&self, webhook: &str) -> Vec<Value> {
        let (status, page) =
            self.get("admin-1", &format!("/v1/webhooks/{webhook}/deliveries?limit=100")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    /// The delivery `id` once it is no longer pending.
    async fn delivery_settled(&self, webhook: &str, id: &str) -> Value {
        eventually(30, &format!("delivery {id} settled"), || async {
            self.deliveries(webhook).await.into_iter().find(|d| d["id"] == id && d["state"] != "pending")
        })
        .await
    }
}

#[tokio::test]
async fn events_are_delivered_signed_with_the_linked_record_and_internal_notes_only_where_asked() {
    let w = World::new().await;
    let pms = Receiver::start().await;
    let crm = Receiver::start().await;
    let all = json!([
        "thread.created",
        "thread.updated",
        "message.created",
        "participant.added",
        "participant.removed"
    ]);
    let (pms_id, pms_secret) = w.webhook(&pms.url, all, false).await;
    let (_, crm_secret) = w.webhook(&crm.url, json!(["message.created"]), true).await;
    let (status, list) = w.get("admin-1", "/v1/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(list["items"].as_array().unwrap().iter().all(|h| h.get("secret").is_none()), "{list}");

    let id = w.start_thread("resident-1", "general", "Rent receipt", "Could I get my March receipt?").await;
    let created = pms.first("thread.created", of_type("thread.created")).await;
    assert!(signed_with(&created, &pms_secret), "{:?}", created.signature);
    assert!(!signed_with(&created, &crm_secret));
    assert_eq!(created.body["data"]["thread"]["id"], id.as_str());
    assert_eq!(created.body["data"]["thread"]["resident"]["unit"], "101");
    assert_eq!(created.body["data"]["message"]["body"], "Could I get my March receipt?");
    assert!(created.id.starts_with("msg_"), "{}", created.id);

    let path = format!("/v1/threads/{id}/messages");
    let (status, _) =
        w.post("admin-1", &path, json!({"body": "Note: tenant paid late twice", "internal": true})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = w.post("admin-1", &path, json!({"body": "Here it is, attached soon."})).await;
    assert_eq!(status, StatusCode::CREATED);
    let link = json!({"linked_record": {"kind": "invoice", "id": "INV-1042", "label": "March rent"}});
    let (status, _) = w.patch("admin-1", &format!("/v1/threads/{id}"), link).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = w
        .post("admin-1", &format!("/v1/threads/{id}/participants"), json!({"user_id": "bookkeeper-1"}))
        .await;
    assert!(status.is_success());

    let updated = pms.first("thread.updated", of_type("thread.updated")).await;
    assert_eq!(updated.body["data"]["thread"]["linked_record"]["id"], "INV-1042", "{}", updated.body);
    assert_eq!(updated.body["data"]["changed"], json!(["linked_record"]));
    let added = pms.first("participant.added", of_type("participant.added")).await;
    assert_eq!(added.body["data"]["user_id"], "bookkeeper-1");
    let reply =
        pms.first("the reply", |b| b["data"]["message"]["body"] == "Here it is, attached soon.").await;
    assert!(signed_with(&reply, &pms_secret));
    // The CRM asked for internal notes: it gets the note. An event's deliveries are all made
    // before any is sent, so once the CRM has it, the PMS's log shows whether it got one too.
    let note = crm.first("the internal note", |b| b["data"]["message"]["internal"] == true).await;
    assert!(signed_with(&note, &crm_secret));
    crm.first("the reply", |b| b["data"]["message"]["body"] == "Here it is, attached soon.").await;
    let pms_log = w.deliveries(&pms_id).await;
    assert!(pms_log.iter().any(|d| d["id"] == reply.id.as_str()), "the PMS's log is read: {pms_log:?}");
    assert!(
        pms_log.iter().all(|d| d["id"] != note.id.as_str()),
        "the PMS did not ask for internal notes: {pms_log:?}"
    );
    assert!(pms.all().iter().all(|g| g.body["data"]["message"]["internal"] != true));
    assert!(crm.all().iter().all(|g| g.body["type"] == "message.created"), "the CRM asked for messages only");
    let ids: Vec<String> = pms.all().iter().map(|g| g.id.clone()).collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "one delivery per event: {ids:?}");

    let log = w.delivery_settled(&pms_id, &reply.id).await;
    assert_eq!(log["state"], "delivered", "{log}");
    assert_eq!(log["attempts"][0]["status"], 200);
    assert_eq!(log["body"].as_str().unwrap(), reply.raw, "the log holds the body as sent");
}

#[tokio::test]
async fn failures_are_retried_with_the_same_id_retry_after_is_honoured_and_refusals_are_final() {
    let w = World::new().await;
    let flaky = Receiver::start().await;
    let refusing = Receiver::start().await;
    let (flaky_id, _) = w.webhook(&flaky.url, json!(["thread.created"]), false).await;
    let (refusing_id, _) = w.webhook(&refusing.url, json!(["thread.created"]), false).await;
    // The second retry's backoff is 4 s locally (±20 %): Retry-After asks for more.
    flaky.answer(&[(503, None), (429, Some("10"))]);
    refusing.answer(&[(400, None)]);

    w.start_thread("resident-1", "general", "Parking", "Is there a visitor spot?").await;
    let third = eventually(30, "the third attempt", || async {
        let got = flaky.all();
        (got.len() >= 3).then_some(got)
    })
    .await;
    assert!(third.iter().all(|g| g.id == third[0].id), "every retry has the same id: {third:?}");
    assert!(third.iter().all(|g| g.raw == third[0].raw), "and the same body");
    assert!(third[2].at - third[1].at >= Duration::from_millis(9_900), "Retry-After: 10 was honoured");
    let log = w.delivery_settled(&flaky_id, &third[0].id).await;
    assert_eq!(log["state"], "delivered", "{log}");
    let statuses: Vec<&Value> = log["attempts"].as_array().unwrap().iter().map(|a| &a["status"]).collect();
    assert_eq!(statuses, [&json!(503), &json!(429), &json!(200)]);

    let refused = refusing.first("the refused delivery", of_type("thread.created")).await;
    let log = w.delivery_settled(&refusing_id, &refused.id).await;
    assert_eq!(log["state"], "failed", "a 400 is final: {log}");
    assert_eq!(log["attempt_count"], 1);
    assert!(log.get("next_at").is_none(), "nothing more is scheduled: {log}");
    assert_eq!(refusing.all().len(), 1);

    // Redelivered by hand: the same id and body again.
    let path = format!("/v1/webhooks/{refusing_id}/deliveries/{}/redeliver", refused.id);
    let (status, pending) = w.post("admin-1", &path, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(pending["state"], "pending");
    let again = eventually(30, "the redelivery", || async {
        let got = refusing.all();
        (got.len() == 2).then(|| got[1].clone())
    })
    .await;
    assert_eq!((again.id.as_str(), again.raw.as_str()), (refused.id.as_str(), refused.raw.as_str()));
    assert_eq!(w.delivery_settled(&refusing_id, &refused.id).await["state"], "delivered");
    let (status, body) =
        w.post("admin-1", &format!("/v1/webhooks/{refusing_id}/deliveries/msg_x/redeliver"), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn addresses_inside_the_network_are_refused_and_only_the_orgs_admins_manage_webhooks() {
    let w = World::new().await;
    for (url, code) in [
        ("http://169.254.169.254/latest/meta-data/", "invalid_url"),
        ("https://169.254.169.254/latest/meta-data/", "forbidden_address"),
        ("https://[fd00:ec2::254]/", "forbidden_address"),
        ("https://10.0.0.8/hooks", "forbidden_address"),
        ("https://192.168.1.20/hooks", "forbidden_address"),
        ("https://[::ffff:10.0.0.8]/hooks", "forbidden_address"),
        ("http://pms.example.com/hooks", "invalid_url"),
        ("https://user:secret@pms.example.com/hooks", "invalid_url"),
        ("ftp://pms.example.com/", "invalid_url"),
    ] {
        let (status, body) =
            w.post("admin-1", "/v1/webhooks", json!({"url": url, "events": ["message.created"]})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(error_code(&body), code, "{url}");
    }
    let (status, body) =
        w.post("admin-1", "/v1/webhooks", json!({"url": "https://pms.example.com/", "events": []})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_events"));
    let (_, list) = w.get("admin-1", "/v1/webhooks").await;
    assert_eq!(list["items"], json!([]), "nothing refused was stored");

    for user in ["bookkeeper-1", "resident-1"] {
        let (status, body) = w
            .post(
                user,
                "/v1/webhooks",
                json!({"url": "https://pms.example.com/", "events": ["message.created"]}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}: {body}");
        let (status, _) = w.get(user, "/v1/webhooks").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (id, _) = w.webhook("https://pms.example.com/hooks", json!(["message.created"]), false).await;
    for path in [format!("/v1/webhooks/{id}/deliveries"), format!("/v1/webhooks/{id}/rotate")] {
        let method = if path.ends_with("rotate") { Method::POST } else { Method::GET };
        let (status, body) = w.call("admin-b", method, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another org's webhook: {body}");
    }
    let (status, _) = w.call("admin-b", Method::DELETE, &format!("/v1/webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) = w.get("admin-b", "/v1/webhooks").await;
    assert_eq!(theirs["items"], json!([]));

    for n in 1..10 {
        let url = format!("https://pms{n}.example.com/hooks");
        let (status, body) =
            w.post("admin-1", "/v1/webhooks", json!({"url": url, "events": ["thread.created"]})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = w
        .post(
            "admin-1",
            "/v1/webhooks",
            json!({"url": "https://one-more.example.com/", "events": ["thread.created"]}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "too_many_webhooks"));
    let (status, _) = w.call("admin-1", Method::DELETE, &format!("/v1/webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = w.get("admin-1", "/v1/webhooks").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn a_rotation_signs_with_both_secrets_and_an_endpoint_failing_for_days_is_disabled_and_its_admin_told()
{
    let w = World::new().await;
    let pms = Receiver::start().await;
    let (id, old) = w.webhook(&pms.url, json!(["thread.created"]), false).await;
    let (status, rotated) = w.post("admin-1", &format!("/v1/webhooks/{id}/rotate"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    w.start_thread("resident-1", "general", "Keys", "I lost my mailbox key").await;
    let got = pms.first("a delivery after the rotation", of_type("thread.created")).await;
    assert!(signed_with(&got, &new) && signed_with(&got, &old), "both sign: {}", got.signature);

    // The endpoint has failed since four days ago: the next failure disables it.
    let org = domain::OrgId::parse(w.org.as_str()).unwrap();
    let webhook_id = domain::WebhookId::parse(&id).unwrap();
    let mut stored = w.store.get_webhook(&org, &webhook_id).await.unwrap().unwrap();
    stored.failing_since = Some(chrono::Utc::now() - chrono::Duration::days(4));
    assert!(w.store.save_webhook(&stored).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    pms.answer(&[(500, None)]);
    w.start_thread("resident-1", "general", "Noise", "Loud music upstairs").await;
    let disabled = eventually(30, "the endpoint disabled", || async {
        let (_, list) = w.get("admin-1", "/v1/webhooks").await;
        list["items"].as_array().unwrap().iter().find(|h| h["disabled_at"].is_string()).cloned()
    })
    .await;
    assert_eq!(disabled["id"], id.as_str());
    let told = eventually(30, "the admin told", || async {
        let mail = sent_mail(&format!("admin-1@{}.example.com", w.org)).await;
        mail.into_iter().find(|m| m.contains("disabled") && m.contains(&pms.url))
    })
    .await;
    assert!(told.contains("enable"), "{told}");

    // What it misses while disabled is logged as failed, without a call, to redeliver later.
    let missed = w.start_thread("resident-1", "general", "Heating", "The radiator is cold").await;
    let log = eventually(30, "the missed delivery logged", || async {
        w.deliveries(&id).await.into_iter().find(|d| d["thread_id"] == missed.as_str())
    })
    .await;
    assert_eq!(log["state"], "failed", "{log}");
    assert_eq!(log["attempt_count"], 1, "{log}");
    assert_eq!(log["attempts"][0]["error"], "the endpoint is disabled", "{log}");
    assert!(log["attempts"][0].get("status").is_none(), "{log}");
    let missed_id = log["id"].as_str().unwrap().to_owned();
    assert!(pms.all().iter().all(|g| g.id != missed_id), "nothing is sent to a disabled endpoint");
    let redeliver = format!("/v1/webhooks/{id}/deliveries/{missed_id}/redeliver");
    let (status, body) = w.post("admin-1", &redeliver, json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "webhook_disabled"), "{body}");

    let (status, body) = w.post("admin-1", &format!("/v1/webhooks/{id}/enable"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["disabled_at"].is_null() && body.get("secret").is_none(), "{body}");
    let (status, body) = w.post("admin-1", &redeliver, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let got = pms.first("the missed delivery", |b| b["data"]["thread"]["id"] == missed.as_str()).await;
    assert_eq!(got.id, missed_id);
    assert_eq!(w.delivery_settled(&id, &missed_id).await["state"], "delivered");
}

#[tokio::test]
async fn a_new_endpoint_is_sent_to_at_once_by_the_instance_that_registered_it() {
    use app::webhooks::{deliver::Work, NewWebhook};
    use domain::webhook::WebhookEvent;

    let w = World::new().await;
    let instance = crate::housekeeping::Instance::new(&w).await;
    let pms = Receiver::start().await;
    let deliver = |event| {
        app::webhooks::handle(
            &instance.app,
            Work::Event(event),
            tokio::time::Instant::now() + Duration::from_secs(60),
        )
    };

    // Nobody subscribes: nothing is sent, and the instance now keeps that.
    let (_, event) = instance.resident_thread("The kitchen tap drips").await;
    deliver(event).await.unwrap();
    // The instance itself registers an endpoint.
    let new = NewWebhook {
        url: pms.url.clone(),
        events: vec![WebhookEvent::ThreadCreated],
        include_internal: false,
    };
    app::webhooks::create(&instance.app, &instance.user("admin-1").await, new).await.unwrap();
    let (id, event) = instance.resident_thread("The bathroom tap drips").await;
    deliver(event).await.unwrap();
    let sent: Vec<Value> = pms.all().into_iter().map(|g| g.body["data"]["thread"]["id"].clone()).collect();
    assert_eq!(sent, [json!(id)], "the second thread's, at once: not the list the instance kept before");
}
