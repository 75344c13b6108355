//! Response metrics. The triage consumer records a response cycle, with what triage
//! decided, for each resident message that starts or re-opens a thread, and marks it when
//! the first human staff reply comes (automated messages never count) and when staff
//! resolve the thread; `GET /v1/metrics` reads the cycles of a period (a few Queries) and
//! the backlog. Idempotent: a cycle is keyed by its message, each mark is set once (a
//! response gives way only to an earlier one).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use domain::events::{OutboxEvent, OutboxKind, ThreadField};
use domain::response::Answers;
use domain::triage::ThreadTriage;
use domain::{policy, DomainError, ErrorCode, MessageId, OrgId, Role, ThreadId, ThreadStatus, User, UserId};
use serde::Serialize;
use store::{CycleMark, CycleRecord, MessageRecord, ThreadView};

use crate::{App, Error, WorkError};

/// The longest period one request reads.
pub const MAX_PERIOD_DAYS: i64 = 92;
/// Cycles one request reads at most (beyond: `truncated`).
pub const MAX_CYCLES: usize = 20_000;

/// Records what an event other than a resident's new words means for the thread's
/// response cycles (those start with [`start`]).
pub async fn record(app: &App, event: &OutboxEvent) -> Result<(), WorkError> {
    match &event.kind {
        // The thread's clock named the cycle it answers when it was posted: no read (unless
        // it was answered already, by an earlier reply or a later one).
        OutboxKind::MessagePosted { answers: Some(Answers::Cycle(cycle)), .. } => {
            // Not started yet: events arrive in any order, and the resident's message may
            // still be with triage. Then this event is delivered again, once it is.
            match answer(app, &event.org, &event.thread_id, cycle, event.at).await? {
                true => Ok(()),
                false => Err(WorkError::CycleNotStarted(*cycle)),
            }
        }
        OutboxKind::MessagePosted { answers: Some(Answers::Nothing), .. } => Ok(()),
        // Unknown (a thread or event from before the clock): the cycle is looked up.
        OutboxKind::MessagePosted {
            message_id,
            author_id,
            internal: false,
            reopened: false,
            author_role,
            ..
        } => responded(app, event, author_id, *author_role, *message_id).await,
        // Archiving straight from unread or open settles it as resolving does.
        OutboxKind::ThreadChanged { status: ThreadStatus::Resolved | ThreadStatus::Archived, changed }
            if changed.contains(&ThreadField::Status) =>
        {
            if let Some(cycle) = app.store.latest_cycle(&event.org, &event.thread_id, event.at).await? {
                let resolved = CycleMark::Resolved(event.at);
                app.store.mark_cycle(&event.org, &event.thread_id, &cycle.message_id, resolved).await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The resident's message `msg`, which started or re-opened the thread in `view`, starts a
/// cycle with what triage decided of it (`None`: triage is off or passed it by); a staff
/// reply that came first (events arrive in any order) answers it at once.
pub async fn start(
    app: &App,
    event: &OutboxEvent,
    view: &ThreadView,
    msg: &MessageRecord,
    triage: Option<&ThreadTriage>,
) -> Result<(), WorkError> {
    let summary = &view.thread.summary;
    let escalation = triage.and_then(ThreadTriage::made_escalation);
    let cycle = CycleRecord {
        thread_id: event.thread_id,
        message_id: msg.id,
        topic: summary.topic.clone(),
        property_id: summary.resident.property_id.clone(),
        started_at: msg.created_at,
        path: triage.map(|t| t.path),
        responded_at: None,
        resolved_at: None,
        escalation,
        acknowledged_at: None,
        corrected_at: None,
    };
    let started = app.store.start_cycle(&event.org, &cycle).await?;
    // Started before: a redelivery, or an earlier release's start without triage's mark.
    if let (false, Some(triage)) = (started, triage) {
        let triaged = CycleMark::Triaged { path: triage.path, escalation };
        app.store.mark_cycle(&event.org, &event.thread_id, &msg.id, triaged).await?;
    }
    // Nothing after it yet: no reply to look for.
    if view.thread.last_id().is_none_or(|last| last <= msg.id) {
        return Ok(());
    }
    let later = app.store.messages_after(&event.org, &event.thread_id, &msg.id, false, 100).await?;
    let mut authors: Vec<UserId> = later
        .iter()
        .filter(|m| !m.automated && m.author_id != summary.resident.id)
        .map(|m| m.author_id.clone())
        .collect();
    authors.sort();
    authors.dedup();
    // Admins reply without taking part: the authors' roles decide, not the participants.
    let users = app.store.get_users(&event.org, &authors).await?;
    let staff: Vec<UserId> = users.into_iter().filter(|u| u.role.is_staff()).map(|u| u.id).collect();
    if let Some(reply) = later.iter().find(|m| !m.automated && staff.contains(&m.author_id)) {
        answer(app, &event.org, &event.thread_id, &msg.id, reply.created_at).await?;
    }
    Ok(())
}

/// Records a human staff reply at `at` as the answer to the cycle `started`, unless an
/// earlier reply is recorded: replies' events arrive in any order (two posted at once may
/// both have read the cycle waiting), and a later reply recorded first gives way.
/// `Ok(false)`: no such cycle (yet).
async fn answer(
    app: &App,
    org: &OrgId,
    thread: &ThreadId,
    started: &MessageId,
    at: DateTime<Utc>,
) -> Result<bool, WorkError> {
    if app.store.mark_cycle(org, thread, started, CycleMark::Responded(at)).await? {
        return Ok(true);
    }
    // The recorded time only ever moves earlier, so racing replies settle in a few tries.
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let Some(cycle) = app.store.cycle(org, thread, started).await? else { return Ok(false) };
        let Some(later) = cycle.responded_at.filter(|recorded| *recorded > at) else { return Ok(true) };
        if app.store.answer_cycle_earlier(org, thread, started, at, later).await? {
            return Ok(true);
        }
    }
    Err(store::StoreError::Contention.into())
}

/// A public message by someone other than the resident and automation: the first human
/// staff reply of the open cycle, if its author is staff. `role`: the author's when they
/// posted, as the event says (events written before it was named do not: the author is
/// read).
async fn responded(
    app: &App,
    event: &OutboxEvent,
    author: &UserId,
    role: Option<Role>,
    message_id: domain::MessageId,
) -> Result<(), WorkError> {
    if author.as_str() == crate::triage::TRIAGE_ACTOR || role.is_some_and(|r| !r.is_staff()) {
        return Ok(());
    }
    let Some(cycle) = app.store.latest_cycle(&event.org, &event.thread_id, event.at).await? else {
        return Ok(());
    };
    // Answered already (by an earlier reply), older than the cycle, or after the cycle was
    // settled (a newer one, not written yet, is the reply's).
    if cycle.responded_at.is_some_and(|recorded| recorded <= event.at)
        || message_id < cycle.message_id
        || cycle.resolved_at.is_some_and(|resolved| resolved <= event.at)
    {
        return Ok(());
    }
    if role.is_none() {
        let Some(user) = app.store.get_user(&event.org, author).await? else { return Ok(()) };
        if !user.role.is_staff() {
            return Ok(());
        }
    }
    // The event is stamped with the message's own time.
    answer(app, &event.org, &event.thread_id, &cycle.message_id, event.at).await?;
    Ok(())
}

/// Minutes, as p50 and p90 over `count` values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Spread {
    pub count: usize,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
}

impl Spread {
    fn of(mut minutes: Vec<f64>) -> Self {
        minutes.sort_by(f64::total_cmp);
        let at = |q: f64| {
            // Nearest rank.
            let rank = ((q * minutes.len() as f64).ceil() as usize).clamp(1, minutes.len());
            (minutes[rank - 1] * 10.0).round() / 10.0
        };
        if minutes.is_empty() {
            return Self::default();
        }
        Self { count: minutes.len(), p50: Some(at(0.5)), p90: Some(at(0.9)) }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FirstResponse {
    pub all: Spread,
    /// Per topic the resident chose.
    pub by_topic: BTreeMap<String, Spread>,
    /// Resident messages in the period no human staff answered yet.
    pub unanswered: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Backlog {
    pub unread: u64,
    pub open: u64,
    /// How long the resident message of the period waiting longest for a first human
    /// reply (its thread not resolved) has waited (null: none waits).
    pub oldest_unread_minutes: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Escalations {
    pub count: usize,
    pub by_kind: BTreeMap<String, usize>,
    /// From the resident's message to a staff member's acknowledgement.
    pub ack_minutes: Spread,
    pub unacknowledged: usize,
}

/// `GET /v1/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Metrics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_id: Option<String>,
    /// Resident messages (new threads and re-openings) in the period.
    pub conversations: usize,
    /// From the resident's message to the first reply of a human staff member.
    pub first_response_minutes: FirstResponse,
    /// From the resident's message to staff resolving the thread.
    pub resolution_minutes: Spread,
    /// Of the messages triage classified, the share whose path no staff member corrected
    /// (null: none classified).
    pub auto_routed_share: Option<f64>,
    pub backlog: Backlog,
    pub escalations: Escalations,
    /// More cycles than one request reads: the figures cover the first of the period.
    pub truncated: bool,
}

/// The staff's metrics of a period (default: the last 30 days; at most 92 days).
pub async fn metrics(
    app: &App,
    actor: &User,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    property_id: Option<String>,
) -> Result<Metrics, Error> {
    policy::ensure_staff(actor)?;
    let now = Utc::now();
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - Duration::days(30));
    if from >= to || to - from > Duration::days(MAX_PERIOD_DAYS) {
        let message = format!("from must be before to, at most {MAX_PERIOD_DAYS} days apart");
        return Err(DomainError::invalid(ErrorCode::InvalidQuery, message).into());
    }
    let (mut cycles, truncated) = app.store.cycles_between(&actor.org, from, to, MAX_CYCLES).await?;
    if let Some(property) = &property_id {
        cycles.retain(|c| c.property_id.as_ref() == Some(property));
    }
    let minutes = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_milliseconds() as f64 / 60_000.0;
    let mut by_topic: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut all = Vec::new();
    let mut resolution = Vec::new();
    let mut escalations = Escalations::default();
    let mut acks = Vec::new();
    let (mut classified, mut corrected) = (0usize, 0usize);
    for c in &cycles {
        if let Some(at) = c.responded_at {
            all.push(minutes(c.started_at, at));
            by_topic.entry(c.topic.as_str().to_owned()).or_default().push(minutes(c.started_at, at));
        }
        if let Some(at) = c.resolved_at {
            resolution.push(minutes(c.started_at, at));
        }
        if c.path.is_some() {
            classified += 1;
            corrected += usize::from(c.corrected_at.is_some());
        }
        if let Some(kind) = c.escalation {
            escalations.count += 1;
            *escalations.by_kind.entry(kind.as_str().to_owned()).or_default() += 1;
            match c.acknowledged_at {
                Some(at) => acks.push(minutes(c.started_at, at)),
                None => escalations.unacknowledged += 1,
            }
        }
    }
    escalations.ack_minutes = Spread::of(acks);
    let unanswered = cycles.iter().filter(|c| c.responded_at.is_none()).count();
    let property = property_id.as_deref();
    // The resident message of the period waiting longest for a first human reply.
    let oldest = cycles
        .iter()
        .filter(|c| c.responded_at.is_none() && c.resolved_at.is_none())
        .map(|c| c.started_at)
        .min();
    let (unread, open) = tokio::try_join!(
        app.store.backlog(&actor.org, ThreadStatus::Unread, property),
        app.store.backlog(&actor.org, ThreadStatus::Open, property),
    )?;
    Ok(Metrics {
        from,
        to,
        property_id,
        conversations: cycles.len(),
        first_response_minutes: FirstResponse {
            all: Spread::of(all),
            by_topic: by_topic.into_iter().map(|(t, m)| (t, Spread::of(m))).collect(),
            unanswered,
        },
        resolution_minutes: Spread::of(resolution),
        auto_routed_share: (classified > 0).then(|| 1.0 - corrected as f64 / classified as f64),
        backlog: Backlog { unread, open, oldest_unread_minutes: oldest.map(|at| minutes(at, now).max(0.0)) },
        escalations,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_over_the_values() {
        let s = Spread::of((1..=10).map(f64::from).collect());
        assert_eq!((s.count, s.p50, s.p90), (10, Some(5.0), Some(9.0)));
        let one = Spread::of(vec![3.25]);
        assert_eq!((one.p50, one.p90), (Some(3.3), Some(3.3)));
        assert_eq!(Spread::of(vec![]), Spread::default());
    }
}
