//! Domain events: written to the outbox with the change they announce, published to the
//! events topic, and delivered to each consumer's queue that subscribes to their kind.
//! Their JSON is the message body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::response::Answers;
use crate::triage::Escalation;
use crate::{AccountState, EventId, MessageId, OrgId, Role, ThreadId, ThreadStatus, Topic, UserId};

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

impl OutboxEvent {
    /// Names what the message this event announces answers, as the clock was when the post
    /// was written (a post read again after a conflict works it out again).
    pub fn set_answers(&mut self, to: Option<Answers>) {
        if let OutboxKind::MessagePosted { answers, .. } = &mut self.kind {
            *answers = to;
        }
    }
}

/// A message as its notifications show it, carried by the event that announces it so the
/// notifier need not read the message. Absent in events written before it was named (the
/// notifier reads the message then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub author_id: UserId,
    pub author_name: String,
    /// The body's one-line preview.
    pub preview: String,
    pub internal: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automated: bool,
    /// When the message was posted.
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxKind {
    /// Route the new thread to the topic's recipients.
    ThreadCreated {
        topic: Topic,
        first_message_id: MessageId,
        /// The first message as a notification shows it (the router hands it on).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notice: Option<Notice>,
        /// The author's account state when they wrote it (triage's context; absent in events
        /// written before it was named: the author is read).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author_state: Option<AccountState>,
    },
    /// Notify the other participants of a new message.
    MessagePosted {
        message_id: MessageId,
        author_id: UserId,
        internal: bool,
        /// A resident's reply that re-opened a resolved or archived thread (triage reads it
        /// again).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reopened: bool,
        /// The author's role when they posted (response metrics count staff replies without
        /// reading the author). Absent for automation's messages and in events written
        /// before it was named.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author_role: Option<Role>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notice: Option<Notice>,
        /// The response cycle this message answers, as the thread's clock said when it was
        /// posted (`crate::response`). Absent where that is unknown (the figures look it
        /// up): events written before it was named, a clock that missed the newest message
        /// (threads from before the clock), and a staff reply a newer message overtook
        /// between its read and its write.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answers: Option<Answers>,
        /// As for `thread_created` (absent for automation's messages too).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author_state: Option<AccountState>,
    },
    /// A new thread has its recipients: notify them of its first message.
    ThreadRouted {
        first_message_id: MessageId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notice: Option<Notice>,
    },
    /// Someone joined or left the thread (search narrows to who takes part; webhooks
    /// announce who). Both lists are empty in events written before they were named.
    ParticipantsChanged {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        added: Vec<UserId>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removed: Vec<UserId>,
    },
    /// Triage escalated the thread (`level` 1 when first, higher when nobody acknowledged
    /// in time): page these staff on every channel, quiet hours or not, about the
    /// resident's message.
    Escalated { level: u32, escalation: Escalation, message_id: MessageId, paged: Vec<UserId> },
    /// Staff changed the thread's status, priority or linked record (`changed` says which;
    /// response metrics read resolutions, webhooks send `thread.updated`). `status` is the
    /// status after the change.
    #[serde(alias = "status_changed")]
    ThreadChanged {
        status: ThreadStatus,
        #[serde(default = "status_only")]
        changed: Vec<ThreadField>,
    },
}

impl OutboxKind {
    /// The kind's name, as in the JSON `kind` and the topic's `kind` message attribute
    /// that subscriptions filter on.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ThreadCreated { .. } => "thread_created",
            Self::MessagePosted { .. } => "message_posted",
            Self::ThreadRouted { .. } => "thread_routed",
            Self::ParticipantsChanged { .. } => "participants_changed",
            Self::Escalated { .. } => "escalated",
            Self::ThreadChanged { .. } => "thread_changed",
        }
    }

    /// The author's account state when they wrote the message the event announces, if it
    /// says.
    pub fn author_state(&self) -> Option<AccountState> {
        match self {
            Self::ThreadCreated { author_state, .. } | Self::MessagePosted { author_state, .. } => {
                *author_state
            }
            _ => None,
        }
    }
}

/// A field of a thread staff change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadField {
    Status,
    Priority,
    LinkedRecord,
}

/// What an event written as `status_changed` (before the other fields were named) changed.
fn status_only() -> Vec<ThreadField> {
    vec![ThreadField::Status]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kinds_name_is_its_json_tag() {
        let id = MessageId::new_at(1);
        for kind in [
            OutboxKind::ThreadCreated {
                topic: Topic::parse("general").unwrap(),
                first_message_id: id,
                notice: None,
                author_state: Some(AccountState::Archived),
            },
            OutboxKind::MessagePosted {
                message_id: id,
                author_id: UserId::parse("u").unwrap(),
                internal: false,
                reopened: true,
                author_role: Some(Role::Staff),
                notice: None,
                answers: Some(Answers::Cycle(id)),
                author_state: None,
            },
            OutboxKind::Escalated {
                level: 1,
                escalation: Escalation::Emergency,
                message_id: id,
                paged: vec![UserId::parse("u").unwrap()],
            },
            OutboxKind::ThreadRouted { first_message_id: id, notice: None },
            OutboxKind::ParticipantsChanged { added: vec![UserId::parse("u").unwrap()], removed: vec![] },
            OutboxKind::ThreadChanged { status: ThreadStatus::Resolved, changed: vec![ThreadField::Status] },
        ] {
            let json = serde_json::to_value(&kind).unwrap();
            assert_eq!(json["kind"], kind.name());
        }
    }

    #[test]
    fn events_written_before_their_fields_were_named_still_read() {
        let old = r#"{"id":"01J0000000000000000000000A","org":"o","thread_id":"01J0000000000000000000000B",
            "at":"2026-12-01T00:00:00Z","kind":"status_changed","status":"resolved"}"#;
        let event: OutboxEvent = serde_json::from_str(old).unwrap();
        assert_eq!(
            event.kind,
            OutboxKind::ThreadChanged { status: ThreadStatus::Resolved, changed: vec![ThreadField::Status] }
        );
        let old =
            old.replace(r#""kind":"status_changed","status":"resolved""#, r#""kind":"participants_changed""#);
        let event: OutboxEvent = serde_json::from_str(&old).unwrap();
        assert_eq!(event.kind, OutboxKind::ParticipantsChanged { added: vec![], removed: vec![] });
        let old = old.replace(
            r#""kind":"participants_changed""#,
            r#""kind":"message_posted","message_id":"01J0000000000000000000000C","author_id":"u","internal":false"#,
        );
        let event: OutboxEvent = serde_json::from_str(&old).unwrap();
        assert!(matches!(
            event.kind,
            OutboxKind::MessagePosted {
                author_role: None,
                reopened: false,
                notice: None,
                answers: None,
                author_state: None,
                ..
            }
        ));
    }
}
