//! `make coldstart` (issue #7): the cold start of every Lambda binary, measured by running
//! the release host build of each one under a minimal local Lambda Runtime API against the
//! local stack's emulator.
//!
//! For each function and each start: a fresh Runtime API server on loopback holding one
//! event, the binary spawned with the environment Lambda and template.yaml give it, the time
//! from spawn to its first answer (`/response` or `/error`), then the process is killed.
//! A start counts as ok only if the answer is a success: HTTP 2xx for API functions, an
//! empty `batchItemFailures` for queue consumers, any `/response` for the schedule.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::sync::{oneshot, watch};

use crate::stack::{self, Stack};
use crate::token;

/// The function binaries, as template.yaml's `Metadata.BuildProperties.Binary` names them.
pub const FUNCTIONS: [&str; 17] = [
    "threads",
    "messages",
    "settings",
    "attachments",
    "contacts",
    "invites",
    "router",
    "automation",
    "triage",
    "webhooks",
    "audit",
    "indexer",
    "search",
    "notifier",
    "jobs",
    "dispatch",
    "web",
];

/// How long one start may take before it counts as failed (template.yaml's Timeout is 10 s).
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// As template.yaml's Globals.
const MEMORY_SIZE_MB: &str = "256";

/// The measured cold starts of one function.
#[derive(Debug, Clone)]
pub struct ColdStart {
    pub function: String,
    /// What each start was asked to handle, e.g. `GET /v1/threads as resident-1`.
    pub event: String,
    pub starts: Vec<Start>,
    /// Size of the release host binary that was measured.
    pub host_bytes: u64,
    /// The arm64 Lambda bootstrap from `make sam-build` (or `cargo lambda build --arm64`),
    /// when one exists.
    pub arm64_bootstrap: Option<(PathBuf, u64)>,
}

/// One start of one function.
#[derive(Debug, Clone)]
pub struct Start {
    /// From spawn to its first `GET …/invocation/next` (Lambda's "Init Duration").
    pub init: Option<Duration>,
    /// From spawn to its answer (`/response` or `/error`); `None`: no answer.
    pub answered: Option<Duration>,
    pub outcome: Result<String, String>,
}

impl ColdStart {
    pub fn ok(&self) -> usize {
        self.starts.iter().filter(|s| s.outcome.is_ok()).count()
    }

    /// Spawn → answer of every start that answered (success or error), sorted.
    pub fn answer_times(&self) -> Vec<Duration> {
        let mut v: Vec<Duration> = self.starts.iter().filter_map(|s| s.answered).collect();
        v.sort();
        v
    }

    pub fn median(&self) -> Option<Duration> {
        median(&self.answer_times())
    }

    pub fn max(&self) -> Option<Duration> {
        self.answer_times().last().copied()
    }

    pub fn median_init(&self) -> Option<Duration> {
        let mut v: Vec<Duration> = self.starts.iter().filter_map(|s| s.init).collect();
        v.sort();
        median(&v)
    }

    /// Distinct failure reasons, with how many starts had each.
    pub fn failures(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for s in &self.starts {
            if let Err(e) = &s.outcome {
                match out.iter_mut().find(|(m, _)| m == e) {
                    Some(slot) => slot.1 += 1,
                    None => out.push((e.clone(), 1)),
                }
            }
        }
        out
    }
}

fn median(sorted: &[Duration]) -> Option<Duration> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0)).unwrap_or_else(|| "—".into())
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1024.0 / 1024.0)
}

/// The results as a markdown table, followed by every failure.
pub fn markdown(rows: &[ColdStart]) -> String {
    let mut out = String::from(
        "| function | median cold start ms | max ms | starts ok | host release size MiB | arm64 bootstrap MiB | median init ms | event |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let arm64 = r.arm64_bootstrap.as_ref().map(|(_, b)| mib(*b)).unwrap_or_else(|| "not built".into());
        out.push_str(&format!(
            "| {} | {} | {} | {}/{} | {} | {} | {} | {} |\n",
            r.function,
            ms(r.median()),
            ms(r.max()),
            r.ok(),
            r.starts.len(),
            mib(r.host_bytes),
            arm64,
            ms(r.median_init()),
            r.event,
        ));
    }
    out.push_str(
        "\nCold start: from spawning the release host binary to its answer to the first event, \
         under a local Lambda Runtime API, against the emulator (SDK set-up, first TCP \
         connections and the handler's DynamoDB calls included). Init: spawn to the first \
         `GET /runtime/invocation/next`. A start is ok when the answer is a success.\n",
    );
    let failed: Vec<_> = rows.iter().filter(|r| r.ok() < r.starts.len()).collect();
    if !failed.is_empty() {
        out.push_str("\nFailed starts:\n\n");
        for r in failed {
            for (reason, n) in r.failures() {
                let reason = reason.replace('\n', " ");
                out.push_str(&format!("- {} ({n}×): {}\n", r.function, truncate(&reason, 400)));
            }
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds every function binary for the host in release
/// (`cargo build --release --bin threads --bin messages …`: by binary, since a package
/// may be named otherwise, as `search-route`) and returns the directory holding them
/// (target/release), as cargo reports it.
pub fn build_release_binaries() -> anyhow::Result<PathBuf> {
    // Under `cargo run`, CARGO is the cargo that runs us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "--release", "--message-format=json-render-diagnostics"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    for f in FUNCTIONS {
        cmd.args(["--bin", f]);
    }
    let output = cmd.output().context("running cargo build --release")?;
    if !output.status.success() {
        bail!("cargo build --release of the functions failed ({})", output.status);
    }
    let mut dirs = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else { continue };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let (Some(name), Some(exe)) = (msg["target"]["name"].as_str(), msg["executable"].as_str()) else {
            continue;
        };
        if FUNCTIONS.contains(&name) {
            let dir = Path::new(exe).parent().context("an executable without directory")?.to_owned();
            dirs.insert(name.to_owned(), dir);
        }
    }
    let missing: Vec<_> = FUNCTIONS.iter().filter(|f| !dirs.contains_key(**f)).collect();
    if !missing.is_empty() {
        bail!("cargo built no executable for {missing:?}");
    }
    let dir = dirs[FUNCTIONS[0]].clone();
    if dirs.values().any(|d| *d != dir) {
        bail!("the function binaries landed in different directories: {dirs:?}");
    }
    Ok(dir)
}

/// template.yaml's logical id of the function built from `binary` (`threads` → ThreadsFunction).
fn logical_id(binary: &str) -> String {
    let mut chars = binary.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase()).into_iter();
    format!("{}Function", first.chain(chars).collect::<String>())
}

/// The arm64 Lambda bootstrap of `binary`: sam's output, else cargo-lambda's.
fn arm64_bootstrap(binary: &str, release_dir: &Path) -> Option<(PathBuf, u64)> {
    let sam = workspace_root().join(".aws-sam/build").join(logical_id(binary)).join("bootstrap");
    let target_dir =
        release_dir.parent().map(Path::to_owned).unwrap_or_else(|| workspace_root().join("target"));
    let cargo_lambda = target_dir.join("lambda").join(binary).join("bootstrap");
    [sam, cargo_lambda].into_iter().find_map(|p| {
        let bytes = std::fs::read(&p).ok()?;
        // ELF e_machine 0xB7: AArch64.
        (bytes.len() > 20 && bytes[..4] == *b"\x7fELF" && bytes[18..20] == [0xb7, 0x00])
            .then(|| (p.canonicalize().unwrap_or(p), bytes.len() as u64))
    })
}

/// What one function is invoked with.
enum Trigger {
    /// An API Gateway HTTP API (payload 2.0) request, authorized as `user` of org `demo`.
    Http {
        method: &'static str,
        route_key: &'static str,
        path: String,
        query: &'static str,
        user: &'static str,
    },
    /// `POST /v1/invites/accept` with no token, as the public route gets it, for a link that
    /// does not exist: the function reads DynamoDB and answers 409 `invite_invalid`.
    AcceptUnknownInvite,
    /// An SQS batch with no records.
    Sqs,
    /// The EventBridge schedule.
    Schedule,
}

impl Trigger {
    fn describe(&self) -> String {
        match self {
            Trigger::Http { method, path, query, user, .. } => {
                let q = if query.is_empty() { String::new() } else { format!("?{query}") };
                format!("HTTP API `{method} {path}{q}` as {user}")
            }
            Trigger::AcceptUnknownInvite => "HTTP API `POST /v1/invites/accept` with an unknown link".into(),
            Trigger::Sqs => "SQS `{\"Records\": []}`".into(),
            Trigger::Schedule => "EventBridge `Scheduled Event`".into(),
        }
    }

    fn event(&self, request_id: &str) -> Value {
        let now = chrono::Utc::now();
        match self {
            Trigger::Http { method, route_key, path, query, user } => {
                let bearer = token::mint(&token::secret(), user, "demo", 3600);
                let host = "local.execute-api.us-east-1.amazonaws.com";
                let mut params = serde_json::Map::new();
                for (template, actual) in
                    route_key.split(' ').nth(1).unwrap_or("").split('/').zip(path.split('/'))
                {
                    if let Some(name) = template.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                        params.insert(name.to_owned(), json!(actual));
                    }
                }
                let mut event = json!({
                    "version": "2.0",
                    "routeKey": route_key,
                    "rawPath": path,
                    "rawQueryString": query,
                    "headers": {
                        "accept": "application/json",
                        "authorization": format!("Bearer {bearer}"),
                        "content-length": "0",
                        "host": host,
                        "user-agent": "coldstart",
                        "x-forwarded-for": "127.0.0.1",
                        "x-forwarded-port": "443",
                        "x-forwarded-proto": "https",
                    },
                    "requestContext": {
                        "accountId": "000000000000",
                        "apiId": "local",
                        "authorizer": { "jwt": {
                            "claims": {
                                "sub": user,
                                "custom:org_id": "demo",
                                "token_use": "id",
                                "iat": now.timestamp().to_string(),
                                "exp": (now.timestamp() + 3600).to_string(),
                            },
                            "scopes": null,
                        } },
                        "domainName": host,
                        "domainPrefix": "local",
                        "http": {
                            "method": method,
                            "path": path,
                            "protocol": "HTTP/1.1",
                            "sourceIp": "127.0.0.1",
                            "userAgent": "coldstart",
                        },
                        "requestId": request_id,
                        "routeKey": route_key,
                        "stage": "$default",
                        "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
                        "timeEpoch": now.timestamp_millis(),
                    },
                    "isBase64Encoded": false,
                });
                if !params.is_empty() {
                    event["pathParameters"] = Value::Object(params);
                }
                if !query.is_empty() {
                    let q: serde_json::Map<String, Value> = query
                        .split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.to_owned(), json!(v)))
                        .collect();
                    event["queryStringParameters"] = Value::Object(q);
                }
                event
            }
            Trigger::AcceptUnknownInvite => {
                let http = Trigger::Http {
                    method: "POST",
                    route_key: "POST /v1/invites/accept",
                    path: "/v1/invites/accept".into(),
                    query: "",
                    user: "nobody",
                };
                let mut event = http.event(request_id);
                let body = json!({"token": "0".repeat(64), "password": "Cold start 2026"}).to_string();
                event["headers"]["content-type"] = json!("application/json");
                event["headers"]["content-length"] = json!(body.len().to_string());
                if let Some(headers) = event["headers"].as_object_mut() {
                    headers.remove("authorization");
                }
                if let Some(context) = event["requestContext"].as_object_mut() {
                    context.remove("authorizer");
                }
                event["body"] = json!(body);
                event
            }
            Trigger::Sqs => json!({ "Records": [] }),
            Trigger::Schedule => json!({
                "version": "0",
                "id": request_id,
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "000000000000",
                "time": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "region": "us-east-1",
                "resources": ["arn:aws:events:us-east-1:000000000000:rule/JobsSchedule"],
                "detail": {},
            }),
        }
    }

    /// Whether the function's answer is a success, and a short summary of it.
    fn judge(&self, answer: &Value) -> Result<String, String> {
        match self {
            Trigger::Http { .. } => {
                let status =
                    answer["statusCode"].as_u64().ok_or_else(|| format!("not an HTTP answer: {answer}"))?;
                if (200..300).contains(&status) {
                    Ok(format!("HTTP {status}"))
                } else {
                    Err(format!("HTTP {status}: {}", answer["body"].as_str().unwrap_or("")))
                }
            }
            Trigger::AcceptUnknownInvite => {
                let body: Value =
                    serde_json::from_str(answer["body"].as_str().unwrap_or("")).unwrap_or_default();
                match (answer["statusCode"].as_u64(), body["error"]["code"].as_str()) {
                    (Some(409), Some("invite_invalid")) => Ok("HTTP 409 invite_invalid".into()),
                    _ => Err(format!("answer: {answer}")),
                }
            }
            Trigger::Sqs => match answer["batchItemFailures"].as_array() {
                Some(f) if f.is_empty() => Ok("no batch item failures".into()),
                _ => Err(format!("batch answer: {answer}")),
            },
            Trigger::Schedule => Ok(answer.to_string()),
        }
    }
}

/// The environment of `binary` in Lambda, pointed at `stack`: Lambda's own variables,
/// template.yaml's, and the standard SDK ones for the emulator.
fn function_env(
    binary: &str,
    stack: &Stack,
    resources: &Resources,
    runtime_api: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let name = logical_id(binary);
    let topic = |logical: &str| {
        stack.topic_arns.get(logical).cloned().with_context(|| format!("the stack has no {logical}"))
    };
    let mut env: Vec<(String, String)> = vec![
        // Lambda's (what lambda_runtime and the SDK read).
        ("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.into()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), MEMORY_SIZE_MB.into()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME".into(), format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME".into(),
            format!("{}/[$LATEST]coldstart", chrono::Utc::now().format("%Y/%m/%d")),
        ),
        // template.yaml: LoggingConfig.LogFormat JSON.
        ("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()),
        ("_HANDLER".into(), "bootstrap".into()),
        ("TZ".into(), ":UTC".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        // The one local difference (see shared/app/src/config.rs).
        ("AWS_ENDPOINT_URL".into(), stack.emulator.endpoint.clone()),
        // template.yaml's Globals.
        ("TABLE_NAME".into(), stack.store.table().to_owned()),
        ("EVENTS_TOPIC_ARN".into(), topic(stack::EVENTS_TOPIC)?),
        ("APP_URL".into(), stack.url.clone()),
        ("NOTIFY_DIGEST_SECS".into(), "60".into()),
        ("ATTACHMENTS_BUCKET".into(), resources.bucket.clone()),
        ("ATTACHMENTS_KEY_ID".into(), resources.key_arn.clone()),
        ("MAX_ATTACHMENT_BYTES".into(), stack::MAX_ATTACHMENT_BYTES.to_string()),
        ("SEARCH_BUCKET".into(), stack::SEARCH_BUCKET.to_lowercase()),
        ("RUST_LOG".into(), "info".into()),
    ];
    if matches!(binary, "indexer" | "search") {
        let dir = std::env::temp_dir().join(format!("coldstart-search-{}", std::process::id()));
        env.push(("SEARCH_CACHE_DIR".into(), dir.display().to_string()));
    }
    // template.yaml's per-function variables; the HTTP providers point at the local sink.
    if matches!(binary, "links" | "campaigns") {
        env.push(("LINK_KEY".into(), stack::LOCAL_LINK_KEY.into()));
    }
    if matches!(binary, "contacts" | "notifier" | "dispatch" | "campaigns" | "webhooks") {
        env.push(("EMAIL_FROM".into(), stack::EMAIL_FROM.into()));
    }
    if matches!(binary, "contacts" | "invites" | "jobs") {
        env.push(("USER_POOL_ID".into(), stack.user_pool.id.clone()));
    }
    if binary == "web" {
        env.push(("COGNITO_DOMAIN".into(), "https://local.auth.us-east-1.amazoncognito.com".into()));
        env.push(("COGNITO_CLIENT_ID".into(), crate::local_web::LOCAL_CLIENT_ID.into()));
    }
    if matches!(binary, "notifier" | "dispatch") {
        for channel in ["sms", "whatsapp", "push", "telegram"] {
            let prefix = channel.to_uppercase();
            env.push((format!("{prefix}_BASE_URL"), format!("{}/dev/sink/{channel}", stack.url)));
            env.push((format!("{prefix}_ACCOUNT"), "local".into()));
            env.push((format!("{prefix}_TOKEN"), "local-token".into()));
        }
        env.push(("SMS_FROM".into(), "+15550000000".into()));
    }
    Ok(env)
}

/// What the stack created but does not expose.
struct Resources {
    bucket: String,
    key_arn: String,
}

async fn resources(stack: &Stack) -> anyhow::Result<Resources> {
    // provision::create_buckets_and_keys names buckets by their logical id in lower case and
    // describes each key as `local <logical id>`.
    let bucket = stack::ATTACHMENTS_BUCKET.to_lowercase();
    let kms = aws_sdk_kms::Client::new(&stack.sdk);
    let wanted = format!("local {}", stack::ATTACHMENTS_KEY);
    for key in kms.list_keys().send().await.context("listing the emulator's KMS keys")?.keys() {
        let Some(id) = key.key_id() else { continue };
        let described = kms.describe_key().key_id(id).send().await?;
        if let Some(meta) = described.key_metadata().filter(|m| m.description() == Some(wanted.as_str())) {
            return Ok(Resources { bucket, key_arn: meta.arn().context("a key without ARN")?.to_owned() });
        }
    }
    bail!("the emulator has no key described as {wanted:?}")
}

/// Creates, through the local stack's API, what the measured routes read: a thread and an
/// upload of resident-1's.
async fn fixtures(stack: &Stack) -> anyhow::Result<(String, String)> {
    let http = reqwest::Client::new();
    let resident = token::mint(&token::secret(), "resident-1", "demo", 3600);
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", stack.url)).bearer_auth(&resident).json(&body).send()
    };
    let created = |what: &'static str, resp: reqwest::Response| async move {
        let status = resp.status();
        let body: Value = resp.json().await.with_context(|| format!("creating {what}"))?;
        anyhow::ensure!(status.is_success(), "creating {what}: {status} {body}");
        body["id"].as_str().map(str::to_owned).with_context(|| format!("{what} without id: {body}"))
    };
    let thread = post(
        "/v1/threads",
        json!({"topic": "general", "subject": "Cold start", "body": "A thread to read at cold start"}),
    )
    .await?;
    let thread = created("a thread", thread).await?;
    let upload = post(
        "/v1/attachments",
        json!({"file_name": "tap.jpg", "content_type": "image/jpeg", "size_bytes": 2048}),
    )
    .await?;
    let upload = created("an attachment", upload).await?;
    Ok((thread, upload))
}

/// Builds the release binaries, then starts every function `starts` times against `stack`
/// (which should run without in-process workers, so that nothing else uses the emulator).
pub async fn measure(stack: &Stack, starts: usize) -> anyhow::Result<Vec<ColdStart>> {
    let release_dir = tokio::task::spawn_blocking(build_release_binaries).await??;
    let resources = resources(stack).await?;
    let (thread, upload) = fixtures(stack).await?;
    let triggers: Vec<(&str, Trigger)> = vec![
        (
            "threads",
            Trigger::Http {
                method: "GET",
                route_key: "GET /v1/threads",
                path: "/v1/threads".into(),
                query: "",
                user: "resident-1",
            },
        ),
        (
            "messages",
            Trigger::Http {
                method: "GET",
                route_key: "GET /v1/threads/{id}/messages",
                path: format!("/v1/threads/{thread}/messages"),
                query: "limit=25",
                user: "resident-1",
            },
        ),
        (
            "settings",
            Trigger::Http {
                method: "GET",
                route_key: "GET /v1/me/notification-preferences",
                path: "/v1/me/notification-preferences".into(),
                query: "",
                user: "resident-1",
            },
        ),
        (
            "attachments",
            Trigger::Http {
                method: "GET",
                route_key: "GET /v1/attachments/{id}",
                path: format!("/v1/attachments/{upload}"),
                query: "",
                user: "resident-1",
            },
        ),
        (
            // Staff read contacts; residents get 403.
            "contacts",
            Trigger::Http {
                method: "GET",
                route_key: "GET /v1/contacts",
                path: "/v1/contacts".into(),
                query: "limit=25",
                user: "admin-1",
            },
        ),
        ("invites", Trigger::AcceptUnknownInvite),
        ("router", Trigger::Sqs),
        ("automation", Trigger::Sqs),
        ("triage", Trigger::Sqs),
        ("webhooks", Trigger::Sqs),
        ("audit", Trigger::Sqs),
        ("indexer", Trigger::Sqs),
        (
            "search",
            Trigger::Http {
                method: "GET",
                route_key: "GET /v1/search",
                path: "/v1/search".into(),
                query: "q=leak",
                user: "resident-1",
            },
        ),
        ("notifier", Trigger::Sqs),
        ("jobs", Trigger::Schedule),
        ("dispatch", Trigger::Schedule),
        (
            // Its configuration, which needs no built client (the page does).
            "web",
            Trigger::Http {
                method: "GET",
                route_key: "GET /config.json",
                path: "/config.json".into(),
                query: "",
                user: "resident-1",
            },
        ),
    ];
    let mut rows = Vec::new();
    for (binary, trigger) in &triggers {
        let exe = release_dir.join(binary);
        let host_bytes = std::fs::metadata(&exe).with_context(|| format!("{}", exe.display()))?.len();
        let mut row = ColdStart {
            function: (*binary).to_owned(),
            event: trigger.describe(),
            starts: Vec::with_capacity(starts),
            host_bytes,
            arm64_bootstrap: arm64_bootstrap(binary, &release_dir),
        };
        for i in 0..starts {
            let start = start_once(binary, &exe, trigger, stack, &resources, i).await?;
            row.starts.push(start);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// One cold start: a fresh Runtime API holding one event, the binary spawned against it,
/// its answer awaited, the process killed.
async fn start_once(
    binary: &str,
    exe: &Path,
    trigger: &Trigger,
    stack: &Stack,
    resources: &Resources,
    attempt: usize,
) -> anyhow::Result<Start> {
    let request_id = format!("coldstart-{binary}-{attempt}-{}", now_ms());
    let invocation = Invocation {
        request_id: request_id.clone(),
        body: serde_json::to_vec(&trigger.event(&request_id))?,
        function_arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{}", logical_id(binary)),
    };
    let RuntimeApi { addr, first_next, mut answer_rx, close, server } = RuntimeApi::start(invocation).await?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.env_clear()
        .envs(function_env(binary, stack, resources, &addr)?)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    die_with_parent(&mut cmd);

    let spawned = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("spawning {}", exe.display()))?;
    let logs = [
        child.stdout.take().map(|s| tokio::spawn(read_all(s))),
        child.stderr.take().map(|s| tokio::spawn(read_all(s))),
    ];
    let answer = tokio::select! {
        answer = &mut answer_rx => answer.ok(),
        status = child.wait() => {
            // It may have answered just before exiting.
            tokio::time::sleep(Duration::from_millis(50)).await;
            match answer_rx.try_recv() {
                Ok(a) => Some(a),
                Err(_) => Some(Answer::Exited(format!("exited before answering ({})",
                    status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())))),
            }
        }
        _ = tokio::time::sleep(START_TIMEOUT) => None,
    };
    let _ = child.start_kill();
    let _ = child.wait().await;
    stop(close, server).await;
    let mut output = String::new();
    for log in logs.into_iter().flatten() {
        output.push_str(&log.await.unwrap_or_default());
    }
    let init = first_next.get().map(|t| t.saturating_duration_since(spawned));
    let tail = || {
        let lines: Vec<&str> = output.lines().rev().take(3).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    };
    let (answered, outcome) = match answer {
        Some(Answer::Response(at, body)) => {
            let outcome = match serde_json::from_slice::<Value>(&body) {
                Ok(v) => trigger.judge(&v),
                Err(_) => Err(format!("answer is not JSON: {}", String::from_utf8_lossy(&body))),
            };
            (Some(at.saturating_duration_since(spawned)), outcome)
        }
        Some(Answer::Error(at, body)) => (
            Some(at.saturating_duration_since(spawned)),
            Err(format!("invocation error: {}", String::from_utf8_lossy(&body))),
        ),
        Some(Answer::InitError(body)) => {
            (None, Err(format!("init error: {}", String::from_utf8_lossy(&body))))
        }
        Some(Answer::Protocol(e)) => (None, Err(e)),
        Some(Answer::Exited(e)) => (None, Err(format!("{e}; last output: {}", tail()))),
        None => (None, Err(format!("no answer within {START_TIMEOUT:?}; last output: {}", tail()))),
    };
    Ok(Start { init, answered, outcome })
}

async fn read_all(mut r: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut buf = Vec::new();
    let _ = r.read_to_end(&mut buf).await;
    String::from_utf8_lossy(&buf).into_owned()
}

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()
}

/// Asks the kernel to kill the function when this thread exits.
fn die_with_parent(cmd: &mut tokio::process::Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

// ------------------------------------------------------------------ Runtime API

struct Invocation {
    request_id: String,
    body: Vec<u8>,
    function_arn: String,
}

enum Answer {
    Response(Instant, Bytes),
    Error(Instant, Bytes),
    InitError(Bytes),
    /// The function broke the protocol (e.g. answered an unknown request id).
    Protocol(String),
    Exited(String),
}

struct ApiState {
    invocation: Mutex<Option<Invocation>>,
    request_id: String,
    first_next: Arc<OnceLock<Instant>>,
    answer: Mutex<Option<oneshot::Sender<Answer>>>,
    closing: watch::Receiver<bool>,
}

impl ApiState {
    fn answer(&self, answer: Answer) {
        if let Some(tx) = self.answer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(answer);
        }
    }
}

/// A Lambda Runtime API (2018-06-01) on loopback that hands out one invocation.
struct RuntimeApi {
    addr: String,
    first_next: Arc<OnceLock<Instant>>,
    answer_rx: oneshot::Receiver<Answer>,
    close: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    async fn start(invocation: Invocation) -> anyhow::Result<Self> {
        let (answer_tx, answer_rx) = oneshot::channel();
        let (close, closing) = watch::channel(false);
        let first_next = Arc::new(OnceLock::new());
        let state = Arc::new(ApiState {
            request_id: invocation.request_id.clone(),
            invocation: Mutex::new(Some(invocation)),
            first_next: first_next.clone(),
            answer: Mutex::new(Some(answer_tx)),
            closing: closing.clone(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?.to_string();
        let mut shutdown = closing;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = shutdown.wait_for(|c| *c).await;
                })
                .await;
        });
        Ok(Self { addr, first_next, answer_rx, close, server })
    }
}

/// Stops a Runtime API server; a pending `/next` (the killed function's second one) ends.
async fn stop(close: watch::Sender<bool>, mut server: tokio::task::JoinHandle<()>) {
    let _ = close.send(true);
    if tokio::time::timeout(Duration::from_secs(2), &mut server).await.is_err() {
        server.abort();
    }
}

async fn next(State(state): State<Arc<ApiState>>) -> Response {
    let _ = state.first_next.set(Instant::now());
    let invocation = state.invocation.lock().unwrap_or_else(|e| e.into_inner()).take();
    let Some(inv) = invocation else {
        // One event per process: later polls wait until the server closes.
        let mut closing = state.closing.clone();
        let _ = closing.wait_for(|c| *c).await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let deadline = now_ms() + 10_000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", inv.request_id.clone());
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set("lambda-runtime-invoked-function-arn", inv.function_arn);
    set(
        "lambda-runtime-trace-id",
        format!("Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0", now_ms() / 1000, now_ms(), deadline),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, inv.body).into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

async fn response(State(state): State<Arc<ApiState>>, UrlPath(id): UrlPath<String>, body: Bytes) -> Response {
    let at = Instant::now();
    state.answer(if id == state.request_id {
        Answer::Response(at, body)
    } else {
        Answer::Protocol(format!("a response for unknown request id {id}"))
    });
    accepted()
}

async fn error(State(state): State<Arc<ApiState>>, UrlPath(id): UrlPath<String>, body: Bytes) -> Response {
    let at = Instant::now();
    state.answer(if id == state.request_id {
        Answer::Error(at, body)
    } else {
        Answer::Protocol(format!("an error for unknown request id {id}"))
    });
    accepted()
}

async fn init_error(State(state): State<Arc<ApiState>>, body: Bytes) -> Response {
    state.answer(Answer::InitError(body));
    accepted()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_follow_the_template() {
        assert_eq!(logical_id("threads"), "ThreadsFunction");
        assert_eq!(logical_id("jobs"), "JobsFunction");
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        let d = Duration::from_millis;
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[d(1), d(2), d(9)]), Some(d(2)));
        assert_eq!(median(&[d(1), d(3), d(5), d(9)]), Some(d(4)));
    }

    #[test]
    fn http_events_carry_route_path_parameters_and_claims() {
        let t = Trigger::Http {
            method: "GET",
            route_key: "GET /v1/threads/{id}/messages",
            path: "/v1/threads/T1/messages".into(),
            query: "limit=25",
            user: "resident-1",
        };
        let e = t.event("r1");
        assert_eq!(e["pathParameters"]["id"], "T1");
        assert_eq!(e["queryStringParameters"]["limit"], "25");
        assert_eq!(e["requestContext"]["authorizer"]["jwt"]["claims"]["custom:org_id"], "demo");
        assert_eq!(e["requestContext"]["http"]["path"], "/v1/threads/T1/messages");
        assert!(t.judge(&json!({"statusCode": 200})).is_ok());
        assert!(t.judge(&json!({"statusCode": 403, "body": "no"})).is_err());
        assert!(Trigger::Sqs.judge(&json!({"batchItemFailures": [{"itemIdentifier": "m"}]})).is_err());
    }

    #[test]
    fn failures_make_the_table() {
        let row = ColdStart {
            function: "threads".into(),
            event: "e".into(),
            starts: vec![
                Start {
                    init: None,
                    answered: Some(Duration::from_millis(10)),
                    outcome: Ok("HTTP 200".into()),
                },
                Start {
                    init: None,
                    answered: Some(Duration::from_millis(30)),
                    outcome: Err("HTTP 500: x".into()),
                },
            ],
            host_bytes: 3 * 1024 * 1024,
            arm64_bootstrap: None,
        };
        let md = markdown(&[row]);
        assert!(md.contains("| threads | 20.0 | 30.0 | 1/2 | 3.0 | not built |"), "{md}");
        assert!(md.contains("- threads (1×): HTTP 500: x"), "{md}");
    }
}
