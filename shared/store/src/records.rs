//! What is stored, as serde records (encoded with serde_dynamo). These are also the shapes
//! the API returns, so one definition serves storage and the wire.

use chrono::{DateTime, Utc};
pub use domain::thread::EventKind;
use domain::{
    EntryId, EventId, LinkedRecord, MessageBody, MessageId, OrgId, Priority, Role, Subject, ThreadId,
    ThreadStatus, Topic, UserId,
};
use serde::{Deserialize, Serialize};

/// The resident a thread is with, as shown on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResidentRef {
    pub id: UserId,
    pub name: String,
    pub unit: Option<String>,
    /// The resident's property when the thread started (inbox filter `property_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LastMessage {
    pub id: MessageId,
    /// The start of the body on one line.
    #[schema(max_length = 140)]
    pub body_preview: String,
    pub author_id: UserId,
    pub at: DateTime<Utc>,
}

impl LastMessage {
    pub fn of(msg: &MessageRecord) -> Self {
        Self {
            id: msg.id,
            body_preview: msg.body.preview(),
            author_id: msg.author_id.clone(),
            at: msg.created_at,
        }
    }
}

/// An inbox row's content. The thread item holds the staff view; each participant item
/// holds the view for that participant (residents never see internal notes in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Summary {
    pub id: ThreadId,
    pub topic: Topic,
    pub subject: Subject,
    pub status: ThreadStatus,
    pub priority: Priority,
    /// Its communication category (`service` unless a category claims its topic or staff
    /// named one).
    #[serde(default = "service")]
    pub category_id: String,
    pub resident: ResidentRef,
    pub last_message: Option<LastMessage>,
    pub updated_at: DateTime<Utc>,
}

fn service() -> String {
    domain::category::SERVICE.to_owned()
}

/// A thread's own item (`#META`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadRecord {
    pub org: OrgId,
    /// The staff view of the inbox row.
    pub summary: Summary,
    /// The newest message residents may see, and when it was posted. Stored only while it
    /// is not `summary.last_message` (an internal note came after it): with texts of
    /// realistic length that keeps the thread item, which every post rewrites and copies
    /// to two indexes, under 1 KB; `public_id` (not a field: see `items::PUBLIC_ID`) then
    /// names the last message as public. Reading the thread fills it in (see
    /// [`ThreadView::public_last_stored`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_last: Option<LastMessage>,
    pub public_at: DateTime<Utc>,
    /// Absent when none (not a null): every post rewrites this item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_record: Option<LinkedRecord>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    /// The closed period (by when it began) the thread last got an automatic reply for:
    /// one per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_replied_for: Option<DateTime<Utc>>,
    /// What triage made of the resident's message that started or last re-opened it.
    /// Stored apart, in the thread's `#TRIAGE` item (see [`ThreadView::triage_rev`]): the
    /// thread item, which every post and change rewrites (and copies to two indexes), is
    /// smaller by it (~280 B of ~1.3 KB).
    #[serde(default, skip_serializing)]
    pub triage: Option<domain::triage::ThreadTriage>,
    /// The response clock, three fields of the record (none on threads from before it was
    /// kept); posts move it in place (see [`crate::Store::post_message`]).
    #[serde(flatten)]
    pub response: domain::response::ResponseClock,
    /// Bumped by every change; status and field changes are conditioned on it. Stored as
    /// a top-level attribute (messages increment it in place), not in the record.
    #[serde(skip)]
    pub version: u64,
    /// Bumped whenever someone joins or leaves; a post that read another participant set
    /// is refused, so every participant's row always moves with new messages.
    #[serde(skip)]
    pub members_version: u64,
}

impl ThreadRecord {
    /// The inbox row as `role` may see it.
    pub fn view_for(&self, role: Role) -> Summary {
        if role.is_staff() {
            self.summary.clone()
        } else {
            Summary {
                last_message: self.public_last.clone(),
                updated_at: self.public_at,
                ..self.summary.clone()
            }
        }
    }

    /// The newest timeline message recorded in this thread, of any visibility.
    pub fn last_id(&self) -> Option<MessageId> {
        self.summary.last_message.as_ref().map(|m| m.id)
    }
}

/// The field of [`ParticipantRecord`] an inbox row reads alone (a projection names it).
pub const LAST_READ_ID: &str = "last_read_id";

/// A participant's item (`#PART#{user}`): who they are in the thread, how far they read,
/// and their copy of the inbox row (indexed for their inbox).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantRecord {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
    /// Absent (before stop 44: null) until they read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_read_id: Option<MessageId>,
    /// The newest message residents may see up to `last_read_id`: what residents are shown
    /// of a staff member's marker, which may point at an internal note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_read_id: Option<MessageId>,
}

impl ParticipantRecord {
    /// How far this participant has read, as `reader` may be told: staff see the marker;
    /// others the last public message up to it (a resident's own marker is always public).
    pub fn read_marker_for(&self, reader: Role) -> Option<MessageId> {
        if reader.is_staff() || !self.role.is_staff() {
            self.last_read_id
        } else {
            self.public_read_id
        }
    }
}

/// A thread with everyone in it: what one Query on the thread's partition returns.
#[derive(Debug, Clone)]
pub struct ThreadView {
    pub thread: ThreadRecord,
    pub participants: Vec<ParticipantRecord>,
    /// The revision of the thread's triage item as read (`None`: no such item; a triage
    /// then read from the thread item, as written before it had an item of its own, moves
    /// there with the next change).
    pub triage_rev: Option<u64>,
    /// Whether the thread item stores `public_last` (an internal note is newer). If not,
    /// it was read as the newest message, which the item names as public. (Else, as a note
    /// posted by a release before stop 36 leaves it, it was read from the timeline.)
    pub public_last_stored: bool,
}

impl ThreadView {
    pub fn participant(&self, user: &UserId) -> Option<&ParticipantRecord> {
        self.participants.iter().find(|p| &p.user_id == user)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Message)]
pub struct MessageRecord {
    pub id: MessageId,
    pub thread_id: ThreadId,
    pub author_id: UserId,
    pub author_name: String,
    pub body: MessageBody,
    #[schema(max_items = 3)]
    pub attachments: Vec<crate::AttachmentRef>,
    /// An internal note, visible to staff only.
    pub internal: bool,
    pub created_at: DateTime<Utc>,
    /// Written by the system, not a person (`automated_kind` says what): it changes no
    /// status and is never a staff response.
    #[serde(default)]
    pub automated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated_kind: Option<domain::messaging::AutomatedKind>,
}

impl MessageRecord {
    /// The message as its notifications show it, for the event that announces it.
    pub fn notice(&self) -> domain::events::Notice {
        domain::events::Notice {
            author_id: self.author_id.clone(),
            author_name: self.author_name.clone(),
            preview: self.body.preview(),
            internal: self.internal,
            automated: self.automated,
            at: self.created_at,
        }
    }
}

/// Something that happened to a thread, shown in its timeline between messages.
/// subject_id is the user a participant event is about; status and priority are the new
/// values of status_changed and priority_changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Event)]
pub struct EventRecord {
    pub id: EventId,
    pub thread_id: ThreadId,
    pub event: EventKind,
    pub actor_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ThreadStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The new link of linked_record_changed (absent when it was removed, and in events
    /// written before links were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_record: Option<LinkedRecord>,
    pub at: DateTime<Utc>,
}

/// One entry of a thread's timeline, tagged by `type` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineItem {
    Message(MessageRecord),
    Event(EventRecord),
}

impl TimelineItem {
    pub fn id(&self) -> EntryId {
        match self {
            Self::Message(m) => m.id.into(),
            Self::Event(e) => e.id.into(),
        }
    }
    pub fn internal(&self) -> bool {
        matches!(self, Self::Message(m) if m.internal)
    }
}

/// The first answer to a request made with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// SHA-256 of what was asked, to tell a replay from a reuse of the key.
    pub request_hash: String,
    pub message: MessageRecord,
    /// Epoch seconds; DynamoDB's TTL removes the record after this.
    pub expires_at: i64,
}
