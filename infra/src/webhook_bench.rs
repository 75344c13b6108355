//! `make bench`'s webhook figures: the time from a message's post (the API's 201) to its
//! signed delivery at an endpoint (a receiver on loopback), through the outbox relay, SNS,
//! the webhook queue and the webhooks consumer; and what the consumer's AWS calls and
//! capacity cost per delivered message, priced as in the cost model.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

use crate::section::Section;
use crate::webhook_sink::WebhookSink;

const MESSAGES: usize = 30;

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// The section of BENCHMARKS.md.
pub async fn figures(section: &Section<'_>) -> anyhow::Result<String> {
    let (stack, meter) = (section.stack, section.meter);
    let http = reqwest::Client::new();
    let admin = crate::token::demo("admin-1");
    let receiver = WebhookSink::start().await?;
    let made: Value = http
        .post(format!("{}/v1/webhooks", stack.url))
        .bearer_auth(&admin)
        .json(&json!({"url": receiver.url, "events": ["message.created"]}))
        .send()
        .await?
        .json()
        .await?;
    let webhook = made["id"].as_str().context("a webhook id")?.to_owned();
    // The consumer reads an org's endpoints at most once a second locally.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let thread: Value = http
        .post(format!("{}/v1/threads", stack.url))
        .bearer_auth(&admin)
        .json(&json!({"topic": "general", "subject": "Webhook bench", "body": "start", "resident_id": "resident-1"}))
        .send()
        .await?
        .json()
        .await?;
    let thread = thread["id"].as_str().with_context(|| format!("a thread: {thread}"))?.to_owned();
    meter.take();
    let mut times = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let started = Instant::now();
        let posted: Value = http
            .post(format!("{}/v1/threads/{thread}/messages", stack.url))
            .bearer_auth(&admin)
            .json(&json!({"body": format!("Webhook bench {i}")}))
            .send()
            .await?
            .json()
            .await?;
        let id = posted["id"].as_str().with_context(|| format!("a message: {posted}"))?.to_owned();
        loop {
            let got =
                receiver.received().into_iter().find(|r| r.body["data"]["message"]["id"] == id.as_str());
            if let Some(got) = got {
                times.push(got.at - started);
                break;
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "message {i} not delivered in 30 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // The consumer's settling write may come a moment after the receipt.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let share = section.consumer_share("WebhooksFunction", MESSAGES);
    let mut operations = ["Query", "GetItem", "PutItem"].map(|op| (op, share.per(op))).to_vec();
    operations.push(("SQS", share.per_service("sqs")));
    let consumer =
        share.describe(&operations, " to one endpoint", "; each further endpoint adds its PutItems");
    let deleted =
        http.delete(format!("{}/v1/webhooks/{webhook}", stack.url)).bearer_auth(&admin).send().await?;
    anyhow::ensure!(deleted.status().is_success(), "deleting the bench's webhook");
    times.sort();
    Ok(format!(
        "\n## Webhooks\n\nFrom a staff message's post (the API's 201) to its signed delivery at an endpoint on loopback \
         ({MESSAGES} messages one after another, local stack): **{} ms** at p50, {} ms at p99. The path: outbox relay → \
         SNS → webhook queue → the webhooks consumer (endpoints cached a second locally, a minute in AWS) → HTTP POST.\n\n\
         The consumer per delivered message: {consumer}. Orgs without endpoints pay one cached Query a minute per \
         function instance and the queue's receive.\n",
        percentile(&times, 0.5).as_millis(),
        percentile(&times, 0.99).as_millis(),
    ))
}
