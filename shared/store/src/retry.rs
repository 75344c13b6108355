//! One way to try again: a write that lost a race (a read gone stale, a transaction that
//! conflicted with another) is tried again after a short random pause, at most
//! `MAX_ATTEMPTS` times, then fails as `StoreError::Contention`:
//!
//! ```ignore
//! let mut tries = Tries::new();
//! while tries.another().await {
//!     // read, decide, write; `return` when done, `continue` after losing a race
//! }
//! Err(StoreError::Contention.into())
//! ```

use std::time::Duration;

/// Tries of one write before it fails as contention.
pub const MAX_ATTEMPTS: u32 = 40;

/// The tries of one write.
#[derive(Debug, Default)]
pub struct Tries {
    made: u32,
}

impl Tries {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether another try may run; pauses (`backoff`) before every try but the first.
    pub async fn another(&mut self) -> bool {
        if self.made >= MAX_ATTEMPTS {
            return false;
        }
        if self.made > 0 {
            backoff(self.made - 1).await;
        }
        self.made += 1;
        true
    }
}

/// A pause drawn at random from the operating system's generator, up to 5 ms after the
/// first try and doubling to 160 ms ("full jitter"), so writers that collided once do not
/// collide again in step.
pub async fn backoff(attempt: u32) {
    let cap_ms = 5u64 << attempt.min(5);
    let random = getrandom::u64().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(1 + random % cap_ms)).await;
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn a_write_gets_max_attempts_tries_the_first_at_once_the_others_after_a_pause() {
        let mut tries = Tries::new();
        let start = Instant::now();
        assert!(tries.another().await);
        assert!(start.elapsed() < Duration::from_millis(1), "the first try waits for nothing");
        let mut more = 0;
        let start = Instant::now();
        while tries.another().await {
            more += 1;
        }
        assert_eq!(more + 1, MAX_ATTEMPTS);
        // Every pause is at least a millisecond.
        assert!(start.elapsed() >= Duration::from_millis(u64::from(MAX_ATTEMPTS - 1)));
        assert!(!tries.another().await, "no try after the last");
    }

    #[tokio::test]
    async fn pauses_are_random_and_within_their_cap() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            let start = Instant::now();
            backoff(0).await;
            let waited = start.elapsed();
            assert!(waited >= Duration::from_millis(1));
            seen.insert(waited.as_millis().min(5));
        }
        assert!(seen.len() > 1, "twenty pauses all the same length: {seen:?}");
    }
}
