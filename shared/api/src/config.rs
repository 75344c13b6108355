//! The state every handler shares, built once per cold start.

use queue::Queues;
use store::Store;

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub queues: Queues,
}

impl AppState {
    pub fn new(store: Store, queues: Queues) -> Self {
        Self { store, queues }
    }

    /// Builds the SDK clients once, from the standard AWS environment.
    pub async fn from_env() -> Result<Self, String> {
        let workers::Workers { store, queues } = workers::from_env().await?;
        Ok(Self::new(store, queues))
    }
}
