//! Idempotency-Key: a write retried with the same key and the same request is answered
//! what the first one made, once, instead of made twice; the same key for a different
//! request is refused.

use domain::User;
use store::{MessageRecord, NewIdempotency};

use crate::{App, Error};

/// A request's key (if the client sent one) and the hash of what it asked.
#[derive(Clone, Debug)]
pub struct Idempotency {
    pub key: Option<String>,
    pub request_hash: String,
}

impl Idempotency {
    /// Identifies what was asked (`scope`: where, e.g. the thread), so a replay can be
    /// told from a reuse of the key for something else.
    pub fn new(key: Option<String>, scope: &str, request: &impl serde::Serialize) -> Self {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(scope.as_bytes());
        hasher.update(b"\n");
        hasher.update(serde_json::to_vec(request).unwrap_or_default());
        let request_hash = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Self { key, request_hash }
    }

    /// What the write stores with what it makes, when the client sent a key.
    pub(crate) fn record(&self) -> Option<NewIdempotency<'_>> {
        self.key.as_deref().map(|key| NewIdempotency { key, request_hash: self.request_hash.clone() })
    }

    /// Whether a stored request is this one (a replay) rather than another use of the key.
    pub(crate) fn is_replay_of(&self, stored_hash: &str) -> bool {
        self.request_hash == stored_hash
    }

    /// The message a request made with this key stored before, if the key was used for
    /// exactly this request (a client retrying after a lost answer).
    pub(crate) async fn first_answer(&self, app: &App, actor: &User) -> Result<Option<MessageRecord>, Error> {
        let Some(key) = self.key.as_deref() else { return Ok(None) };
        let first = app.store.replay(&actor.org, &actor.id, key).await?;
        Ok(first.filter(|f| self.is_replay_of(&f.request_hash)).map(|f| f.message))
    }
}
