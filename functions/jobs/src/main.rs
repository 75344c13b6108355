//! The `jobs` Lambda function: scheduled maintenance run by EventBridge every minute: outbox
//! repair, and the dispatch of due notifications (digests, quiet hours, retries).

use std::time::Duration;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

/// Events younger than this are left to the relay that is probably still sending them.
const REPAIR_AFTER: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let workers = workers::from_env().await?;
    let notifier = workers::notifier_from_env().await?;
    let (workers, notifier) = (&workers, &notifier);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let report = workers::repair::repair_outbox(workers, REPAIR_AFTER)
            .await
            .map_err(lambda_runtime::Error::from)?;
        let notified = workers::notifier::dispatch(notifier, chrono::Utc::now())
            .await
            .map_err(lambda_runtime::Error::from)?;
        Ok::<_, lambda_runtime::Error>(serde_json::json!({
            "resent": report.resent, "parked": report.parked, "failed": report.failed, "notified": notified
        }))
    }))
    .await
}
