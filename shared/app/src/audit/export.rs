//! Per-thread exports (the transcript in chain order with its chain) and their check.

use std::collections::HashMap;

use chrono::Utc;
use domain::audit::{
    verify_export, Action, ChainEntry, ChainHead, Export, ExportAttachment, ExportEvent, ExportItem,
    ExportMessage, ExportParticipant, ExportThread, Verification, EXPORT_FORMAT,
};
use domain::{policy, DomainError, ErrorCode, User};
use store::{EventRecord, MessageRecord, ThreadRecord, TimelineItem};

use super::catch_up;
use crate::conversation::load_readable;
use crate::{App, Error};

/// The most chain entries an export holds (a longer thread is refused, 422 `too_large`).
pub const MAX_EXPORT_ENTRIES: usize = 5_000;
const PAGE: i32 = 500;

/// How a reader checks an export, in every one.
fn how_to_verify(thread: &str) -> String {
    format!(
        "Each chain entry's hash is SHA-256 over the canonical JSON of {{action, actor_id, at, data_hash, \
         prev_hash, seq, source_id}}, data_hash over the canonical JSON of its data, and each message or event \
         of the timeline is the data of its entry. Check this file with POST /v1/audit/verify (which also \
         compares it with the record) or offline with `cargo run -q -p audit-verify -- export.json`; the \
         head must equal the one GET /v1/threads/{thread}/audit ends with."
    )
}

/// The thread `id` with its chain, caught up first (staff who may read the thread; internal
/// notes only when asked, their entries withheld otherwise).
pub async fn export(
    app: &App,
    actor: &User,
    id: domain::ThreadId,
    include_internal: bool,
) -> Result<Export, Error> {
    let view = load_readable(app, actor, &id).await?;
    policy::ensure_staff(actor)?;
    let org = &actor.org;
    // Read before the chain is: what it sealed is then always within the export's chain.
    let checkpoint = app.store.chain_seal(org, &id).await?;
    let head = catch_up(app, org, &id, Some(super::REQUEST_ROUNDS)).await?;
    let mut chain: Vec<ChainEntry> = Vec::new();
    let mut cursor = None;
    loop {
        let page = app.store.chain_entries(org, &id, cursor.as_ref(), PAGE).await?;
        chain.extend(page.items);
        if chain.len() > MAX_EXPORT_ENTRIES {
            let message =
                format!("a thread of more than {MAX_EXPORT_ENTRIES} entries is too long to export at once");
            return Err(DomainError::invalid(ErrorCode::TooLarge, message).into());
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    // The chain as caught up: entries chained after `head` by a consumer meanwhile wait
    // for the next export.
    chain.truncate(head.as_ref().map_or(0, |h| h.seq) as usize);
    let mut timeline: HashMap<String, TimelineItem> = app
        .store
        // About as long as the chain, which was just bounded.
        .timeline_since(org, &id, None, &Default::default(), usize::MAX)
        .await?
        .into_iter()
        .map(|i| (i.id().to_string(), i))
        .collect();
    let mut items = Vec::new();
    for entry in &mut chain {
        if entry.action == Action::THREAD_OPENED {
            continue;
        }
        if entry.action == Action::NOTE_POSTED && !include_internal {
            *entry = entry.withheld();
            continue;
        }
        // An entry whose message or event is gone shows as it is: the check names it.
        if let Some(found) = timeline.remove(&entry.source_id) {
            items.push(item(&found));
        }
    }
    Ok(Export {
        format: EXPORT_FORMAT.to_owned(),
        exported_at: Utc::now(),
        exported_by: actor.id.clone(),
        org_id: org.to_string(),
        thread: thread(&view.thread),
        participants: view
            .participants
            .iter()
            .map(|p| ExportParticipant { user_id: p.user_id.clone(), name: p.name.clone(), role: p.role })
            .collect(),
        include_internal,
        timeline: items,
        head: chain.last().map(|e| ChainHead { seq: e.seq, hash: e.hash.clone() }),
        chain,
        checkpoint,
        verification: how_to_verify(&id.to_string()),
    })
}

/// The most bytes an export is answered with inline: a Lambda response is at most 6 MB,
/// and a PDF goes out base64-encoded (4 MiB become 5.6 MB).
pub const INLINE_EXPORT_BYTES: usize = 4 * 1024 * 1024;

/// How an export is handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Pdf,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Pdf => "application/pdf",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Pdf => "pdf",
        }
    }
}

/// A rendered export: its bytes, or, past `INLINE_EXPORT_BYTES`, a short-lived download
/// URL of the copy put in the attachments bucket (under `exports/`, kept a day or two).
pub enum ExportFile {
    Inline { bytes: Vec<u8>, file_name: String },
    Stored { url: String },
}

/// `export`, rendered as `format`.
pub async fn export_file(
    app: &App,
    actor: &User,
    id: domain::ThreadId,
    include_internal: bool,
    format: ExportFormat,
) -> Result<ExportFile, Error> {
    let export = export(app, actor, id, include_internal).await?;
    let bytes = match format {
        // Strings, numbers and maps with string keys: nothing that can fail to encode.
        ExportFormat::Json => serde_json::to_vec(&export).expect("an export encodes as JSON"),
        ExportFormat::Pdf => super::pdf::render(&export),
    };
    let file_name = format!("thread-{id}.{}", format.extension());
    if bytes.len() <= INLINE_EXPORT_BYTES {
        return Ok(ExportFile::Inline { bytes, file_name });
    }
    let made = domain::ExportId::new_at(crate::conversation::millis(Utc::now()));
    let key = files::Files::export_key(&actor.org, &id, &made, format.extension());
    let url = app.files.put_export(&key, format.content_type(), &file_name, bytes).await?;
    Ok(ExportFile::Stored { url })
}

/// Checks an export on its own and, when its thread is one of the caller's org they may
/// read, against the record: its head must be the entry the chain holds at that place
/// (`matches_record`), and whether entries follow it there (`complete`, `record_head`).
/// The thread is looked up in the caller's org whatever the export says its org is.
pub async fn verify(app: &App, actor: &User, export: &Export) -> Result<Verification, Error> {
    policy::ensure_staff(actor)?;
    let mut verdict = verify_export(export);
    let Ok(id) = domain::ThreadId::parse(&export.thread.id) else { return Ok(verdict) };
    match load_readable(app, actor, &id).await {
        Ok(_) => {}
        Err(Error::Domain(DomainError::NotFound(_) | DomainError::Forbidden { .. })) => return Ok(verdict),
        Err(e) => return Err(e),
    }
    if export.org_id != actor.org.as_str() {
        verdict.valid = false;
        verdict.reason = Some("the export names another org than its thread's".into());
    }
    let record_head = app.store.chain_head(&actor.org, &id).await?.map(|h| h.head);
    let recorded = match &export.head {
        Some(head) => app.store.chain_entry(&actor.org, &id, head.seq).await?,
        None => None,
    };
    let matches = export.head.as_ref().is_some_and(|h| recorded.is_some_and(|e| e.hash == h.hash));
    verdict.matches_record = Some(matches);
    verdict.complete = Some(matches && record_head == export.head);
    verdict.record_head = record_head;
    if !matches && verdict.valid {
        verdict.valid = false;
        verdict.first_bad_seq = first_difference(app, actor, &id, &export.chain).await?;
        verdict.reason = Some("the chain differs from the record".into());
    }
    Ok(verdict)
}

/// The first entry of `chain` whose hash the record does not hold.
async fn first_difference(
    app: &App,
    actor: &User,
    id: &domain::ThreadId,
    chain: &[ChainEntry],
) -> Result<Option<u64>, Error> {
    let mut cursor = None;
    let mut exported = chain.iter();
    loop {
        let page = app.store.chain_entries(&actor.org, id, cursor.as_ref(), PAGE).await?;
        for recorded in &page.items {
            match exported.next() {
                Some(e) if e.hash == recorded.hash => {}
                Some(e) => return Ok(Some(e.seq)),
                None => return Ok(None),
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(exported.next().map(|e| e.seq)),
        }
    }
}

pub(crate) fn thread(t: &ThreadRecord) -> ExportThread {
    let s = &t.summary;
    ExportThread {
        id: s.id.to_string(),
        topic: s.topic.as_str().to_owned(),
        subject: s.subject.as_str().to_owned(),
        category_id: s.category_id.clone(),
        status: s.status,
        priority: s.priority,
        resident_id: s.resident.id.clone(),
        resident_name: s.resident.name.clone(),
        unit: s.resident.unit.clone(),
        property_id: s.resident.property_id.clone(),
        linked_record: t.linked_record.clone(),
        created_by: t.created_by.clone(),
        created_at: t.created_at,
    }
}

pub(crate) fn item(entry: &TimelineItem) -> ExportItem {
    match entry {
        TimelineItem::Message(m) => ExportItem::Message(message(m)),
        TimelineItem::Event(e) => ExportItem::Event(event(e)),
    }
}

fn message(m: &MessageRecord) -> ExportMessage {
    ExportMessage {
        id: m.id.to_string(),
        author_id: m.author_id.clone(),
        author_name: m.author_name.clone(),
        body: m.body.as_str().to_owned(),
        internal: m.internal,
        automated: m.automated,
        automated_kind: m.automated_kind,
        attachments: m
            .attachments
            .iter()
            .map(|a| ExportAttachment {
                id: a.id.to_string(),
                file_name: a.file_name.clone(),
                content_type: a.content_type,
                size_bytes: a.size_bytes,
                sha256: a.sha256.clone(),
            })
            .collect(),
        created_at: m.created_at,
    }
}

fn event(e: &EventRecord) -> ExportEvent {
    ExportEvent {
        id: e.id.to_string(),
        action: Action::Event(e.event),
        actor_id: e.actor_id.clone(),
        subject_id: e.subject_id.clone(),
        status: e.status,
        priority: e.priority,
        linked_record: e.linked_record.clone(),
        at: e.at,
    }
}
