//! What each domain event sends, and the JSON body (`{type, timestamp, data}`). The thread
//! travels in every body with its linked record, so the PMS finds its invoice or work order;
//! it never carries a message preview (that could be an internal note).

use domain::events::{OutboxEvent, OutboxKind};
use domain::webhook::WebhookEvent;
use domain::{MessageId, UserId};
use serde_json::{json, Value};
use store::{MessageRecord, ThreadRecord};

/// One delivery an event makes (to each endpoint that wants its type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub event: WebhookEvent,
    /// The message it is about, read before the body is made.
    pub message: Option<MessageId>,
    /// The participant it is about.
    pub user: Option<UserId>,
    pub internal: bool,
}

impl Part {
    fn of(event: WebhookEvent) -> Self {
        Self { event, message: None, user: None, internal: false }
    }
}

/// The deliveries `event` makes, in a fixed order (a part's index is in its id).
pub fn parts(event: &OutboxEvent) -> Vec<Part> {
    match &event.kind {
        OutboxKind::ThreadCreated { first_message_id, .. } => {
            vec![Part { message: Some(*first_message_id), ..Part::of(WebhookEvent::ThreadCreated) }]
        }
        OutboxKind::MessagePosted { message_id, internal, .. } => vec![Part {
            message: Some(*message_id),
            internal: *internal,
            ..Part::of(WebhookEvent::MessageCreated)
        }],
        OutboxKind::ParticipantsChanged { added, removed } => added
            .iter()
            .map(|u| Part { user: Some(u.clone()), ..Part::of(WebhookEvent::ParticipantAdded) })
            .chain(
                removed
                    .iter()
                    .map(|u| Part { user: Some(u.clone()), ..Part::of(WebhookEvent::ParticipantRemoved) }),
            )
            .collect(),
        OutboxKind::ThreadChanged { .. } => vec![Part::of(WebhookEvent::ThreadUpdated)],
        OutboxKind::Escalated { message_id, .. } => {
            vec![Part { message: Some(*message_id), ..Part::of(WebhookEvent::TriageEscalated) }]
        }
        OutboxKind::ThreadRouted { .. } => vec![],
    }
}

/// The body of `part` of `event`, about the thread as it is now.
pub fn body(
    event: &OutboxEvent,
    part: &Part,
    thread: &ThreadRecord,
    message: Option<&MessageRecord>,
) -> String {
    let mut data = json!({ "thread": thread_json(thread) });
    if let Some(m) = message {
        data["message"] = message_json(m);
    }
    if let Some(user) = &part.user {
        data["user_id"] = json!(user);
    }
    match &event.kind {
        OutboxKind::ThreadChanged { changed, .. } => data["changed"] = json!(changed),
        OutboxKind::Escalated { level, escalation, .. } => {
            data["escalation"] = json!(escalation);
            data["level"] = json!(level);
        }
        _ => {}
    }
    json!({ "type": part.event, "timestamp": event.at, "data": data }).to_string()
}

fn thread_json(t: &ThreadRecord) -> Value {
    let s = &t.summary;
    json!({
        "id": s.id,
        "subject": s.subject,
        "topic": s.topic,
        "category_id": s.category_id,
        "status": s.status,
        "priority": s.priority,
        "resident": {
            "id": s.resident.id,
            "name": s.resident.name,
            "unit": s.resident.unit,
            "property_id": s.resident.property_id,
        },
        "linked_record": t.linked_record,
        "created_at": t.created_at,
    })
}

fn message_json(m: &MessageRecord) -> Value {
    json!({
        "id": m.id,
        "author_id": m.author_id,
        "author_name": m.author_name,
        "body": m.body,
        "internal": m.internal,
        "automated": m.automated,
        "attachments": m.attachments,
        "created_at": m.created_at,
    })
}
