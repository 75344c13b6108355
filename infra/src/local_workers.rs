//! What AWS runs around the functions, run locally against the emulator: the SQS event
//! sources of the router, the automation, triage, webhooks, the audit chain, the search indexer and the notifier
//! (poll, hand the batch to the same handler the Lambda runs, delete what succeeded) and the
//! schedules (outbox repair, dispatch, campaigns, webhook retries). Each
//! runs as its function (template.yaml's logical id), so the call meter knows whose calls
//! they are.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use app::dispatch::Notifier;

use crate::meter::as_function;
use app::App;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use queue::batch::MissingMessageId;

/// Local visibility timeout: a failed record is retried after this, so poison messages
/// reach the dead-letter queue in seconds rather than minutes.
const VISIBILITY_SECS: i32 = 1;
const IDLE: Duration = Duration::from_millis(100);
/// Locally, pending outbox events are re-sent after this (60 s in AWS).
pub const REPAIR_AFTER: Duration = Duration::from_secs(2);
const REPAIR_EVERY: Duration = Duration::from_secs(3);

/// Locally, due notifications are dispatched this often (every minute in AWS).
const DISPATCH_EVERY: Duration = Duration::from_secs(1);
/// What a dispatch run may take, as in the dispatch function.
const DISPATCH_BUDGET: Duration = Duration::from_secs(40);

/// Locally, campaigns run this often (every minute in AWS), each run for at most the budget,
/// holding a campaign for the lease (a run that dies is taken over after it).
const CAMPAIGNS_EVERY: Duration = Duration::from_secs(1);
const CAMPAIGNS_BUDGET: Duration = Duration::from_secs(10);
pub const CAMPAIGNS_LEASE: Duration = Duration::from_secs(15);

/// Locally, due webhook retries are tried this often (every minute in AWS), each run
/// (and each batch of events) for at most the function's budget.
const WEBHOOK_RETRIES_EVERY: Duration = Duration::from_secs(1);
const WEBHOOKS_BUDGET: Duration = Duration::from_secs(55);

/// The consumers' queues, by URL.
pub struct Queues {
    pub routing: String,
    pub automation: String,
    pub triage: String,
    pub webhooks: String,
    pub audit: String,
    pub search: String,
    pub notification: String,
}

pub fn spawn(app: App, notifier: Notifier, sqs: aws_sdk_sqs::Client, queues: Queues) {
    let (router, router_sqs) = (app.clone(), sqs.clone());
    tokio::spawn(async move {
        let router = &router;
        poll(&router_sqs, &queues.routing, ONE_RECEIVE, move |batch| {
            queue::batch::process(batch, move |e| {
                as_function("RouterFunction", app::router::handle(router, e))
            })
        })
        .await
    });
    let (automation, automation_sqs) = (app.clone(), sqs.clone());
    tokio::spawn(async move {
        let automation = &automation;
        poll(&automation_sqs, &queues.automation, ONE_RECEIVE, move |batch| {
            queue::batch::process(batch, move |e| {
                as_function("AutomationFunction", app::automation::handle(automation, e))
            })
        })
        .await
    });
    let (triage, triage_sqs) = (app.clone(), sqs.clone());
    tokio::spawn(async move {
        let triage = &triage;
        poll(&triage_sqs, &queues.triage, ONE_RECEIVE, move |batch| {
            queue::batch::process(batch, move |e| {
                as_function("TriageFunction", app::triage::handle(triage, e))
            })
        })
        .await
    });
    let (webhooks, webhooks_sqs) = (app.clone(), sqs.clone());
    tokio::spawn(async move {
        let webhooks = &webhooks;
        poll(&webhooks_sqs, &queues.webhooks, ONE_RECEIVE, move |batch| {
            let deadline = tokio::time::Instant::now() + WEBHOOKS_BUDGET;
            queue::batch::process(batch, move |e| {
                as_function("WebhooksFunction", app::webhooks::handle(webhooks, e, deadline))
            })
        })
        .await
    });
    let (audit, audit_sqs) = (app.clone(), sqs.clone());
    tokio::spawn(async move {
        let audit = &audit;
        poll(&audit_sqs, &queues.audit, ONE_RECEIVE, move |batch| {
            queue::batch::process_together(batch, move |events| {
                as_function("AuditFunction", app::audit::handle(audit, events))
            })
        })
        .await
    });
    let retries = app.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(WEBHOOK_RETRIES_EVERY).await;
            let deadline = tokio::time::Instant::now() + WEBHOOKS_BUDGET;
            let run = app::webhooks::run_due(&retries, chrono::Utc::now(), deadline);
            if let Err(e) = as_function("WebhooksFunction", run).await {
                tracing::warn!(error = %e, "a webhook retry run failed");
            }
        }
    });
    let (indexer, indexer_sqs) = (app.clone(), sqs.clone());
    tokio::spawn(async move {
        let indexer = &indexer;
        poll(&indexer_sqs, &queues.search, INDEXER_BATCHING, move |batch| {
            queue::batch::process_together(batch, move |events| {
                as_function("IndexerFunction", app::search::index(indexer, events))
            })
        })
        .await
    });
    let consumer = notifier.clone();
    tokio::spawn(async move {
        let consumer = &consumer;
        poll(&sqs, &queues.notification, ONE_RECEIVE, move |batch| {
            let deadline = app::notifier::urgent_deadline();
            queue::batch::process(batch, move |e| {
                as_function("NotifierFunction", app::notifier::handle(consumer, e, deadline))
            })
        })
        .await
    });
    let campaigns = app.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REPAIR_EVERY).await;
            let run =
                as_function("JobsFunction", app::housekeeping::run(&app, REPAIR_AFTER, chrono::Utc::now()))
                    .await;
            if run.failed() {
                tracing::warn!(report = %run.report(), "a scheduled task failed");
            }
        }
    });
    tokio::spawn(async move {
        let mut pace = app::campaigns::Pace::per_second(crate::stack::LOCAL_CAMPAIGN_RATE);
        loop {
            tokio::time::sleep(CAMPAIGNS_EVERY).await;
            let deadline = tokio::time::Instant::now() + CAMPAIGNS_BUDGET;
            let run =
                app::campaigns::run_due(&campaigns, chrono::Utc::now(), deadline, CAMPAIGNS_LEASE, &mut pace);
            if let Err(e) = as_function("CampaignsFunction", run).await {
                tracing::warn!(error = %e, "a campaign run failed");
            }
        }
    });
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(DISPATCH_EVERY).await;
            let deadline = tokio::time::Instant::now() + DISPATCH_BUDGET;
            let run =
                as_function("DispatchFunction", app::dispatch::run(&notifier, chrono::Utc::now(), deadline));
            if let Err(e) = run.await {
                tracing::warn!(error = ?e, "notification dispatch failed");
            }
        }
    });
}

/// How an event source gathers a batch: up to `max` messages, waiting at most `window`
/// after the first for more (Lambda's `BatchSize` and `MaximumBatchingWindowInSeconds`),
/// each hidden from other receives for `visibility_secs` meanwhile.
pub struct Batching {
    pub max: usize,
    pub window: Duration,
    pub visibility_secs: i32,
}

/// One receive of up to 10, as the router's, automation's and notifier's sources (window 1 s
/// in AWS, but a batch of 10 arrives at once under load).
const ONE_RECEIVE: Batching = Batching { max: 10, window: Duration::ZERO, visibility_secs: VISIBILITY_SECS };
/// The indexer's: more events per index write, as in AWS (up to 100 over 2 s there).
/// Hidden longer than the others: the batch is gathered, then written.
const INDEXER_BATCHING: Batching =
    Batching { max: 100, window: Duration::from_millis(500), visibility_secs: 10 };

/// Receives up to 10 messages; none on failure (logged, after a pause).
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    visibility_secs: i32,
) -> Vec<aws_sdk_sqs::types::Message> {
    // Short polls: the emulator serves one request at a time, so a long poll would
    // stall every other call.
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility_secs)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await;
    match received {
        Ok(out) => out.messages.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = ?e, queue = url, "receiving failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
            vec![]
        }
    }
}

/// What the local event sources handed to the consumers since the stack started: messages
/// and batches (each batch one Lambda invocation in AWS). The bench's cost model reads it.
static RECEIVED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Messages and batches handed to the consumers so far.
pub fn received() -> (u64, u64) {
    (RECEIVED[0].load(Ordering::Relaxed), RECEIVED[1].load(Ordering::Relaxed))
}

/// The SQS event source: receive a batch, hand it to `handle` (the function's handler),
/// delete what succeeded.
async fn poll<F, Fut>(sqs: &aws_sdk_sqs::Client, url: &str, batching: Batching, handle: F)
where
    F: Fn(SqsEvent) -> Fut,
    Fut: std::future::Future<Output = Result<SqsBatchResponse, MissingMessageId>>,
{
    loop {
        let mut messages = receive(sqs, url, batching.visibility_secs).await;
        if messages.is_empty() {
            tokio::time::sleep(IDLE).await;
            continue;
        }
        let first = tokio::time::Instant::now();
        while messages.len() < batching.max && first.elapsed() < batching.window {
            let more = receive(sqs, url, batching.visibility_secs).await;
            if more.is_empty() {
                tokio::time::sleep(IDLE).await;
            }
            messages.extend(more);
        }
        RECEIVED[0].fetch_add(messages.len() as u64, Ordering::Relaxed);
        RECEIVED[1].fetch_add(1, Ordering::Relaxed);
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| {
                let mut record = SqsMessage::default();
                record.message_id = m.message_id.clone();
                record.receipt_handle = m.receipt_handle.clone();
                record.body = m.body.clone();
                record
            })
            .collect();
        let failed: HashSet<String> = match handle(event).await {
            Ok(response) => response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect(),
            Err(_) => messages.iter().filter_map(|m| m.message_id.clone()).collect(),
        };
        // As Lambda's event source: what succeeded is deleted in one batch request.
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.message_id.as_ref().is_some_and(|id| !failed.contains(id)))
            .filter_map(|(i, m)| {
                let handle = m.receipt_handle.as_ref()?;
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        if done.is_empty() {
            continue;
        }
        match sqs.delete_message_batch().queue_url(url).set_entries(Some(done)).send().await {
            Ok(out) if !out.failed().is_empty() => {
                tracing::warn!(
                    failed = out.failed().len(),
                    "some processed messages not deleted; they will be redelivered"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = ?e, "deleting processed messages failed; they will be redelivered")
            }
        }
    }
}
