//! The audit chain of each thread, appended off the request path: the audit consumer hears
//! the domain events of a thread (a new one's when it is routed) and chains what its
//! timeline gained since (the thread's opening first), so posting never waits on, or
//! contends for, the chain. An export or an
//! audit read catches the chain up first, so it covers everything committed before it.
//! Entries follow the order they were chained in, which is timeline order except for an
//! entry that committed late (it is chained when seen, after newer ones).

pub mod checkpoint;
pub mod export;
pub mod pdf;

use std::collections::{HashMap, HashSet};

use domain::audit::{Action, ChainEntry, ChainHead, Change};
use domain::events::{OutboxEvent, OutboxKind};
use domain::{policy, EntryId, OrgId, ThreadId, User};
use store::retry::Tries;
use store::{ChainHeadRecord, ChainRead, Cursor, HeadPlace, Page, StoreError, ThreadRecord, MAX_APPEND};

use crate::conversation::load_readable;
use crate::{App, Error, WorkError};

pub use export::{export, export_file, verify, ExportFile, ExportFormat, INLINE_EXPORT_BYTES};

/// How long after its id's time a timeline entry may commit and still be chained: far
/// beyond a request's 30 s or a consumer's retries. The head remembers what it chained
/// within this window, which is what lets a late entry in without chaining any twice.
const LOOKBACK_MS: u64 = 5 * 60 * 1000;
/// The most timeline entries a head remembers (27 bytes each).
const MAX_RECENT: usize = 2_000;
/// Items the appender's Query reads from the head down: the head and the newest timeline
/// entries, usually all it needs (a thread with more in its look-back reads on from there).
const READ_WITH_HEAD: i32 = 16;

/// The consumer, a batch at once: each thread its events name is caught up once, unless
/// every one of its events names a timeline entry the chain's head already holds.
pub async fn handle(app: &App, events: Vec<OutboxEvent>) -> Vec<Result<(), WorkError>> {
    let mut named: HashMap<(OrgId, ThreadId), Option<Vec<EntryId>>> = HashMap::new();
    for event in &events {
        let entries = named.entry((event.org.clone(), event.thread_id)).or_insert_with(|| Some(vec![]));
        match (entries.as_mut(), own_entry(event)) {
            (Some(entries), Some(entry)) => entries.push(entry),
            _ => *entries = None,
        }
    }
    let mut done: HashMap<(OrgId, ThreadId), Result<(), String>> = HashMap::new();
    let mut results = Vec::with_capacity(events.len());
    for event in &events {
        let key = (event.org.clone(), event.thread_id);
        if !done.contains_key(&key) {
            let outcome = catch_up_after(app, &event.org, &event.thread_id, named[&key].as_deref())
                .await
                .map_err(|e| e.to_string());
            done.insert(key.clone(), outcome);
        }
        results.push(match &done[&key] {
            Ok(()) => Ok(()),
            Err(e) => Err(WorkError::Audit(e.clone())),
        });
    }
    results
}

/// The timeline entry an event was written with, when it names one (a message).
fn own_entry(event: &OutboxEvent) -> Option<EntryId> {
    match event.kind {
        OutboxKind::MessagePosted { message_id, .. } => Some(message_id.into()),
        OutboxKind::ThreadCreated { first_message_id, .. } => Some(first_message_id.into()),
        _ => None,
    }
}

/// Catches the thread up, unless the head already holds every entry of `named` (each
/// event comes with its entry, so an event whose entry is chained has nothing left to
/// chain: a catch-up after it would only read the look-back to find so). Saves a Query
/// per thread of a batch whose messages an earlier batch chained.
async fn catch_up_after(
    app: &App,
    org: &OrgId,
    thread: &ThreadId,
    named: Option<&[EntryId]>,
) -> Result<(), StoreError> {
    let Some(named) = named else { return catch_up(app, org, thread, None).await.map(|_| ()) };
    let read = app.store.chain_read(org, thread, READ_WITH_HEAD).await?;
    if read.head.as_ref().is_some_and(|h| named.iter().all(|id| h.record.recent.binary_search(id).is_ok())) {
        return Ok(());
    }
    catch_up_from(app, org, thread, None, Some(read)).await.map(|_| ())
}

/// A page of the thread's chain, oldest first (staff who may read the thread).
pub async fn entries(
    app: &App,
    actor: &User,
    thread: ThreadId,
    cursor: Option<&Cursor>,
    limit: i32,
) -> Result<Page<ChainEntry>, Error> {
    load_readable(app, actor, &thread).await?;
    policy::ensure_staff(actor)?;
    if cursor.is_none() {
        catch_up(app, &actor.org, &thread, Some(REQUEST_ROUNDS)).await?;
    }
    Ok(app.store.chain_entries(&actor.org, &thread, cursor, limit).await?)
}

/// Appends a request makes at most before it answers with the chain as far as it got
/// (the consumer goes on): a long history chained for the first time is the consumer's work.
pub const REQUEST_ROUNDS: usize = 10;

/// Chains everything the thread's timeline holds that its chain does not (in at most
/// `rounds` appends), and returns the head (`None`: no such thread).
pub async fn catch_up(
    app: &App,
    org: &OrgId,
    thread: &ThreadId,
    rounds: Option<usize>,
) -> Result<Option<ChainHead>, StoreError> {
    catch_up_from(app, org, thread, rounds, None).await
}

/// [`catch_up`] from the head as just `read`, if it was.
async fn catch_up_from(
    app: &App,
    org: &OrgId,
    thread: &ThreadId,
    rounds: Option<usize>,
    mut read: Option<ChainRead>,
) -> Result<Option<ChainHead>, StoreError> {
    let mut round = 0;
    loop {
        round += 1;
        match append_round(app, org, thread, read.take()).await? {
            Round::Done(head) => return Ok(head),
            Round::More(head) if rounds.is_some_and(|r| round >= r) => return Ok(Some(head)),
            Round::More(_) => {}
        }
    }
}

enum Round {
    Done(Option<ChainHead>),
    /// A full append was written (the head after it); there may be more.
    More(ChainHead),
}

/// Chains up to [`MAX_APPEND`] entries in one transaction, again on a fresh read of the
/// head when another appender moved it first. `read`: the head as just read, if it was.
async fn append_round(
    app: &App,
    org: &OrgId,
    thread: &ThreadId,
    mut read: Option<ChainRead>,
) -> Result<Round, StoreError> {
    let mut tries = Tries::new();
    // A head still where releases before stop 37 kept it is looked for once an append that
    // found none failed.
    let mut look_earlier = false;
    while tries.another().await {
        let mut read = match read.take() {
            Some(read) => read,
            None => app.store.chain_read(org, thread, READ_WITH_HEAD).await?,
        };
        if read.head.is_none() && look_earlier {
            read.head = app.store.earlier_head(org, thread).await?;
        }
        let head = read.head.as_ref().map(|h| &h.record);
        let mut changes = Vec::new();
        if head.is_none() {
            let Some(view) = app.store.load_thread(org, thread).await? else { return Ok(Round::Done(None)) };
            changes.push(opened(&view.thread));
        }
        let (from, skip): (_, HashSet<EntryId>) = match head {
            Some(h) => (
                h.watermark.map(|w| EntryId::floor_at(w.at_ms().saturating_sub(LOOKBACK_MS))).max(h.floor),
                h.recent.iter().copied().collect(),
            ),
            None => (None, HashSet::new()),
        };
        let room = MAX_APPEND - changes.len();
        // What the head's Query read, when it reached back far enough; else read on.
        let fresh = match read.entries_from(from) {
            Some(read) => read.into_iter().filter(|i| !skip.contains(&i.id())).take(room).cloned().collect(),
            None => app.store.timeline_since(org, thread, from, &skip, room).await?,
        };
        if fresh.is_empty() && changes.is_empty() {
            // An earlier release's head moves beside the timeline even with nothing to chain,
            // so the next catch-up finds it in its Query (else every one fails an append first).
            if let Some(earlier) = read.head.as_ref().filter(|h| h.place == HeadPlace::Chain) {
                if !app.store.append_chain(org, thread, Some(earlier), &[], &earlier.record).await? {
                    continue;
                }
            }
            return Ok(Round::Done(head.map(|h| h.head.clone())));
        }
        let full = fresh.len() == room;
        for item in &fresh {
            changes.push(export::item(item).change(&salt()?));
        }
        let mut entries: Vec<ChainEntry> = Vec::with_capacity(changes.len());
        for change in changes {
            let prev = entries
                .last()
                .map(|e| (e.seq, e.hash.as_str()))
                .or(head.map(|h| (h.head.seq, h.head.hash.as_str())));
            let entry = ChainEntry::chain(change, prev);
            entries.push(entry);
        }
        let next = next_head(org, thread, head, &entries, fresh.iter().map(|i| i.id()));
        if app.store.append_chain(org, thread, read.head.as_ref(), &entries, &next).await? {
            return Ok(if full { Round::More(next.head) } else { Round::Done(Some(next.head)) });
        }
        look_earlier |= read.head.is_none();
    }
    Err(StoreError::Contention)
}

/// The head after `entries`, remembering the timeline entries chained within the look-back.
fn next_head(
    org: &OrgId,
    thread: &ThreadId,
    before: Option<&ChainHeadRecord>,
    entries: &[ChainEntry],
    chained: impl Iterator<Item = EntryId>,
) -> ChainHeadRecord {
    let mut recent: Vec<EntryId> = before.map(|h| h.recent.clone()).unwrap_or_default();
    recent.extend(chained);
    let watermark = recent.iter().max().copied().or(before.and_then(|h| h.watermark));
    if let Some(w) = watermark {
        let floor = w.at_ms().saturating_sub(LOOKBACK_MS);
        recent.retain(|id| id.at_ms() >= floor);
    }
    recent.sort();
    // A thread busier than MAX_RECENT entries in the look-back keeps the newest, and looks
    // back only as far as them (the head stays far below DynamoDB's 400 KB).
    let mut floor = before.and_then(|h| h.floor);
    if recent.len() > MAX_RECENT {
        recent.drain(..recent.len() - MAX_RECENT);
        floor = recent.first().copied().max(floor);
    }
    let last = entries.last().expect("an append has entries");
    ChainHeadRecord {
        org: org.clone(),
        thread_id: *thread,
        head: ChainHead { seq: last.seq, hash: last.hash.clone() },
        // Waiting for a checkpoint since the first change after the last one.
        unsealed_since: Some(before.and_then(|h| h.unsealed_since).unwrap_or_else(chrono::Utc::now)),
        watermark,
        recent,
        floor,
    }
}

/// The chain's first entry: the thread as it began (priority and link as when the chain
/// began; later changes are entries of their own).
fn opened(thread: &ThreadRecord) -> Change {
    let shown = export::thread(thread);
    Change {
        at: thread.created_at,
        actor_id: thread.created_by.clone(),
        action: Action::THREAD_OPENED,
        source_id: thread.summary.id.to_string(),
        data: shown.opened_data(thread.org.as_str(), thread.summary.priority, thread.linked_record.as_ref()),
    }
}

/// 16 bytes from the OS's random source, in hex: a message entry's salt.
fn salt() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Unavailable(Box::new(std::io::Error::other(e.to_string()))))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
