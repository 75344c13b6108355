//! The state every handler shares, built once per cold start, and what it caches per
//! function instance (the orgs' write quotas).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::quota::Quotas;
use domain::OrgId;
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
    pub quotas: QuotaCache,
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
            quotas: QuotaCache::default(),
        })
    }
}

/// How long an org's limits are kept before they are read again.
const LIMITS_TTL: Duration = Duration::from_secs(60);

/// The orgs' limits as last read, per function instance.
#[derive(Clone, Debug, Default)]
pub struct QuotaCache(Arc<Mutex<HashMap<OrgId, (Instant, Quotas)>>>);

impl QuotaCache {
    pub(crate) async fn limits(&self, store: &Store, org: &OrgId) -> Result<Quotas, store::StoreError> {
        let cached = self.0.lock().ok().and_then(|m| m.get(org).copied());
        if let Some((_, quotas)) = cached.filter(|(at, _)| at.elapsed() < LIMITS_TTL) {
            return Ok(quotas);
        }
        let quotas = store.get_quotas(org).await?.unwrap_or_default();
        if let Ok(mut m) = self.0.lock() {
            m.insert(org.clone(), (Instant::now(), quotas));
        }
        Ok(quotas)
    }
}
