//! Thread routes: start a conversation, list an inbox, open a thread, change it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::events::{OutboxEvent, OutboxKind};
use domain::policy::{self, ThreadCounterpart};
use domain::quota::QuotaKind;
use domain::{
    DomainError, ErrorCode, EventId, LinkedRecord, MessageBody, MessageId, Priority, Subject, ThreadId,
    ThreadStatus, Topic, UserId,
};
use serde::{Deserialize, Deserializer, Serialize};
use store::retry::Tries;
use store::{
    CreateOutcome, EventKind, EventRecord, InboxQuery, InboxScope, LastMessage, MessageRecord,
    NewIdempotency, ResidentRef, Summary, ThreadRecord, ThreadView,
};

use crate::conversation::{load_visible, millis, now, participant};
use crate::extract::{IdempotencyKey, JsonBody, ListParams, ThreadPath};
use crate::relay::relay;
use crate::views::{PageBody, SummaryBody, ThreadBody};
use crate::{Actor, ApiError, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/threads", get(list_threads).post(create_thread))
        .route("/v1/threads/{id}", get(get_thread).patch(patch_thread))
        .merge(crate::participants::router())
        .with_state(state)
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CreateThread {
    topic: String,
    subject: String,
    body: String,
    /// Staff only, as `linked_record`: a resident who sets either is refused.
    priority: Option<Priority>,
    linked_record: Option<LinkedRecord>,
    resident_id: Option<String>,
}

async fn create_thread(
    State(state): State<AppState>,
    Actor(actor): Actor,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(req): JsonBody<CreateThread>,
) -> Result<(StatusCode, Json<ThreadBody>), ApiError> {
    let request_hash = IdempotencyKey::request_hash("new thread", &req);
    let topic = offered_topic(&state, &actor.org, &req.topic).await?;
    let subject = Subject::parse(&req.subject)?;
    let body = MessageBody::parse(&req.body)?;
    policy::ensure_can_set_thread_fields(&actor, req.priority.is_some() || req.linked_record.is_some())?;
    let resident_id = req.resident_id.map(UserId::parse).transpose()?;
    let resident = match policy::thread_counterpart(&actor, resident_id)? {
        ThreadCounterpart::Myself => actor.clone(),
        ThreadCounterpart::Resident(id) => {
            let resident = state.store.get_user(&actor.org, &id).await?.ok_or_else(|| {
                DomainError::invalid(
                    ErrorCode::UnknownResident,
                    "resident_id does not name a resident of this organization",
                )
            })?;
            policy::ensure_startable_with(&resident)?;
            resident
        }
    };

    let taken = match crate::quota::take(&state, &actor, QuotaKind::Thread, None).await {
        Ok(taken) => taken,
        // A retry of a creation counted and stored before answers the thread it made.
        Err(e) => {
            return match IdempotencyKey::first_answer(&state, &actor, key.as_deref(), &request_hash).await? {
                Some(first) => {
                    let view = load_visible(&state, &actor, &first.thread_id).await?;
                    Ok((StatusCode::CREATED, Json(ThreadBody::new(&view, &actor))))
                }
                None => Err(e),
            }
        }
    };
    let at = now();
    let id = ThreadId::new_at(millis(at));
    let first = MessageRecord {
        id: MessageId::new_at(millis(at)),
        thread_id: id,
        author_id: actor.id.clone(),
        author_name: actor.name.clone(),
        body,
        attachments: vec![],
        internal: false,
        created_at: at,
    };
    let last =
        LastMessage { id: first.id, body_preview: first.body.preview(), author_id: actor.id.clone(), at };
    let thread = ThreadRecord {
        org: actor.org.clone(),
        summary: Summary {
            id,
            topic,
            subject,
            status: ThreadStatus::initial(actor.role),
            priority: req.priority.unwrap_or_default(),
            resident: ResidentRef {
                id: resident.id.clone(),
                name: resident.name.clone(),
                unit: resident.unit.clone(),
            },
            last_message: Some(last.clone()),
            updated_at: at,
        },
        public_last: Some(last),
        public_at: at,
        linked_record: req.linked_record,
        created_by: actor.id.clone(),
        created_at: at,
        version: 1,
        members_version: 1,
    };
    let mut participants = vec![participant(&resident, at, None)];
    if actor.role.is_staff() {
        participants.push(participant(&actor, at, Some(first.id)));
    } else {
        participants[0].last_read_id = Some(first.id);
        participants[0].public_read_id = Some(first.id);
    }
    let event = OutboxEvent {
        id: EventId::new_at(millis(at)),
        org: actor.org.clone(),
        thread_id: id,
        at,
        kind: OutboxKind::ThreadCreated { topic: thread.summary.topic.clone(), first_message_id: first.id },
    };
    let idempotency = key.as_deref().map(|key| NewIdempotency { key, request_hash: request_hash.clone() });
    let created = state.store.create_thread(&thread, &participants, &first, idempotency, &event).await;
    let is_new = |outcome: &CreateOutcome| matches!(outcome, CreateOutcome::Created);
    let view = match taken.settle(&state, created.map_err(ApiError::from), is_new).await? {
        CreateOutcome::Created => {
            relay(&state, &event).await;
            ThreadView { thread, participants }
        }
        // The same request again (a client retrying after a lost answer): the thread it made,
        // counted when it was made. The caller must still be allowed to see it (they may have
        // left it since).
        CreateOutcome::Replayed(first) => {
            if first.request_hash != request_hash {
                return Err(IdempotencyKey::reused());
            }
            load_visible(&state, &actor, &first.message.thread_id).await?
        }
    };
    Ok((StatusCode::CREATED, Json(ThreadBody::new(&view, &actor))))
}

/// A built-in topic, or one the organization added by routing it (read only then).
async fn offered_topic(state: &AppState, org: &domain::OrgId, raw: &str) -> Result<Topic, ApiError> {
    let topic = Topic::parse(raw)?;
    if Topic::BUILT_IN.contains(&topic.as_str()) {
        return Ok(topic);
    }
    let settings = state.store.get_routing(org).await?.unwrap_or_default();
    Ok(Topic::parse_offered(raw, settings.custom_topics())?)
}

async fn list_threads(
    State(state): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<PageBody<SummaryBody>>, ApiError> {
    let status = match params.rest.get("folder").map(String::as_str) {
        None | Some("") => None,
        Some(f) => Some(ThreadStatus::parse(f).ok_or_else(|| {
            DomainError::invalid(
                ErrorCode::InvalidFolder,
                "folder is one of unread, open, resolved, archived",
            )
        })?),
    };
    let topic = params.rest.get("topic").filter(|t| !t.is_empty()).map(|t| Topic::parse(t)).transpose()?;
    let org_wide = actor.role == domain::Role::FacilityAdmin;
    let scope = if org_wide {
        InboxScope::Org(actor.org.clone())
    } else {
        InboxScope::User(actor.org.clone(), actor.id.clone())
    };
    let query = InboxQuery { scope, status, topic, cursor: params.cursor, limit: params.limit };
    let page = state.store.list_inbox(&query).await?;
    Ok(Json(PageBody::from_page(page, |row| SummaryBody::new(row, &actor, org_wide))))
}

async fn get_thread(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
) -> Result<Json<ThreadBody>, ApiError> {
    let view = load_visible(&state, &actor, &id).await?;
    Ok(Json(ThreadBody::new(&view, &actor)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchThread {
    status: Option<String>,
    priority: Option<Priority>,
    /// Absent: unchanged; `null`: unlinked; a record: linked.
    #[serde(default, deserialize_with = "present")]
    linked_record: Option<Option<LinkedRecord>>,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

async fn patch_thread(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
    JsonBody(req): JsonBody<PatchThread>,
) -> Result<Json<ThreadBody>, ApiError> {
    let status = req
        .status
        .as_deref()
        .map(|s| {
            ThreadStatus::parse(s).ok_or_else(|| {
                DomainError::invalid(ErrorCode::InvalidStatus, "status is one of open, resolved, archived")
            })
        })
        .transpose()?;
    if status.is_none() && req.priority.is_none() && req.linked_record.is_none() {
        return Err(DomainError::invalid(
            ErrorCode::EmptyPatch,
            "give at least one of status, priority, linked_record",
        )
        .into());
    }
    let mut view = load_visible(&state, &actor, &id).await?;
    policy::ensure_staff(&actor)?;
    policy::ensure_can_write(&actor)?;
    let mut tries = Tries::new();
    while tries.another().await {
        let at = now();
        let mut after = view.thread.clone();
        let mut events = Vec::new();
        let event = |kind| EventRecord {
            id: EventId::new_at(millis(at)),
            thread_id: id,
            event: kind,
            actor_id: actor.id.clone(),
            subject_id: None,
            status: None,
            priority: None,
            at,
        };
        if let Some(to) = status {
            if let Some(change) = after.summary.status.change_to(to)? {
                after.summary.status = change.to;
                after.summary.updated_at = at;
                events.push(EventRecord { status: Some(change.to), ..event(EventKind::StatusChanged) });
            }
        }
        if let Some(p) = req.priority.filter(|p| *p != after.summary.priority) {
            after.summary.priority = p;
            events.push(EventRecord { priority: Some(p), ..event(EventKind::PriorityChanged) });
        }
        if let Some(link) = req.linked_record.clone().filter(|l| *l != after.linked_record) {
            after.linked_record = link;
            events.push(event(EventKind::LinkedRecordChanged));
        }
        if events.is_empty() {
            return Ok(Json(ThreadBody::new(&view, &actor)));
        }
        after.version += 1;
        if state.store.update_thread(&view, &after, &events).await? {
            view.thread = after;
            return Ok(Json(ThreadBody::new(&view, &actor)));
        }
        view = load_visible(&state, &actor, &id).await?;
    }
    Err(store::StoreError::Contention.into())
}
