//! The `audit` Lambda function: consumes the audit queue (every domain event) with partial
//! batch failures; chains what each event's thread gained since its chain's head.

// The handler's future (a batch's appends, each a transaction of up to 100 items) nests
// deeper than the compiler's default layout limit.
#![recursion_limit = "256"]

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = app::App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        queue::batch::process_together(event.payload, |events| app::audit::handle(app, events))
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
