//! What the API returns: the thread as its reader may see it, inbox rows and pages.

use chrono::{DateTime, Utc};
use domain::messaging::ReadReceipts;
use domain::triage::ThreadTriage;
use domain::{LinkedRecord, MessageId, Priority, Role, Subject, ThreadId, ThreadStatus, Topic, User, UserId};
use serde::Serialize;
use store::{InboxRow, LastMessage, Page, ResidentRef, Summary, ThreadView};

use crate::ApiError;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Participant)]
pub struct ParticipantView {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    /// How far this participant has read ("seen by …"). Residents are shown, for staff, the
    /// newest message they may see up to the marker (never an internal note), or null. The
    /// org's read_receipts setting may hide others' markers (null).
    pub last_read_message_id: Option<MessageId>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Thread)]
pub struct ThreadBody {
    pub id: ThreadId,
    pub topic: Topic,
    #[schema(value_type = Subject)]
    pub subject: String,
    pub status: ThreadStatus,
    pub priority: Priority,
    pub linked_record: Option<LinkedRecord>,
    pub resident: ResidentRef,
    pub participants: Vec<ParticipantView>,
    /// The newest message the caller may see.
    pub last_message: Option<LastMessage>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What triage made of the resident's message that started or re-opened it (staff only;
    /// absent for residents and where triage did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triage: Option<ThreadTriage>,
}

/// The thread a use case returns, as `reader` may see it: read markers as the org's
/// messaging settings show them, read alongside.
pub async fn thread_body(
    app: &app::App,
    reader: &User,
    view: impl std::future::Future<Output = Result<ThreadView, app::Error>>,
) -> Result<ThreadBody, ApiError> {
    let (view, receipts) = tokio::try_join!(view, app::settings::read_receipts(app, reader))?;
    Ok(ThreadBody::new(&view, reader, receipts))
}

impl ThreadBody {
    pub fn new(view: &ThreadView, reader: &User, receipts: ReadReceipts) -> Self {
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
                    last_read_message_id: receipts
                        .shows(reader, &p.user_id)
                        .then(|| p.read_marker_for(reader.role))
                        .flatten(),
                })
                .collect(),
            last_message: row.last_message,
            created_at: t.created_at,
            updated_at: row.updated_at,
            triage: t.triage.clone().filter(|_| reader.role.is_staff()),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ThreadSummary)]
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

/// A page of a list: `$page` with items of `$item`.
macro_rules! page_of {
    ($page:ident, $item:ty) => {
        #[derive(Serialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $page {
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; null on the last page.
            pub next_cursor: Option<String>,
        }

        impl $page {
            pub fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> $item) -> Self {
                Self {
                    items: page.items.into_iter().map(f).collect(),
                    next_cursor: page.next.map(|c| c.as_str().to_owned()),
                }
            }
        }
    };
}

page_of!(ThreadPage, SummaryBody);
page_of!(TimelinePage, store::TimelineItem);
page_of!(ContactPage, crate::contacts::ContactBody);
page_of!(ScheduledPage, store::ScheduledRecord);
page_of!(TriageQueuePage, store::QueueEntry);
page_of!(DeliveryPage, store::DeliveryRecord);
