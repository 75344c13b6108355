//! Threads: start a conversation (a resident, or staff on a resident's behalf), list an
//! inbox, change a thread's status, priority or linked record.

use domain::events::{OutboxEvent, OutboxKind, ThreadField};
use domain::policy::{self, ThreadCounterpart};
use domain::quota::QuotaKind;
use domain::response::ResponseClock;
use domain::{
    AttachmentId, DomainError, ErrorCode, EventId, LinkedRecord, MessageBody, MessageId, OrgId, Priority,
    Role, Subject, ThreadId, ThreadStatus, Topic, User, UserId,
};
use store::retry::Tries;
use store::{
    ArchiveCheck, AttachmentRef, CreateOutcome, Cursor, EventKind, EventRecord, InboxQuery, InboxRow,
    InboxScope, LastMessage, MessageRecord, Page, QueueChange, ResidentRef, RowFilter, Summary, ThreadRecord,
    ThreadView,
};

use crate::conversation::{load_visible, millis, now, participant};
use crate::messages::{take_attachments, Target};
use crate::relay::relay;
use crate::{categories, consents, quota, settings, App, Error, Idempotency};

/// A new conversation as asked: the topic as given (built in, or one the org routes).
pub struct NewThread {
    pub topic: Topic,
    pub subject: Subject,
    pub body: MessageBody,
    /// Staff only, as `linked_record`: a resident who sets either is refused.
    pub priority: Option<Priority>,
    pub linked_record: Option<LinkedRecord>,
    /// Whom staff start it with; a resident starts their own.
    pub resident_id: Option<UserId>,
    /// Staff only: its communication category (else the one claiming its topic).
    pub category_id: Option<String>,
    /// The caller's uploads the first message carries (checked as a post's are).
    pub attachment_ids: Vec<AttachmentId>,
}

/// Starts a thread with its first message, or answers the thread an earlier request with
/// the same Idempotency-Key made.
pub async fn start(
    app: &App,
    actor: &User,
    new: NewThread,
    request: Idempotency,
) -> Result<ThreadView, Error> {
    start_counted(app, actor, new, request, true).await
}

/// [`start`], counting the thread against the actor's quota or not (a campaign's
/// conversations: the campaign is what is capped).
pub(crate) async fn start_counted(
    app: &App,
    actor: &User,
    new: NewThread,
    request: Idempotency,
    counted: bool,
) -> Result<ThreadView, Error> {
    let Admitted { topic, resident, category_id } = admit(app, actor, &new).await?;
    let body = crate::messages::signed(app, actor, new.body, false).await?;

    let taken = if counted {
        quota::take(app, actor, QuotaKind::Thread, None).await
    } else {
        Ok(quota::Taken::nothing())
    };
    let taken = match taken {
        Ok(taken) => taken,
        // A retry of a creation counted and stored before answers the thread it made.
        Err(e) => {
            return match request.first_answer(app, actor).await? {
                Some(first) => load_visible(app, actor, &first.thread_id).await,
                None => Err(e),
            }
        }
    };
    let at = now();
    let id = ThreadId::new_at(millis(at));
    let mut first = MessageRecord {
        id: MessageId::new_at(millis(at)),
        thread_id: id,
        author_id: actor.id.clone(),
        author_name: actor.name.clone(),
        body,
        attachments: vec![],
        internal: false,
        created_at: at,
        automated: false,
        automated_kind: None,
    };
    let last =
        LastMessage { id: first.id, body_preview: first.body.preview(), author_id: actor.id.clone(), at };
    let thread = ThreadRecord {
        org: actor.org.clone(),
        summary: Summary {
            id,
            topic,
            subject: new.subject,
            status: ThreadStatus::initial(actor.role),
            priority: new.priority.unwrap_or_default(),
            category_id,
            resident: ResidentRef {
                id: resident.id.clone(),
                name: resident.name.clone(),
                unit: resident.unit.clone(),
                property_id: resident.property_id.clone(),
            },
            last_message: Some(last.clone()),
            updated_at: at,
        },
        public_last: Some(last),
        public_at: at,
        linked_record: new.linked_record,
        created_by: actor.id.clone(),
        created_at: at,
        auto_replied_for: None,
        triage: None,
        response: ResponseClock::opened(first.id, actor.id == resident.id),
        version: 1,
        members_version: 1,
    };
    let mut participants = vec![participant(&resident, at, None)];
    if actor.role.is_staff() {
        participants.push(participant(actor, at, Some(first.id)));
    } else {
        participants[0].last_read_id = Some(first.id);
        participants[0].public_read_id = Some(first.id);
    }
    let event = OutboxEvent {
        id: EventId::new_at(millis(at)),
        org: actor.org.clone(),
        thread_id: id,
        at,
        kind: OutboxKind::ThreadCreated {
            topic: thread.summary.topic.clone(),
            first_message_id: first.id,
            notice: Some(first.notice()),
            author_state: Some(actor.state),
        },
    };
    let created = async {
        let target = Target { thread_id: id, message_id: first.id, internal: false, at };
        let attached = match take_attachments(app, actor, &new.attachment_ids, &target).await {
            Ok(attached) => attached,
            // A retry of a creation that took these attachments answers the thread it made.
            Err(e) => {
                return match request.first_answer(app, actor).await? {
                    Some(first) => Ok(Created::Replayed(first.thread_id)),
                    None => Err(e),
                }
            }
        };
        first.attachments = attached.iter().map(AttachmentRef::from).collect();
        let write =
            app.store.create_thread(&thread, &participants, &first, &attached, request.record(), &event);
        Ok(match write.await? {
            CreateOutcome::Created => Created::New,
            CreateOutcome::Replayed(record) => {
                if !request.is_replay_of(&record.request_hash) {
                    return Err(Error::key_reused());
                }
                Created::Replayed(record.message.thread_id)
            }
            // Unless it was this request's own earlier try that took it.
            CreateOutcome::AttachmentTaken => match request.first_answer(app, actor).await? {
                Some(first) => Created::Replayed(first.thread_id),
                None => return Err(crate::messages::attachment_taken()),
            },
        })
    }
    .await;
    let is_new = |outcome: &Created| matches!(outcome, Created::New);
    match taken.settle(app, created, is_new).await? {
        Created::New => {
            relay(app, &event).await;
            Ok(ThreadView { thread, participants, triage_rev: None, public_last_stored: false })
        }
        // The same request again (a client retrying after a lost answer): the thread it made,
        // counted when it was made. The caller must still be allowed to see it (they may have
        // left it since).
        Created::Replayed(thread_id) => load_visible(app, actor, &thread_id).await,
    }
}

/// What a creation came to: a new thread, or the one an earlier request with the same
/// Idempotency-Key made.
enum Created {
    New,
    Replayed(ThreadId),
}

/// A new conversation the actor may start: its topic as offered, and its resident.
pub(crate) struct Admitted {
    pub topic: Topic,
    pub resident: User,
    pub category_id: String,
}

/// Whether the actor may start `new`, now or on a schedule.
pub(crate) async fn admit(app: &App, actor: &User, new: &NewThread) -> Result<Admitted, Error> {
    if actor.role.is_resident() && !settings::org_messaging(app, &actor.org).await?.residents_can_start {
        let message = "your property manager does not take new conversations here; reply in an existing one";
        return Err(DomainError::forbidden(ErrorCode::ConversationsClosed, message).into());
    }
    let topic = offered_topic(app, &actor.org, new.topic.clone()).await?;
    let staff_fields = new.priority.is_some() || new.linked_record.is_some() || new.category_id.is_some();
    policy::ensure_can_set_thread_fields(actor, staff_fields)?;
    let category = categories::of_new_thread(app, actor, &topic, new.category_id.as_deref()).await?;
    let resident = match policy::thread_counterpart(actor, new.resident_id.clone())? {
        ThreadCounterpart::Myself => actor.clone(),
        ThreadCounterpart::Resident(id) => {
            let resident = app.store.get_user(&actor.org, &id).await?.ok_or_else(|| {
                DomainError::invalid(
                    ErrorCode::UnknownResident,
                    "resident_id does not name a resident of this organization",
                )
            })?;
            policy::ensure_startable_with(&resident)?;
            // Staff write to a resident only in a category they consent to.
            consents::ensure_allows(app, &resident, &category).await?;
            resident
        }
    };
    Ok(Admitted { topic, resident, category_id: category.id })
}

/// A resolved thread is looked at for archiving a day after it is resolved, then daily until
/// its period has passed (`crate::archives`), so a change of the org's period applies
/// within a day; a thread leaving `resolved` drops its check.
fn archive_check(
    before: ThreadStatus,
    after: ThreadStatus,
    at: chrono::DateTime<chrono::Utc>,
) -> ArchiveCheck {
    match (before == ThreadStatus::Resolved, after == ThreadStatus::Resolved) {
        (false, true) => ArchiveCheck::At(at + chrono::Duration::days(1)),
        (true, false) => ArchiveCheck::Drop,
        _ => ArchiveCheck::Keep,
    }
}

/// A built-in topic, or one the organization added by routing it (read only then).
pub(crate) async fn offered_topic(app: &App, org: &OrgId, topic: Topic) -> Result<Topic, Error> {
    if Topic::BUILT_IN.contains(&topic.as_str()) {
        return Ok(topic);
    }
    let settings = app.store.get_routing(org).await?.unwrap_or_default();
    Ok(Topic::parse_offered(topic.as_str(), settings.custom_topics())?)
}

/// Whose threads an inbox lists.
pub enum Assignee {
    /// The caller's own (for a facility admin: the threads they take part in).
    Me,
    /// Another staff member's (facility admins).
    Staff(UserId),
}

/// Which inbox to list, and one page of it.
pub struct InboxFilter {
    pub status: Option<ThreadStatus>,
    pub assignee: Option<Assignee>,
    pub rows: RowFilter,
    pub cursor: Option<Cursor>,
    pub limit: i32,
}

/// One page of an inbox: an admin's is the organization's, anyone else's their own.
pub struct Inbox {
    pub page: Page<InboxRow>,
    /// Rows of threads the reader is not in (an admin's view of the org).
    pub org_wide: bool,
}

pub async fn inbox(app: &App, actor: &User, filter: InboxFilter) -> Result<Inbox, Error> {
    let own = InboxScope::User(actor.org.clone(), actor.id.clone());
    // An auditor lists their category's threads across the org; a dispatcher those of a
    // property they work for (the filter names it).
    let audited = match (&filter.assignee, &filter.rows.category_id) {
        (None, Some(category)) if actor.role != Role::FacilityAdmin => {
            let property = filter.rows.property_id.as_deref();
            categories::role_in(app, actor, category, property).await?.is_some()
        }
        _ => false,
    };
    let (scope, org_wide) = match filter.assignee {
        Some(Assignee::Staff(id)) if id != actor.id => {
            policy::ensure_org_admin(actor)?;
            (InboxScope::User(actor.org.clone(), id), true)
        }
        Some(_) => (own, false),
        None if actor.role == Role::FacilityAdmin => (InboxScope::Org(actor.org.clone()), true),
        None if audited => (InboxScope::Org(actor.org.clone()), true),
        None => (own, false),
    };
    let InboxFilter { status, rows: filter, cursor, limit, .. } = filter;
    let page = app
        .store
        .list_inbox(&InboxQuery { scope, status, filter, cursor, limit, oldest_first: false })
        .await?;
    Ok(Inbox { page, org_wide })
}

/// What staff change on a thread; `None` leaves a field as it is.
pub struct ThreadChange {
    pub status: Option<ThreadStatus>,
    pub priority: Option<Priority>,
    /// `Some(None)` unlinks.
    pub linked_record: Option<Option<LinkedRecord>>,
}

/// Applies a change, each field that differs leaving its timeline event; retried on a
/// concurrent change so none is overwritten.
pub async fn change(
    app: &App,
    actor: &User,
    id: ThreadId,
    change: ThreadChange,
) -> Result<ThreadView, Error> {
    let mut view = load_visible(app, actor, &id).await?;
    policy::ensure_staff(actor)?;
    policy::ensure_can_write(actor)?;
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
            linked_record: None,
            at,
        };
        if let Some(to) = change.status {
            if let Some(change) = after.summary.status.change_to(to)? {
                after.summary.status = change.to;
                after.summary.updated_at = at;
                events.push(EventRecord { status: Some(change.to), ..event(EventKind::StatusChanged) });
            }
        }
        if let Some(p) = change.priority.filter(|p| *p != after.summary.priority) {
            after.summary.priority = p;
            events.push(EventRecord { priority: Some(p), ..event(EventKind::PriorityChanged) });
        }
        if let Some(link) = change.linked_record.clone().filter(|l| *l != after.linked_record) {
            events.push(EventRecord { linked_record: link.clone(), ..event(EventKind::LinkedRecordChanged) });
            after.linked_record = link;
        }
        if events.is_empty() {
            return Ok(view);
        }
        // Resolving or archiving an escalated thread is its acknowledgement: it stops
        // escalating and leaves the queue.
        let settled = matches!(after.summary.status, ThreadStatus::Resolved | ThreadStatus::Archived);
        let ends_wait = settled && crate::triage::end_wait(&mut after, &mut events, actor, at);
        // It settles the response cycle too: a reply after it answers nothing.
        if settled {
            after.response = ResponseClock::resolved(after.last_id());
        }
        after.version += 1;
        let check = archive_check(view.thread.summary.status, after.summary.status, at);
        let before = &view.thread;
        let changed: Vec<ThreadField> = [
            (after.summary.status != before.summary.status, ThreadField::Status),
            (after.summary.priority != before.summary.priority, ThreadField::Priority),
            (after.linked_record != before.linked_record, ThreadField::LinkedRecord),
        ]
        .into_iter()
        .filter_map(|(differs, field)| differs.then_some(field))
        .collect();
        let announce = (!changed.is_empty()).then(|| OutboxEvent {
            id: EventId::new_at(millis(at)),
            org: actor.org.clone(),
            thread_id: id,
            at,
            kind: OutboxKind::ThreadChanged { status: after.summary.status, changed },
        });
        let queue = match ends_wait {
            true => QueueChange::Dequeue { org: &actor.org, thread: &id },
            false => QueueChange::Keep,
        };
        if app.store.change_thread(&view, &after, &events, check, queue, announce.as_ref()).await? {
            if let Some(announce) = &announce {
                crate::relay::relay(app, announce).await;
            }
            if ends_wait {
                crate::triage::count_acknowledged(app, &after, at).await;
            }
            view.thread = after;
            return Ok(view);
        }
        view = load_visible(app, actor, &id).await?;
    }
    Err(store::StoreError::Contention.into())
}
