//! `make bench`: per-route latency and measured DynamoDB round trips against the local
//! stack, the emulator's raw latency for the calls behind them, and our own overhead.
//! Prints a table and writes it to BENCHMARKS.md.

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_dynamodb::types::AttributeValue;
use infra::meter::CallMeter;
use infra::{token, Stack, StackOptions};
use serde_json::{json, Value};

struct Route {
    name: &'static str,
    latencies: Vec<Duration>,
    aws_time: Duration,
    calls: usize,
}

impl Route {
    fn new(name: &'static str) -> Self {
        Self { name, latencies: vec![], aws_time: Duration::ZERO, calls: 0 }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {text}");
        Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let meter = CallMeter::default();
    let stack = // Without the in-process consumers and schedules: they share the single-threaded
        // emulator and would skew what is measured here, the request paths.
        Stack::start(StackOptions { meter: Some(meter.clone()), workers: false, ..StackOptions::default() }).await?;
    let client = Client { http: reqwest::Client::new(), url: stack.url.clone() };
    let resident = token::mint(token::DEFAULT_SECRET, "resident-1", "demo", 3600);
    let admin = token::mint(token::DEFAULT_SECRET, "admin-1", "demo", 3600);
    use reqwest::Method as M;

    let thread = client
        .call(
            &resident,
            M::POST,
            "/v1/threads",
            Some(json!({"topic": "general", "subject": "Bench", "body": "start"})),
        )
        .await?;
    let thread_id = thread["id"].as_str().context("thread id")?.to_owned();
    let first_message = thread["last_message"]["id"].as_str().context("message id")?.to_owned();
    meter.take();

    let mut routes = Vec::new();
    for name in ["create thread", "post message", "list inbox", "open thread", "list messages", "mark read"] {
        let mut route = Route::new(name);
        for i in 0..n {
            let start = Instant::now();
            match name {
                "create thread" => {
                    let body =
                        json!({"topic": "maintenance", "subject": format!("Bench {i}"), "body": "Tap drips"});
                    client.call(&resident, M::POST, "/v1/threads", Some(body)).await?
                }
                "post message" => {
                    let path = format!("/v1/threads/{thread_id}/messages");
                    client.call(&admin, M::POST, &path, Some(json!({"body": format!("reply {i}")}))).await?
                }
                "list inbox" => {
                    client.call(&admin, M::GET, "/v1/threads?folder=unread&limit=25", None).await?
                }
                "open thread" => {
                    client.call(&resident, M::GET, &format!("/v1/threads/{thread_id}"), None).await?
                }
                "list messages" => {
                    client
                        .call(&resident, M::GET, &format!("/v1/threads/{thread_id}/messages?limit=25"), None)
                        .await?
                }
                _ => {
                    let body = json!({"message_id": first_message});
                    client
                        .call(&resident, M::POST, &format!("/v1/threads/{thread_id}/read"), Some(body))
                        .await?
                }
            };
            route.latencies.push(start.elapsed());
            let calls = meter.take();
            route.calls += calls.len();
            route.aws_time += calls.iter().map(|c| c.1).sum::<Duration>();
        }
        routes.push(route);
    }

    // The emulator's own latency for single calls, through the same metered client.
    let ddb = stack.store.client().clone();
    let table = stack.store.table().to_owned();
    let key = |pk: &str| {
        [
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S("RAW".into())),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let mut raw: Vec<(&str, Vec<Duration>)> =
        vec![("GetItem", vec![]), ("PutItem", vec![]), ("Query", vec![]), ("TransactWriteItems", vec![])];
    for i in 0..n.min(200) {
        let pk = format!("ORG#bench#RAW#{i}");
        ddb.put_item().table_name(&table).set_item(Some(key(&pk))).send().await?;
        ddb.get_item().table_name(&table).set_key(Some(key(&pk))).send().await?;
        ddb.query()
            .table_name(&table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", AttributeValue::S(pk.clone()))
            .send()
            .await?;
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&table)
            .set_item(Some(key(&format!("{pk}#tx"))))
            .build()?;
        ddb.transact_write_items()
            .transact_items(aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build())
            .send()
            .await?;
        for (op, d) in meter.take() {
            if let Some(slot) = raw.iter_mut().find(|(name, _)| *name == op) {
                slot.1.push(d);
            }
        }
    }

    let mut out = String::new();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0))
        })
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    out.push_str(&format!(
        "# Benchmarks\n\n{} — {cores} cores, {mem}; debug={}; {n} sequential requests per route against the local stack \
         (dev gateway → handlers → AWS SDK → moto on loopback).\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        cfg!(debug_assertions)
    ));
    out.push_str("| route | p50 ms | p95 ms | p99 ms | DynamoDB calls/request | time in AWS calls ms/request | own overhead ms/request |\n|---|---|---|---|---|---|---|\n");
    for r in &mut routes {
        r.latencies.sort();
        let total: Duration = r.latencies.iter().sum();
        let count = r.latencies.len() as u32;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {} | {} |\n",
            r.name,
            ms(percentile(&r.latencies, 0.50)),
            ms(percentile(&r.latencies, 0.95)),
            ms(percentile(&r.latencies, 0.99)),
            r.calls as f64 / f64::from(count),
            ms(r.aws_time / count),
            ms(total.saturating_sub(r.aws_time) / count),
        ));
    }
    out.push_str("\n| raw emulator call | p50 ms | p95 ms |\n|---|---|---|\n");
    for (name, mut ds) in raw {
        ds.sort();
        if !ds.is_empty() {
            out.push_str(&format!(
                "| {name} | {} | {} |\n",
                ms(percentile(&ds, 0.5)),
                ms(percentile(&ds, 0.95))
            ));
        }
    }
    out.push_str(
        "\n\"Own overhead\" is the request's latency minus the time its DynamoDB calls took on the wire: \
         HTTP client and server, token check, parsing, SDK signing and (de)serialization.\n",
    );
    println!("{out}");
    std::fs::write("BENCHMARKS.md", &out)?;
    Ok(())
}
