//! Thread routes: start a conversation, list an inbox, open a thread, change it.

use app::conversation::load_readable;
use app::scheduled;
use app::threads::{self, Assignee, InboxFilter, NewThread, ThreadChange};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{
    DomainError, ErrorCode, LinkedRecord, MessageBody, Priority, Subject, ThreadStatus, Topic, UserId,
};
use serde::{Deserialize, Deserializer, Serialize};
use store::{RowFilter, ScheduledRecord};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound, RateLimited};
use crate::extract::{IdempotencyKey, JsonBody, ListParams, ThreadPath};
use crate::views::{thread_body, SummaryBody, ThreadBody, ThreadPage};
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_threads, create_thread))
        .routes(routes!(get_thread, patch_thread))
        .merge(crate::participants::routes())
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateThread {
    /// One of the built-in topics billing, maintenance, parking, general, or one the
    /// organization routes; case-insensitive (422 unknown_topic, invalid_topic).
    #[schema(examples("maintenance"))]
    topic: String,
    #[schema(value_type = Subject)]
    subject: String,
    #[schema(value_type = MessageBody)]
    body: String,
    /// Staff only: a resident who gives it (any value but null) is refused with 403
    /// staff_only. null is the same as leaving it out.
    priority: Option<Priority>,
    /// Staff only: a resident who gives one is refused with 403 staff_only. null is the same
    /// as leaving it out.
    linked_record: Option<LinkedRecord>,
    /// The resident the thread is with. Required for staff; a resident may omit it or give
    /// their own id (422 invalid_user_id if malformed). null is the same as leaving it out.
    #[schema(value_type = Option<UserId>)]
    resident_id: Option<String>,
    /// Staff only: its communication category (422 unknown_category if the organization has
    /// none of that id); else the category claiming the topic, else `service`.
    category_id: Option<String>,
    /// Staff: start it at this time instead of now (RFC 3339 with its offset, in the future
    /// and within 365 days, else 422 invalid_send_at): 202 with the scheduled message.
    #[schema(format = DateTime)]
    send_at: Option<String>,
    /// Ids of attachments the caller uploaded and that no message carries yet, for the first
    /// message (422 too_many_attachments, duplicate_attachment, unknown_attachment,
    /// attachment_rejected, attachment_not_uploaded, attachment_unavailable; nothing is
    /// stored then). Not with send_at (422 invalid_request).
    // Left out of the request's hash when empty: Idempotency-Keys of creations made before
    // it existed still match their retries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 3)]
    attachment_ids: Vec<String>,
}

/// Start a thread
///
/// Starts a thread with its first message. A resident starts a thread for themself (omit
/// resident_id or give their own id; another id is 403 staff_only); its status is `unread`.
/// Staff and facility admins must name an active resident of the organization in
/// resident_id (422 resident_required, unknown_resident, not_a_resident; 409
/// resident_archived); its status is `open`. priority and linked_record are staff work: a
/// resident giving either is refused with 403 staff_only and nothing is stored. With an
/// Idempotency-Key, repeating the same request by the same user answers the thread it
/// created with 201 (nothing new is stored); the same key with a different request is 422
/// idempotency_key_reused. With send_at (staff; residents 403 staff_only), the conversation
/// is scheduled instead: 202 with the scheduled message, started once at that time.
#[utoipa::path(post, path = "/v1/threads", tag = "threads", operation_id = "createThread",
    params(IdempotencyKey), request_body = CreateThread,
    responses(
        (status = 201, description = "The thread as started.", body = ThreadBody),
        (status = 202, description = "Scheduled for send_at.", body = ScheduledRecord),
        (status = 409, response = Conflict),
        (status = 429, response = RateLimited),
    ))]
async fn create_thread(
    State(app): State<AppState>,
    Actor(actor): Actor,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(req): JsonBody<CreateThread>,
) -> Result<Response, ApiError> {
    let request = app::Idempotency::new(key, "new thread", &req);
    let new = NewThread {
        topic: Topic::parse(&req.topic)?,
        subject: Subject::parse(&req.subject)?,
        body: MessageBody::parse(&req.body)?,
        priority: req.priority,
        linked_record: req.linked_record,
        resident_id: req.resident_id.map(UserId::parse).transpose()?,
        category_id: req.category_id.clone(),
        attachment_ids: crate::messages::parse_attachment_ids(&req.attachment_ids)?,
    };
    if let Some(send_at) = req.send_at.as_deref() {
        if !new.attachment_ids.is_empty() {
            let message = "a scheduled conversation takes no attachments";
            return Err(DomainError::invalid(ErrorCode::InvalidRequest, message).into());
        }
        let record = scheduled::thread(&app, &actor, new, scheduled::send_at(send_at)?, request).await?;
        return Ok((StatusCode::ACCEPTED, Json(record)).into_response());
    }
    let body = thread_body(&app, &actor, threads::start(&app, &actor, new, request)).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `folder=active`: every thread that is not archived.
const ACTIVE: &str = "active";

/// What `folder` may name: a status, or every status but archived.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used: the query is parsed by hand.
enum Folder {
    Unread,
    Open,
    Resolved,
    Archived,
    Active,
}

/// List the caller's inbox
///
/// Threads by newest activity first. Facility admins list every thread of the organization
/// (`unread` then means the thread waits for staff); everyone else lists the threads they
/// take part in, but a category's auditors list its threads with `category_id`, and its
/// dispatchers those of a property they work for with `category_id` and `property_id`. With topic, category_id, property_id, priority or `folder=active`, the server reads on until the page is full
/// or the list ends, reading at most 1,000 rows of the index per request: past that the
/// page holds what was found and next_cursor continues; so keep paging while next_cursor
/// is not null.
#[utoipa::path(get, path = "/v1/threads", tag = "threads", operation_id = "listThreads",
    params(
        ("folder" = inline(Option<Folder>), Query, description = "Only threads with this status, or `active`: every status but archived (a resident's inbox); 422 invalid_folder otherwise."),
        ("topic" = Option<String>, Query, description = "Only threads with this topic, matched case-insensitively (422 invalid_topic if not a topic name)."),
        ("property_id" = Option<String>, Query, description = "Only threads of residents of this property (at most 64 characters, 422 invalid_query otherwise)."),
        ("assignee" = Option<String>, Query, description = "`me`: only the threads the caller takes part in (what a facility admin narrows the org's inbox to); a staff member's id: the threads they take part in (facility admins; others 403 admin_only, except their own id). 422 invalid_user_id if malformed."),
        ("priority" = Option<Priority>, Query, description = "Only threads of this priority (422 invalid_priority otherwise)."),
        ("category_id" = Option<String>, Query, description = "Only threads of this communication category (`service`: the built-in one; at most 64 characters, 422 invalid_query otherwise)."),
        ListParams,
    ),
    responses((status = 200, description = "A page of inbox rows.", body = ThreadPage)))]
async fn list_threads(
    State(app): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<ThreadPage>, ApiError> {
    let folder = params.rest.get("folder").map(String::as_str).filter(|f| !f.is_empty());
    let active = folder == Some(ACTIVE);
    let status = match folder {
        None => None,
        Some(_) if active => None,
        Some(f) => Some(ThreadStatus::parse(f).ok_or_else(|| {
            DomainError::invalid(
                ErrorCode::InvalidFolder,
                "folder is one of unread, open, resolved, archived, active",
            )
        })?),
    };
    let topic = params.rest.get("topic").filter(|t| !t.is_empty()).map(|t| Topic::parse(t)).transpose()?;
    let text = |name: &str| params.rest.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    // Ids compared as they are: bounded so that no filter carries a large value.
    let short = |name: &'static str| {
        text(name)
            .map(|v| {
                (v.chars().count() <= 64 && !v.chars().any(char::is_control))
                    .then(|| v.to_owned())
                    .ok_or_else(|| {
                        DomainError::invalid(
                            ErrorCode::InvalidQuery,
                            format!("{name} is at most 64 characters"),
                        )
                    })
            })
            .transpose()
    };
    let property_id = short("property_id")?;
    let priority = text("priority")
        .map(|p| {
            serde_json::from_value::<Priority>(serde_json::Value::String(p.to_owned()))
                .map_err(|_| DomainError::invalid(ErrorCode::InvalidPriority, "priority is normal or urgent"))
        })
        .transpose()?;
    let assignee = match text("assignee") {
        None => None,
        Some("me") => Some(Assignee::Me),
        Some(id) => Some(Assignee::Staff(UserId::parse(id)?)),
    };
    let filter = InboxFilter {
        status,
        assignee,
        rows: RowFilter { topic, category_id: short("category_id")?, property_id, priority, active },
        cursor: params.cursor,
        limit: params.limit,
    };
    let inbox = threads::inbox(&app, &actor, filter).await?;
    Ok(Json(ThreadPage::from_page(inbox.page, |row| SummaryBody::new(row, &actor, inbox.org_wide))))
}

/// Get a thread
///
/// The thread as the caller may see it: for a resident, last_message and updated_at ignore
/// internal notes.
#[utoipa::path(get, path = "/v1/threads/{id}", tag = "threads", operation_id = "getThread", params(ThreadPath),
    responses((status = 200, description = "The thread.", body = ThreadBody), (status = 404, response = NotFound)))]
async fn get_thread(
    State(app): State<AppState>,
    Actor(actor): Actor,
    ThreadPath(id): ThreadPath,
) -> Result<Json<ThreadBody>, ApiError> {
    Ok(Json(thread_body(&app, &actor, load_readable(&app, &actor, &id)).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateThread, min_properties = 1)]
struct PatchThread {
    /// open, resolved or archived; null: unchanged.
    #[schema(pattern = "^(open|resolved|archived)$")]
    status: Option<String>,
    /// null: unchanged.
    priority: Option<Priority>,
    /// Absent: unchanged; `null`: unlinked; a record: linked.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<LinkedRecord>)]
    linked_record: Option<Option<LinkedRecord>>,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Change a thread's status, priority or linked record
///
/// Staff only (403 staff_only). Give at least one field (422 empty_patch). Each actual
/// change is recorded as a timeline event; setting a value the thread already has changes
/// nothing. `unread` cannot be set (422 invalid_status), and an archived thread can be
/// re-opened but not resolved (409 invalid_transition). 409 concurrent_update means the
/// change kept losing races with other writers; retry it.
#[utoipa::path(patch, path = "/v1/threads/{id}", tag = "threads", operation_id = "updateThread",
    params(ThreadPath), request_body = PatchThread,
    responses(
        (status = 200, description = "The thread after the change.", body = ThreadBody),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn patch_thread(
    State(app): State<AppState>,
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
    let change = ThreadChange { status, priority: req.priority, linked_record: req.linked_record };
    Ok(Json(thread_body(&app, &actor, threads::change(&app, &actor, id, change)).await?))
}
