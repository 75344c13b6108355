//! Triage (consumer of `thread_created` and `message_posted`): a resident's message that
//! starts or re-opens a thread is classified by the org's rules, the context staff need is
//! attached, an emergency makes the thread urgent, posts the org's safety notice and pages
//! the on-call staff; any escalation waits in the triage queue until a staff member
//! acknowledges it, and an emergency nobody acknowledges in `ack_minutes` is escalated
//! again, to the facility admins (the `jobs` schedule). Otherwise the one missing detail is
//! asked with the org's approved prompt, once per thread. Automation only ever posts the
//! org's approved texts.
//!
//! Idempotent: the classification is recorded on the thread (conditioned on its version)
//! with the queue entry and the `escalated` event in one transaction; what follows (the
//! on-call staff joining, the notice or question) is keyed by the message, so a redelivery
//! finishes what a crash left and adds nothing else.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Utc};
use domain::events::{OutboxEvent, OutboxKind};
use domain::messaging::AutomatedKind;
use domain::triage::{Escalation, Path, Rules, ThreadTriage, TriageContext, TriageInput, TriageSettings};
use domain::{
    policy, DomainError, ErrorCode, EventId, MessageId, OrgId, Priority, Role, ThreadId, User, UserId,
};
use store::{
    ArchiveCheck, Cursor, CycleMark, EventKind, EventRecord, EventStep, MembershipChange, MembershipOutcome,
    MessageRecord, NewIdempotency, NewPost, Page, PostOutcome, QueueChange, QueueEntry, ThreadRecord,
    ThreadView,
};

use crate::conversation::{load_visible, millis, now, participant};
use crate::relay::relay;
use crate::{App, Error, WorkError};

/// The author of triage's messages and events, as timelines show it.
pub const TRIAGE_ACTOR: &str = "system";
const TRIAGE_NAME: &str = "Triage";
/// Threads on the same path this recently count in the context.
const RECENT_DAYS: i64 = 90;
/// An emergency nobody acknowledges escalates again at most this many times.
pub const MAX_LEVEL: u32 = 4;
/// Facility admins are read from at most this many pages of contacts (500 each).
const ADMIN_PAGES: usize = 20;

/// An org's triage settings and compiled rules, as last read.
#[derive(Debug)]
pub struct OrgTriage {
    pub settings: TriageSettings,
    pub rules: Rules,
}

impl OrgTriage {
    fn new(settings: TriageSettings) -> Arc<Self> {
        let rules = settings.rules();
        Arc::new(Self { settings, rules })
    }
}

pub type TriageCache = crate::org_cache::OrgCache<Arc<OrgTriage>>;

async fn org_triage(app: &App, org: &domain::OrgId) -> Result<Arc<OrgTriage>, WorkError> {
    let read =
        async { Ok::<_, store::StoreError>(OrgTriage::new(app.store.get_triage_settings(org).await?)) };
    Ok(app.triage.get(org, read).await?)
}

/// Whom an emergency pages: the on-call staff who are active staff of the org, or the
/// facility admins when none is set. Read when paging (rare), not with the settings.
async fn on_call(app: &App, org: &OrgId, settings: &TriageSettings) -> Result<Vec<User>, WorkError> {
    if settings.pages_admins() {
        return Ok(app.store.facility_admins(org, ADMIN_PAGES).await?);
    }
    let mut staff = app.store.get_users(org, &settings.on_call).await?;
    staff.retain(|u| u.role.is_staff() && policy::ensure_can_write(u).is_ok());
    Ok(staff)
}

fn actor() -> UserId {
    UserId::parse(TRIAGE_ACTOR).expect("valid id")
}

/// The cold months in Canada (October to April): no heat is an emergency then.
pub fn cold_season(at: DateTime<Utc>) -> bool {
    !(5..=9).contains(&at.month())
}

pub async fn handle(app: &App, event: OutboxEvent) -> Result<(), WorkError> {
    let message_id = match &event.kind {
        OutboxKind::ThreadCreated { first_message_id, .. } => *first_message_id,
        OutboxKind::MessagePosted { message_id, internal: false, reopened: true, .. } => *message_id,
        // Not a resident's new words: only the response figures may change.
        _ => return crate::metrics::record(app, &event).await,
    };
    // A new thread's first message comes with the thread's read; a re-opening one apart.
    let (view, msg) = match event.kind {
        OutboxKind::ThreadCreated { .. } => app
            .store
            .load_opening(&event.org, &event.thread_id, &message_id)
            .await?
            .ok_or(WorkError::MissingThread(event.thread_id))?,
        _ => (load(app, &event).await?, None),
    };
    let msg = match msg {
        Some(msg) => msg,
        None => app
            .store
            .get_message(&event.org, &event.thread_id, &message_id)
            .await?
            .ok_or(WorkError::MissingMessage(message_id))?,
    };
    // Only the resident's own words (never what staff wrote for them, nor automation's).
    if msg.author_id != view.thread.summary.resident.id || msg.internal || msg.automated {
        return Ok(());
    }
    let org = org_triage(app, &event.org).await?;
    let enabled = org.settings.enabled;
    let triage = match view.thread.triage.clone().filter(|t| t.message_id == message_id) {
        // Recorded before (a redelivery): finish what follows.
        Some(done) => Some(done),
        None if enabled => match classify_and_record(app, &event, view.clone(), &msg, &org).await {
            Ok(triage) => triage,
            // The cycle is not held up by triage: started now, its path marked on a retry.
            Err(e) => {
                tracing::warn!(thread_id = %event.thread_id, error = %e, "triage failed; retried");
                crate::metrics::start(app, &event, &view, &msg, None).await?;
                return Err(e);
            }
        },
        None => None,
    };
    // The response cycle starts with what triage decided, in one write.
    crate::metrics::start(app, &event, &view, &msg, triage.as_ref()).await?;
    match triage.filter(|_| enabled) {
        Some(triage) => follow_up(app, &event, &triage, &org).await,
        // Triage is off, or a newer message was triaged meanwhile (this one is history).
        None => Ok(()),
    }
}

async fn load(app: &App, event: &OutboxEvent) -> Result<ThreadView, WorkError> {
    app.store
        .load_thread(&event.org, &event.thread_id)
        .await?
        .ok_or(WorkError::MissingThread(event.thread_id))
}

/// Classifies the message and records it on the thread (with the queue entry and the
/// page when escalated). `None`: the thread has a newer triage.
async fn classify_and_record(
    app: &App,
    event: &OutboxEvent,
    mut view: ThreadView,
    msg: &MessageRecord,
    org: &OrgTriage,
) -> Result<Option<ThreadTriage>, WorkError> {
    let summary = &view.thread.summary;
    let first = matches!(event.kind, OutboxKind::ThreadCreated { .. });
    let text = if first {
        format!("{}\n{}", summary.subject.as_str(), msg.body.as_str())
    } else {
        msg.body.as_str().to_owned()
    };
    // The author's state when they wrote, with the unit and property the thread names, is
    // all the context needs of the resident; else they are read.
    let resident_ref = &summary.resident;
    let known = event
        .kind
        .author_state()
        .filter(|_| resident_ref.unit.is_some() && resident_ref.property_id.is_some());
    let resident = match known {
        Some(_) => None,
        None => app.store.get_user(&event.org, &resident_ref.id).await?,
    };
    let unit = resident_ref.unit.clone().or_else(|| resident.as_ref().and_then(|r| r.unit.clone()));
    let input = TriageInput {
        text: &text,
        unit_known: unit.is_some(),
        has_attachment: !msg.attachments.is_empty(),
        cold: cold_season(msg.created_at),
    };
    let started = std::time::Instant::now();
    let found = org.rules.classify(&input);
    let micros = started.elapsed().as_secs_f64() * 1e6;
    let resident_id = summary.resident.id.clone();
    let at = now();
    let since = at - Duration::days(RECENT_DAYS);
    let recent =
        app.store.note_triaged(&event.org, &resident_id, found.path, &event.thread_id, at, since).await?;
    let context = TriageContext {
        property_id: resident_ref.property_id.clone().or_else(|| resident.as_ref()?.property_id.clone()),
        unit,
        account_state: known.or(resident.as_ref().map(|r| r.state)).unwrap_or_default(),
        lease_status: None,
        recent_on_path: recent,
    };
    let paged = match found.escalation {
        Some(Escalation::Emergency) => on_call(app, &event.org, &org.settings).await?,
        _ => vec![],
    };
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let before = view.thread.triage.clone();
        if before.as_ref().is_some_and(|t| t.message_id > msg.id) {
            return Ok(None);
        }
        if let Some(done) = before.clone().filter(|t| t.message_id == msg.id) {
            return Ok(Some(done));
        }
        let mut triage = ThreadTriage {
            path: found.path,
            escalation: found.escalation,
            missing: found.missing,
            reasons: found.reasons.clone(),
            context: context.clone(),
            lang: found.lang,
            message_id: msg.id,
            classified_at: at,
            asked: before.as_ref().and_then(|t| t.asked),
            asked_for: before.as_ref().and_then(|t| t.asked_for),
            escalated_for: None,
            escalated_at: None,
            level: 0,
            acknowledged_at: None,
            acknowledged_by: None,
            classified_path: None,
            corrected_by: None,
            corrected_at: None,
        };
        let mut after = view.thread.clone();
        let mut events = Vec::new();
        let mut entry = None;
        let mut page = None;
        let waiting = before.filter(ThreadTriage::waiting);
        // A waiting emergency stays what the thread waits for, with its level and clock: a
        // resident writing again ("still no heat!") must not put off the admins' page.
        let emergency_waits = waiting.as_ref().is_some_and(|w| w.escalation == Some(Escalation::Emergency));
        match (found.escalation.filter(|_| !emergency_waits), waiting) {
            (Some(escalation), _) => {
                triage.escalated_at = Some(at);
                triage.escalated_for = Some(msg.id);
                triage.level = 1;
                events.push(timeline_event(event.thread_id, EventKind::Escalated, at));
                if escalation == Escalation::Emergency {
                    if after.summary.priority != Priority::Urgent {
                        after.summary.priority = Priority::Urgent;
                        events.push(EventRecord {
                            priority: Some(Priority::Urgent),
                            ..timeline_event(event.thread_id, EventKind::PriorityChanged, at)
                        });
                    }
                    page = Some(page_event(&event.org, event.thread_id, escalation, 1, msg.id, &paged, at));
                }
                entry = Some(queue_entry(&after, &triage, escalation, org, at));
            }
            // A re-opening message that needs no (other) escalation leaves a waiting one
            // waiting.
            (None, Some(waiting)) => {
                triage.escalation = waiting.escalation;
                triage.escalated_at = waiting.escalated_at;
                triage.escalated_for = waiting.escalated_for;
                triage.level = waiting.level;
            }
            (None, None) => {}
        }
        if triage.escalation.is_some() {
            triage.missing = None;
        } else if triage.asked.is_none() && triage.missing.is_some() {
            triage.asked = triage.missing;
            triage.asked_for = Some(msg.id);
        }
        after.triage = Some(triage.clone());
        after.version += 1;
        let queue = match &entry {
            Some(entry) => QueueChange::Enqueue { org: &event.org, entry },
            None => QueueChange::Keep,
        };
        if app.store.change_thread(&view, &after, &events, ArchiveCheck::Keep, queue, page.as_ref()).await? {
            if let Some(page) = &page {
                relay(app, page).await;
            }
            tracing::info!(
                thread_id = %event.thread_id,
                path = triage.path.as_str(),
                escalation = triage.escalation.map(Escalation::as_str),
                "triaged"
            );
            let made = triage.made_escalation();
            let escalated = f64::from(u8::from(made.is_some()));
            let emergency = f64::from(u8::from(made == Some(Escalation::Emergency)));
            crate::emf::emit(
                "triage",
                &[
                    ("Triaged", 1.0, "Count"),
                    ("Escalations", escalated, "Count"),
                    ("Emergencies", emergency, "Count"),
                    ("ClassifyMicros", micros, "Microseconds"),
                ],
            );
            return Ok(Some(triage));
        }
        view = load(app, event).await?;
    }
    Err(store::StoreError::Contention.into())
}

fn timeline_event(thread_id: ThreadId, kind: EventKind, at: DateTime<Utc>) -> EventRecord {
    EventRecord {
        id: EventId::new_at(millis(at)),
        thread_id,
        event: kind,
        actor_id: actor(),
        subject_id: None,
        status: None,
        priority: None,
        linked_record: None,
        at,
    }
}

fn page_event(
    org: &OrgId,
    thread_id: ThreadId,
    escalation: Escalation,
    level: u32,
    message_id: MessageId,
    paged: &[User],
    at: DateTime<Utc>,
) -> OutboxEvent {
    if paged.is_empty() {
        tracing::error!(%thread_id, level, "an escalation pages nobody: no active on-call staff or facility admin");
    }
    OutboxEvent {
        id: EventId::new_at(millis(at)),
        org: org.clone(),
        thread_id,
        at,
        kind: OutboxKind::Escalated {
            level,
            escalation,
            message_id,
            paged: paged.iter().map(|u| u.id.clone()).collect(),
        },
    }
}

fn queue_entry(
    thread: &ThreadRecord,
    triage: &ThreadTriage,
    escalation: Escalation,
    org: &OrgTriage,
    at: DateTime<Utc>,
) -> QueueEntry {
    let summary = &thread.summary;
    // Only an emergency escalates again when nobody acknowledges it in time.
    let due_at = (escalation == Escalation::Emergency && triage.level < MAX_LEVEL)
        .then(|| at + Duration::minutes(i64::from(org.settings.ack_minutes)));
    QueueEntry {
        thread_id: summary.id,
        org: None,
        escalation,
        path: triage.path,
        subject: summary.subject.as_str().to_owned(),
        resident_id: summary.resident.id.clone(),
        resident_name: summary.resident.name.clone(),
        property_id: triage.context.property_id.clone(),
        unit: triage.context.unit.clone(),
        message_id: triage.escalated_for.unwrap_or(triage.message_id),
        escalated_at: triage.escalated_at.unwrap_or(at),
        level: triage.level,
        due_at,
    }
}

/// What follows a recorded triage: on an emergency the on-call staff join the thread and
/// the safety notice is posted; otherwise the question for the missing detail, if this
/// message is the one that asked it. Each is keyed by the message: done once.
async fn follow_up(
    app: &App,
    event: &OutboxEvent,
    triage: &ThreadTriage,
    org: &OrgTriage,
) -> Result<(), WorkError> {
    let settings = &org.settings;
    let this = Some(triage.message_id);
    // A path routed to a topic: that topic's staff join a new thread (its own topic's
    // recipients stay; the router adds them).
    if let (Some(topic), OutboxKind::ThreadCreated { .. }) = (settings.routes.get(&triage.path), &event.kind)
    {
        let staff = app
            .store
            .get_users(&event.org, &crate::router::recipients(app, &event.org, topic).await?)
            .await?;
        join(app, event, &staff).await?;
    }
    if triage.escalation == Some(Escalation::Emergency) && triage.escalated_for == this {
        join(app, event, &on_call(app, &event.org, settings).await?).await?;
        let notice = settings.safety_notice.get(triage.lang);
        return post_approved(app, event, triage.message_id, AutomatedKind::SafetyNotice, notice).await;
    }
    if let Some(detail) = triage.asked.filter(|_| triage.asked_for == this && triage.escalation.is_none()) {
        if let Some(prompt) = settings.prompts.get(&detail) {
            return post_approved(
                app,
                event,
                triage.message_id,
                AutomatedKind::Question,
                prompt.get(triage.lang),
            )
            .await;
        }
    }
    Ok(())
}

/// Adds whoever of `staff` is not in the thread yet (admins read every thread already).
async fn join(app: &App, event: &OutboxEvent, staff: &[User]) -> Result<(), WorkError> {
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let view = load(app, event).await?;
        let room = policy::MAX_PARTICIPANTS.saturating_sub(view.participants.len());
        let at = now();
        let joins: Vec<_> = staff
            .iter()
            .filter(|u| u.role == Role::Staff && view.participant(&u.id).is_none())
            .take(room.min(crate::router::JOINS_PER_TRANSACTION))
            .map(|u| participant(u, at, None))
            .collect();
        if joins.is_empty() {
            return Ok(());
        }
        let events: Vec<EventRecord> = joins
            .iter()
            .map(|j| EventRecord {
                subject_id: Some(j.user_id.clone()),
                ..timeline_event(event.thread_id, EventKind::ParticipantJoined, at)
            })
            .collect();
        let changed = OutboxEvent {
            id: EventId::new_at(millis(at)),
            org: event.org.clone(),
            thread_id: event.thread_id,
            at,
            kind: OutboxKind::ParticipantsChanged {
                added: joins.iter().map(|j| j.user_id.clone()).collect(),
                removed: vec![],
            },
        };
        let change = MembershipChange {
            joins: &joins,
            leaves: &[],
            events: &events,
            event: Some(EventStep::Announces(&changed)),
        };
        match app.store.change_members(&view, change).await? {
            MembershipOutcome::Done => {
                relay(app, &changed).await;
                return Ok(());
            }
            MembershipOutcome::Stale | MembershipOutcome::EventDone => continue,
        }
    }
    Err(store::StoreError::Contention.into())
}

/// Posts one of the org's approved texts in the thread, once per message and kind.
async fn post_approved(
    app: &App,
    event: &OutboxEvent,
    about: MessageId,
    kind: AutomatedKind,
    text: &str,
) -> Result<(), WorkError> {
    let body = domain::MessageBody::parse(text).map_err(|e| WorkError::UseCase(Box::new(e.into())))?;
    let key = format!("triage-{about}-{}", kind_name(kind));
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let view = load(app, event).await?;
        let at = now();
        let (msg, mut posted) =
            crate::automation::automated_message(event, TRIAGE_NAME, body.clone(), kind, at);
        let post = NewPost {
            message: &msg,
            posting: crate::automation::automated_posting(&view, &msg),
            event: &mut posted,
            attachments: &[],
            idempotency: Some(NewIdempotency { key: &key, request_hash: key.clone() }),
            expected_last: None,
            auto_reply_for: None,
        };
        match app.store.post_message(view, post).await? {
            PostOutcome::Posted => {
                relay(app, &posted).await;
                return Ok(());
            }
            // Posted before: a redelivery.
            PostOutcome::Replayed(_) => return Ok(()),
            PostOutcome::NotNeeded | PostOutcome::AttachmentTaken | PostOutcome::MovedOn => continue,
        }
    }
    Err(store::StoreError::Contention.into())
}

fn kind_name(kind: AutomatedKind) -> &'static str {
    match kind {
        AutomatedKind::AutoReply => "auto-reply",
        AutomatedKind::Question => "question",
        AutomatedKind::SafetyNotice => "safety-notice",
    }
}

/// `POST /v1/threads/{id}/acknowledge` (staff who may work in the thread): takes an
/// escalated thread out of the queue. Acknowledging one not waiting changes nothing.
pub async fn acknowledge(app: &App, actor: &User, id: ThreadId) -> Result<ThreadView, Error> {
    policy::ensure_staff(actor)?;
    policy::ensure_can_write(actor)?;
    let mut view = load_visible(app, actor, &id).await?;
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let at = now();
        let mut after = view.thread.clone();
        let mut events = vec![];
        if !end_wait(&mut after, &mut events, actor, at) {
            return Ok(view);
        }
        after.version += 1;
        let queue = QueueChange::Dequeue { org: &actor.org, thread: &id };
        if app.store.change_thread(&view, &after, &events, ArchiveCheck::Keep, queue, None).await? {
            count_acknowledged(app, &after, at).await;
            view.thread = after;
            return Ok(view);
        }
        view = load_visible(app, actor, &id).await?;
    }
    Err(store::StoreError::Contention.into())
}

/// Ends the wait of an escalated thread `actor` acknowledged (or resolved): recorded on
/// its triage with a timeline event. `false`: nothing waits. The caller takes it out of
/// the queue in the same write.
pub(crate) fn end_wait(
    after: &mut ThreadRecord,
    events: &mut Vec<EventRecord>,
    actor: &User,
    at: DateTime<Utc>,
) -> bool {
    let Some(triage) = after.triage.as_mut().filter(|t| t.waiting()) else { return false };
    triage.acknowledged_at = Some(at);
    triage.acknowledged_by = Some(actor.id.clone());
    let id = after.summary.id;
    events
        .push(EventRecord { actor_id: actor.id.clone(), ..timeline_event(id, EventKind::Acknowledged, at) });
    true
}

/// Counts an acknowledgement in the metrics; a failure costs one figure, never the
/// acknowledgement.
pub(crate) async fn count_acknowledged(app: &App, thread: &ThreadRecord, at: DateTime<Utc>) {
    let Some(triage) = &thread.triage else { return };
    let cycle = triage.escalated_for.unwrap_or(triage.message_id);
    let id = thread.summary.id;
    if let Err(e) = app.store.mark_cycle(&thread.org, &id, &cycle, CycleMark::Acknowledged(at)).await {
        tracing::warn!(thread_id = %id, error = %e, "acknowledgement not counted in the metrics");
    }
}

/// `PUT /v1/threads/{id}/triage` (staff who work in the thread): corrects the path triage
/// chose; kept on the thread (with what triage had chosen) and counted in the metrics.
pub async fn correct(app: &App, actor: &User, id: ThreadId, path: Path) -> Result<ThreadView, Error> {
    policy::ensure_staff(actor)?;
    policy::ensure_can_write(actor)?;
    let mut view = load_visible(app, actor, &id).await?;
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let Some(triage) = view.thread.triage.clone() else {
            let message = "triage never classified this thread";
            return Err(DomainError::conflict(ErrorCode::NotTriaged, message).into());
        };
        if triage.path == path {
            return Ok(view);
        }
        let at = now();
        let mut after = view.thread.clone();
        after.triage = Some(ThreadTriage {
            path,
            classified_path: triage.classified_path.or(Some(triage.path)),
            corrected_by: Some(actor.id.clone()),
            corrected_at: Some(at),
            ..triage.clone()
        });
        after.version += 1;
        let events = [EventRecord {
            actor_id: actor.id.clone(),
            ..timeline_event(id, EventKind::TriageCorrected, at)
        }];
        if app
            .store
            .change_thread(&view, &after, &events, ArchiveCheck::Keep, QueueChange::Keep, None)
            .await?
        {
            let cycle = CycleMark::Corrected(at);
            if let Err(e) = app.store.mark_cycle(&actor.org, &id, &triage.message_id, cycle).await {
                tracing::warn!(thread_id = %id, error = %e, "correction not counted in the metrics");
            }
            view.thread = after;
            return Ok(view);
        }
        view = load_visible(app, actor, &id).await?;
    }
    Err(store::StoreError::Contention.into())
}

/// `GET /v1/triage/queue` (staff): escalated threads nobody acknowledged, emergencies
/// first, then oldest first. Staff who are not admins see those they take part in.
pub async fn queue(
    app: &App,
    actor: &User,
    cursor: Option<&Cursor>,
    limit: i32,
) -> Result<Page<QueueEntry>, Error> {
    policy::ensure_staff(actor)?;
    let mut page = app.store.triage_queue(&actor.org, cursor, limit).await?;
    if actor.role != Role::FacilityAdmin {
        let mut visible = Vec::new();
        for entry in page.items {
            if load_visible(app, actor, &entry.thread_id).await.is_ok() {
                visible.push(entry);
            }
        }
        page.items = visible;
    }
    Ok(page)
}

/// `GET /v1/settings/triage` (staff).
pub async fn settings(app: &App, actor: &User) -> Result<TriageSettings, Error> {
    policy::ensure_staff(actor)?;
    Ok(app.store.get_triage_settings(&actor.org).await?)
}

/// `PUT /v1/settings/triage` (facility admins): the on-call staff must be active staff of
/// the org; routes must name topics the org offers.
pub async fn set_settings(
    app: &App,
    actor: &User,
    settings: TriageSettings,
) -> Result<TriageSettings, Error> {
    policy::ensure_org_admin(actor)?;
    let settings = settings.validated()?;
    let staff = app.store.get_users(&actor.org, &settings.on_call).await?;
    if let Some(id) = settings.on_call.iter().find(|id| {
        !staff.iter().any(|u| &u.id == *id && u.role.is_staff() && policy::ensure_can_write(u).is_ok())
    }) {
        let message = format!("'{id}' is not an active staff member of this organization");
        return Err(DomainError::invalid(ErrorCode::UnknownStaff, message).into());
    }
    if !settings.routes.is_empty() {
        let routing = app.store.get_routing(&actor.org).await?.unwrap_or_default();
        for topic in settings.routes.values() {
            domain::Topic::parse_offered(topic.as_str(), routing.routes.keys().map(String::as_str))?;
        }
    }
    app.store.put_triage_settings(&actor.org, &settings).await?;
    app.triage.put(&actor.org, OrgTriage::new(settings.clone()));
    Ok(settings)
}

/// The `jobs` schedule: escalates again every emergency nobody acknowledged in time,
/// paging the facility admins. Conditioned on the thread's version and the level read, so
/// two runs never escalate the same level twice.
pub async fn escalate_overdue(app: &App, now: DateTime<Utc>) -> Result<usize, WorkError> {
    let escalated = escalate_each(app, now).await?;
    // Every run reports, so the alarm on unacknowledged emergencies sees zeros too.
    crate::emf::emit("triage", &[("UnacknowledgedEmergencies", escalated as f64, "Count")]);
    Ok(escalated)
}

async fn escalate_each(app: &App, now: DateTime<Utc>) -> Result<usize, WorkError> {
    let mut escalated = 0;
    for entry in app.store.due_escalations(&now, 25).await? {
        let Some(org) = entry.org.clone() else { continue };
        match escalate_again(app, &org, &entry, now).await {
            Ok(true) => escalated += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(thread_id = %entry.thread_id, error = %e, "re-escalation failed; retried next run")
            }
        }
    }
    Ok(escalated)
}

async fn escalate_again(
    app: &App,
    org_id: &OrgId,
    entry: &QueueEntry,
    now: DateTime<Utc>,
) -> Result<bool, WorkError> {
    let org = org_triage(app, org_id).await?;
    let admins = app.store.facility_admins(org_id, ADMIN_PAGES).await?;
    let thread_id = entry.thread_id;
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let view =
            app.store.load_thread(org_id, &thread_id).await?.ok_or(WorkError::MissingThread(thread_id))?;
        let Some(triage) = view.thread.triage.clone() else { return Ok(false) };
        // Acknowledged, re-classified or escalated by another run meanwhile.
        if !triage.waiting() || triage.escalated_for != Some(entry.message_id) || triage.level != entry.level
        {
            return Ok(false);
        }
        let level = triage.level + 1;
        let triage = ThreadTriage { level, ..triage };
        let mut after = view.thread.clone();
        after.triage = Some(triage.clone());
        after.version += 1;
        let events = [timeline_event(thread_id, EventKind::Escalated, now)];
        let escalation = triage.escalation.unwrap_or(Escalation::Emergency);
        let page = page_event(org_id, thread_id, escalation, level, entry.message_id, &admins, now);
        let entry = queue_entry(&after, &triage, escalation, &org, now);
        let queue = QueueChange::Enqueue { org: org_id, entry: &entry };
        if app.store.change_thread(&view, &after, &events, ArchiveCheck::Keep, queue, Some(&page)).await? {
            relay(app, &page).await;
            tracing::warn!(%thread_id, level, "emergency not acknowledged; escalated again");
            return Ok(true);
        }
    }
    Err(store::StoreError::Contention.into())
}
