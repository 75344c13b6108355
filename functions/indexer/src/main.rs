//! The `indexer` Lambda function: consumes the search queue (new threads, messages,
//! membership changes) a batch at a time, one index write per org, with partial batch
//! failures.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = app::App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        queue::batch::process_together(event.payload, |events| app::search::index(app, events))
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
