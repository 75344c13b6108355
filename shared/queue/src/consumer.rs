//! A queue consumer's Lambda function: logging set up, its state made once per instance,
//! then each record of every batch handed to its handler, with partial batch failures
//! ([`crate::batch::process`]).

use std::future::Future;

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use serde::de::DeserializeOwned;

use crate::batch;

/// Runs a consumer that handles each record on its own, up to 8 at once. (One that
/// handles a batch at once, as the audit consumer and the search indexer do, calls
/// [`crate::batch::process_together`] itself.)
pub async fn serve_each<S, T, F, Fut, E>(
    state: impl Future<Output = Result<S, impl Into<lambda_runtime::Error>>>,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    S: 'static,
    T: DeserializeOwned,
    F: Fn(&'static S, T) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Debug,
{
    let state = start(state).await?;
    let handle = &handle;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        batch::process(event.payload, |record| handle(state, record))
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}

/// Logging first, so that making the state is logged; the state lives as long as the
/// function's instance.
async fn start<S: 'static>(
    state: impl Future<Output = Result<S, impl Into<lambda_runtime::Error>>>,
) -> Result<&'static S, lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    Ok(Box::leak(Box::new(state.await.map_err(Into::into)?)))
}
