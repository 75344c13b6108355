//! Per-organization values read at most once a minute per function instance (an org's
//! quota limits, its business hours), not on every request or event.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::OrgId;

/// How long a value is kept before it is read again: a change applies within a minute.
pub const TTL: Duration = Duration::from_secs(60);

/// When an org's value was read, and the value (`None`: forgotten then, read again).
type Kept<T> = (Instant, Option<T>);

#[derive(Clone, Debug)]
pub struct OrgCache<T> {
    values: Arc<Mutex<HashMap<OrgId, Kept<T>>>>,
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
    /// The org's value as last read within the TTL, else `read` (and keep it, unless a
    /// value kept meanwhile is newer: a read that started before a `put` must not bring
    /// back what it replaced).
    pub async fn get<E>(&self, org: &OrgId, read: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let cached = self.values.lock().ok().and_then(|m| m.get(org).cloned());
        if let Some((_, Some(value))) = cached.filter(|(at, _)| at.elapsed() < self.ttl) {
            return Ok(value);
        }
        let started = Instant::now();
        let value = read.await?;
        if let Ok(mut m) = self.values.lock() {
            if m.get(org).is_none_or(|(at, _)| *at < started) {
                m.insert(org.clone(), (Instant::now(), Some(value.clone())));
            }
        }
        Ok(value)
    }

    /// Keeps `value` as the org's, read now (a change made by this instance applies to it
    /// at once).
    pub fn put(&self, org: &OrgId, value: T) {
        self.keep(org, Some(value));
    }

    /// The org's value is read again next time (a change this instance made and cannot
    /// state whole), and a read already under way is not kept.
    pub fn forget(&self, org: &OrgId) {
        self.keep(org, None);
    }

    fn keep(&self, org: &OrgId, value: Option<T>) {
        if let Ok(mut m) = self.values.lock() {
            m.insert(org.clone(), (Instant::now(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = tokio::task::JoinHandle<Result<&'static str, ()>>;

    /// A read of `org` that starts now (if nothing is kept) and answers `value` once
    /// released.
    async fn slow_read(
        cache: &OrgCache<&'static str>,
        org: &OrgId,
        value: &'static str,
    ) -> (Read, impl FnOnce()) {
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (cache, org) = (cache.clone(), org.clone());
        let read = tokio::spawn(async move {
            cache
                .get(&org, async {
                    released.await.ok();
                    Ok(value)
                })
                .await
        });
        tokio::task::yield_now().await;
        (read, move || release.send(()).unwrap())
    }

    #[tokio::test]
    async fn a_read_that_started_before_a_put_does_not_bring_back_the_old_value() {
        let cache = OrgCache::<&str>::default();
        let org = OrgId::parse("acme").unwrap();
        let (slow, release) = slow_read(&cache, &org, "old").await;
        cache.put(&org, "new");
        release();
        assert_eq!(slow.await.unwrap(), Ok("old"), "the slow read answers what it read");
        let kept = cache.get(&org, async { Ok::<_, ()>("read again") }).await;
        assert_eq!(kept, Ok("new"), "the value put while it read is kept");
        let other = OrgId::parse("other").unwrap();
        assert_eq!(cache.get(&other, async { Ok::<_, ()>("first") }).await, Ok("first"));
        assert_eq!(
            cache.get(&other, async { Ok::<_, ()>("second") }).await,
            Ok("first"),
            "kept within the TTL"
        );
    }

    #[tokio::test]
    async fn a_forgotten_value_is_read_again_and_a_read_under_way_then_is_not_kept() {
        let cache = OrgCache::<&str>::default();
        let org = OrgId::parse("acme").unwrap();
        assert_eq!(cache.get(&org, async { Ok::<_, ()>("before") }).await, Ok("before"));
        // Forgotten first, so the slow read reads (the kept value would be served).
        cache.forget(&org);
        let (slow, release) = slow_read(&cache, &org, "read before the change").await;
        cache.forget(&org);
        release();
        assert_eq!(slow.await.unwrap(), Ok("read before the change"));
        assert_eq!(
            cache.get(&org, async { Ok::<_, ()>("after") }).await,
            Ok("after"),
            "read again: neither the old value nor the read under way is kept"
        );
        assert_eq!(cache.get(&org, async { Ok::<_, ()>("again") }).await, Ok("after"), "then kept");
    }
}
