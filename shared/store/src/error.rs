//! Storage errors. The api crate maps each variant to one HTTP status.

use std::error::Error as StdError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB could not be reached or refused the call (throttling, outage).
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// An item did not decode into its record: a bug or a manual edit, never user input.
    #[error("stored item is malformed")]
    Corrupt(#[from] serde_dynamo::Error),
    /// Concurrent writers kept winning; the caller may retry.
    #[error("too many concurrent updates")]
    Contention,
    /// A cursor that we did not issue for this query.
    #[error("invalid cursor")]
    BadCursor,
}

impl StoreError {
    pub(crate) fn unavailable(e: impl StdError + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
