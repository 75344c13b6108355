//! What the API returns: the thread as its reader may see it, inbox rows and pages.

use chrono::{DateTime, Utc};
use domain::{LinkedRecord, MessageId, Priority, Role, ThreadId, ThreadStatus, Topic, User, UserId};
use serde::Serialize;
use store::{InboxRow, LastMessage, Page, ResidentRef, Summary, ThreadView};

#[derive(Serialize)]
pub struct ParticipantView {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    /// How far this participant has read ("seen by …").
    pub last_read_message_id: Option<MessageId>,
}

#[derive(Serialize)]
pub struct ThreadBody {
    pub id: ThreadId,
    pub topic: Topic,
    pub subject: String,
    pub status: ThreadStatus,
    pub priority: Priority,
    pub linked_record: Option<LinkedRecord>,
    pub resident: ResidentRef,
    pub participants: Vec<ParticipantView>,
    pub last_message: Option<LastMessage>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ThreadBody {
    pub fn new(view: &ThreadView, reader: &User) -> Self {
        let t = &view.thread;
        let row = t.view_for(reader.role);
        Self {
            id: row.id,
            topic: row.topic,
            subject: row.subject.as_str().to_owned(),
            status: row.status,
            priority: row.priority,
            linked_record: t.linked_record.clone(),
            resident: row.resident,
            participants: view
                .participants
                .iter()
                .map(|p| ParticipantView {
                    user_id: p.user_id.clone(),
                    name: p.name.clone(),
                    role: p.role,
                    last_read_message_id: p.read_marker_for(reader.role),
                })
                .collect(),
            last_message: row.last_message,
            created_at: t.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Serialize)]
pub struct SummaryBody {
    #[serde(flatten)]
    pub summary: Summary,
    /// Whether the reader has something new here: for a participant, a message by someone
    /// else after their read marker; in the org-wide view, a thread waiting for staff.
    pub unread: bool,
}

impl SummaryBody {
    pub fn new(row: InboxRow, reader: &User, org_wide: bool) -> Self {
        let unread = if org_wide {
            row.summary.status == ThreadStatus::Unread
        } else {
            row.summary
                .last_message
                .as_ref()
                .is_some_and(|m| m.author_id != reader.id && row.last_read_id.is_none_or(|read| read < m.id))
        };
        Self { summary: row.summary, unread }
    }
}

#[derive(Serialize)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> PageBody<T> {
    pub fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(f).collect(),
            next_cursor: page.next.map(|c| c.as_str().to_owned()),
        }
    }
}
