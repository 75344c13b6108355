//! What a use case can fail with. `Error` is what a caller's request gets (the API renders
//! it); `WorkError` is what a consumer's or job's step gets (its record is retried).

use domain::{DomainError, ErrorCode};
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// S3 failed (presigning, reading what an upload stored).
    #[error("file storage unavailable")]
    Files(#[from] files::FilesError),
    /// Cognito failed.
    #[error("sign-in directory unavailable")]
    Directory(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The e-mail provider did not take a message.
    #[error("e-mail unavailable")]
    Mail(#[source] channels::SendError),
    /// The operating system's random generator failed.
    #[error("random generator unavailable")]
    Random(#[source] getrandom::Error),
    /// This function lacks a setting it needs (a deployment fault).
    #[error("{0} is not configured")]
    Unconfigured(&'static str),
    /// The search index could not be read.
    #[error("search unavailable")]
    Search(#[from] ::search::SearchError),
    /// A request body, or a file an upload declares, over its limit.
    #[error("{what} too large")]
    PayloadTooLarge { what: &'static str, limit_bytes: u64 },
    /// A write quota is spent until the window ends.
    #[error("quota spent")]
    RateLimited { kind: domain::quota::QuotaKind, retry_after_secs: u32 },
    /// A post meant as an answer to the thread as the poster last saw it, and someone wrote
    /// since: these are the (first) messages they missed.
    #[error("the thread has newer messages")]
    MovedOn { newer: Vec<store::MessageRecord> },
}

impl Error {
    /// A refusal of the request as made, not a failure of ours: nothing was written, so a
    /// quota count taken for it is given back.
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::Domain(_)
            | Self::PayloadTooLarge { .. }
            | Self::RateLimited { .. }
            | Self::MovedOn { .. } => true,
            Self::Store(e) => matches!(e, StoreError::BadCursor | StoreError::Contention),
            Self::Files(_)
            | Self::Directory(_)
            | Self::Mail(_)
            | Self::Random(_)
            | Self::Search(_)
            | Self::Unconfigured(_) => false,
        }
    }

    /// The answer to a request that reuses an Idempotency-Key for a different request.
    pub fn key_reused() -> Self {
        DomainError::invalid(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was already used for a different request",
        )
        .into()
    }
}

impl From<directory::DirectoryError> for Error {
    fn from(e: directory::DirectoryError) -> Self {
        match e {
            directory::DirectoryError::Domain(e) => Self::Domain(e),
            directory::DirectoryError::Unavailable(e) => Self::Directory(e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Files(#[from] files::FilesError),
    #[error(transparent)]
    Directory(#[from] directory::DirectoryError),
    /// A thread's chain could not be caught up (its events are retried).
    #[error("audit chain not appended: {0}")]
    Audit(String),
    /// A checkpoint could not be signed or kept: the heads stay unsealed for the next run.
    #[error(transparent)]
    Checkpoint(#[from] checkpoints::CheckpointError),
    #[error("thread {0} of an event does not exist")]
    MissingThread(domain::ThreadId),
    /// Not found by an eventually consistent read yet: the redelivery finds it.
    #[error("message {0} of an event is not readable yet")]
    MissingMessage(domain::MessageId),
    /// A reply names a response cycle triage has not started yet: the redelivery marks it.
    #[error("response cycle {0} not started yet")]
    CycleNotStarted(domain::MessageId),
    /// The search index could not be written; the org's events of the batch are retried.
    #[error("indexing failed: {0}")]
    Indexing(String),
    /// The search index's files could not be written or read.
    #[error(transparent)]
    Search(#[from] ::search::SearchError),
    /// A use case a job ran failed for a reason of ours (storage, quota): retried.
    #[error(transparent)]
    UseCase(Box<Error>),
}
