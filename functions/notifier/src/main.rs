//! The `notifier` Lambda function: consumes the notification queue with partial batch
//! failures, turning each new message into pending notifications; urgent ones are sent
//! within a budget that keeps the batch well inside the function's timeout.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let notifier = app::notifier_from_env().await?;
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = app::notifier::urgent_deadline();
        queue::batch::process(event.payload, |e| app::notifier::handle(notifier, e, deadline))
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
