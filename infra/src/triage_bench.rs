//! `make bench`'s triage figures: the classifier's CPU per message over the labelled set,
//! and the time from a resident's emergency message to the page reaching the on-call
//! staff member's provider (the local sink), through the API, the outbox, the triage and
//! notifier consumers and the dispatcher.

use std::time::{Duration, Instant};

use anyhow::Context;
use domain::triage::{TriageInput, TriageSettings};
use serde_json::{json, Value};

use crate::{token, Stack};

const LABELLED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/domain/tests/triage_labelled.tsv");
const EMERGENCIES: usize = 20;

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// µs per message (p50, p99, longest message's) over every message of the labelled set,
/// each classified 20 times with the shipped rules.
fn classification() -> anyhow::Result<String> {
    let text = std::fs::read_to_string(LABELLED).with_context(|| format!("reading {LABELLED}"))?;
    let messages: Vec<&str> = text.lines().skip(1).filter_map(|l| l.rsplit('\t').next()).collect();
    let rules = TriageSettings::default().rules();
    let mut times = Vec::with_capacity(messages.len() * 20);
    for _ in 0..20 {
        for m in &messages {
            let started = Instant::now();
            std::hint::black_box(rules.classify(&TriageInput {
                text: m,
                unit_known: true,
                has_attachment: false,
                cold: true,
            }));
            times.push(started.elapsed());
        }
    }
    times.sort();
    let longest = messages.iter().map(|m| m.chars().count()).max().unwrap_or_default();
    Ok(format!(
        "Classification ({} labelled messages of up to {longest} characters, shipped rules, this build): \
         **{:.1} µs** per message at p50, {:.1} µs at p99 (target under 200 µs).",
        messages.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
    ))
}

/// Emergencies posted one after another; each timed from the API's answer to its page
/// showing at the on-call staff member's WhatsApp sink (polled every 20 ms).
async fn emergency_pages(stack: &Stack) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let admin = token::demo("admin-1");
    let resident = token::demo("resident-1");
    let on_call = token::demo("security-1");
    let phone = "+15145550911";
    let call = |token: &str, method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{}{path}", stack.url)).bearer_auth(token).json(&body).send()
    };
    let settings: Value = http
        .get(format!("{}/v1/settings/triage", stack.url))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let mut settings = settings;
    settings["on_call"] = json!(["security-1"]);
    settings["enabled"] = json!(true);
    anyhow::ensure!(call(&admin, reqwest::Method::PUT, "/v1/settings/triage", settings)
        .await?
        .status()
        .is_success());
    let now = chrono::Utc::now();
    let quiet = json!({
        "start": (now - chrono::Duration::hours(1)).format("%H:%M").to_string(),
        "end": (now + chrono::Duration::hours(1)).format("%H:%M").to_string(),
        "time_zone": "UTC"
    });
    let prefs = json!({"channels": [{"channel": "whatsapp", "address": phone}], "quiet_hours": quiet});
    let saved = call(&on_call, reqwest::Method::PUT, "/v1/me/notification-preferences", prefs).await?;
    anyhow::ensure!(saved.status().is_success(), "preferences: {}", saved.text().await?);
    let mut times = Vec::with_capacity(EMERGENCIES);
    for i in 0..EMERGENCIES {
        let marker = format!("bench-{}-{i}", now.timestamp_millis());
        let body = json!({"topic": "maintenance", "subject": "Gas", "body": format!("Smell of gas in the hallway {marker}")});
        let started = Instant::now();
        let created = call(&resident, reqwest::Method::POST, "/v1/threads", body).await?;
        anyhow::ensure!(created.status().is_success(), "emergency {i}: {}", created.text().await?);
        loop {
            let url = format!("{}/dev/sink/requests?to={}", stack.url, phone.replace('+', "%2B"));
            let page: Value = http.get(url).send().await?.json().await?;
            let paged = page["items"].as_array().is_some_and(|items| {
                items.iter().any(|r| r["body"].as_str().is_some_and(|b| b.contains(&marker)))
            });
            if paged {
                times.push(started.elapsed());
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "emergency {i} not paged within a minute"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    times.sort();
    Ok(format!(
        "From a resident's emergency message (the API's 201) to the page at the on-call staff member's WhatsApp \
         provider, in their quiet hours ({EMERGENCIES} emergencies one after another, local stack, debug or release as \
         built): **{} ms** at p50, {} ms at p99. The path: outbox relay → SNS → triage queue (classify, record, \
         page event) → SNS → notification queue → the notifier's page sent at once on every channel.",
        percentile(&times, 0.5).as_millis(),
        percentile(&times, 0.99).as_millis(),
    ))
}

/// The section of BENCHMARKS.md.
pub async fn figures(stack: &Stack) -> anyhow::Result<String> {
    Ok(format!("\n## Triage\n\n{}\n\n{}\n", classification()?, emergency_pages(stack).await?))
}
