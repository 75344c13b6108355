//! The domain of resident messaging: identifiers and bounded text that parse at the edge,
//! users and their roles, threads with their status machine, and the authorization policy.
//! Nothing here does I/O or knows about AWS; adapters and handlers build on it.

pub mod attachment;
pub mod audit;
pub mod campaign;
pub mod category;
pub mod consent;
pub mod contact;
pub mod error;
pub mod events;
pub mod hours;
pub mod ids;
pub mod merkle;
pub mod messaging;
pub mod notify;
pub mod policy;
pub mod quota;
pub mod response;
pub mod routing;
pub mod scheduled;
pub mod schema;
pub mod search;
pub mod template;
pub mod text;
pub mod thread;
pub mod triage;
pub mod user;
pub mod webhook;

pub use error::{DomainError, ErrorCode};
pub use ids::{
    AttachmentId, CampaignId, EntryId, EventId, ExportId, LogId, MessageId, OrgId, ScheduledId, TemplateId,
    ThreadId, UserId, WebhookId,
};
pub use routing::{Recipient, RoutingSettings};
pub use text::{LinkedRecord, MessageBody, Subject, Topic};
pub use thread::{Priority, StatusChange, ThreadStatus};
pub use user::{AccountState, Role, User};
