//! Per-organization values read at most once a minute per function instance (an org's
//! quota limits, its business hours), not on every request or event.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::OrgId;

/// How long a value is kept before it is read again: a change applies within a minute.
const TTL: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct OrgCache<T> {
    values: Arc<Mutex<HashMap<OrgId, (Instant, T)>>>,
    ttl: Duration,
}

impl<T> Default for OrgCache<T> {
    fn default() -> Self {
        Self::with_ttl(TTL)
    }
}

impl<T> OrgCache<T> {
    /// Values kept `ttl` (the local stack keeps them a second, so a change shows at once).
    pub fn with_ttl(ttl: Duration) -> Self {
        Self { values: Arc::default(), ttl }
    }
}

impl<T: Clone> OrgCache<T> {
    /// The org's value as last read within the TTL, else `read` (and keep it).
    pub async fn get<E>(&self, org: &OrgId, read: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let cached = self.values.lock().ok().and_then(|m| m.get(org).cloned());
        if let Some((_, value)) = cached.filter(|(at, _)| at.elapsed() < self.ttl) {
            return Ok(value);
        }
        let value = read.await?;
        self.put(org, value.clone());
        Ok(value)
    }

    /// Keeps `value` as the org's, read now.
    pub fn put(&self, org: &OrgId, value: T) {
        if let Ok(mut m) = self.values.lock() {
            m.insert(org.clone(), (Instant::now(), value));
        }
    }
}
