//! The `webhooks` Lambda function, on two triggers: the webhook queue (domain events; each
//! makes its deliveries and tries them at once, with partial batch failures) and
//! EventBridge every minute (retries that are due).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// What a run leaves before Lambda's deadline: the last attempt's writes.
const MARGIN: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = app::App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = tokio::time::Instant::now() + time_left(event.context.deadline).saturating_sub(MARGIN);
        if event.payload.get("Records").is_some() {
            let batch: SqsEvent = serde_json::from_value(event.payload)?;
            let response = queue::batch::process(batch, |e| app::webhooks::handle(app, e, deadline))
                .await
                .map_err(Error::from)?;
            return Ok(serde_json::to_value(response)?);
        }
        let tried = app::webhooks::run_due(app, chrono::Utc::now(), deadline).await.map_err(Error::from)?;
        Ok::<_, Error>(serde_json::json!({ "tried": tried }))
    }))
    .await
}

/// Time until Lambda's deadline (milliseconds since the epoch).
fn time_left(deadline_ms: u64) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_millis(deadline_ms).saturating_sub(now)
}
