//! `make load` and `make chaos`: many residents and staff at once against the local stack
//! (workers on), then proof that every acknowledged message is stored exactly once and in
//! order, and, once the queues drain, notified exactly once per recipient.
//!
//! Chaos runs the same load against a second API on the same emulator whose AWS clients go
//! through loopback proxies ([`CutProxy`]); the first stack keeps the consumers and jobs on
//! the emulator directly, and that API's AWS calls carry the deployed timeouts
//! (`app::aws_timeouts`). During the load the proxies are cut twice: once everything the
//! API reaches (DynamoDB, S3, SNS), once only its event publishes; refusing connections, or with
//! `CHAOS_MODE=stall` holding them unanswered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::notify::{Channel, NotificationDefaults};
use domain::{OrgId, Role, User, UserId};
use reqwest::Method;
use serde_json::{json, Value};
use store::{keys, EventKind, Store, TimelineItem};

use crate::emulator::Emulator;
use crate::proxy::{CutProxy, Mode};
use crate::stack::queue_depth;
use crate::webhook_sink::WebhookSink;
use crate::{seed, token, Stack, StackOptions};

/// What a run does; [`Config::from_env`] reads it from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long the load runs (`LOAD_SECS`).
    pub secs: u64,
    /// Users acting at once, each one a task (`LOAD_CONCURRENCY`).
    pub concurrency: usize,
    /// How long to wait for the queues and notifications to drain (`LOAD_DRAIN_SECS`).
    pub drain_secs: u64,
    /// A request without an answer after this is a hang (`LOAD_TIMEOUT_SECS`).
    pub request_timeout: Duration,
    /// Outages to play during the load (`make chaos`); none for `make load`.
    pub outages: Vec<Outage>,
    /// How a cut behaves (`CHAOS_MODE`: `refuse`, the default, or `stall`).
    pub cut: Mode,
}

/// One cut of the API's way to AWS.
#[derive(Debug, Clone)]
pub struct Outage {
    pub what: OutageKind,
    /// From the start of the load.
    pub at: Duration,
    pub length: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageKind {
    /// DynamoDB, S3 and SNS: the whole emulator, as the API sees it.
    Everything,
    /// Only the API's event publishes (the outbox relay).
    EventsOnly,
}

impl OutageKind {
    fn label(self) -> &'static str {
        match self {
            Self::Everything => "whole emulator (DynamoDB, S3, SNS)",
            Self::EventsOnly => "events topic only",
        }
    }
}

impl Config {
    /// `LOAD_SECS` (default `default_secs`), `LOAD_CONCURRENCY` (16), `LOAD_DRAIN_SECS`
    /// (180), `LOAD_TIMEOUT_SECS` (30); with `chaos`, two outages of `CHAOS_OUTAGE_SECS`
    /// (5): everything at a fifth of the run, SQS only at three fifths; `CHAOS_MODE`
    /// `stall` makes the cut proxies hold connections instead of refusing them.
    pub fn from_env(default_secs: u64, chaos: bool) -> anyhow::Result<Self> {
        let num = |name: &str, default: u64| crate::cli::env_or(name, default).map(|n| n.max(1));
        let secs = num("LOAD_SECS", default_secs)?;
        let length = Duration::from_secs(num("CHAOS_OUTAGE_SECS", 5)?);
        let outages = if chaos {
            vec![
                Outage { what: OutageKind::Everything, at: Duration::from_secs(secs) / 5, length },
                Outage { what: OutageKind::EventsOnly, at: Duration::from_secs(secs) * 3 / 5, length },
            ]
        } else {
            vec![]
        };
        Ok(Self {
            secs,
            concurrency: usize::try_from(num("LOAD_CONCURRENCY", 16)?)?,
            drain_secs: num("LOAD_DRAIN_SECS", 180)?,
            request_timeout: Duration::from_secs(num("LOAD_TIMEOUT_SECS", 30)?),
            outages,
            cut: match std::env::var("CHAOS_MODE").as_deref() {
                Ok("stall") => Mode::Stall,
                _ => Mode::Refuse,
            },
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Op {
    CreateThread,
    PostMessage,
    ListInbox,
    OpenThread,
    ListMessages,
    MarkRead,
    ScheduleMessage,
}

impl Op {
    const ALL: [Op; 7] = [
        Op::CreateThread,
        Op::PostMessage,
        Op::ListInbox,
        Op::OpenThread,
        Op::ListMessages,
        Op::MarkRead,
        Op::ScheduleMessage,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::CreateThread => "create thread",
            Op::PostMessage => "post message",
            Op::ListInbox => "list inbox",
            Op::OpenThread => "open thread",
            Op::ListMessages => "list messages",
            Op::MarkRead => "mark read",
            Op::ScheduleMessage => "schedule message",
        }
    }
}

/// What the client got back.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// An HTTP answer: status, error code, and whether a non-2xx body has the documented
    /// shape `{"error":{"code","message"}}` (2xx: always true).
    Answered {
        status: u16,
        code: Option<String>,
        shaped: bool,
    },
    Timeout,
    Transport(String),
}

impl Outcome {
    fn label(&self) -> String {
        match self {
            Outcome::Answered { status, code: Some(code), shaped: true } => format!("{status} {code}"),
            Outcome::Answered { status, shaped: false, .. } => format!("{status} (undocumented body)"),
            Outcome::Answered { status, .. } => status.to_string(),
            Outcome::Timeout => "timeout".into(),
            Outcome::Transport(_) => "connection error".into(),
        }
    }

    fn success(&self) -> bool {
        matches!(self, Outcome::Answered { status, .. } if (200..300).contains(status))
    }

    /// An answer after which the write may or may not have happened.
    fn ambiguous(&self) -> bool {
        match self {
            Outcome::Answered { status, .. } => *status >= 500 || *status == 409 || *status == 429,
            Outcome::Timeout | Outcome::Transport(_) => true,
        }
    }
}

struct Sample {
    op: Op,
    /// When the request was sent, from the start of the load.
    start: Duration,
    latency: Duration,
    outcome: Outcome,
}

/// A write the API did not acknowledge, known by its unique text.
#[derive(Debug, Clone)]
struct Unacked {
    op: Op,
    user: String,
    thread: Option<String>,
    text: String,
    /// The request's body and Idempotency-Key, to send it again.
    body: Value,
    key: Option<String>,
    outcome: Outcome,
}

#[derive(Default, Clone)]
struct Ledger {
    /// Acknowledged threads: id → (creator, subject).
    threads: BTreeMap<String, (String, String)>,
    /// Acknowledged messages: id → (thread, author, body).
    messages: HashMap<String, (String, String, String)>,
    unacked: Vec<Unacked>,
    /// Writes acknowledged only when retried after the load with their Idempotency-Key:
    /// (message id, whether the answer was the first attempt's message).
    retried: Vec<(String, bool)>,
    /// Acknowledged scheduled messages (202): id → (thread, author, body); each must be
    /// posted exactly once by the end.
    scheduled: BTreeMap<String, (String, String, String)>,
}

impl Ledger {
    fn acknowledge_thread(&mut self, thread: &str, first: &str, user: &str, text: &str) {
        self.threads.insert(thread.to_owned(), (user.to_owned(), text.to_owned()));
        self.messages.insert(first.to_owned(), (thread.to_owned(), user.to_owned(), text.to_owned()));
    }
}

struct Ctx {
    http: reqwest::Client,
    url: String,
    tokens: HashMap<String, String>,
    t0: Instant,
    deadline: Instant,
    samples: Mutex<Vec<Sample>>,
    ledger: Mutex<Ledger>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Ctx {
    /// One request, recorded as a sample; the answer's body when there is one.
    async fn call(
        &self,
        op: Op,
        user: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (Outcome, Value) {
        let (outcome, value, start, latency) =
            request(&self.http, &self.url, &self.tokens[user], method, path, body, key).await;
        let start = start.saturating_duration_since(self.t0);
        lock(&self.samples).push(Sample { op, start, latency, outcome: outcome.clone() });
        // Like a real client, wait a moment after "briefly unavailable" before going on.
        if matches!(outcome, Outcome::Answered { status: 503, .. } | Outcome::Timeout | Outcome::Transport(_))
        {
            tokio::time::sleep(BACKOFF).await;
        }
        (outcome, value)
    }
}

async fn request(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> (Outcome, Value, Instant, Duration) {
    let mut req = http.request(method, format!("{url}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let start = Instant::now();
    let answer = match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            resp.text().await.map(|text| (status, text))
        }
        Err(e) => Err(e),
    };
    let latency = start.elapsed();
    let (outcome, value) = match answer {
        Ok((status, text)) => {
            let value = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            let success = (200..300).contains(&status);
            let code = value.pointer("/error/code").and_then(Value::as_str).map(str::to_owned);
            let shaped = success || documented_error(&value);
            (Outcome::Answered { status, code, shaped }, value)
        }
        Err(e) if e.is_timeout() => (Outcome::Timeout, Value::Null),
        Err(e) => (Outcome::Transport(format!("{e:#}")), Value::Null),
    };
    (outcome, value, start, latency)
}

/// `{"error":{"code":"snake_case","message":"…"}}` and nothing else.
fn documented_error(body: &Value) -> bool {
    let Some(outer) = body.as_object() else { return false };
    let Some(error) = outer.get("error").and_then(Value::as_object) else { return false };
    let code_ok = error
        .get("code")
        .and_then(Value::as_str)
        .is_some_and(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'));
    outer.len() == 1 && error.len() == 2 && code_ok && error.get("message").is_some_and(Value::is_string)
}

/// A small deterministic generator (xorshift), enough to vary what users do.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n.max(1) as u64).unwrap_or(0)
    }
}

/// The API functions' timeout in template.yaml: a request in AWS cannot take longer.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a user waits after a 503 (or no answer) before doing anything else.
const BACKOFF: Duration = Duration::from_secs(1);

const TOPICS: [&str; 4] = ["billing", "maintenance", "parking", "general"];
const STAFF: [&str; 4] = ["admin-1", "maint-1", "bookkeeper-1", "security-1"];

/// A thread a user knows, with the newest message they know of in it.
type Known = Vec<(String, Option<String>)>;

fn remember(known: &mut Known, thread: &str, message: Option<String>) {
    match known.iter_mut().find(|(t, _)| t == thread) {
        Some(entry) => {
            if message.is_some() {
                entry.1 = message;
            }
        }
        None => known.push((thread.to_owned(), message)),
    }
}

async fn resident(ctx: Arc<Ctx>, user: String, seed: u64) {
    let mut rng = Rng(seed);
    let mut threads: Known = Vec::new();
    let mut n = 0u32;
    while Instant::now() < ctx.deadline {
        n += 1;
        let text = format!("load {user} #{n}");
        let roll = rng.below(100);
        if threads.is_empty() || roll < 12 {
            let topic = TOPICS[rng.below(TOPICS.len())];
            // Priority is staff work (residents setting it are refused): staff raise it below.
            let body = json!({"topic": topic, "subject": text, "body": text});
            if let Some(created) = create_thread(&ctx, &user, text, body).await {
                threads.push(created);
            }
            continue;
        }
        let (thread, last) = threads[rng.below(threads.len())].clone();
        match roll {
            12..=51 => {
                if let Some(id) = post(&ctx, &user, &thread, text, false).await {
                    remember(&mut threads, &thread, Some(id));
                }
            }
            52..=66 => {
                ctx.call(Op::ListInbox, &user, Method::GET, "/v1/threads?limit=25", None, None).await;
            }
            67..=78 => {
                let newest = open_thread(&ctx, &user, &thread).await;
                remember(&mut threads, &thread, newest);
            }
            79..=90 => list_messages(&ctx, &user, &thread).await,
            _ => mark_read(&ctx, &user, &thread, last).await,
        }
    }
}

async fn staff(ctx: Arc<Ctx>, user: String, seed: u64) {
    let mut rng = Rng(seed);
    let mut inbox: Known = Vec::new();
    let mut n = 0u32;
    while Instant::now() < ctx.deadline {
        n += 1;
        let roll = rng.below(100);
        if inbox.is_empty() || roll < 20 {
            let folder = if rng.below(2) == 0 { "&folder=unread" } else { "" };
            let path = format!("/v1/threads?limit=25{folder}");
            let (outcome, page) = ctx.call(Op::ListInbox, &user, Method::GET, &path, None, None).await;
            if outcome.success() {
                let listed: Known = page["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| {
                        let id = t["id"].as_str()?.to_owned();
                        Some((id, t.pointer("/last_message/id").and_then(Value::as_str).map(str::to_owned)))
                    })
                    .collect();
                if !listed.is_empty() {
                    inbox = listed;
                }
            }
            if inbox.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            continue;
        }
        let (thread, last) = inbox[rng.below(inbox.len())].clone();
        match roll {
            20..=25 => {
                // Due within the load (across the outages), so the schedule posts it then.
                let text = format!("load {user} #{n} scheduled");
                schedule(&ctx, &user, &thread, text, 2 + rng.below(6)).await;
            }
            26..=59 => {
                let internal = rng.below(10) == 0;
                let text = format!("load {user} #{n}");
                if let Some(id) = post(&ctx, &user, &thread, text, internal).await {
                    remember(&mut inbox, &thread, Some(id));
                }
            }
            60..=71 => {
                let newest = open_thread(&ctx, &user, &thread).await;
                remember(&mut inbox, &thread, newest);
            }
            72..=87 => list_messages(&ctx, &user, &thread).await,
            _ => mark_read(&ctx, &user, &thread, last).await,
        }
    }
}

/// Opens a thread; its newest message when answered.
async fn open_thread(ctx: &Ctx, user: &str, thread: &str) -> Option<String> {
    let (_, t) =
        ctx.call(Op::OpenThread, user, Method::GET, &format!("/v1/threads/{thread}"), None, None).await;
    t.pointer("/last_message/id").and_then(Value::as_str).map(str::to_owned)
}

async fn list_messages(ctx: &Ctx, user: &str, thread: &str) {
    let path = format!("/v1/threads/{thread}/messages?limit=25");
    ctx.call(Op::ListMessages, user, Method::GET, &path, None, None).await;
}

/// Marks read up to the newest message the user knows of (none known: nothing to do).
async fn mark_read(ctx: &Ctx, user: &str, thread: &str, last: Option<String>) {
    if let Some(last) = last {
        let path = format!("/v1/threads/{thread}/read");
        let body = json!({"message_id": last});
        ctx.call(Op::MarkRead, user, Method::POST, &path, Some(body), None).await;
    }
}

/// The Idempotency-Key of a write: its text is unique per user.
fn idempotency_key(text: &str) -> String {
    text.replace([' ', '#'], "-")
}

/// Starts a thread with an Idempotency-Key; (thread, first message) when acknowledged.
async fn create_thread(ctx: &Ctx, user: &str, text: String, body: Value) -> Option<(String, Option<String>)> {
    let key = idempotency_key(&text);
    let (outcome, thread) =
        ctx.call(Op::CreateThread, user, Method::POST, "/v1/threads", Some(body.clone()), Some(&key)).await;
    let ids = (thread["id"].as_str(), thread.pointer("/last_message/id").and_then(Value::as_str));
    let mut ledger = lock(&ctx.ledger);
    match ids {
        (Some(id), Some(first)) if outcome.success() => {
            ledger.acknowledge_thread(id, first, user, &text);
            Some((id.to_owned(), Some(first.to_owned())))
        }
        _ => {
            let (op, thread, key) = (Op::CreateThread, None, Some(key));
            ledger.unacked.push(Unacked { op, user: user.to_owned(), thread, text, body, key, outcome });
            None
        }
    }
}

/// Posts with an Idempotency-Key; the message id when acknowledged.
async fn post(ctx: &Ctx, user: &str, thread: &str, text: String, internal: bool) -> Option<String> {
    let key = idempotency_key(&text);
    let path = format!("/v1/threads/{thread}/messages");
    let body = json!({"body": text, "internal": internal});
    let (outcome, msg) =
        ctx.call(Op::PostMessage, user, Method::POST, &path, Some(body.clone()), Some(&key)).await;
    let mut ledger = lock(&ctx.ledger);
    match msg["id"].as_str() {
        Some(id) if outcome.success() => {
            ledger.messages.insert(id.to_owned(), (thread.to_owned(), user.to_owned(), text));
            Some(id.to_owned())
        }
        _ => {
            ledger.unacked.push(Unacked {
                op: Op::PostMessage,
                user: user.to_owned(),
                thread: Some(thread.to_owned()),
                text,
                body,
                key: Some(key),
                outcome,
            });
            None
        }
    }
}

/// Schedules a message `secs` ahead (no Idempotency-Key: scheduling takes none).
async fn schedule(ctx: &Ctx, user: &str, thread: &str, text: String, secs: usize) {
    let path = format!("/v1/threads/{thread}/messages");
    let send_at = Utc::now() + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(2));
    let body = json!({"body": text, "send_at": send_at.to_rfc3339()});
    let (outcome, scheduled) =
        ctx.call(Op::ScheduleMessage, user, Method::POST, &path, Some(body.clone()), None).await;
    let mut ledger = lock(&ctx.ledger);
    match scheduled["id"].as_str() {
        Some(id) if outcome.success() => {
            ledger.scheduled.insert(id.to_owned(), (thread.to_owned(), user.to_owned(), text));
        }
        _ => {
            let (op, thread) = (Op::ScheduleMessage, Some(thread.to_owned()));
            ledger.unacked.push(Unacked {
                op,
                user: user.to_owned(),
                thread,
                text,
                body,
                key: None,
                outcome,
            });
        }
    }
}

/// Every acknowledged scheduled message must have been sent: its message joins the
/// acknowledged ones (checked stored exactly once, notified exactly once).
async fn settle_scheduled(ctx: &Ctx, url: &str, findings: &mut Findings) -> anyhow::Result<()> {
    let scheduled = lock(&ctx.ledger).scheduled.clone();
    let mut unsent = BTreeMap::<String, usize>::new();
    for (id, (thread, author, text)) in &scheduled {
        let s = get(&ctx.http, url, &ctx.tokens[author], &format!("/v1/scheduled/{id}")).await?;
        match (s["status"].as_str(), s["message_id"].as_str()) {
            (Some("sent"), Some(message)) => {
                let entry = (thread.clone(), author.clone(), text.clone());
                lock(&ctx.ledger).messages.insert(message.to_owned(), entry);
            }
            (status, _) => *unsent.entry(format!("{status:?} {}", s["reason"])).or_default() += 1,
        }
    }
    println!(
        "
scheduled messages acknowledged: {}; sent: {}",
        scheduled.len(),
        scheduled.len() - unsent.values().sum::<usize>()
    );
    for (state, n) in unsent {
        findings.fail(format!("{n} acknowledged scheduled messages not sent: {state}"));
    }
    Ok(())
}

/// A finding that fails the run.
struct Findings(Vec<String>);

impl Findings {
    fn fail(&mut self, what: impl Into<String>) {
        self.0.push(what.into());
    }
}

/// The `p` quantile (0–1) of sorted durations; zero for none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// Resident set size and its peak of a process, in MiB, from /proc.
fn rss(pid: Option<u32>) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The users of the load org: the demo layout plus residents up to `residents`, each with
/// their own phone number (notifications go out by SMS to the recording sink).
fn load_users(org: &OrgId, residents: usize) -> Vec<User> {
    let mut users = seed::demo_users(org);
    let template = users.iter().find(|u| u.role == Role::Resident).cloned().expect("the demo has residents");
    for i in 3..=residents {
        let id = format!("resident-{i}");
        users.push(User {
            id: UserId::parse(&id).expect("valid id"),
            name: format!("Resident {i}"),
            unit: Some(format!("{}", 100 + i)),
            email: Some(format!("{id}@{org}.example.com")),
            ..template.clone()
        });
    }
    for (i, u) in users.iter_mut().enumerate() {
        u.phone = Some(format!("+1514555{:04}", 1000 + i));
    }
    users
}

/// A webhook endpoint for every thread and message (internal notes too) of the load's org,
/// registered by its admin.
async fn register_receiver(stack: &Stack, users: &[User]) -> anyhow::Result<WebhookSink> {
    use domain::webhook::WebhookEvent;
    let receiver = WebhookSink::start().await?;
    let admin = users.iter().find(|u| u.role == Role::FacilityAdmin).context("the load has an admin")?;
    let new = app::webhooks::NewWebhook {
        url: receiver.url.clone(),
        events: vec![WebhookEvent::ThreadCreated, WebhookEvent::MessageCreated],
        include_internal: true,
    };
    app::webhooks::create(&stack.app, admin, new).await.map_err(|e| anyhow::anyhow!("registering: {e}"))?;
    Ok(receiver)
}

fn receiver_outage(config: &Config) -> Duration {
    config.outages.first().map_or(Duration::from_secs(10), |o| o.length * 2)
}

/// Every stored message reached the receiver (which was down for a while) under one
/// `webhook-id`: nothing lost, duplicates only as retries of the same id.
async fn verify_webhooks(receiver: &WebhookSink, stored: &Stored, findings: &mut Findings) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let missing = loop {
        let taken = receiver.taken_by_message();
        let missing: Vec<&String> = stored.messages.keys().filter(|m| !taken.contains_key(*m)).collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing.len();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let received = receiver.received();
    let refused = received.iter().filter(|r| r.refused).count();
    let taken = receiver.taken_by_message();
    let ids: HashSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
    let again = received.len() - ids.len();
    let twice_taken: usize = taken.values().map(|ids| ids.len().saturating_sub(1)).sum();
    println!(
        "\nwebhooks: {} requests for {} deliveries ({refused} answered 503 while the receiver was down, \
         {again} retries with the same id); {} of {} stored messages received, {twice_taken} taken twice",
        received.len(),
        ids.len(),
        taken.len(),
        stored.messages.len()
    );
    if missing > 0 {
        findings.fail(format!("{missing} stored messages never reached the webhook receiver"));
    }
    for (message, ids) in &taken {
        if ids.iter().any(|id| *id != ids[0]) {
            findings.fail(format!("message {message} was delivered under two webhook ids: {ids:?}"));
        }
    }
    if refused == 0 {
        findings.fail("the webhook receiver refused nothing: its outage did not happen");
    }
}

/// Runs the load (and the outages), verifies, prints the report. `Ok(true)`: PASS.
pub async fn run(config: Config) -> anyhow::Result<bool> {
    let chaos = !config.outages.is_empty();
    let started = Instant::now();
    let emulator = Emulator::start(0)?;
    let stack = Stack::start(StackOptions {
        emulator_endpoint: Some(emulator.endpoint.clone()),
        ..StackOptions::default()
    })
    .await
    .context("starting the local stack")?;
    // Chaos: a second API on the same emulator, every AWS call of it through a proxy (its
    // event publishes through their own), without consumers of its own.
    let mut proxies = None;
    let api_url = if chaos {
        let upstream = emulator.endpoint.trim_start_matches("http://").to_owned();
        let aws = CutProxy::start(&upstream).await?;
        let events = CutProxy::start(&upstream).await?;
        let api = Stack::start(StackOptions {
            seed: false,
            workers: false,
            emulator_endpoint: Some(aws.endpoint()),
            relay_endpoint: Some(events.endpoint()),
            // Bounded as the deployed functions are, so a stalled call ends in a 503.
            aws_timeouts: Some(app::aws_timeouts()),
            ..StackOptions::default()
        })
        .await
        .context("starting the API behind the proxies")?;
        let url = api.url.clone();
        proxies = Some((aws, events, api));
        url
    } else {
        stack.url.clone()
    };

    let staff_count = if config.concurrency >= 8 { STAFF.len() } else { (config.concurrency / 4).max(1) };
    let resident_count = config.concurrency.saturating_sub(staff_count).max(1);
    let org = OrgId::parse(format!("load-{}", Utc::now().timestamp_millis())).context("org id")?;
    let users = load_users(&org, resident_count.max(2));
    seed::seed_users(&stack.store, &users).await?;
    stack.store.put_routing(&org, &seed::demo_routing()).await?;
    let sms_first = NotificationDefaults { default_channels: vec![Channel::Sms, Channel::Email] };
    stack.store.put_notification_defaults(&org, &sms_first).await?;
    let secret = token::secret();
    let tokens: HashMap<String, String> = users
        .iter()
        .map(|u| (u.id.to_string(), token::mint(&secret, u.id.as_str(), org.as_str(), 6 * 3600)))
        .collect();
    // Chaos: an endpoint takes every message; it is down for a while mid-run.
    let receiver = match chaos {
        true => Some(register_receiver(&stack, &users).await?),
        false => None,
    };
    let pid = emulator.pid();
    let mut memory = vec![("before the load", rss(pid))];

    println!(
        "{}: {} s, {} users at once ({} residents, {} staff), org {org}, API {api_url}",
        if chaos { "chaos" } else { "load" },
        config.secs,
        resident_count + staff_count,
        resident_count,
        staff_count
    );
    for o in &config.outages {
        println!(
            "  outage planned: {} at {:?} for {:?}, connections {:?}",
            o.what.label(),
            o.at,
            o.length,
            config.cut
        );
    }

    let http = reqwest::Client::builder().timeout(config.request_timeout).build()?;
    let t0 = Instant::now();
    let ctx = Arc::new(Ctx {
        http,
        url: api_url.clone(),
        tokens,
        t0,
        deadline: t0 + Duration::from_secs(config.secs),
        samples: Mutex::default(),
        ledger: Mutex::default(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (i, user) in STAFF.iter().take(staff_count).enumerate() {
        tasks.spawn(staff(ctx.clone(), (*user).to_owned(), 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1)));
    }
    for i in 0..resident_count {
        let user = format!("resident-{}", i + 1);
        tasks.spawn(resident(ctx.clone(), user, 0x2545_f491_4f6c_dd1d ^ (i as u64 + 101)));
    }
    let windows = match &proxies {
        Some((aws, events, _)) => {
            let (aws, events, plan, cut) = (aws.clone(), events.clone(), config.outages.clone(), config.cut);
            Some(tokio::spawn(async move {
                let mut windows = Vec::new();
                for o in plan {
                    tokio::time::sleep_until((t0 + o.at).into()).await;
                    let from = t0.elapsed();
                    if o.what == OutageKind::Everything {
                        aws.set(cut);
                    }
                    events.set(cut);
                    tokio::time::sleep(o.length).await;
                    aws.set(Mode::Forward);
                    events.set(Mode::Forward);
                    windows.push((o.what, from, t0.elapsed()));
                }
                windows
            }))
        }
        None => None,
    };
    if let Some(receiver) = receiver.clone() {
        // Between the two AWS outages, twice as long as each.
        let (at, length) = (Duration::from_secs(config.secs) * 2 / 5, receiver_outage(&config));
        tokio::spawn(async move {
            tokio::time::sleep_until((t0 + at).into()).await;
            receiver.set_down(true);
            tokio::time::sleep(length).await;
            receiver.set_down(false);
        });
        println!("  outage planned: the webhook receiver (503) at {at:?} for {length:?}");
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a load task panicked")?;
    }
    let elapsed = t0.elapsed();
    memory.push(("after the load", rss(pid)));
    let windows = match windows {
        Some(w) => w.await.context("the outage task panicked")?,
        None => vec![],
    };

    let mut findings = Findings(Vec::new());
    let samples = std::mem::take(&mut *lock(&ctx.samples));
    report_requests(&samples, elapsed, &ctx, &mut findings);
    report_outages(&samples, &windows, &mut findings);

    // The documented recovery from an ambiguous answer: the same post again, same key.
    let retry_start = Instant::now();
    retry_ambiguous_writes(&ctx, &stack.url).await?;
    let retry_secs = retry_start.elapsed().as_secs_f64();

    let drain_start = Instant::now();
    if drain(&stack, Duration::from_secs(config.drain_secs)).await? {
        let secs = drain_start.elapsed().as_secs_f64();
        println!(
            "\ndrain: queues, outbox, notification buckets and scheduled messages empty after {secs:.1} s"
        );
        memory.push(("drained", rss(pid)));
    } else {
        findings.fail(format!("queues, outbox or notifications not drained within {} s", config.drain_secs));
    }

    let verify_start = Instant::now();
    settle_scheduled(&ctx, &stack.url, &mut findings).await?;
    let stored = verify_stored(&ctx, &stack.url, &mut findings).await?;
    verify_notified(&stack, &org, &users, &stored, &mut findings).await?;
    verify_outbox_done(&stack, &org, &mut findings).await?;
    if let Some(receiver) = &receiver {
        verify_webhooks(receiver, &stored, &mut findings).await;
    }

    memory.push(("after verification", rss(pid)));
    match pid {
        Some(pid) => {
            let at: Vec<String> = memory
                .iter()
                .filter_map(|(when, m)| m.map(|(rss, _)| format!("{rss:.0} MiB {when}")))
                .collect();
            let peak = memory.iter().filter_map(|(_, m)| m.map(|(_, peak)| peak)).fold(0.0, f64::max);
            println!("\nemulator RSS (pid {pid}): {}; peak {peak:.0} MiB", at.join(", "));
        }
        None => println!("\nemulator RSS: unknown (an emulator this run did not start)"),
    }
    println!(
        "phases: start-up {:.1} s, load {:.1} s, retries {retry_secs:.1} s, drain {:.1} s, verification {:.1} s",
        (t0 - started).as_secs_f64(),
        elapsed.as_secs_f64(),
        (verify_start - drain_start).as_secs_f64(),
        verify_start.elapsed().as_secs_f64()
    );
    drop(proxies);

    println!();
    if findings.0.is_empty() {
        println!("PASS: every acknowledged message stored exactly once and in order, notified exactly once");
        Ok(true)
    } else {
        println!("FAIL:");
        for f in &findings.0 {
            println!("  - {f}");
        }
        Ok(false)
    }
}

fn report_requests(samples: &[Sample], elapsed: Duration, ctx: &Ctx, findings: &mut Findings) {
    let secs = elapsed.as_secs_f64();
    let ledger = lock(&ctx.ledger);
    println!(
        "\n{} requests in {secs:.1} s: {:.1} requests/s; {} messages acknowledged ({:.1} messages/s) in {} threads",
        samples.len(),
        samples.len() as f64 / secs,
        ledger.messages.len(),
        ledger.messages.len() as f64 / secs,
        ledger.threads.len()
    );
    println!(
        "\n| operation | requests | 2xx | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|"
    );
    for op in Op::ALL {
        let mut latencies: Vec<Duration> = samples.iter().filter(|s| s.op == op).map(|s| s.latency).collect();
        latencies.sort();
        let ok = samples.iter().filter(|s| s.op == op && s.outcome.success()).count();
        println!(
            "| {} | {} | {ok} | {} | {} | {} | {} |",
            op.name(),
            latencies.len(),
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.95)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies.last().copied().unwrap_or_default())
        );
    }
    let mut errors: BTreeMap<(Op, String), usize> = BTreeMap::new();
    for s in samples.iter().filter(|s| !s.outcome.success()) {
        *errors.entry((s.op, s.outcome.label())).or_default() += 1;
    }
    println!("\nerrors by status/code: {}", if errors.is_empty() { "none" } else { "" });
    for ((op, label), count) in &errors {
        println!("  {}: {label} × {count}", op.name());
    }
    for s in samples {
        match &s.outcome {
            Outcome::Answered { status: 500..=599, .. } if s.outcome.label() != "503 unavailable" => findings
                .fail(format!("{} answered {} after {} ms", s.op.name(), s.outcome.label(), ms(s.latency))),
            Outcome::Answered { shaped: false, .. } => {
                findings.fail(format!("{} answered {}", s.op.name(), s.outcome.label()))
            }
            Outcome::Timeout => findings.fail(format!(
                "{} hung: no answer within the client timeout (sent at {:.1} s)",
                s.op.name(),
                s.start.as_secs_f64()
            )),
            _ => {}
        }
    }
    let transport: Vec<&String> = samples
        .iter()
        .filter_map(|s| match &s.outcome {
            Outcome::Transport(e) => Some(e),
            _ => None,
        })
        .collect();
    if let Some(first) = transport.first() {
        findings.fail(format!("{} requests got no HTTP answer, e.g. {first}", transport.len()));
    }
}

fn report_outages(samples: &[Sample], windows: &[(OutageKind, Duration, Duration)], findings: &mut Findings) {
    for (what, from, to) in windows {
        // Requests in flight at any moment of the outage.
        let during: Vec<&Sample> =
            samples.iter().filter(|s| s.start < *to && s.start + s.latency > *from).collect();
        let mut answers: BTreeMap<String, usize> = BTreeMap::new();
        for s in &during {
            *answers.entry(s.outcome.label()).or_default() += 1;
        }
        let slowest = during.iter().map(|s| s.latency).max().unwrap_or_default();
        println!(
            "\noutage, {} ({:.1}–{:.1} s): {} requests in flight; slowest answer {} ms",
            what.label(),
            from.as_secs_f64(),
            to.as_secs_f64(),
            during.len(),
            ms(slowest)
        );
        for (label, count) in &answers {
            println!("  {label} × {count}");
        }
        let too_slow = during.iter().filter(|s| s.latency > FUNCTION_TIMEOUT).count();
        if too_slow > 0 {
            findings.fail(format!(
                "{too_slow} requests in flight during the outage took longer than the functions' timeout \
                 ({FUNCTION_TIMEOUT:?}): in AWS, Lambda would kill them and API Gateway answer its own error"
            ));
        }
        let unavailable = answers.get("503 unavailable").copied().unwrap_or(0);
        if *what == OutageKind::Everything && unavailable == 0 {
            findings.fail("no 503 during the whole-emulator outage: the cut did not reach the API");
        }
    }
}

/// Re-sends every write answered ambiguously with its Idempotency-Key, as a client should
/// (through the API that the consumers use: the outages are over), a few at a time.
async fn retry_ambiguous_writes(ctx: &Arc<Ctx>, url: &str) -> anyhow::Result<()> {
    let ambiguous: Vec<Unacked> = lock(&ctx.ledger)
        .unacked
        .iter()
        .filter(|u| u.key.is_some() && u.outcome.ambiguous())
        .cloned()
        .collect();
    if ambiguous.is_empty() {
        return Ok(());
    }
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for batch in ambiguous.chunks(4) {
        let mut tasks = tokio::task::JoinSet::new();
        for u in batch {
            let (ctx, url, u) = (ctx.clone(), url.to_owned(), u.clone());
            tasks.spawn(async move { retry_write(&ctx, &url, &u).await });
        }
        while let Some(label) = tasks.join_next().await {
            *answers.entry(label.context("a retry panicked")?).or_default() += 1;
        }
    }
    println!("\nambiguous writes retried with their Idempotency-Key: {}", ambiguous.len());
    for (label, count) in &answers {
        println!("  {label} × {count}");
    }
    Ok(())
}

async fn retry_write(ctx: &Ctx, url: &str, u: &Unacked) -> String {
    let Some(key) = &u.key else { return "not retried".into() };
    let path = match &u.thread {
        Some(thread) => format!("/v1/threads/{thread}/messages"),
        None => "/v1/threads".to_owned(),
    };
    let sent_at = Utc::now();
    let token = &ctx.tokens[&u.user];
    let (outcome, answer, _, _) =
        request(&ctx.http, url, token, Method::POST, &path, Some(u.body.clone()), Some(key)).await;
    // A post answers its message; a thread creation the thread with its first message.
    let message = match u.op {
        Op::CreateThread => answer.get("last_message").cloned().unwrap_or_default(),
        _ => answer.clone(),
    };
    let (Some(id), true) = (message["id"].as_str(), outcome.success()) else { return outcome.label() };
    let created = message["created_at"].as_str().and_then(|c| DateTime::parse_from_rfc3339(c).ok());
    let replayed = created.is_some_and(|c| c < sent_at - chrono::Duration::milliseconds(500));
    let mut ledger = lock(&ctx.ledger);
    match (&u.thread, answer["id"].as_str()) {
        (Some(thread), _) => {
            ledger.messages.insert(id.to_owned(), (thread.clone(), u.user.clone(), u.text.clone()));
        }
        (None, Some(thread)) => ledger.acknowledge_thread(thread, id, &u.user, &u.text),
        (None, None) => return format!("{} without a thread id", outcome.label()),
    }
    ledger.retried.push((id.to_owned(), replayed));
    let which = if replayed { "the first attempt's answer" } else { "stored now" };
    format!("{} {} ({which})", u.op.name(), outcome.label())
}

/// Waits until the queues are empty, no outbox event is pending and no notification
/// waits, twice in a row a second apart.
async fn drain(stack: &Stack, timeout: Duration) -> anyhow::Result<bool> {
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let deadline = Instant::now() + timeout;
    let mut clean = 0;
    while Instant::now() < deadline {
        let mut busy = false;
        for (name, url) in &stack.queue_urls {
            // Dead-letter queues only fill; verify_outbox_done reports them.
            if !name.contains("DeadLetter") && queue_depth(&sqs, url).await? > 0 {
                busy = true;
            }
        }
        let far = Utc::now() + chrono::Duration::days(1);
        busy |= !stack.store.pending_events(far, 1).await?.is_empty();
        busy |= !stack.store.due_buckets(far, 1).await?.is_empty();
        busy |= !stack.store.scheduled_due(far, 1).await?.is_empty();
        clean = if busy { 0 } else { clean + 1 };
        if clean >= 2 {
            // One more dispatch period, so that a late duplicate would show.
            tokio::time::sleep(Duration::from_secs(2)).await;
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(false)
}

/// What verification read back: every stored message, per thread, with who may be told.
struct Stored {
    /// message id → (thread, author, internal, created_at)
    messages: HashMap<String, (String, String, bool, DateTime<Utc>)>,
    /// thread → (participant, role, joined); routed staff joined when the router's event says.
    participants: HashMap<String, Vec<(String, Role, DateTime<Utc>)>>,
    /// thread → its first message
    first: HashMap<String, String>,
}

async fn get(http: &reqwest::Client, url: &str, token: &str, path: &str) -> anyhow::Result<Value> {
    let (outcome, value, _, _) = request(http, url, token, Method::GET, path, None, None).await;
    if !outcome.success() {
        bail!("GET {path} during verification: {}: {value}", outcome.label());
    }
    Ok(value)
}

/// Pages through every thread of the org and every thread's timeline as the facility
/// admin, through the API (the view that sees internal notes too).
async fn verify_stored(ctx: &Ctx, url: &str, findings: &mut Findings) -> anyhow::Result<Stored> {
    let admin = &ctx.tokens["admin-1"];
    let mut thread_ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/threads?limit=100&cursor={c}"),
            None => "/v1/threads?limit=100".to_owned(),
        };
        let page = get(&ctx.http, url, admin, &path).await?;
        for t in page["items"].as_array().into_iter().flatten() {
            thread_ids.push(t["id"].as_str().context("thread id")?.to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    // A copy: the lock is not held across the requests below.
    let ledger = lock(&ctx.ledger).clone();
    let listed: HashSet<&String> = thread_ids.iter().collect();
    if listed.len() != thread_ids.len() {
        findings.fail(format!("the org's thread list repeats {} threads", thread_ids.len() - listed.len()));
    }
    let lost_threads = ledger.threads.keys().filter(|t| !listed.contains(t)).count();
    if lost_threads > 0 {
        findings.fail(format!("{lost_threads} acknowledged threads missing from the org's list"));
    }
    let unacked_by_text: HashMap<&str, &Unacked> =
        ledger.unacked.iter().map(|u| (u.text.as_str(), u)).collect();

    let mut stored = Stored { messages: HashMap::new(), participants: HashMap::new(), first: HashMap::new() };
    let mut texts: HashMap<String, usize> = HashMap::new();
    let (mut out_of_order, mut inconsistent, mut half_written) = (0, 0, 0);
    let mut ambiguous_stored: BTreeMap<String, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let mut refused_but_stored = Vec::new();
    for id in &thread_ids {
        let thread = get(&ctx.http, url, admin, &format!("/v1/threads/{id}")).await?;
        let mut items: Vec<TimelineItem> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/threads/{id}/messages?limit=100");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = get(&ctx.http, url, admin, &path).await?;
            for item in page["items"].as_array().into_iter().flatten() {
                items.push(serde_json::from_value(item.clone()).context("a timeline item")?);
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let ids: Vec<String> = items.iter().map(|i| i.id().to_string()).collect();
        if ids.windows(2).any(|p| p[0] >= p[1]) {
            out_of_order += 1;
        }
        let messages: Vec<&store::MessageRecord> = items
            .iter()
            .filter_map(|i| match i {
                TimelineItem::Message(m) => Some(m),
                TimelineItem::Event(_) => None,
            })
            .collect();
        if messages.windows(2).any(|p| p[0].created_at > p[1].created_at) {
            out_of_order += 1;
        }
        let created_at = thread["created_at"]
            .as_str()
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .map(|c| c.with_timezone(&Utc))
            .context("thread created_at")?;
        let resident = thread.pointer("/resident/id").and_then(Value::as_str).unwrap_or_default();
        let mut participants = Vec::new();
        for p in thread["participants"].as_array().into_iter().flatten() {
            let user = p["user_id"].as_str().context("participant id")?.to_owned();
            let role: Role = serde_json::from_value(p["role"].clone()).context("participant role")?;
            // Routed staff join when the router's event says (its `joined_at` is the thread's).
            let joined = items
                .iter()
                .find_map(|i| match i {
                    TimelineItem::Event(e)
                        if e.event == EventKind::ParticipantJoined
                            && e.subject_id.as_ref().map(UserId::as_str) == Some(user.as_str()) =>
                    {
                        Some(e.at)
                    }
                    _ => None,
                })
                .unwrap_or(created_at);
            participants.push((user, role, joined));
        }
        // Never half-written: the first item is its first message, the resident takes part,
        // and the thread's last message is the newest one stored.
        let first_ok = matches!(items.first(), Some(TimelineItem::Message(_)));
        let resident_in = participants.iter().any(|(u, _, _)| u == resident);
        if !first_ok || !resident_in {
            half_written += 1;
        }
        let last = thread.pointer("/last_message/id").and_then(Value::as_str);
        if last != messages.last().map(|m| m.id.to_string()).as_deref() {
            inconsistent += 1;
        }
        if let Some(first) = messages.first() {
            stored.first.insert(id.clone(), first.id.to_string());
        }
        for m in &messages {
            let mid = m.id.to_string();
            let text = m.body.as_str().to_owned();
            *texts.entry(text.clone()).or_default() += 1;
            if !ledger.messages.contains_key(&mid) {
                match unacked_by_text.get(text.as_str()) {
                    Some(u) if u.outcome.ambiguous() => {
                        *ambiguous_stored
                            .entry(format!("{} answered {}", u.op.name(), u.outcome.label()))
                            .or_default() += 1
                    }
                    Some(u) => {
                        refused_but_stored.push(format!("{} answered {}", u.op.name(), u.outcome.label()))
                    }
                    None => unexplained.push(text.clone()),
                }
            }
            stored.messages.insert(mid, (id.clone(), m.author_id.to_string(), m.internal, m.created_at));
        }
        stored.participants.insert(id.clone(), participants);
    }
    let present: HashSet<&String> = stored.messages.keys().collect();
    let lost = ledger.messages.keys().filter(|m| !present.contains(m)).count();
    let misplaced = ledger
        .messages
        .iter()
        .filter(|(m, (thread, _, _))| stored.messages.get(*m).is_some_and(|s| &s.0 != thread))
        .count();
    let twice = texts.values().filter(|n| **n > 1).count();
    let total: usize = stored.messages.len();
    println!(
        "\nstored: {} threads, {total} messages; acknowledged {} messages: {} present, {lost} lost, {misplaced} in another thread; \
         {twice} stored twice; {out_of_order} threads out of order; {inconsistent} threads whose last message is not the newest; \
         {half_written} half-written threads",
        thread_ids.len(),
        ledger.messages.len(),
        ledger.messages.len() - lost,
    );
    let retried_replays = ledger.retried.iter().filter(|(_, replayed)| *replayed).count();
    if !ledger.retried.is_empty() {
        println!(
            "  of which acknowledged on retry: {} ({retried_replays} answered with the first attempt's message)",
            ledger.retried.len()
        );
    }
    let unacked_creates =
        ledger.unacked.iter().filter(|u| u.op == Op::CreateThread && u.outcome.ambiguous()).count();
    let unacked_posts =
        ledger.unacked.iter().filter(|u| u.op == Op::PostMessage && u.outcome.ambiguous()).count();
    println!("  writes answered ambiguously (5xx, 409, 429, timeout): {unacked_creates} thread creations, {unacked_posts} posts");
    if ambiguous_stored.is_empty() {
        println!("  stored although not acknowledged: none");
    }
    for (what, n) in &ambiguous_stored {
        println!(
            "  stored although not acknowledged (ambiguous answer, reported, not a failure): {what} × {n}"
        );
    }
    for (count, what) in [
        (lost, "acknowledged messages lost"),
        (misplaced, "acknowledged messages stored in another thread"),
        (twice, "messages stored more than once"),
        (out_of_order, "threads whose timeline is out of order"),
        (inconsistent, "threads whose last message is not their newest"),
        (half_written, "half-written threads"),
        (refused_but_stored.len(), "writes refused (definite 4xx) yet stored"),
        (unexplained.len(), "stored messages nobody sent"),
    ] {
        if count > 0 {
            findings.fail(format!("{count} {what}"));
        }
    }
    Ok(stored)
}

/// Every item of one partition (optionally under a sort-key prefix), strongly consistent.
async fn partition(
    store: &Store,
    pk: String,
    prefix: Option<&str>,
) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let mut q = store
            .client()
            .query()
            .table_name(store.table())
            .consistent_read(true)
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .set_exclusive_start_key(start);
        q = match prefix {
            Some(p) => q
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":p", AttributeValue::S(p.to_owned())),
            None => q.key_condition_expression("pk = :pk"),
        };
        let out = q.send().await?;
        items.extend(out.items().iter().cloned());
        match out.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => return Ok(items),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Joined before the message: exactly one notification.
    Once,
    /// Routed to the thread around the time of the message: the notifier may have run
    /// before or after the join, so at most one.
    AtMostOnce,
}

/// Notified exactly once: every (message, recipient) in the delivery log at most once, and
/// exactly once for everyone who took part in the thread when the message was posted;
/// nothing pending; the sink received exactly the logged deliveries.
async fn verify_notified(
    stack: &Stack,
    org: &OrgId,
    users: &[User],
    stored: &Stored,
    findings: &mut Findings,
) -> anyhow::Result<()> {
    // Who should hear of each message: everyone in the thread but its author (internal
    // notes: staff only).
    let mut expected: HashMap<(String, String), Expect> = HashMap::new();
    let margin = chrono::Duration::seconds(1);
    for (mid, (thread, author, internal, at)) in &stored.messages {
        let first = stored.first.get(thread) == Some(mid);
        for (user, role, joined) in stored.participants.get(thread).into_iter().flatten() {
            if user == author || (*internal && !role.is_staff()) {
                continue;
            }
            let expect = if first || *joined + margin <= *at { Expect::Once } else { Expect::AtMostOnce };
            expected.insert((mid.clone(), user.clone()), expect);
        }
    }
    let mut delivered: HashMap<(String, String), usize> = HashMap::new();
    let (mut deliveries, mut digests, mut pending, mut logged) = (0usize, 0usize, 0usize, HashMap::new());
    for u in users {
        let user = u.id.to_string();
        let log = partition(&stack.store, keys::delivery_pk(org, &u.id), None).await?;
        logged.insert(u.phone.clone().unwrap_or_default(), log.len());
        for item in &log {
            deliveries += 1;
            let ids: Vec<String> = item
                .get("data")
                .and_then(|d| d.as_m().ok())
                .and_then(|d| d.get("message_ids"))
                .and_then(|l| l.as_l().ok())
                .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
                .unwrap_or_default();
            if ids.len() > 1 {
                digests += 1;
            }
            for id in ids {
                *delivered.entry((id, user.clone())).or_default() += 1;
            }
        }
        let records =
            partition(&stack.store, keys::notify_pk(org, &u.id), Some(keys::PENDING_PREFIX)).await?;
        pending += records.iter().filter(|r| !r.contains_key("sent_at")).count();
    }
    let (mut once_ok, mut lost, mut dup, mut unexpected, mut may_sent, mut may_not) = (0, 0, 0, 0, 0, 0);
    for (pair, expect) in &expected {
        let n = delivered.get(pair).copied().unwrap_or(0);
        match (expect, n) {
            (_, n) if n > 1 => dup += 1,
            (Expect::Once, 1) => once_ok += 1,
            (Expect::Once, _) => lost += 1,
            (Expect::AtMostOnce, 1) => may_sent += 1,
            (Expect::AtMostOnce, _) => may_not += 1,
        }
    }
    for (pair, n) in &delivered {
        if !expected.contains_key(pair) {
            unexpected += n;
        }
    }
    // What the providers received (the sink), against the delivery log, per phone number.
    let sink: Value = reqwest::get(format!("{}/dev/sink/requests", stack.url)).await?.json().await?;
    let mut received: HashMap<String, usize> = HashMap::new();
    for r in sink["items"].as_array().into_iter().flatten() {
        if r["status"] == 200 {
            *received.entry(r["to"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
        }
    }
    let sink_mismatch: Vec<String> = logged
        .iter()
        .filter(|(phone, n)| received.get(*phone).copied().unwrap_or(0) != **n)
        .map(|(phone, n)| {
            format!("{phone}: {n} logged, {} received", received.get(phone).copied().unwrap_or(0))
        })
        .collect();
    println!(
        "\nnotified: {} (message, recipient) pairs expected once: {once_ok} exactly once, {lost} never, {dup} more than once; \
         {} pairs routed around the message's time (at most once): {may_sent} once, {may_not} not; {unexpected} unexpected; \
         {deliveries} deliveries ({digests} digests), {} provider requests received, {pending} still pending",
        expected.values().filter(|e| **e == Expect::Once).count(),
        expected.values().filter(|e| **e == Expect::AtMostOnce).count(),
        received.values().sum::<usize>(),
    );
    for (count, what) in [
        (lost, "(message, recipient) pairs never notified"),
        (dup, "(message, recipient) pairs notified more than once"),
        (unexpected, "notifications to someone who should not get them"),
        (pending, "notifications still pending after the drain"),
        (sink_mismatch.len(), "recipients whose provider requests differ from the delivery log"),
    ] {
        if count > 0 {
            findings.fail(format!("{count} {what}"));
        }
    }
    for m in sink_mismatch.iter().take(5) {
        println!("  sink vs log: {m}");
    }
    Ok(())
}

/// After the drain every outbox event of the org is done (published), and no event sits
/// in a dead-letter queue.
async fn verify_outbox_done(stack: &Stack, org: &OrgId, findings: &mut Findings) -> anyhow::Result<()> {
    let store = &stack.store;
    let (mut total, mut open, mut routed) = (0, 0, 0);
    let mut start = None;
    loop {
        let out = store
            .client()
            .scan()
            .table_name(store.table())
            .filter_expression("begins_with(pk, :p)")
            .expression_attribute_values(":p", AttributeValue::S(keys::outbox_prefix(org)))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in out.items() {
            match item.get("sk").and_then(|s| s.as_s().ok()).map(String::as_str) {
                Some(keys::OUTBOX_SK) => {
                    total += 1;
                    if !item.contains_key("done_at") {
                        open += 1;
                    }
                }
                Some(keys::ROUTED_SK) => routed += 1,
                _ => {}
            }
        }
        match out.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let mut dead = Vec::new();
    for (name, url) in stack.queue_urls.iter().filter(|(name, _)| name.contains("DeadLetter")) {
        dead.push(format!("{name} {}", queue_depth(&sqs, url).await?));
    }
    println!(
        "outbox: {total} events, {open} not published, {routed} threads routed; dead-letter queues: {}",
        dead.join(", ")
    );
    if open > 0 {
        findings.fail(format!("{open} outbox events never published"));
    }
    Ok(())
}
