//! The use cases: what happens when someone starts a thread, posts, changes a thread or
//! its participants, marks read; what the router, the notifier and the dispatcher do with
//! an event; what the scheduled jobs do. Each takes typed inputs and the actor, applies the
//! domain policy and talks to the adapters (`store`, `queue`, `files`, `directory`,
//! `channels`). HTTP handlers, queue consumers and schedules are thin callers of these.

mod archives;
pub mod attachments;
pub mod audit;
pub mod automation;
pub mod campaigns;
pub mod categories;
mod config;
pub mod consents;
pub mod contacts;
pub mod conversation;
pub mod dispatch;
pub mod emf;
mod error;
pub mod housekeeping;
mod idempotency;
pub mod invitations;
pub mod links;
pub mod messages;
pub mod metrics;
pub mod notifier;
mod org_cache;
mod paid;
pub mod participants;
pub mod quota;
pub mod relay;
pub mod repair;
pub mod resolved;
pub mod retention;
pub mod router;
pub mod scheduled;
pub mod search;
mod secrets;
pub mod settings;
pub mod templates;
pub mod threads;
pub mod triage;
pub mod webhooks;

pub use automation::HoursCache;
pub use config::{
    app_url, aws_from_env, aws_timeouts, campaign_send_rate, links_url, notifier_from_env, relay_sns_config,
    sms_webhook_url, Config,
};
pub use error::{Error, WorkError};
pub use idempotency::Idempotency;
pub use org_cache::TTL as SETTINGS_TTL;
pub use quota::QuotaCache;

use channels::Providers;
use directory::Directory;
use files::Files;
use queue::Events;
use store::Store;

/// The adapters every use case works with; built once per cold start.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    /// Where events are published for their consumers.
    pub events: Events,
    pub files: Files,
    /// Outbound channels, for what is sent outside the notifier (invitations).
    pub providers: Providers,
    /// Where links point (`{app_url}/invite?token=…`).
    pub app_url: String,
    /// The sign-in directory (`USER_POOL_ID`); `None` where there is none.
    pub directory: Option<Directory>,
    /// The orgs' write quotas, as last read.
    pub quotas: QuotaCache,
    /// The orgs' business hours, as last read (the automation reads them for every message).
    pub hours: HoursCache,
    /// The orgs' triage rules and on-call staff, as last read.
    pub triage: triage::TriageCache,
    /// The orgs' routing settings, as last read (by the consumers that route new threads).
    pub routing: router::RoutingCache,
    /// The orgs' messaging settings, as last read (read receipts, residents starting).
    pub messaging: settings::MessagingCache,
    /// The orgs' search indexes (their files in S3, a copy on local disk).
    pub search: ::search::Engine,
    /// Webhook deliveries: the HTTP client, the address rule, the endpoints as last read.
    pub webhooks: webhooks::Webhooks,
    /// Signs and checks the links that need no sign-in; `None` in functions that make none.
    pub links: Option<links::LinkKey>,
    /// Signs the audit chains' heads into the Object Lock bucket; `None` but in the jobs
    /// function.
    pub sealing: Option<audit::checkpoint::Sealing>,
}

impl App {
    /// The link key, or an internal error where this function has none (a deployment fault).
    pub fn link_key(&self) -> Result<&links::LinkKey, Error> {
        self.links.as_ref().ok_or_else(|| Error::Unconfigured("LINK_KEY"))
    }
}
