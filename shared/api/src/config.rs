//! The state every handler shares, built once per cold start.

use files::Files;
use queue::Queues;
use store::Store;

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub queues: Queues,
    pub files: Files,
}

impl AppState {
    pub fn new(store: Store, queues: Queues, files: Files) -> Self {
        Self { store, queues, files }
    }

    /// Builds the SDK clients once, from the standard AWS environment.
    pub async fn from_env() -> Result<Self, String> {
        let workers::Workers { store, queues, files } = workers::from_env().await?;
        Ok(Self::new(store, queues, files))
    }
}
