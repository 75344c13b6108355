//! Full-text search over an org's messages. Each org has one Tantivy index; its segment
//! files are kept in S3 under `{org}/`, and the table names the version to read (an
//! [`IndexSnapshot`]). The writer (the indexer consumer) and the readers (the search
//! route) keep a copy on local disk (Lambda's `/tmp`) and fetch only the files they lack.
//! See docs/search.md for why this design.

mod files;
mod query;
mod schema;
mod snippet;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use domain::search::IndexSnapshot;
use domain::{MessageId, OrgId, ThreadId};
use tantivy::collector::TopDocs;
use tantivy::schema::Value;
use tantivy::{Index, IndexReader, Order, ReloadPolicy, TantivyDocument, Term};
use tokio::sync::Mutex;

pub use query::{query_words, Access, IndexQuery};
pub use schema::{analyzer, rank, SearchDoc};
pub use snippet::snippet;

use files::Files;
use schema::Fields;

/// What the indexer does to an org's index.
#[derive(Debug, Clone)]
pub enum IndexOp {
    /// Adds the message, or replaces what the index had of it.
    Upsert(Box<SearchDoc>),
    /// Removes every message of the thread (before its messages are added again).
    RemoveThread(ThreadId),
    /// Removes one message.
    RemoveMessage(MessageId),
}

/// A hit, before the table confirms the caller may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexHit {
    pub message_id: MessageId,
    pub thread_id: ThreadId,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the search index files are unavailable: {0}")]
    Storage(String),
    #[error("the search index is unreadable: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("local index files: {0}")]
    Disk(#[from] std::io::Error),
}

/// The index of one org as opened on this instance.
struct Opened {
    generation: u64,
    /// The version's `meta.json`: two writers racing from one version both make the next
    /// generation, with different segments, and only one is recorded.
    meta: String,
    index: Index,
    reader: Option<IndexReader>,
}

/// Writes and searches the orgs' indexes. Cheap to clone; one per function instance.
#[derive(Clone)]
pub struct Engine {
    files: Files,
    root: PathBuf,
    writers: Arc<Mutex<HashMap<OrgId, Opened>>>,
    readers: Arc<Mutex<HashMap<OrgId, Opened>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("root", &self.root).finish_non_exhaustive()
    }
}

/// What one writer may hold in memory before it flushes a segment.
const WRITER_MEMORY: usize = 32 * 1024 * 1024;

impl Engine {
    /// `root`: the local directory for the copies (`/tmp/search` in Lambda).
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>, root: impl Into<PathBuf>) -> Self {
        Self {
            files: Files::new(s3, bucket.into()),
            root: root.into(),
            writers: Arc::default(),
            readers: Arc::default(),
        }
    }

    fn dir(&self, role: &str, org: &OrgId) -> PathBuf {
        self.root.join(role).join(org.as_str())
    }

    /// Applies `ops` to the version `base` (none yet: an empty index) and uploads the
    /// result; returns the new version, for the caller to record on the condition that
    /// `base` is still current. Until it is recorded no reader sees it; if recording
    /// fails, call [`Engine::forget`] so the next write starts from the recorded version.
    pub async fn write(
        &self,
        org: &OrgId,
        base: Option<&IndexSnapshot>,
        ops: Vec<IndexOp>,
    ) -> Result<IndexSnapshot, SearchError> {
        self.write_from(org, base, false, ops).await
    }

    /// As [`Engine::write`], but into an empty index that replaces `base` whole (a rebuild
    /// from the table).
    pub async fn replace(
        &self,
        org: &OrgId,
        base: Option<&IndexSnapshot>,
        ops: Vec<IndexOp>,
    ) -> Result<IndexSnapshot, SearchError> {
        self.write_from(org, base, true, ops).await
    }

    async fn write_from(
        &self,
        org: &OrgId,
        base: Option<&IndexSnapshot>,
        empty: bool,
        ops: Vec<IndexOp>,
    ) -> Result<IndexSnapshot, SearchError> {
        let mut writers = self.writers.lock().await;
        let dir = self.dir("writer", org);
        let opened = match writers.remove(org) {
            // The copy this instance last wrote is the recorded version: go on from it.
            Some(o) if !empty && base.is_some_and(|b| b.generation == o.generation && b.meta == o.meta) => o,
            _ => {
                // Anything else on disk may be a write that was never recorded, with files
                // named as the recorded version's: start from a clean copy.
                files::empty_dir(&dir)?;
                self.open(org, &dir, if empty { None } else { base }, false).await?
            }
        };
        let (index, at) = (opened.index.clone(), dir.clone());
        let written = tokio::task::spawn_blocking(move || apply(&index, &at, ops))
            .await
            .map_err(|e| SearchError::Storage(format!("the index writer stopped: {e}")))??;
        // The version before, by local file name: what it already has in S3.
        let before: HashMap<&str, &String> =
            base.map(|b| b.files.iter().map(|f| (files::local_name(f), f)).collect()).unwrap_or_default();
        // New files go under a prefix of this write's own: Tantivy names deletion files by
        // segment and operation number, so two writers racing from one version could name
        // different files alike, and the loser must not overwrite what the winner recorded.
        let write_id = ulid::Ulid::new().to_string();
        let mut entries = Vec::with_capacity(written.files.len());
        let mut new = Vec::new();
        for name in written.files {
            match before.get(name.as_str()) {
                Some(entry) => entries.push((*entry).clone()),
                None => {
                    entries.push(format!("{write_id}/{name}"));
                    new.push(name);
                }
            }
        }
        self.files.upload(org, &dir, &write_id, new).await?;
        let kept: HashSet<&String> = entries.iter().collect();
        let snapshot = IndexSnapshot {
            generation: base.map_or(1, |b| b.generation + 1),
            meta: written.meta,
            obsolete: base
                .map(|b| b.files.iter().filter(|f| !kept.contains(f)).cloned().collect())
                .unwrap_or_default(),
            files: entries,
        };
        writers.insert(
            org.clone(),
            Opened { generation: snapshot.generation, meta: snapshot.meta.clone(), ..opened },
        );
        Ok(snapshot)
    }

    /// After a write that was not recorded: deletes the files it uploaded (those of `next`
    /// that `base` does not read) and forgets this instance's copy.
    pub async fn discard(
        &self,
        org: &OrgId,
        next: &IndexSnapshot,
        base: Option<&IndexSnapshot>,
    ) -> Result<(), SearchError> {
        self.forget(org).await;
        let kept: HashSet<&String> = base.map(|b| b.files.iter().collect()).unwrap_or_default();
        let uploaded: Vec<String> = next.files.iter().filter(|f| !kept.contains(f)).cloned().collect();
        if uploaded.is_empty() {
            return Ok(());
        }
        self.files.delete(org, &uploaded).await
    }

    /// After a recorded write: deletes the files the version before `base` no longer
    /// needed (a version's obsolete files outlive it by one write, for readers).
    pub async fn delete_obsolete(
        &self,
        org: &OrgId,
        base: Option<&IndexSnapshot>,
    ) -> Result<(), SearchError> {
        match base {
            Some(b) if !b.obsolete.is_empty() => self.files.delete(org, &b.obsolete).await,
            _ => Ok(()),
        }
    }

    /// Forgets this instance's copy of the org's index as written: the next write fetches
    /// the recorded version.
    pub async fn forget(&self, org: &OrgId) {
        self.writers.lock().await.remove(org);
    }

    /// Up to `q.limit` hits, newest first, at version `snapshot`.
    pub async fn search(
        &self,
        org: &OrgId,
        snapshot: &IndexSnapshot,
        q: &IndexQuery,
        access: &Access,
    ) -> Result<Vec<IndexHit>, SearchError> {
        let reader = {
            let mut readers = self.readers.lock().await;
            // A copy as new or newer is kept: an eventually consistent read of the version
            // may lag what this instance already fetched.
            let current = readers.get(org).is_some_and(|o| o.generation >= snapshot.generation);
            if !current {
                let dir = self.dir("reader", org);
                readers.insert(org.clone(), self.open(org, &dir, Some(snapshot), true).await?);
            }
            readers[org].reader.clone().expect("readers are opened with one")
        };
        let (q, access) = (q.clone(), access.clone());
        tokio::task::spawn_blocking(move || run(&reader, &q, &access))
            .await
            .map_err(|e| SearchError::Storage(format!("the search stopped: {e}")))?
    }

    /// Brings the local copy in `dir` to `snapshot` (none: a new, empty index) and opens it.
    async fn open(
        &self,
        org: &OrgId,
        dir: &Path,
        snapshot: Option<&IndexSnapshot>,
        with_reader: bool,
    ) -> Result<Opened, SearchError> {
        let index = match snapshot {
            Some(s) => {
                self.files.sync(org, dir, s).await?;
                Index::open_in_dir(dir)?
            }
            None => {
                files::empty_dir(dir)?;
                Index::create_in_dir(dir, schema::schema())?
            }
        };
        schema::register(&index);
        let reader = with_reader
            .then(|| index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into())
            .transpose()?;
        Ok(Opened {
            generation: snapshot.map_or(0, |s| s.generation),
            meta: snapshot.map(|s| s.meta.clone()).unwrap_or_default(),
            index,
            reader,
        })
    }
}

struct Written {
    meta: String,
    files: Vec<String>,
}

/// Applies the ops, commits, lets merges finish, and names the files the index now reads.
fn apply(index: &Index, dir: &Path, ops: Vec<IndexOp>) -> Result<Written, SearchError> {
    let f = Fields::of(&index.schema());
    let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, WRITER_MEMORY)?;
    for op in ops {
        match op {
            IndexOp::Upsert(doc) => {
                writer.delete_term(Term::from_field_text(f.message_id, &doc.message_id.to_string()));
                writer.add_document(doc.to_document(&f))?;
            }
            IndexOp::RemoveThread(id) => {
                writer.delete_term(Term::from_field_text(f.thread_id, &id.to_string()));
            }
            IndexOp::RemoveMessage(id) => {
                writer.delete_term(Term::from_field_text(f.message_id, &id.to_string()));
            }
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let mut names: Vec<String> = index
        .load_metas()?
        .list_segment_files()
        .into_iter()
        .filter(|p| dir.join(p).exists())
        .filter_map(|p| p.to_str().map(str::to_owned))
        .collect();
    names.sort();
    let meta = std::fs::read_to_string(dir.join(files::META))?;
    Ok(Written { meta, files: names })
}

fn run(reader: &IndexReader, q: &IndexQuery, access: &Access) -> Result<Vec<IndexHit>, SearchError> {
    let searcher = reader.searcher();
    let f = Fields::of(&searcher.schema().clone());
    let query = query::build(&f, q, access);
    let top = searcher
        .search(&query, &TopDocs::with_limit(q.limit.max(1)).order_by_u64_field("rank", Order::Desc))?;
    let mut hits = Vec::with_capacity(top.len());
    for (_, address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        let text =
            |field| doc.get_first(field).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        // Ids the indexer wrote from parsed ids: one that does not parse is a damaged
        // index, skipped rather than failing every search.
        if let (Ok(message_id), Ok(thread_id)) =
            (MessageId::parse(&text(f.message_id)), ThreadId::parse(&text(f.thread_id)))
        {
            hits.push(IndexHit { message_id, thread_id });
        }
    }
    Ok(hits)
}
