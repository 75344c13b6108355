//! The `jobs` Lambda function: storage housekeeping run by EventBridge every minute: outbox
//! repair, attachment retention and scheduled contact archives. (Due notifications are
//! sent by the `dispatch` function, on the same schedule.)

use std::time::Duration;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// Events younger than this are left to the relay that is probably still sending them.
const REPAIR_AFTER: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = app::App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let run = app::housekeeping::run(app, REPAIR_AFTER, chrono::Utc::now()).await;
        // Every task ran; the invocation fails (and is retried) if any of them did.
        if run.failed() {
            return Err(Error::from(run.report().to_string()));
        }
        Ok::<_, Error>(run.report())
    }))
    .await
}
