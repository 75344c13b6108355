//! Events that leave a request for the queues. Their JSON is the queue message body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{EventId, MessageId, OrgId, ThreadId, Topic, UserId};

/// An event for the routing queue. Its JSON is the queue message body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub id: EventId,
    pub org: OrgId,
    pub thread_id: ThreadId,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: OutboxKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxKind {
    /// Route the new thread to the topic's recipients.
    ThreadCreated { topic: Topic, first_message_id: MessageId },
    /// Notify the other participants of a new message.
    MessagePosted { message_id: MessageId, author_id: UserId, internal: bool },
}
