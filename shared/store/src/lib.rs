//! DynamoDB adapter: the single-table design (see `docs/table-design.md`) behind users,
//! threads, participants, timelines and idempotency records. Every request-path operation
//! is one Query, one GetItem or one TransactWriteItems; nothing here ever Scans.

mod archive_checks;
mod attachments;
mod audit;
mod batch;
mod campaigns;
mod consents;
mod cursor;
mod due;
mod error;
mod filled;
mod import;
mod inbox;
mod invites;
mod items;
pub mod keys;
mod members;
mod metrics;
mod notify;
mod once;
mod outbox;
mod pages;
mod quota;
mod records;
pub mod retry;
mod scheduled;
mod search;
mod settings;
mod templates;
mod texted;
mod threads;
mod timeline;
mod triage;
mod tx;
mod users;
mod webhooks;

pub use archive_checks::{ArchiveCheck, DueThread};
pub use attachments::{
    AttachmentRecord, AttachmentRef, AttachmentStatus, RetentionSettings, DEFAULT_RETENTION_DAYS,
};
pub use audit::{ChainHeadRecord, ChainRead, HeadPlace, HeadRead, MAX_APPEND};
pub use campaigns::{CampaignKey, CampaignRecord, MarkState, Progress, RecipientKey, RecipientMark};
pub use cursor::Cursor;
pub use error::StoreError;
pub use filled::MAX_FILTERED_READS;
pub use import::Imported;
pub use inbox::{InboxQuery, InboxRow, RowFilter};
pub use invites::Invite;
pub use keys::{InboxScope, ScheduledList};
pub use members::{EventStep, MembershipChange, MembershipOutcome};
pub use metrics::{CycleMark, CycleRecord};
pub use notify::{
    Attempt, Delivery, DueBucket, FailedNotification, Outcome, PaidAllowance, Settle, MAX_SETTLED,
};
pub use once::Once;
pub use quota::Counter;
pub use records::{
    EventKind, EventRecord, IdempotencyRecord, LastMessage, MessageRecord, ParticipantRecord, ResidentRef,
    Summary, ThreadRecord, ThreadView, TimelineItem,
};
pub use scheduled::{ScheduledKey, ScheduledPost, ScheduledRecord, Scheduling};
pub use search::HitContext;
pub use templates::TemplateRecord;
pub use texted::Texted;
pub use threads::{CreateOutcome, NewIdempotency, NewPost, PostOutcome, ReadOutcome};
pub use triage::{QueueChange, QueueEntry};
pub use users::{AuditEntry, ContactQuery};
pub use webhooks::{AttemptRecord, DeliveryRecord, DeliveryState, DueDelivery, SecretRecord, WebhookRecord};

use aws_sdk_dynamodb::Client;

/// One page of a list and the opaque cursor to the next, if any.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// The table and the client that reaches it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}
