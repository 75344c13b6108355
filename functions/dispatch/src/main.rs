//! The `dispatch` Lambda function, run by EventBridge every minute: sends each recipient's
//! due notifications (digests, those held over quiet hours, retries) on their channels.
//! Apart from `jobs` so that the storage housekeeping carries no e-mail or HTTP provider
//! clients and no SES permission, and this function no S3 client.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let notifier = workers::notifier_from_env().await?;
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let notified =
            workers::notifier::dispatch(notifier, chrono::Utc::now()).await.map_err(Error::from)?;
        Ok::<_, Error>(serde_json::json!({ "notified": notified }))
    }))
    .await
}
