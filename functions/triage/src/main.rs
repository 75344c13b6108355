//! The `triage` Lambda function: consumes the triage queue (new threads and messages) with
//! partial batch failures; classifies residents' messages, escalates emergencies, asks the
//! one missing detail.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = app::App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        queue::batch::process(event.payload, |e| app::triage::handle(app, e))
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
