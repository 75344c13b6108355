//! The harness: one local stack per test binary (emulator + API on free ports), and a
//! fresh pair of organizations per test so tests never see each other's data.

use std::sync::OnceLock;

use domain::OrgId;
use infra::{seed, token, Stack, StackOptions};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use store::{keys, Store};

pub struct StackInfo {
    pub url: String,
    pub endpoint: String,
    pub table: String,
}

/// Starts the stack once, on a thread that lives as long as the test process (the
/// emulator is tied to it and dies with it). `STACK_URL` + `AWS_ENDPOINT_URL` use a
/// running stack instead.
pub fn stack() -> &'static StackInfo {
    static STACK: OnceLock<StackInfo> = OnceLock::new();
    STACK.get_or_init(|| {
        if let (Ok(url), Ok(endpoint)) = (std::env::var("STACK_URL"), std::env::var("AWS_ENDPOINT_URL")) {
            return StackInfo { url, endpoint, table: "AppTable".into() };
        }
        spawn_stack(StackOptions { meter: Some(calls().clone()), ..StackOptions::default() })
    })
}

/// Every AWS call the main stack's functions make, with the function that made it
/// (`iam` checks them against template.yaml's policies).
pub fn calls() -> &'static infra::meter::CallMeter {
    static CALLS: OnceLock<infra::meter::CallMeter> = OnceLock::new();
    CALLS.get_or_init(infra::meter::CallMeter::actions_only)
}

/// A second API on the same emulator whose events topic never answers, with no consumers
/// of its own: an outage of the events topic, as the API sees it. Its SNS endpoint takes
/// connections and never replies, as an unreachable AWS endpoint does, so every publish
/// waits for the relay's own timeout (after the listener's backlog of 128 connections, its
/// connect timeout).
pub fn api_without_events() -> &'static StackInfo {
    static STACK: OnceLock<StackInfo> = OnceLock::new();
    STACK.get_or_init(|| {
        // Never accepted: the kernel completes the connections and nothing answers them.
        let silent = Box::leak(Box::new(std::net::TcpListener::bind("127.0.0.1:0").expect("a free port")));
        let silent = silent.local_addr().expect("the silent port");
        spawn_stack(StackOptions {
            seed: false,
            workers: false,
            emulator_endpoint: Some(stack().endpoint.clone()),
            relay_endpoint: Some(format!("http://{silent}")),
            ..StackOptions::default()
        })
    })
}

/// A third API on the same emulator, with no consumers of its own, whose AWS calls are
/// recorded apart from everything else's: one test at a time counts a request's round
/// trips on it (`round_trips`).
pub fn metered_api() -> &'static (StackInfo, infra::meter::CallMeter) {
    static STACK: OnceLock<(StackInfo, infra::meter::CallMeter)> = OnceLock::new();
    STACK.get_or_init(|| {
        let meter = infra::meter::CallMeter::actions_only();
        let info = spawn_stack(StackOptions {
            seed: false,
            workers: false,
            emulator_endpoint: Some(stack().endpoint.clone()),
            meter: Some(meter.clone()),
            ..StackOptions::default()
        });
        (info, meter)
    })
}

fn spawn_stack(opts: StackOptions) -> StackInfo {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            match Stack::start(opts).await {
                Ok(stack) => {
                    let info = StackInfo {
                        url: stack.url.clone(),
                        endpoint: stack.emulator.endpoint.clone(),
                        table: stack.store.table().to_owned(),
                    };
                    tx.send(Ok(info)).ok();
                    std::future::pending::<()>().await;
                    drop(stack);
                }
                Err(e) => {
                    tx.send(Err(format!("{e:#}"))).ok();
                }
            }
        });
    });
    rx.recv().expect("stack thread").unwrap_or_else(|e| panic!("local stack failed to start: {e}"))
}

/// Polls `check` until it returns `Some`, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "not within {secs}s: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A fresh organization laid out like `demo` (admin-1, bookkeeper-1, maint-1, security-1,
/// resident-1, resident-2) and a second one like `demo-b` (admin-b, resident-b).
pub struct World {
    pub url: String,
    pub org: String,
    pub other_org: String,
    pub store: Store,
    pub sqs: aws_sdk_sqs::Client,
    pub http: reqwest::Client,
}

impl World {
    pub async fn new() -> Self {
        // Server-side errors (logged by the API) show in a failing test's output.
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
        let info = stack();
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let org = format!("t-{id}");
        let other_org = format!("t-{id}-b");
        let sdk = infra::stack::sdk_config(&info.endpoint).await;
        let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), info.table.clone());
        seed::seed_demo_org(&store, &OrgId::parse(&org).unwrap()).await.unwrap();
        // Triage answers and escalates residents' messages: off here, so tests of other
        // things see only what they post; the triage tests turn it on (the other org keeps
        // the shipped settings).
        let off = domain::triage::TriageSettings { enabled: false, ..Default::default() };
        store.put_triage_settings(&OrgId::parse(&org).unwrap(), &off).await.unwrap();
        seed::seed_users(&store, &seed::other_org_users(&OrgId::parse(&other_org).unwrap())).await.unwrap();
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        Self { url: info.url.clone(), org, other_org, store, sqs, http: reqwest::Client::new() }
    }

    /// A valid token for a user of this world (`…-b` users belong to the other org).
    pub fn token(&self, user: &str) -> String {
        let org = if user.ends_with("-b") { &self.other_org } else { &self.org };
        token::mint(token::DEFAULT_SECRET, user, org, 600)
    }

    pub async fn call(
        &self,
        user: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(self.token(user));
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, user: &str, path: &str) -> (StatusCode, Value) {
        self.call(user, Method::GET, path, None).await
    }

    pub async fn post(&self, user: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(user, Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, user: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(user, Method::PATCH, path, Some(body)).await
    }

    pub async fn queue_url(&self, name: &str) -> String {
        self.sqs.get_queue_url().queue_name(name).send().await.unwrap().queue_url().unwrap().to_owned()
    }

    /// User ids of a thread's participants, as its resident sees them.
    pub async fn participants(&self, thread: &str) -> Vec<String> {
        let (_, t) = self.get("admin-1", &format!("/v1/threads/{thread}")).await;
        let mut ids: Vec<String> = t["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["user_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// Starts a thread as `user` and returns its id.
    pub async fn start_thread(&self, user: &str, topic: &str, subject: &str, body: &str) -> String {
        let (status, thread) = self
            .post(user, "/v1/threads", serde_json::json!({"topic": topic, "subject": subject, "body": body}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{thread}");
        thread["id"].as_str().unwrap().to_owned()
    }

    /// Ids of the threads in `user`'s list (`query` like `?folder=unread`).
    pub async fn thread_ids(&self, user: &str, query: &str) -> Vec<String> {
        let (status, page) = self.get(user, &format!("/v1/threads{query}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect()
    }

    /// Every timeline item of a thread as `user` sees it, following cursors.
    pub async fn timeline(&self, user: &str, thread: &str, limit: usize) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/threads/{thread}/messages?limit={limit}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = self.get(user, &path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
    }

    /// The messages of a thread (no events) as `user` sees them.
    pub async fn messages(&self, user: &str, thread: &str) -> Vec<Value> {
        self.timeline(user, thread, 100).await.into_iter().filter(|i| i["type"] == "message").collect()
    }

    /// Waits until the router has added `owner` to `thread`.
    pub async fn routed_to(&self, thread: &str, owner: &str) {
        eventually(45, &format!("{thread} routed to {owner}"), || async {
            self.participants(thread).await.contains(&owner.to_owned()).then_some(())
        })
        .await
    }

    /// The outbox events of this world's org, as the queues receive them (read from the
    /// table; tests only, a Scan).
    pub async fn outbox_events(&self) -> Vec<Value> {
        self.outbox_items().await.into_iter().map(|(event, _)| event).collect()
    }

    /// Waits until every outbox event of `thread` is settled: published, and, for a new
    /// thread, routed (the router's mark is written in the transaction that routes it, so
    /// no copy of the event still in a queue can change anything any more).
    pub async fn events_done(&self, thread: &str) {
        eventually(45, &format!("the events of {thread} done"), || async {
            let mine: Vec<bool> = self
                .outbox_items()
                .await
                .into_iter()
                .filter(|(e, _)| e["thread_id"] == thread)
                .map(|(_, settled)| settled)
                .collect();
            (!mine.is_empty() && mine.iter().all(|settled| *settled)).then_some(())
        })
        .await
    }

    /// This org's outbox events, each with whether it is settled (see [`Self::events_done`]).
    async fn outbox_items(&self) -> Vec<(Value, bool)> {
        let items = self.scan_prefix(&keys::outbox_prefix(&OrgId::parse(self.org.as_str()).unwrap())).await;
        let sk = |i: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
            i["sk"].as_s().unwrap().clone()
        };
        let routed: std::collections::HashSet<String> = items
            .iter()
            .filter(|i| sk(i) == keys::ROUTED_SK)
            .map(|i| i["pk"].as_s().unwrap().clone())
            .collect();
        items
            .iter()
            .filter(|i| sk(i) == keys::OUTBOX_SK)
            .map(|i| {
                let event = serde_dynamo::from_attribute_value::<_, Value>(i["data"].clone()).unwrap();
                let applied = event["kind"] != "thread_created" || routed.contains(i["pk"].as_s().unwrap());
                (event, i.contains_key("done_at") && applied)
            })
            .collect()
    }

    /// How many items of any kind the table holds for this world's main org's threads, but
    /// their audit chains' heads (the audit consumer writes one a while after a thread's
    /// first event, and moves it with every later one).
    pub async fn stored_thread_items(&self) -> usize {
        let items = self.scan_prefix(&keys::thread_prefix(&OrgId::parse(self.org.as_str()).unwrap())).await;
        items.iter().filter(|i| i["sk"].as_s().unwrap() != keys::AUDIT_HEAD_SK).count()
    }

    /// Every item whose `pk` starts with `prefix`, through every page (tests only: moto
    /// pages a Scan at 1 MB of the whole table, which every test fills).
    async fn scan_prefix(
        &self,
        prefix: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .store
                .client()
                .scan()
                .table_name(self.store.table())
                .filter_expression("begins_with(pk, :p)")
                .expression_attribute_values(
                    ":p",
                    aws_sdk_dynamodb::types::AttributeValue::S(prefix.to_owned()),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return items,
            }
        }
    }
}

/// The bodies of the e-mails the emulator's SES accepted for `to`, oldest first.
pub async fn sent_mail(to: &str) -> Vec<String> {
    sent_mails(to).await.iter().map(|m| m["body"].as_str().unwrap_or_default().to_owned()).collect()
}

/// The e-mails the emulator's SES accepted for `to` (`{to, subject, body, headers}`), oldest
/// first.
pub async fn sent_mails(to: &str) -> Vec<Value> {
    let url = format!("{}/_local/ses/sent", stack().endpoint);
    let sent: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    sent["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"].as_array().unwrap().iter().any(|a| a == to))
        .cloned()
        .collect()
}

/// The token of the newest invitation link e-mailed to `to`.
pub async fn invite_token(to: &str) -> String {
    let mail = sent_mail(to).await;
    let text = mail.last().unwrap_or_else(|| panic!("no e-mail to {to}"));
    text.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
}

pub async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Asserts the documented error shape and returns its code.
pub fn error_code(body: &Value) -> &str {
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error body: {body}"));
    assert!(body["error"]["message"].is_string(), "error without message: {body}");
    code
}

/// A message written through the store as the post use case writes it (its event left in
/// the outbox: published only by the repair job, a while later).
pub struct StorePost<'a> {
    pub author: &'a str,
    pub author_name: &'a str,
    pub role: domain::Role,
    pub body: &'a str,
    pub internal: bool,
    /// Whether its event carries the message's notice (events before stop 37 did not).
    pub notice: bool,
}

impl World {
    /// An UpdateItem of `thread`'s own item, straight on the table: to leave it as another
    /// release did.
    pub fn update_thread_item(
        &self,
        thread: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        use aws_sdk_dynamodb::types::AttributeValue;
        use store::keys;
        let (org, thread) =
            (domain::OrgId::parse(&self.org).unwrap(), domain::ThreadId::parse(thread).unwrap());
        self.store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key(keys::PK, AttributeValue::S(keys::thread_pk(&org, &thread)))
            .key(keys::SK, AttributeValue::S(keys::META_SK.into()))
    }

    /// Posts `post` from `view` (read whenever the caller read it): the message, its event,
    /// and whether it was posted.
    pub async fn post_through_store(
        &self,
        view: store::ThreadView,
        post: StorePost<'_>,
    ) -> (store::MessageRecord, domain::events::OutboxEvent, bool) {
        post_through(&self.store, view, post).await
    }
}

/// Posts `post` from `view` through `store`: the message, its event, and whether it was
/// posted.
pub async fn post_through(
    store: &store::Store,
    view: store::ThreadView,
    post: StorePost<'_>,
) -> (store::MessageRecord, domain::events::OutboxEvent, bool) {
    // Ids are by the millisecond: after the message before it.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    post_through_at(store, view, post, chrono::Utc::now()).await
}

/// As [`post_through`], the message written at `at`.
pub async fn post_through_at(
    store: &store::Store,
    view: store::ThreadView,
    post: StorePost<'_>,
    at: chrono::DateTime<chrono::Utc>,
) -> (store::MessageRecord, domain::events::OutboxEvent, bool) {
    use domain::events::{OutboxEvent, OutboxKind};
    let ms = u64::try_from(at.timestamp_millis()).unwrap();
    let message = store::MessageRecord {
        id: domain::MessageId::new_at(ms),
        thread_id: view.thread.summary.id,
        author_id: domain::UserId::parse(post.author).unwrap(),
        author_name: post.author_name.into(),
        body: domain::MessageBody::parse(post.body).unwrap(),
        attachments: vec![],
        internal: post.internal,
        created_at: at,
        automated: false,
        automated_kind: None,
    };
    let mut event = OutboxEvent {
        id: domain::EventId::new_at(ms),
        org: view.thread.org.clone(),
        thread_id: view.thread.summary.id,
        at,
        kind: OutboxKind::MessagePosted {
            message_id: message.id,
            author_id: message.author_id.clone(),
            internal: post.internal,
            reopened: false,
            author_role: Some(post.role),
            notice: post.notice.then(|| message.notice()),
            answers: None,
            author_state: None,
        },
    };
    let posting = domain::response::Posting {
        id: message.id,
        by_resident: post.author == view.thread.summary.resident.id.as_str(),
        role: post.role,
        internal: post.internal,
        automated: false,
        status: view.thread.summary.status,
    };
    let new = store::NewPost {
        message: &message,
        posting,
        event: &mut event,
        attachments: &[],
        idempotency: None,
        expected_last: None,
        auto_reply_for: None,
    };
    let posted = matches!(store.post_message(view, new).await.unwrap(), store::PostOutcome::Posted);
    (message, event, posted)
}
