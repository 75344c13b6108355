//! The state every handler shares, built once per cold start.

use files::Files;
use queue::Queues;
use store::Store;
use workers::channels::Providers;

use directory::Directory;

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub queues: Queues,
    pub files: Files,
    /// Outbound channels, for what the API sends itself (invitations).
    pub providers: Providers,
    /// Where links point (`{app_url}/invite?token=…`).
    pub app_url: String,
    /// The sign-in directory invitations create users in; `None` where there is none.
    pub directory: Option<Directory>,
    /// The orgs' write quotas, as last read.
    pub quotas: crate::QuotaCache,
}

impl AppState {
    /// Builds the SDK clients once, from the standard AWS environment.
    pub async fn from_env() -> Result<Self, String> {
        let workers::Workers { store, queues, files, .. } = workers::from_env().await?;
        let aws = workers::aws_from_env().await;
        Ok(Self {
            store,
            queues,
            files,
            providers: workers::providers_from_env(&aws),
            app_url: workers::app_url(),
            directory: Directory::from_env(&aws),
            quotas: crate::QuotaCache::default(),
        })
    }
}
