//! Configuration read once per cold start, and the clients built from it. Shared by every
//! function: `AWS_ENDPOINT_URL` (read by the SDK) is all that differs locally.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use queue::Queues;
use store::Store;

use crate::Workers;

/// Typed configuration from the environment; a missing variable is named in the error.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub routing_queue_url: String,
    pub notification_queue_url: String,
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let var =
            |name: &str| std::env::var(name).map_err(|_| format!("missing environment variable {name}"));
        Ok(Self {
            table_name: var("TABLE_NAME")?,
            routing_queue_url: var("ROUTING_QUEUE_URL")?,
            notification_queue_url: var("NOTIFICATION_QUEUE_URL")?,
        })
    }
}

/// The store and queues, from the standard AWS environment.
pub async fn from_env() -> Result<Workers, String> {
    let config = Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::from_conf(relay_sqs_config(&aws));
    Ok(Workers {
        store: Store::new(dynamodb, config.table_name),
        queues: Queues::new(sqs, config.routing_queue_url, config.notification_queue_url),
    })
}

/// The SQS client for sends: an event that cannot be sent quickly stays in the outbox for
/// the repair job, so a queue outage costs a request little time.
pub fn relay_sqs_config(aws: &aws_config::SdkConfig) -> aws_sdk_sqs::Config {
    aws_sdk_sqs::config::Builder::from(aws)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .build()
}
