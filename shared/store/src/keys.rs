//! Every key format of the table and every index name: the one place they are written
//! (`docs/table-design.md` lists the items and access patterns they serve). Every table
//! partition starts with `ORG#{org}#`, so no query built from one org's token can reach
//! another org's items; the exceptions are the invitation (found by the hash of a secret
//! the accept link carries, with no org) and the schedule partitions of `gsi1`, which only
//! the scheduled jobs query.

use chrono::{DateTime, Utc};
use domain::quota::QuotaKind;
use domain::webhook::DeliveryId;
use domain::{
    AttachmentId, CampaignId, EntryId, EventId, MessageId, OrgId, ScheduledId, TemplateId, ThreadId,
    ThreadStatus, UserId, WebhookId,
};

pub const PK: &str = "pk";
pub const SK: &str = "sk";

/// The table's four general-purpose indexes (all `ALL` projection). Each item kind puts
/// its own partitions on them; the functions below name which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
}

impl Index {
    pub const ALL: [Self; 4] = [Self::Gsi1, Self::Gsi2, Self::Gsi3, Self::Gsi4];

    pub fn name(self) -> &'static str {
        match self {
            Self::Gsi1 => "gsi1",
            Self::Gsi2 => "gsi2",
            Self::Gsi3 => "gsi3",
            Self::Gsi4 => "gsi4",
        }
    }

    /// The attribute holding an item's partition key on this index.
    pub fn pk(self) -> &'static str {
        match self {
            Self::Gsi1 => "gsi1pk",
            Self::Gsi2 => "gsi2pk",
            Self::Gsi3 => "gsi3pk",
            Self::Gsi4 => "gsi4pk",
        }
    }

    /// The attribute holding an item's sort key on this index.
    pub fn sk(self) -> &'static str {
        match self {
            Self::Gsi1 => "gsi1sk",
            Self::Gsi2 => "gsi2sk",
            Self::Gsi3 => "gsi3sk",
            Self::Gsi4 => "gsi4sk",
        }
    }
}

// ---- Table partitions -------------------------------------------------------------------

pub fn org_prefix(org: &OrgId) -> String {
    format!("ORG#{org}#")
}

/// A thread: its head item, participants and timeline.
pub fn thread_pk(org: &OrgId, id: &ThreadId) -> String {
    format!("{}{id}", thread_prefix(org))
}

/// The start of every thread partition of an org (harnesses count them).
pub fn thread_prefix(org: &OrgId) -> String {
    format!("ORG#{org}#THREAD#")
}

/// A user: profile, name words, notification preferences.
pub fn user_pk(org: &OrgId, user: &UserId) -> String {
    format!("ORG#{org}#USER#{user}")
}

/// The org-wide saved replies; a personal one lives in its author's partition.
pub fn org_templates_pk(org: &OrgId) -> String {
    format!("{}TEMPLATES", org_prefix(org))
}

/// A saved reply, in the org's template partition or in its author's user partition.
pub fn template_sk(id: &TemplateId) -> String {
    format!("{TEMPLATE_PREFIX}{id}")
}

pub fn idempotency_pk(org: &OrgId, user: &UserId, key: &str) -> String {
    format!("ORG#{org}#IDEM#{user}#{key}")
}

pub fn attachment_pk(org: &OrgId, id: &AttachmentId) -> String {
    format!("ORG#{org}#ATT#{id}")
}

/// The org's settings, one item per kind (`*_SETTINGS_SK`).
pub fn settings_pk(org: &OrgId) -> String {
    format!("ORG#{org}#SETTINGS")
}

/// A recipient's notification state: pending, sent markers, bucket, paid allowance, failures.
pub fn notify_pk(org: &OrgId, user: &UserId) -> String {
    format!("ORG#{org}#NOTIFY#{user}")
}

/// A recipient's delivery log.
pub fn delivery_pk(org: &OrgId, user: &UserId) -> String {
    format!("ORG#{org}#DELIVERY#{user}")
}

pub fn outbox_pk(org: &OrgId, id: &EventId) -> String {
    format!("{}{id}", outbox_prefix(org))
}

/// An org's webhook endpoints.
pub fn webhooks_pk(org: &OrgId) -> String {
    format!("ORG#{org}#WEBHOOKS")
}

pub fn webhook_sk(id: &WebhookId) -> String {
    format!("WEBHOOK#{id}")
}

/// An endpoint's delivery log (`delivery_sk`), newest last.
pub fn webhook_deliveries_pk(org: &OrgId, id: &WebhookId) -> String {
    format!("ORG#{org}#WEBHOOK#{id}")
}

pub fn webhook_delivery_sk(id: &DeliveryId) -> String {
    format!("DELIVERY#{id}")
}

/// The start of every outbox partition of an org (harnesses read them all).
pub fn outbox_prefix(org: &OrgId) -> String {
    format!("ORG#{org}#OUTBOX#")
}

/// A scheduled message or conversation.
pub fn scheduled_pk(org: &OrgId, id: &ScheduledId) -> String {
    format!("ORG#{org}#SCHEDULED#{id}")
}

/// An org's search index: the version readers open.
pub fn search_pk(org: &OrgId) -> String {
    format!("ORG#{org}#SEARCH")
}

/// A contact's consent ledger: every change, in time order, never changed.
pub fn consent_log_pk(org: &OrgId, contact: &UserId) -> String {
    format!("ORG#{org}#CONSENT_LOG#{contact}")
}

/// The contacts texted from our number at `phone` (E.164) in categories that need consent,
/// so that a STOP reply from it withdraws them: like the invitation, found from outside an
/// org (the provider's webhook names only the phone), each item naming its org and contact.
pub fn sms_pk(phone: &str) -> String {
    format!("SMS#{phone}")
}

/// One contact texted at a phone (in the phone's partition).
pub fn sms_recipient_sk(org: &OrgId, user: &UserId) -> String {
    format!("ORG#{org}#USER#{user}")
}

/// A campaign and the people it reached (one marker each).
pub fn campaign_pk(org: &OrgId, id: &CampaignId) -> String {
    format!("ORG#{org}#CAMPAIGN#{id}")
}

/// The org's campaigns, newest first (`gsi2`).
pub fn campaign_list(org: &OrgId) -> (Index, String) {
    (Index::Gsi2, format!("ORG#{org}#CAMPAIGNS"))
}

/// The org's triage queue: one item per escalated thread nobody acknowledged (sort key:
/// the thread id).
pub fn triage_pk(org: &OrgId) -> String {
    format!("ORG#{org}#TRIAGE")
}

/// The triage queue in order (`gsi2`): emergencies first, then oldest escalation first.
pub fn triage_queue(org: &OrgId) -> (Index, String) {
    (Index::Gsi2, format!("ORG#{org}#TRIAGEQ"))
}

/// A queue entry's sort key on [`triage_queue`].
pub fn triage_queue_sk(emergency: bool, at: &DateTime<Utc>, thread: &ThreadId) -> String {
    format!("{}#{}", if emergency { 0 } else { 1 }, log_sk(at, thread))
}

/// The threads of a contact triage recently put on a path (in the contact's partition):
/// how many they had recently on it. Until stop 36 each was an item of its own,
/// `TRIAGED#{path}#{thread}`, which expires by its TTL.
pub fn triaged_sk(path: &str) -> String {
    format!("TRIAGED#{path}")
}

/// A thread's attribute in a [`triaged_sk`] item: its latest time on the path.
pub fn triaged_attr(thread: &ThreadId) -> String {
    format!("{TRIAGED_ATTR_PREFIX}{thread}")
}

pub const TRIAGED_ATTR_PREFIX: &str = "T";

/// A thread's response cycles (sort key: the resident message that started each).
pub fn cycle_pk(org: &OrgId, thread: &ThreadId) -> String {
    format!("ORG#{org}#CYCLES#{thread}")
}

/// The org's response cycles that started in the month of `at` (`gsi2`), by start time.
pub fn cycle_list(org: &OrgId, at: &DateTime<Utc>) -> (Index, String) {
    (Index::Gsi2, format!("ORG#{org}#CYCLES#{}", at.format("%Y-%m")))
}

/// A thread's audit chain: its entries (`chain_entry_sk`) and latest checkpoint; the head
/// is in the thread's partition (`AUDIT_HEAD_SK`; here before stop 37, `CHAIN_HEAD_SK`).
pub fn chain_pk(org: &OrgId, thread: &ThreadId) -> String {
    format!("ORG#{org}#CHAIN#{thread}")
}

/// A chain entry, by its place in the chain (zero-padded so keys sort as numbers).
pub fn chain_entry_sk(seq: u64) -> String {
    format!("{CHAIN_ENTRY_PREFIX}{seq:010}")
}

/// A contact's audit trail.
pub fn audit_pk(org: &OrgId, subject: &UserId) -> String {
    format!("ORG#{org}#AUDIT#{subject}")
}

/// Whose write a quota counter counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuotaScope {
    User(UserId),
    Org,
    /// The contact a write is about (invitations).
    Subject(UserId),
}

pub fn quota_pk(org: &OrgId, scope: &QuotaScope) -> String {
    match scope {
        QuotaScope::User(id) => format!("ORG#{org}#QUOTA#user#{id}"),
        QuotaScope::Org => format!("ORG#{org}#QUOTA#org#"),
        QuotaScope::Subject(id) => format!("ORG#{org}#QUOTA#subject#{id}"),
    }
}

/// An invitation, keyed by the SHA-256 of its token: the one partition without an org.
pub fn invite_pk(token_hash: &str) -> String {
    format!("INVITE#{token_hash}")
}

// ---- Sort keys ----------------------------------------------------------------------------

/// A thread's head item; with the participants, everything under `THREAD_HEAD_PREFIX`.
pub const META_SK: &str = "#META";
pub const PARTICIPANT_PREFIX: &str = "#PART#";
/// What triage made of the thread (kept apart from the thread item, which every post and
/// change rewrites, and read with it).
pub const TRIAGE_SK: &str = "#TRIAGE";
/// What the thread item, its triage and participant items share, so one Query reads them
/// together.
pub const THREAD_HEAD_PREFIX: &str = "#";
pub const TIMELINE_PREFIX: &str = "TL#";
pub const CHAIN_ENTRY_PREFIX: &str = "E#";
/// A thread's audit chain head (its last entry and which timeline entries it has chained
/// lately), in the thread's partition just past the timeline (`TL$` sorts after every
/// `TL#…`), so one Query reads it with the newest timeline entries.
pub const AUDIT_HEAD_SK: &str = "TL$AUDIT";
/// Where releases before stop 37 kept the head, in the chain's partition: read when the
/// thread has none of its own, and deleted by the append that moves it there.
pub const CHAIN_HEAD_SK: &str = "HEAD";
/// A chain's latest signed checkpoint.
pub const CHAIN_SEAL_SK: &str = "SEAL";
/// When a resolved thread is next looked at for archiving.
pub const ARCHIVE_CHECK_SK: &str = "ARCHIVE_CHECK";
pub const PROFILE_SK: &str = "PROFILE";
pub const NOTIFY_PREFS_SK: &str = "NOTIFY_PREFS";
pub const SIGNATURE_SK: &str = "SIGNATURE";
/// A contact's latest consent decision per category (in their user partition).
pub const CONSENTS_SK: &str = "CONSENTS";
pub const TEMPLATE_PREFIX: &str = "TEMPLATE#";
pub const CAMPAIGN_SK: &str = "CAMPAIGN";

/// A campaign's marker of one recipient (in the campaign's partition).
pub fn recipient_sk(user: &UserId) -> String {
    format!("R#{user}")
}

/// A contact asked for consent to a category, once ever (in their user partition).
pub fn consent_asked_sk(category: &str) -> String {
    format!("ASKED#{category}")
}
pub const IDEMPOTENCY_SK: &str = "IDEM";
/// An Idempotency-Key used to schedule a message (beside `IDEM`, which records posts).
pub const SCHEDULED_IDEMPOTENCY_SK: &str = "IDEM#SCHEDULED";
/// An Idempotency-Key used to create a campaign.
pub const CAMPAIGN_IDEMPOTENCY_SK: &str = "IDEM#CAMPAIGN";
pub const ATTACHMENT_SK: &str = "ATT";
pub const OUTBOX_SK: &str = "OUTBOX";
/// The router applied the event of this partition.
pub const ROUTED_SK: &str = "ROUTED";
pub const INVITE_SK: &str = "INVITE";
pub const SCHEDULED_SK: &str = "SCHEDULED";
pub const SEARCH_INDEX_SK: &str = "INDEX";
pub const ROUTING_SETTINGS_SK: &str = "ROUTING";
pub const RETENTION_SETTINGS_SK: &str = "RETENTION";
pub const MESSAGING_SETTINGS_SK: &str = "MESSAGING";
pub const BUSINESS_HOURS_SK: &str = "BUSINESS_HOURS";
pub const CATEGORIES_SK: &str = "CATEGORIES";
pub const QUOTAS_SETTINGS_SK: &str = "QUOTAS";
pub const NOTIFICATIONS_SETTINGS_SK: &str = "NOTIFICATIONS";
pub const TRIAGE_SETTINGS_SK: &str = "TRIAGE";
pub const BUCKET_SK: &str = "BUCKET";
pub const PAID_SK: &str = "PAID";
pub const PENDING_PREFIX: &str = "P#";
/// Above every pending key (ULIDs are uppercase letters and digits).
pub const PENDING_LAST: &str = "P#~";
pub const FAILED_PREFIX: &str = "F#";

pub fn participant_sk(user: &UserId) -> String {
    format!("{PARTICIPANT_PREFIX}{user}")
}

/// A message's or an event's place in its thread's timeline.
pub fn timeline_sk(id: impl Into<EntryId>) -> String {
    format!("{TIMELINE_PREFIX}{}", id.into())
}

/// One word of a user's name (the item carries the user, for prefix search).
pub fn name_word_sk(word: &str) -> String {
    format!("NAME#{word}")
}

pub fn pending_sk(message: &MessageId) -> String {
    format!("{PENDING_PREFIX}{message}")
}

pub fn failed_sk(at: &DateTime<Utc>, id: &MessageId) -> String {
    format!("{FAILED_PREFIX}{}#{id}", timestamp(at))
}

/// Delivery log and audit entries, outbox events on their schedule partition: in time order
/// (`id`, a ULID, keeps entries of the same millisecond apart).
pub fn log_sk(at: &DateTime<Utc>, id: &impl std::fmt::Display) -> String {
    format!("{}#{id}", timestamp(at))
}

pub fn quota_sk(kind: QuotaKind, window_start: i64) -> String {
    format!("{}#{window_start}", kind.as_str())
}

// ---- Index partitions ---------------------------------------------------------------------

/// Whose inbox: the whole org's (facility admins, on thread items) or one participant's (on
/// their participant items).
#[derive(Debug, Clone)]
pub enum InboxScope {
    Org(OrgId),
    User(OrgId, UserId),
}

impl InboxScope {
    pub fn org(&self) -> &OrgId {
        match self {
            Self::Org(org) | Self::User(org, _) => org,
        }
    }

    fn prefix(&self) -> String {
        match self {
            Self::Org(org) => format!("ORG#{org}#INBOX_ALL"),
            Self::User(org, user) => format!("ORG#{org}#INBOX_USER#{user}"),
        }
    }

    /// The index and partition of an inbox list: by status (`gsi1`) or all (`gsi2`), each
    /// sorted by `activity_sk`. (A topic is a filter on either: two indexes instead of four
    /// halve what every message writes to indexes.)
    pub fn partition(&self, status: Option<ThreadStatus>) -> (Index, String) {
        let prefix = self.prefix();
        match status {
            Some(st) => (Index::Gsi1, format!("{prefix}#S#{}", st.as_str())),
            None => (Index::Gsi2, prefix),
        }
    }

    /// The two partitions a row with this status sits in, one per index.
    pub fn partitions(&self, status: ThreadStatus) -> [(Index, String); 2] {
        [self.partition(Some(status)), self.partition(None)]
    }

    /// The indexes inbox rows are on.
    pub const INDEXES: [Index; 2] = [Index::Gsi1, Index::Gsi2];
}

/// Sort key of inbox indexes: newest activity sorts last, so lists query backwards. The
/// time alone: an index's keys need not be unique (a page's cursor holds the table's keys
/// too), and every post writes this twice into each item it moves, which a thread id would
/// make 54 B larger (rows written before stop 44 end in `#{thread}`, and sort among these
/// by their time all the same).
pub fn activity_sk(at: &DateTime<Utc>) -> String {
    timestamp(at)
}

/// How contacts are listed: the index and partition on user items (name words for `Name`).
#[derive(Debug, Clone, Copy)]
pub enum ContactList<'a> {
    /// Name words, sorted by `{word}#{id}` (`name_word_index_sk`).
    Name,
    Unit {
        property: &'a str,
        unit: &'a str,
    },
    Property(&'a str),
    All,
}

impl ContactList<'_> {
    pub fn partition(self, org: &OrgId) -> (Index, String) {
        match self {
            Self::Name => (Index::Gsi1, format!("ORG#{org}#CONTACTS#NAME")),
            Self::Unit { property, unit } => {
                (Index::Gsi3, format!("ORG#{org}#CONTACTS#UNIT#{property}#{unit}"))
            }
            Self::Property(property) => (Index::Gsi2, format!("ORG#{org}#CONTACTS#PROP#{property}")),
            Self::All => (Index::Gsi4, format!("ORG#{org}#CONTACTS")),
        }
    }
}

/// Sort key of a user item on the unit, property and whole-org lists.
pub fn contact_sk(folded_name: &str, user: &UserId) -> String {
    format!("{folded_name}#{user}")
}

/// Sort key of a name word on the name list.
pub fn name_word_index_sk(word: &str, user: &UserId) -> String {
    format!("{word}#{user}")
}

/// The lists of pending scheduled messages: an author's (`gsi2`) and the org's (`gsi3`),
/// each sorted by `scheduled_sk`, soonest first.
#[derive(Debug, Clone, Copy)]
pub enum ScheduledList<'a> {
    Author(&'a UserId),
    Org,
}

impl ScheduledList<'_> {
    pub fn partition(self, org: &OrgId) -> (Index, String) {
        match self {
            Self::Author(user) => (Index::Gsi2, format!("ORG#{org}#SCHEDULED_BY#{user}")),
            Self::Org => (Index::Gsi3, format!("ORG#{org}#SCHEDULED_ALL")),
        }
    }
}

/// Sort key of the scheduled lists: when it goes, then which.
pub fn scheduled_sk(send_at: &DateTime<Utc>, id: &ScheduledId) -> String {
    format!("{}#{id}", timestamp(send_at))
}

/// The schedule partitions on `gsi1`, each read by one job, oldest due first (sort key
/// `due_sk`; outbox events by `log_sk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Users whose scheduled archive is due.
    Archive,
    /// Notification buckets to deliver.
    Notify,
    /// Uploads never attached, deleted after a while.
    Unattached,
    /// Attachments past their retention.
    AttachmentArchive,
    /// Outbox events not yet done, over `shard`s.
    Outbox { shard: u32 },
    /// Scheduled messages to post.
    Scheduled,
    /// Resolved threads to look at for archiving.
    ResolvedThread,
    /// Campaigns to start or go on with.
    Campaign,
    /// Escalated threads nobody acknowledged, by when they escalate again.
    Escalation,
    /// Webhook deliveries to try (again).
    Webhook,
    /// Audit chain heads not sealed by a checkpoint since they moved, over `shard`s, by
    /// when they first moved unsealed.
    Unsealed { shard: u32 },
}

impl Due {
    pub fn partition(self) -> String {
        match self {
            Self::Archive => "CONTACTS#ARCHIVE_DUE".to_owned(),
            Self::Notify => "NOTIFY#DUE".to_owned(),
            Self::Unattached => "ATTACH#UNATTACHED".to_owned(),
            Self::AttachmentArchive => "ATTACH#ARCHIVE".to_owned(),
            Self::Outbox { shard } => format!("OUTBOX#PENDING#{shard}"),
            Self::Scheduled => "SCHEDULED#DUE".to_owned(),
            Self::ResolvedThread => "THREADS#ARCHIVE_CHECK".to_owned(),
            Self::Campaign => "CAMPAIGNS#DUE".to_owned(),
            Self::Escalation => "TRIAGE#DUE".to_owned(),
            Self::Webhook => "WEBHOOK#DUE".to_owned(),
            Self::Unsealed { shard } => format!("CHAIN#UNSEALED#{shard}"),
        }
    }
}

/// Sort key on a schedule partition: when, then whose (the org names itself, since these
/// partitions mix orgs).
pub fn due_sk(at: &DateTime<Utc>, org: &OrgId, id: &impl std::fmt::Display) -> String {
    format!("{}#{org}#{id}", timestamp(at))
}

/// The bound of a schedule query that takes everything due at `now` (`~` sorts after `#`).
pub fn due_by(now: &DateTime<Utc>) -> String {
    format!("{}~", timestamp(now))
}

/// Fixed-width UTC timestamp with milliseconds: sorts as text in time order.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
