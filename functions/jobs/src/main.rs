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
    let workers = workers::from_env().await?;
    let workers = &workers;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let now = chrono::Utc::now();
        let repair = workers::repair::repair_outbox(workers, REPAIR_AFTER).await.map_err(Error::from)?;
        let retention = workers::retention::run(workers, now).await.map_err(Error::from)?;
        let archived = workers::contacts::run_archives(workers, now).await.map_err(Error::from)?;
        Ok::<_, Error>(serde_json::json!({
            "resent": repair.resent, "parked": repair.parked, "failed": repair.failed,
            "attachments_archived": retention.archived, "uploads_expired": retention.expired,
            "contacts_archived": archived,
        }))
    }))
    .await
}
