//! Domain events: written to the outbox with the change they announce, published to the
//! events topic, and delivered to each consumer's queue that subscribes to their kind.
//! Their JSON is the message body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{EventId, MessageId, OrgId, ThreadId, Topic, UserId};

/// A domain event. Its JSON is the message body.
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
    /// A new thread has its recipients: notify them of its first message.
    ThreadRouted { first_message_id: MessageId },
    /// Someone joined or left the thread (search narrows to who takes part).
    ParticipantsChanged,
}

impl OutboxKind {
    /// The kind's name, as in the JSON `kind` and the topic's `kind` message attribute
    /// that subscriptions filter on.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ThreadCreated { .. } => "thread_created",
            Self::MessagePosted { .. } => "message_posted",
            Self::ThreadRouted { .. } => "thread_routed",
            Self::ParticipantsChanged => "participants_changed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kinds_name_is_its_json_tag() {
        let id = MessageId::new_at(1);
        for kind in [
            OutboxKind::ThreadCreated { topic: Topic::parse("general").unwrap(), first_message_id: id },
            OutboxKind::MessagePosted {
                message_id: id,
                author_id: UserId::parse("u").unwrap(),
                internal: false,
            },
            OutboxKind::ThreadRouted { first_message_id: id },
            OutboxKind::ParticipantsChanged,
        ] {
            let json = serde_json::to_value(&kind).unwrap();
            assert_eq!(json["kind"], kind.name());
        }
    }
}
