//! Domain events: written to the outbox with the change they announce, published to the
//! events topic, and delivered to each consumer's queue that subscribes to their kind.
//! Their JSON is the message body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::triage::Escalation;
use crate::{EventId, MessageId, OrgId, ThreadId, ThreadStatus, Topic, UserId};

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
    MessagePosted {
        message_id: MessageId,
        author_id: UserId,
        internal: bool,
        /// A resident's reply that re-opened a resolved or archived thread (triage reads it
        /// again).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reopened: bool,
    },
    /// A new thread has its recipients: notify them of its first message.
    ThreadRouted { first_message_id: MessageId },
    /// Someone joined or left the thread (search narrows to who takes part).
    ParticipantsChanged,
    /// Triage escalated the thread (`level` 1 when first, higher when nobody acknowledged
    /// in time): page these staff on every channel, quiet hours or not, about the
    /// resident's message.
    Escalated { level: u32, escalation: Escalation, message_id: MessageId, paged: Vec<UserId> },
    /// Staff changed the thread's status (response metrics read resolutions).
    StatusChanged { status: ThreadStatus },
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
            Self::Escalated { .. } => "escalated",
            Self::StatusChanged { .. } => "status_changed",
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
                reopened: true,
            },
            OutboxKind::Escalated {
                level: 1,
                escalation: Escalation::Emergency,
                message_id: id,
                paged: vec![UserId::parse("u").unwrap()],
            },
            OutboxKind::ThreadRouted { first_message_id: id },
            OutboxKind::ParticipantsChanged,
            OutboxKind::StatusChanged { status: ThreadStatus::Resolved },
        ] {
            let json = serde_json::to_value(&kind).unwrap();
            assert_eq!(json["kind"], kind.name());
        }
    }
}
