//! `make bench`'s audit figures: what the audit consumer costs per message (its calls and
//! capacity, priced as in the cost model), and how long a 1,000-message thread takes to
//! export as JSON and as PDF and to verify, on the server and offline.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

use crate::section::Section;

/// Messages of the consumer's share.
const MESSAGES: usize = 30;
/// Messages of the exported thread.
const EXPORTED: usize = 1_000;
/// Posts in flight at once while the exported thread is filled.
const FILL_CONCURRENCY: usize = 8;

/// The section of BENCHMARKS.md.
pub async fn figures(section: &Section<'_>) -> anyhow::Result<String> {
    let (stack, meter) = (section.stack, section.meter);
    let http = reqwest::Client::new();
    let admin = crate::token::demo("admin-1");
    let post = |path: String, body: Value| {
        let (http, admin) = (http.clone(), admin.clone());
        async move {
            let resp =
                http.post(format!("{}{path}", stack.url)).bearer_auth(&admin).json(&body).send().await?;
            anyhow::ensure!(resp.status().is_success(), "POST {path}: {}", resp.status());
            Ok::<Value, anyhow::Error>(resp.json().await?)
        }
    };
    let start = |subject: &str| {
        post(
            "/v1/threads".into(),
            json!({"topic": "general", "subject": subject, "body": "start", "resident_id": "resident-1"}),
        )
    };

    // The consumer's share: messages posted one after another, each chained by the consumer.
    let thread = start("Audit bench").await?;
    let thread = thread["id"].as_str().context("a thread id")?.to_owned();
    meter.take();
    for i in 0..MESSAGES {
        post(format!("/v1/threads/{thread}/messages"), json!({"body": format!("Audit bench {i}")})).await?;
    }
    let (org, id) = (domain::OrgId::parse("demo")?, domain::ThreadId::parse(&thread)?);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let head = stack.store.chain_head(&org, &id).await?;
        // The opening, the first message, the router's join and each reply.
        if head.is_some_and(|h| h.head.seq as usize >= MESSAGES + 2) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the consumer did not chain {MESSAGES} messages in 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let share = section.consumer_share("AuditFunction", MESSAGES);
    let operations = ["GetItem", "Query", "TransactWriteItems"].map(|op| (op, share.per(op)));
    let consumer = share.describe(&operations, "", "");
    let entry_bytes = {
        let page = stack.store.chain_entries(&org, &id, None, 10).await?;
        let sizes: Vec<usize> =
            page.items.iter().map(|e| serde_json::to_vec(e).map_or(0, |b| b.len())).collect();
        sizes.iter().sum::<usize>() / sizes.len().max(1)
    };

    // A 1,000-message thread, exported and verified.
    let big = start("Audit export bench").await?;
    let big = big["id"].as_str().context("a thread id")?.to_owned();
    let posts = (0..EXPORTED - 1).map(|i| {
        post(
            format!("/v1/threads/{big}/messages"),
            json!({"body": format!("Message {i} of the export bench: the boiler in the basement makes a noise again.")}),
        )
    });
    let filled: Vec<_> = futures::StreamExt::collect(futures::StreamExt::buffer_unordered(
        futures::stream::iter(posts),
        FILL_CONCURRENCY,
    ))
    .await;
    filled.into_iter().collect::<Result<Vec<_>, _>>()?;
    let get = |query: &str| {
        let url = format!("{}/v1/threads/{big}/export?{query}", stack.url);
        let (http, admin) = (http.clone(), admin.clone());
        async move {
            let started = Instant::now();
            let resp = http.get(url).bearer_auth(&admin).send().await?;
            anyhow::ensure!(resp.status().is_success(), "export: {}", resp.status());
            let bytes = resp.bytes().await?;
            Ok::<_, anyhow::Error>((started.elapsed(), bytes))
        }
    };
    // The first export catches the chain up (whatever the consumer had not chained yet).
    let (first, _) = get("format=json&include_internal=true").await?;
    let (json_time, json_bytes) = get("format=json&include_internal=true").await?;
    let (pdf_time, pdf_bytes) = get("format=pdf&include_internal=true").await?;
    let export: Value = serde_json::from_slice(&json_bytes)?;
    let started = Instant::now();
    let verdict = post("/v1/audit/verify".into(), export.clone()).await?;
    let verify_time = started.elapsed();
    anyhow::ensure!(
        verdict["valid"] == true && verdict["matches_record"] == true,
        "the export verifies: {verdict}"
    );
    let parsed: domain::audit::Export = serde_json::from_value(export)?;
    let started = Instant::now();
    anyhow::ensure!(domain::audit::verify_export(&parsed).valid, "the export verifies offline");
    let offline = started.elapsed();

    Ok(format!(
        "\n## Audit chain and exports\n\nThe audit consumer per message: {consumer}; entries are {entry_bytes} B of \
         JSON each. Its calls are also in the cost model's consumer \
         share below.\n\nA thread of {EXPORTED} messages ({} entries): JSON export **{} ms** ({:.0} KB; the first, \
         which catches the chain up, {} ms), PDF **{} ms** ({:.0} KB), `POST /v1/audit/verify` **{} ms** (against \
         the record too), offline check {} ms.\n",
        parsed.chain.len(),
        json_time.as_millis(),
        json_bytes.len() as f64 / 1024.0,
        first.as_millis(),
        pdf_time.as_millis(),
        pdf_bytes.len() as f64 / 1024.0,
        verify_time.as_millis(),
        offline.as_millis(),
    ))
}
