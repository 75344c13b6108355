//! Search. The indexer (consumer of new threads, messages and membership changes) keeps
//! each org's index in step with the table; a search asks the index, narrowed to what the
//! caller may see, then confirms every hit against the table before it is answered, so a
//! stale index can hide a message for a moment but never show one it should not.

use std::collections::BTreeMap;

use ::search::{Access, Engine, IndexOp, IndexQuery, SearchDoc};
use chrono::{DateTime, Utc};
use domain::events::{OutboxEvent, OutboxKind};
use domain::search::IndexSnapshot;
use domain::{policy, MessageId, OrgId, Role, ThreadId, User, UserId};
use futures::stream::{self, StreamExt, TryStreamExt};
use store::retry::Tries;
use store::{InboxQuery, InboxScope, MessageRecord, ResidentRef, RowFilter, Store, ThreadView};

use crate::{App, Error, WorkError};

/// Messages (or threads) read at once when a thread (or an org) is indexed again.
const TIMELINE_PAGE: i32 = 100;
/// Threads read at once by a rebuild.
const REBUILD_CONCURRENCY: usize = 16;
/// Rebuilds started over because the indexer recorded a version meanwhile.
const REBUILD_ATTEMPTS: u32 = 3;

/// A hit the caller may see, as answered.
#[derive(Debug, Clone)]
pub struct SearchItem {
    pub thread_id: ThreadId,
    pub message_id: MessageId,
    pub subject: String,
    pub snippet: String,
    pub author_id: UserId,
    pub at: DateTime<Utc>,
    pub resident: ResidentRef,
}

#[derive(Debug, Clone)]
pub struct SearchPage {
    pub items: Vec<SearchItem>,
    /// The last hit looked at: the next page starts after it.
    pub next: Option<MessageId>,
}

/// What the caller's search is narrowed to in the index: facility admins every thread of
/// the org, everyone else the threads they take part in; internal notes for staff only.
fn access(actor: &User) -> Access {
    Access {
        member: (actor.role != Role::FacilityAdmin).then(|| actor.id.clone()),
        internal: actor.role.is_staff(),
    }
}

/// A page of what `actor` may see that matches `q`, newest first.
pub async fn search(app: &App, actor: &User, q: IndexQuery) -> Result<SearchPage, Error> {
    let empty = SearchPage { items: vec![], next: None };
    let Some(snapshot) = app.store.get_search_index(&actor.org, false).await? else { return Ok(empty) };
    let access = access(actor);
    // One more than asked: whether there is a next page.
    let asked = IndexQuery { limit: q.limit + 1, ..q.clone() };
    let mut hits = match app.search.search(&actor.org, &snapshot, &asked, &access).await {
        Ok(hits) => hits,
        // The version read may be one whose files the writer has since deleted (a lagging
        // read, or a slow fetch overtaken by two writes): once more, on the latest.
        Err(::search::SearchError::Storage(e)) => {
            tracing::info!(error = %e, "index files gone; reading the latest version");
            let Some(latest) = app.store.get_search_index(&actor.org, true).await? else { return Ok(empty) };
            app.search.search(&actor.org, &latest, &asked, &access).await?
        }
        Err(e) => return Err(e.into()),
    };
    let more = hits.len() > q.limit;
    hits.truncate(q.limit);
    let pairs: Vec<(ThreadId, MessageId)> = hits.iter().map(|h| (h.thread_id, h.message_id)).collect();
    let context = app.store.hit_context(&actor.org, access.member.as_ref(), &pairs).await?;
    let items = hits
        .iter()
        .filter_map(|hit| {
            let summary = context.threads.get(&hit.thread_id)?;
            let message = context.messages.get(&hit.message_id)?;
            policy::can_see_message(actor, message.internal).then(|| SearchItem {
                thread_id: hit.thread_id,
                message_id: hit.message_id,
                subject: summary.subject.as_str().to_owned(),
                snippet: ::search::snippet(message.body.as_str(), q.text.as_deref()),
                author_id: message.author_id.clone(),
                at: message.created_at,
                resident: summary.resident.clone(),
            })
        })
        .collect();
    Ok(SearchPage { items, next: more.then(|| hits.last().map(|h| h.message_id)).flatten() })
}

/// Indexes a batch of events: the ones of each org in one write of its index. The answer
/// is each event's outcome, in order.
pub async fn index(app: &App, events: Vec<OutboxEvent>) -> Vec<Result<(), WorkError>> {
    let mut by_org: BTreeMap<OrgId, Vec<usize>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        by_org.entry(e.org.clone()).or_default().push(i);
    }
    let mut outcomes: Vec<Result<(), WorkError>> = events.iter().map(|_| Ok(())).collect();
    for (org, positions) in by_org {
        let of_org: Vec<&OutboxEvent> = positions.iter().map(|&i| &events[i]).collect();
        if let Err(e) = index_org(app, &org, &of_org).await {
            tracing::warn!(org = %org, error = ?e, "indexing failed; the events will be retried");
            for &i in &positions {
                outcomes[i] = Err(WorkError::Indexing(e.to_string()));
            }
        }
    }
    outcomes
}

async fn index_org(app: &App, org: &OrgId, events: &[&OutboxEvent]) -> Result<(), WorkError> {
    let mut tries = Tries::new();
    while tries.another().await {
        // The version first, then the table: whatever another writer records after this
        // read makes this write's record fail, and the retry reads the table again.
        let base = app.store.get_search_index(org, true).await?;
        let ops = ops(app, org, events).await?;
        if ops.is_empty() {
            return Ok(());
        }
        let next = app.search.write(org, base.as_ref(), ops).await?;
        if settle(&app.store, &app.search, org, &next, base.as_ref()).await? {
            return Ok(());
        }
    }
    Err(store::StoreError::Contention.into())
}

/// Builds the org's index again from the table: every message of every thread, in an empty
/// index that replaces the current one. The answer is how many messages it holds. If the
/// indexer records a version while the table is read, the rebuild starts over (it would
/// otherwise drop what that version added), at most [`REBUILD_ATTEMPTS`] times.
pub async fn rebuild(store: &Store, engine: &Engine, org: &OrgId) -> Result<usize, WorkError> {
    for _ in 0..REBUILD_ATTEMPTS {
        let base = store.get_search_index(org, true).await?;
        let ops = every_message(store, org).await?;
        let count = ops.len();
        let next = engine.replace(org, base.as_ref(), ops).await?;
        if settle(store, engine, org, &next, base.as_ref()).await? {
            return Ok(count);
        }
    }
    Err(WorkError::Indexing(
        "new messages were indexed during every attempt of the rebuild; run it again".into(),
    ))
}

/// The documents of every message of the org, read from the table.
async fn every_message(store: &Store, org: &OrgId) -> Result<Vec<IndexOp>, WorkError> {
    let mut threads = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut cursor = None;
    loop {
        let query = InboxQuery {
            scope: InboxScope::Org(org.clone()),
            status: None,
            filter: RowFilter::default(),
            cursor,
            limit: TIMELINE_PAGE,
            oldest_first: true,
        };
        let page = store.list_inbox(&query).await?;
        threads.extend(page.items.into_iter().map(|row| row.summary.id).filter(|id| seen.insert(*id)));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let per_thread: Vec<Vec<IndexOp>> = stream::iter(threads)
        .map(|id| async move {
            let (view, messages) =
                store.load_conversation(org, &id).await?.ok_or(WorkError::MissingThread(id))?;
            Ok::<_, WorkError>(messages.iter().map(|m| IndexOp::Upsert(Box::new(doc(&view, m)))).collect())
        })
        .buffer_unordered(REBUILD_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(per_thread.into_iter().flatten().collect())
}

/// Records `next`, written from `base`, if `base` is still the recorded version, and then
/// deletes what the version before `base` no longer read. `Ok(false)`: another writer
/// recorded first; what this write uploaded is deleted and its local copy forgotten.
async fn settle(
    store: &Store,
    engine: &Engine,
    org: &OrgId,
    next: &IndexSnapshot,
    base: Option<&IndexSnapshot>,
) -> Result<bool, WorkError> {
    if store.put_search_index(org, next, base).await? {
        if let Err(e) = engine.delete_obsolete(org, base).await {
            tracing::warn!(org = %org, error = %e, "obsolete index files left in S3");
        }
        return Ok(true);
    }
    if let Err(e) = engine.discard(org, next, base).await {
        tracing::warn!(org = %org, error = %e, "the files of an unrecorded index write left in S3");
    }
    Ok(false)
}

/// What the events change in the index, read from the table as it is now: events may
/// arrive late or out of order, and the table is the truth.
async fn ops(app: &App, org: &OrgId, events: &[&OutboxEvent]) -> Result<Vec<IndexOp>, WorkError> {
    // Per thread: its new messages, or everything when who takes part changed.
    let mut threads: BTreeMap<ThreadId, (bool, Vec<MessageId>)> = BTreeMap::new();
    for e in events {
        let (members_changed, message) = match &e.kind {
            OutboxKind::MessagePosted { message_id, .. } => (false, Some(*message_id)),
            // A new thread is indexed once routed (its first message with its recipients):
            // the router announces every thread it routes, recipients or not.
            OutboxKind::ThreadRouted { first_message_id, .. } => (true, Some(*first_message_id)),
            OutboxKind::ParticipantsChanged { .. } => (true, None),
            OutboxKind::Escalated { .. } | OutboxKind::ThreadChanged { .. } => continue,
            OutboxKind::ThreadCreated { .. } => continue,
        };
        let entry = threads.entry(e.thread_id).or_default();
        entry.0 |= members_changed;
        entry.1.extend(message);
    }
    // The new messages of the batch in one read.
    let wanted: Vec<(ThreadId, MessageId)> = threads
        .iter()
        .filter(|(_, (members_changed, _))| !members_changed)
        .flat_map(|(id, (_, messages))| messages.iter().map(|m| (*id, *m)))
        .collect();
    let found =
        if wanted.is_empty() { Default::default() } else { app.store.get_messages(org, &wanted).await? };
    let mut ops = Vec::new();
    for (id, (members_changed, messages)) in threads {
        if members_changed {
            // Strongly consistent: every message the batch names is there.
            let (view, all) =
                app.store.load_conversation(org, &id).await?.ok_or(WorkError::MissingThread(id))?;
            if let Some(missing) = messages.iter().find(|m| !all.iter().any(|x| x.id == **m)) {
                return Err(WorkError::MissingMessage(*missing));
            }
            ops.push(IndexOp::RemoveThread(id));
            ops.extend(all.iter().map(|m| IndexOp::Upsert(Box::new(doc(&view, m)))));
            continue;
        }
        let view = app.store.load_thread(org, &id).await?.ok_or(WorkError::MissingThread(id))?;
        for message_id in messages {
            let message = found.get(&message_id).ok_or(WorkError::MissingMessage(message_id))?;
            ops.push(IndexOp::Upsert(Box::new(doc(&view, message))));
        }
    }
    Ok(ops)
}

fn doc(view: &ThreadView, m: &MessageRecord) -> SearchDoc {
    let summary = &view.thread.summary;
    SearchDoc {
        message_id: m.id,
        thread_id: summary.id,
        internal: m.internal,
        subject: summary.subject.as_str().to_owned(),
        body: m.body.as_str().to_owned(),
        resident_id: summary.resident.id.clone(),
        resident_name: summary.resident.name.clone(),
        unit: summary.resident.unit.clone(),
        property_id: summary.resident.property_id.clone(),
        topic: summary.topic.as_str().to_owned(),
        members: view.participants.iter().map(|p| p.user_id.clone()).collect(),
    }
}
