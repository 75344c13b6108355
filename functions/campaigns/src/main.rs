//! The `campaigns` Lambda function, run by EventBridge every minute (one at a time:
//! reserved concurrency 1, so the pace is the account's): works on the due campaigns until
//! its budget is spent, each from where the last run stopped.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use tokio::sync::Mutex;

/// Nothing new starts after this much of a run (the function's timeout is 60 s).
const RUN_BUDGET: Duration = Duration::from_secs(50);
/// What a run leaves before Lambda's deadline: the send in flight and the save after it.
const MARGIN: Duration = Duration::from_secs(8);
/// A campaign is held this long from its claim: past the function's timeout, so a run
/// that dies is taken over by the next one after it.
const LEASE: Duration = Duration::from_secs(70);

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = app::App::from_env().await?;
    let pace = Mutex::new(app::campaigns::Pace::per_second(app::campaign_send_rate()?));
    let (app, pace) = (&app, &pace);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let budget = RUN_BUDGET.min(time_left(event.context.deadline).saturating_sub(MARGIN));
        let deadline = tokio::time::Instant::now() + budget;
        let mut pace = pace.lock().await;
        let run = app::campaigns::run_due(app, chrono::Utc::now(), deadline, LEASE, &mut pace)
            .await
            .map_err(|e| Error::from(e.to_string()))?;
        Ok::<_, Error>(serde_json::json!({
            "campaigns": run.campaigns,
            "recipients": run.recipients,
            "finished": run.finished,
        }))
    }))
    .await
}

/// Time until Lambda's deadline (milliseconds since the epoch).
fn time_left(deadline_ms: u64) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_millis(deadline_ms).saturating_sub(now)
}
