//! The `router` Lambda function: consumes the routing queue with partial batch failures.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let workers = workers::from_env().await?;
    let workers = &workers;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        workers::batch::process(event.payload, |e| workers::router::handle(workers, e))
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
