//! Configuration read once per cold start, and the state every handler shares.

use store::Store;

/// Typed configuration from the environment. `AWS_ENDPOINT_URL` (read by the SDK itself)
/// is all that differs between the local stack and the cloud.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let table_name =
            std::env::var("TABLE_NAME").map_err(|_| "missing environment variable TABLE_NAME".to_owned())?;
        Ok(Self { table_name })
    }
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Builds the SDK clients once, from the standard AWS environment.
    pub async fn from_env() -> Result<Self, String> {
        let config = Config::from_env()?;
        let aws = aws_config::load_from_env().await;
        let client = aws_sdk_dynamodb::Client::new(&aws);
        Ok(Self::new(Store::new(client, config.table_name)))
    }
}
