//! The `dispatch` Lambda function, run by EventBridge every minute: sends each recipient's
//! due notifications (digests, those held over quiet hours or the paid-channel cap,
//! retries) on their channels. Apart from `jobs` so that the storage housekeeping carries
//! no e-mail or HTTP provider clients and no SES permission, and this function no S3 client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// Nothing new starts after this much of a run (the function's timeout is 60 s).
const RUN_BUDGET: Duration = Duration::from_secs(40);
/// What a run leaves before Lambda's deadline: the last provider attempt (5 s) and the
/// writes that settle it.
const MARGIN: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let notifier = app::notifier_from_env().await?;
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let budget = RUN_BUDGET.min(time_left(event.context.deadline).saturating_sub(MARGIN));
        let deadline = tokio::time::Instant::now() + budget;
        let notified =
            app::dispatch::run(notifier, chrono::Utc::now(), deadline).await.map_err(Error::from)?;
        Ok::<_, Error>(serde_json::json!({ "notified": notified }))
    }))
    .await
}

/// Time until Lambda's deadline (milliseconds since the epoch).
fn time_left(deadline_ms: u64) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_millis(deadline_ms).saturating_sub(now)
}
