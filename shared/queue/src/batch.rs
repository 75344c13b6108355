//! Processing an SQS batch: each record is parsed into its typed command (a parse failure
//! is that record's failure), handled with bounded concurrency, and the failed records are
//! reported so that only they are retried (and, past the queue's receive count, moved to
//! its dead-letter queue).

use std::future::Future;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::stream::{self, StreamExt};
use serde::de::DeserializeOwned;

/// How many records of one batch are handled at once.
const CONCURRENCY: usize = 8;

/// Runs `handle` on every record of `event`. A record without an id cannot be reported on
/// its own, so it fails the whole batch (`Err`), which SQS then retries as a whole.
pub async fn process<T, F, Fut, E>(event: SqsEvent, handle: F) -> Result<SqsBatchResponse, MissingMessageId>
where
    T: DeserializeOwned,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Debug,
{
    if event.records.iter().any(|r| r.message_id.as_deref().unwrap_or("").is_empty()) {
        return Err(MissingMessageId);
    }
    let handle = &handle;
    let failures: Vec<String> = stream::iter(event.records)
        .map(|record| async move {
            let id = record.message_id.clone().unwrap_or_default();
            match parse::<T>(&record) {
                Ok(command) => match handle(command).await {
                    Ok(()) => None,
                    Err(e) => {
                        tracing::warn!(message_id = %id, error = ?e, "record failed; it will be retried");
                        Some(id)
                    }
                },
                Err(e) => {
                    tracing::error!(message_id = %id, error = %e, "malformed record; it will end in the dead-letter queue");
                    Some(id)
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|failed| async move { failed })
        .collect()
        .await;
    Ok(response(failures))
}

/// As [`process`], but hands every well-formed record to `handle` at once (a consumer
/// that writes one thing per batch, as the search indexer does), which answers each
/// record's outcome in order.
pub async fn process_together<T, F, Fut, E>(
    event: SqsEvent,
    handle: F,
) -> Result<SqsBatchResponse, MissingMessageId>
where
    T: DeserializeOwned,
    F: FnOnce(Vec<T>) -> Fut,
    Fut: Future<Output = Vec<Result<(), E>>>,
    E: std::fmt::Debug,
{
    if event.records.iter().any(|r| r.message_id.as_deref().unwrap_or("").is_empty()) {
        return Err(MissingMessageId);
    }
    let mut failed = Vec::new();
    let mut parsed = Vec::new();
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        match parse::<T>(record) {
            Ok(command) => parsed.push((id, command)),
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "malformed record; it will end in the dead-letter queue");
                failed.push(id);
            }
        }
    }
    let (ids, commands): (Vec<String>, Vec<T>) = parsed.into_iter().unzip();
    for (id, outcome) in ids.into_iter().zip(handle(commands).await) {
        if let Err(e) = outcome {
            tracing::warn!(message_id = %id, error = ?e, "record failed; it will be retried");
            failed.push(id);
        }
    }
    Ok(response(failed))
}

fn response(failures: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

fn parse<T: DeserializeOwned>(record: &SqsMessage) -> Result<T, serde_json::Error> {
    serde_json::from_str(record.body.as_deref().unwrap_or(""))
}

#[derive(Debug, thiserror::Error)]
#[error("an SQS record has no message id")]
pub struct MissingMessageId;

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m
    }

    fn event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = records;
        e
    }

    #[tokio::test]
    async fn only_the_records_that_fail_are_reported() {
        let batch = event(vec![record("ok", "1"), record("bad-json", "{"), record("refused", "7")]);
        let response = process(batch, |n: u32| async move {
            if n == 7 {
                Err("no")
            } else {
                Ok(())
            }
        })
        .await
        .unwrap();
        let mut failed: Vec<_> =
            response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
        failed.sort();
        assert_eq!(failed, ["bad-json", "refused"]);
    }

    #[tokio::test]
    async fn handled_together_the_well_formed_records_come_in_order_and_fail_one_by_one() {
        let batch =
            event(vec![record("a", "1"), record("bad-json", "{"), record("b", "7"), record("c", "3")]);
        let response = process_together(batch, |ns: Vec<u32>| async move {
            assert_eq!(ns, [1, 7, 3]);
            ns.into_iter().map(|n| if n == 7 { Err("no") } else { Ok(()) }).collect()
        })
        .await
        .unwrap();
        let failed: Vec<_> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
        assert_eq!(failed, ["bad-json", "b"]);
    }

    #[tokio::test]
    async fn a_record_without_an_id_fails_the_whole_batch_rather_than_an_empty_identifier() {
        let batch = event(vec![record("ok", "1"), record("", "2")]);
        assert!(process(batch, |_: u32| async { Ok::<(), ()>(()) }).await.is_err());
    }
}
