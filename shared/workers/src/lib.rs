//! Work that happens off the request path: the router (SQS consumer of the routing queue),
//! the notifier and the dispatcher, the outbox repair job, and the one helper every SQS
//! consumer uses for its batches.

pub mod batch;
pub mod channels;
mod config;
pub mod contacts;
pub mod dispatch;
mod fit;
pub mod housekeeping;
pub mod notifier;
pub mod paid;
pub mod repair;
pub mod retention;
pub mod router;
pub mod secrets;

pub use config::{
    app_url, aws_from_env, aws_timeouts, from_env, notifier_from_env, providers_from_env, relay_sqs_config,
    Config,
};
use queue::Queues;
use store::Store;

/// What the consumers and jobs work with; built once per cold start.
#[derive(Clone, Debug)]
pub struct Workers {
    pub store: Store,
    pub queues: Queues,
    pub files: files::Files,
    /// The sign-in directory, where a function archives contacts (`USER_POOL_ID`).
    pub directory: Option<directory::Directory>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Queue(#[from] queue::QueueError),
    #[error(transparent)]
    Files(#[from] files::FilesError),
    #[error(transparent)]
    Directory(#[from] directory::DirectoryError),
    #[error("thread {0} of an event does not exist")]
    MissingThread(domain::ThreadId),
    /// Not found by an eventually consistent read yet: the redelivery finds it.
    #[error("message {0} of an event is not readable yet")]
    MissingMessage(domain::MessageId),
}
