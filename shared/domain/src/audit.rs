//! The audit chain: every change of a thread (its opening, each message and internal note,
//! status, priority, linked record and participant changes, escalations) is an entry chained
//! to the one before by SHA-256, so an edited, removed or reordered entry breaks every hash
//! after it. An export carries the transcript with its chain; [`verify_export`] checks one.
//!
//! Canonical encoding (what is hashed), documented in the README for offline verifiers:
//! - `data_hash` = hex SHA-256 of the canonical JSON of `data`;
//! - `hash` = hex SHA-256 of the canonical JSON of
//!   `{action, actor_id, at, data_hash, prev_hash, seq, source_id}`;
//! - canonical JSON: UTF-8, no whitespace, object keys sorted by their bytes, strings with
//!   serde_json's minimal escaping, integers in decimal, `at` as RFC 3339 UTC with
//!   milliseconds (`2026-12-05T21:13:21.123Z`);
//! - the first entry's `prev_hash` is 64 zeros.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::attachment::ContentType;
use crate::merkle;
use crate::messaging::AutomatedKind;
use crate::thread::EventKind;
use crate::{LinkedRecord, Priority, ThreadStatus, UserId};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The name of the export format, in every JSON export: 2 since stop 37, whose checkpoints
/// may be signed with their run (`SignedSeal::run`), which a verifier of format 1 would
/// take for a bad signature.
pub const EXPORT_FORMAT: &str = "resident-messaging-export/2";
/// Exports made before stop 37, still verified.
const EXPORT_FORMAT_1: &str = "resident-messaging-export/1";

/// What an entry records: the thread's opening, a message or note, or one of the events its
/// timeline shows. On the wire each is its name (`thread_opened`, `status_changed`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = ChainAction)]
pub enum Action {
    Thread(ThreadAction),
    Event(EventKind),
}

/// What an entry records that is not a timeline event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThreadAction {
    /// The thread was started (topic, subject, category, resident, first link).
    ThreadOpened,
    MessagePosted,
    /// An internal note: withheld from exports without internal notes, its entry still
    /// chained (its hash reveals nothing of the note).
    NotePosted,
}

impl Action {
    pub const THREAD_OPENED: Self = Self::Thread(ThreadAction::ThreadOpened);
    pub const MESSAGE_POSTED: Self = Self::Thread(ThreadAction::MessagePosted);
    pub const NOTE_POSTED: Self = Self::Thread(ThreadAction::NotePosted);
}

/// One entry of a thread's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainEntry {
    /// 1, 2, 3… in chain order.
    pub seq: u64,
    /// When the recorded change happened (milliseconds).
    pub at: DateTime<Utc>,
    pub actor_id: UserId,
    pub action: Action,
    /// The thread, message or timeline event it records.
    pub source_id: String,
    /// What changed; `null` where an export withholds it (an internal note's).
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
    pub data_hash: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What a new entry records, before it is chained.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub actor_id: UserId,
    pub action: Action,
    pub source_id: String,
    pub data: Value,
}

impl ChainEntry {
    /// `change` chained after `prev` (the chain's last entry, `None` for the first).
    pub fn chain(change: Change, prev: Option<(u64, &str)>) -> Self {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq + 1, hash.to_owned()),
            None => (1, GENESIS.to_owned()),
        };
        let at = to_millis(change.at);
        // What is recorded is always an object (every `change` makes one).
        let data = match change.data {
            Value::Object(map) => map,
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        let data_hash = sha256_hex(canonical(&Value::Object(data.clone())).as_bytes());
        let mut entry = Self {
            seq,
            at,
            actor_id: change.actor_id,
            action: change.action,
            source_id: change.source_id,
            data: Some(data),
            data_hash,
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry.expected_hash();
        entry
    }

    /// The hash this entry's fields make.
    pub fn expected_hash(&self) -> String {
        let sealed = json!({
            "action": self.action,
            "actor_id": self.actor_id,
            "at": timestamp(&self.at),
            "data_hash": self.data_hash,
            "prev_hash": self.prev_hash,
            "seq": self.seq,
            "source_id": self.source_id,
        });
        sha256_hex(canonical(&sealed).as_bytes())
    }

    /// The entry as an export shows it without its data.
    pub fn withheld(&self) -> Self {
        Self { data: None, ..self.clone() }
    }
}

/// The chain's last entry: what a checkpoint signs and an export names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

/// `at` to the millisecond, as the chain records it.
pub fn to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex, as every hash of the record is written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The canonical JSON of `value` (see the module's documentation).
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

// ---- Checkpoints ------------------------------------------------------------------------

/// What a checkpoint signs of one thread: its chain's head at the time. The signature is
/// ECDSA P-256 with SHA-256 (KMS `ECDSA_SHA_256`, DER) over the canonical JSON of this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Seal {
    pub org_id: String,
    pub thread_id: String,
    pub seq: u64,
    pub hash: String,
    pub sealed_at: DateTime<Utc>,
}

impl Seal {
    /// The bytes signed.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let value = json!({
            "org_id": self.org_id,
            "thread_id": self.thread_id,
            "seq": self.seq,
            "hash": self.hash,
            "sealed_at": timestamp(&self.sealed_at),
        });
        canonical(&value).into_bytes()
    }
}

/// The bytes a run's signature covers: the canonical JSON of
/// `{kind: "audit-checkpoint-run/1", merkle_root, tree_size}`, the root in hex.
fn run_signed_bytes(root: &merkle::Hash, size: u64) -> Vec<u8> {
    let value = json!({"kind": RUN_KIND, "merkle_root": hex(root), "tree_size": size});
    canonical(&value).into_bytes()
}

const RUN_KIND: &str = "audit-checkpoint-run/1";

/// `seals` as one run, the leaves of a Merkle tree in their order: the bytes its one
/// signature covers, and each seal's place in the tree. `None` for no seals.
pub fn seal_run(seals: &[Seal]) -> Option<(Vec<u8>, Vec<SealRun>)> {
    let leaves: Vec<merkle::Hash> = seals.iter().map(|s| merkle::leaf(&s.signed_bytes())).collect();
    let (root, paths) = merkle::tree(&leaves)?;
    let tree_size = leaves.len() as u64;
    let places = paths
        .into_iter()
        .zip(0..)
        .map(|(path, index)| SealRun { tree_size, index, path: path.iter().map(|h| hex(h)).collect() })
        .collect();
    Some((run_signed_bytes(&root, tree_size), places))
}

/// Where a seal signed with the others of its run sits in the run's Merkle tree
/// ([`merkle`]: RFC 9162's, over each seal's signed bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SealRun {
    /// How many seals the run signed.
    pub tree_size: u64,
    /// This seal's place among them, from 0.
    pub index: u64,
    /// Hex SHA-256 sibling hashes from this seal's leaf up to the root.
    pub path: Vec<String>,
}

/// A seal with its signature, as the checkpoint object in the Object Lock bucket holds it
/// and an export carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedSeal {
    pub seal: Seal,
    /// Base64 of the DER signature: over the seal's signed bytes, or, with `run`, over the
    /// run's ([`seal_run`]).
    pub signature: String,
    /// The KMS key that signed.
    pub key_id: String,
    /// Base64 of the key's public half (DER SubjectPublicKeyInfo), as KMS GetPublicKey
    /// gives it; compare its fingerprint with the one the org publishes.
    pub public_key: String,
    /// Where the checkpoint is kept (the bucket's object key).
    pub object_key: String,
    /// Signed with its org's other seals of the run, one signature for all (since stop 37);
    /// absent, the seal was signed alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<SealRun>,
}

/// 32 bytes from 64 lower-case hex digits (as every hash of the record is written; one
/// spelling only).
fn unhex32(text: &str) -> Option<merkle::Hash> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

impl SignedSeal {
    /// What the signature covers: the seal's signed bytes, or its run's, from the root its
    /// path reaches (`None`: a path that fits no tree).
    pub fn signed_bytes(&self) -> Option<Vec<u8>> {
        let Some(run) = &self.run else { return Some(self.seal.signed_bytes()) };
        let path = run.path.iter().map(|h| unhex32(h)).collect::<Option<Vec<_>>>()?;
        let leaf = merkle::leaf(&self.seal.signed_bytes());
        let root = merkle::root_from_path(leaf, run.index, run.tree_size, &path)?;
        Some(run_signed_bytes(&root, run.tree_size))
    }

    /// Whether the signature is the public key's over the seal (or its run).
    pub fn signature_valid(&self) -> bool {
        use base64::Engine;
        use p256::ecdsa::signature::Verifier;
        use p256::pkcs8::DecodePublicKey;
        let engine = base64::engine::general_purpose::STANDARD;
        let (Ok(key), Ok(signature)) = (engine.decode(&self.public_key), engine.decode(&self.signature))
        else {
            return false;
        };
        let (Ok(key), Ok(signature)) = (
            p256::ecdsa::VerifyingKey::from_public_key_der(&key),
            p256::ecdsa::Signature::from_der(&signature),
        ) else {
            return false;
        };
        self.signed_bytes().is_some_and(|bytes| key.verify(&bytes, &signature).is_ok())
    }

    /// The public key's SHA-256, to compare with the org's published one.
    pub fn key_fingerprint(&self) -> String {
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD.decode(&self.public_key).unwrap_or_default();
        sha256_hex(&der)
    }
}

// ---- What an export carries ------------------------------------------------------------

/// A thread exported with its chain: what `GET /v1/threads/{id}/export` returns and
/// `POST /v1/audit/verify` checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Export {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    pub exported_at: DateTime<Utc>,
    pub exported_by: UserId,
    pub org_id: String,
    pub thread: ExportThread,
    pub participants: Vec<ExportParticipant>,
    /// Whether internal notes are in it (their chain entries are there either way, withheld
    /// without).
    pub include_internal: bool,
    /// Messages and events in chain order.
    pub timeline: Vec<ExportItem>,
    pub chain: Vec<ChainEntry>,
    pub head: Option<ChainHead>,
    /// The latest signed checkpoint of this thread's chain (`null` until the first, within
    /// minutes of a change): proof that the chain up to its `seq` existed, unchanged, then.
    #[serde(default)]
    pub checkpoint: Option<SignedSeal>,
    /// How to check it.
    pub verification: String,
}

/// The thread as it stood when exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportThread {
    pub id: String,
    pub topic: String,
    pub subject: String,
    pub category_id: String,
    pub status: ThreadStatus,
    pub priority: Priority,
    pub resident_id: UserId,
    pub resident_name: String,
    pub unit: Option<String>,
    pub property_id: Option<String>,
    pub linked_record: Option<LinkedRecord>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

impl ExportThread {
    /// What the chain's first entry records of the thread of `org_id`.
    pub fn opened_data(
        &self,
        org_id: &str,
        priority: Priority,
        linked_record: Option<&LinkedRecord>,
    ) -> Value {
        json!({
            "org_id": org_id,
            "thread_id": self.id,
            "topic": self.topic,
            "subject": self.subject,
            "category_id": self.category_id,
            "resident_id": self.resident_id,
            "unit": self.unit,
            "property_id": self.property_id,
            "priority": priority,
            "linked_record": linked_record,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportParticipant {
    pub user_id: UserId,
    pub name: String,
    pub role: crate::Role,
}

/// A message or a timeline event of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExportItem {
    Message(ExportMessage),
    Event(ExportEvent),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportMessage {
    pub id: String,
    pub author_id: UserId,
    pub author_name: String,
    pub body: String,
    pub internal: bool,
    pub automated: bool,
    pub automated_kind: Option<AutomatedKind>,
    pub attachments: Vec<ExportAttachment>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportAttachment {
    pub id: String,
    pub file_name: String,
    pub content_type: ContentType,
    pub size_bytes: u64,
    /// SHA-256 (hex) of the file's bytes as attached; chained with its message. Absent for
    /// files attached before hashes were kept, so their entries hash as they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportEvent {
    pub id: String,
    pub action: Action,
    pub actor_id: UserId,
    pub subject_id: Option<UserId>,
    pub status: Option<ThreadStatus>,
    pub priority: Option<Priority>,
    pub linked_record: Option<LinkedRecord>,
    pub at: DateTime<Utc>,
}

impl ExportMessage {
    /// What its chain entry records: the body by its hash, with `salt` (random, made when
    /// it was chained) so that a withheld note's entry cannot be confirmed by guessing it.
    pub fn change(&self, salt: &str) -> Change {
        Change {
            at: self.created_at,
            actor_id: self.author_id.clone(),
            action: if self.internal { Action::NOTE_POSTED } else { Action::MESSAGE_POSTED },
            source_id: self.id.clone(),
            data: json!({
                "message_id": self.id,
                "author_name": self.author_name,
                "body_sha256": sha256_hex(self.body.as_bytes()),
                "internal": self.internal,
                "automated": self.automated,
                "automated_kind": self.automated_kind,
                "attachments": self.attachments,
                "salt": salt,
            }),
        }
    }
}

impl ExportEvent {
    pub fn change(&self) -> Change {
        Change {
            at: self.at,
            actor_id: self.actor_id.clone(),
            action: self.action,
            source_id: self.id.clone(),
            data: json!({
                "event_id": self.id,
                "subject_id": self.subject_id,
                "status": self.status,
                "priority": self.priority,
                "linked_record": self.linked_record,
            }),
        }
    }
}

impl ExportItem {
    /// What its entry records (`salt` is a message's; events have none).
    pub fn change(&self, salt: &str) -> Change {
        match self {
            Self::Message(m) => m.change(salt),
            Self::Event(e) => e.change(),
        }
    }
}

/// The salt an entry's data holds (a message's), empty otherwise.
pub fn salt_of(entry: &ChainEntry) -> &str {
    entry.data.as_ref().and_then(|d| d.get("salt")).and_then(Value::as_str).unwrap_or("")
}

// ---- Verification ----------------------------------------------------------------------

/// What checking an export found: valid, or the first entry that does not match and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Verification {
    pub valid: bool,
    /// The first entry that does not match (`null` when what is wrong is not an entry,
    /// such as an unknown format).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the chain is the one the record holds (`null`: not compared, as offline or
    /// for a thread the checker may not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches_record: Option<bool>,
    /// Whether the export ends where the record's chain ends now (`false`: entries were
    /// chained after it, or were cut off it); with the record's head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_head: Option<ChainHead>,
}

impl Verification {
    fn valid() -> Self {
        Self {
            valid: true,
            first_bad_seq: None,
            reason: None,
            matches_record: None,
            complete: None,
            record_head: None,
        }
    }
    fn bad(seq: Option<u64>, reason: impl Into<String>) -> Self {
        Self {
            valid: false,
            first_bad_seq: seq,
            reason: Some(reason.into()),
            matches_record: None,
            complete: None,
            record_head: None,
        }
    }
}

/// Checks the chain links, each entry's hashes, that every message and event of the
/// timeline is the one its entry recorded (in chain order, none added, none missing), that
/// only internal notes are withheld and only from exports without them, and that the
/// head and the thread's opening match.
pub fn verify_export(export: &Export) -> Verification {
    if export.format != EXPORT_FORMAT && export.format != EXPORT_FORMAT_1 {
        return Verification::bad(
            None,
            format!("not an export of format {EXPORT_FORMAT} or {EXPORT_FORMAT_1}"),
        );
    }
    if let Err(bad) = verify_chain(&export.chain) {
        return bad;
    }
    let mut items = export.timeline.iter();
    for entry in &export.chain {
        let bad = |reason: &str| Verification::bad(Some(entry.seq), reason.to_owned());
        match (entry.action, &entry.data) {
            (Action::THREAD_OPENED, data) => {
                // Priority and link may have changed since (checked below); the rest never does.
                let t = &export.thread;
                let thread = t.opened_data(&export.org_id, Priority::Normal, None);
                let same = data.as_ref().is_some_and(|d| {
                    [
                        "org_id",
                        "thread_id",
                        "topic",
                        "subject",
                        "category_id",
                        "resident_id",
                        "unit",
                        "property_id",
                    ]
                    .iter()
                    .all(|k| d.get(*k) == thread.get(*k))
                });
                let when_who = entry.at == to_millis(t.created_at) && entry.actor_id == t.created_by;
                if entry.seq != 1 || entry.source_id != t.id || !same || !when_who {
                    return bad("the thread's opening does not match the export's thread");
                }
            }
            (Action::NOTE_POSTED, None) if !export.include_internal => {}
            (_, None) => return bad("only internal notes are withheld, and only without internal notes"),
            (_, Some(_)) => {
                let Some(item) = items.next() else { return bad("the entry's message or event is missing") };
                let change = item.change(salt_of(entry));
                let recorded = ChainEntry::chain(change, Some((entry.seq - 1, &entry.prev_hash)));
                if recorded.hash != entry.hash {
                    return bad("the message or event differs from what the entry recorded");
                }
            }
        }
    }
    if items.next().is_some() {
        return Verification::bad(None, "the timeline holds a message or event the chain does not record");
    }
    let last = export.chain.last().map(|e| ChainHead { seq: e.seq, hash: e.hash.clone() });
    if last != export.head {
        return Verification::bad(
            export.chain.last().map(|e| e.seq),
            "the head is not the chain's last entry",
        );
    }
    if let Err(bad) = verify_current_fields(export) {
        return bad;
    }
    match &export.checkpoint {
        Some(checkpoint) => verify_checkpoint(export, checkpoint),
        None => Verification::valid(),
    }
}

/// The header's priority and linked record must be what the chain last recorded of them.
fn verify_current_fields(export: &Export) -> Result<(), Verification> {
    let (mut priority, mut link, mut last) = (None, None, None);
    for entry in &export.chain {
        let Some(data) = &entry.data else { continue };
        if matches!(entry.action, Action::THREAD_OPENED | Action::Event(EventKind::PriorityChanged)) {
            priority = data.get("priority").cloned();
            last = Some(entry.seq);
        }
        if matches!(entry.action, Action::THREAD_OPENED | Action::Event(EventKind::LinkedRecordChanged)) {
            link = data.get("linked_record").cloned();
            last = Some(entry.seq);
        }
    }
    let differs = |recorded: Option<Value>, shown: Option<Value>| recorded.is_some() && recorded != shown;
    if differs(priority, serde_json::to_value(export.thread.priority).ok())
        || differs(link, serde_json::to_value(&export.thread.linked_record).ok())
    {
        return Err(Verification::bad(last, "the thread's priority or linked record is not the chain's"));
    }
    Ok(())
}

/// A checkpoint must be signed by its key, be of this thread, and seal an entry the chain
/// holds: a chain rewritten after it was sealed fails here, rehashed or not.
fn verify_checkpoint(export: &Export, checkpoint: &SignedSeal) -> Verification {
    let seal = &checkpoint.seal;
    if !checkpoint.signature_valid() {
        return Verification::bad(Some(seal.seq), "the checkpoint's signature does not verify");
    }
    if seal.thread_id != export.thread.id || seal.org_id != export.org_id {
        return Verification::bad(None, "the checkpoint is of another thread");
    }
    match export.chain.iter().find(|e| e.seq == seal.seq) {
        Some(entry) if entry.hash == seal.hash => Verification::valid(),
        _ => Verification::bad(Some(seal.seq), "the chain differs from the one the checkpoint sealed"),
    }
}

/// Checks seq order, links and hashes; the first entry that breaks them is the error.
pub fn verify_chain(chain: &[ChainEntry]) -> Result<(), Verification> {
    let mut prev: Option<&ChainEntry> = None;
    for entry in chain {
        let bad = |reason: &str| Err(Verification::bad(Some(entry.seq), reason.to_owned()));
        let (seq, prev_hash) = prev.map_or((1, GENESIS), |p| (p.seq + 1, p.hash.as_str()));
        if entry.seq != seq {
            return Err(Verification::bad(Some(seq), "an entry is missing or out of order here"));
        }
        if entry.prev_hash != prev_hash {
            return bad("prev_hash is not the previous entry's hash");
        }
        if let Some(data) = &entry.data {
            if sha256_hex(canonical(&Value::Object(data.clone())).as_bytes()) != entry.data_hash {
                return bad("data does not match data_hash");
            }
        }
        if entry.expected_hash() != entry.hash {
            return bad("hash does not match the entry");
        }
        prev = Some(entry);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> UserId {
        UserId::parse(id).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn message(id: &str, body: &str, internal: bool) -> ExportMessage {
        ExportMessage {
            id: id.into(),
            author_id: user("manager-1"),
            author_name: "Maya".into(),
            body: body.into(),
            internal,
            automated: false,
            automated_kind: None,
            attachments: vec![],
            created_at: at("2026-12-05T10:00:00.123456Z"),
        }
    }

    fn export(include_internal: bool) -> Export {
        let thread = ExportThread {
            id: "T1".into(),
            topic: "maintenance".into(),
            subject: "Leak".into(),
            category_id: "service".into(),
            status: ThreadStatus::Open,
            priority: Priority::Urgent,
            resident_id: user("resident-1"),
            resident_name: "Rose".into(),
            unit: Some("4B".into()),
            property_id: None,
            linked_record: None,
            created_by: user("resident-1"),
            created_at: at("2026-12-05T09:00:00Z"),
        };
        let opened = Change {
            at: thread.created_at,
            actor_id: user("resident-1"),
            action: Action::THREAD_OPENED,
            source_id: "T1".into(),
            data: thread.opened_data("demo", Priority::Urgent, None),
        };
        let items = vec![
            ExportItem::Message(message("M1", "The kitchen pipe leaks", false)),
            ExportItem::Message(message("M2", "Tenant called twice", true)),
            ExportItem::Event(ExportEvent {
                id: "E1".into(),
                action: Action::Event(EventKind::PriorityChanged),
                actor_id: user("manager-1"),
                subject_id: None,
                status: None,
                priority: Some(Priority::Urgent),
                linked_record: None,
                at: at("2026-12-05T10:01:00Z"),
            }),
        ];
        let mut chain = vec![ChainEntry::chain(opened, None)];
        for item in &items {
            let last = chain.last().unwrap();
            let next = ChainEntry::chain(item.change("s"), Some((last.seq, &last.hash)));
            chain.push(next);
        }
        let (timeline, chain) = if include_internal {
            (items, chain)
        } else {
            let public = items.into_iter().filter(|i| !matches!(i, ExportItem::Message(m) if m.internal));
            let chain =
                chain.iter().map(|e| if e.action == Action::NOTE_POSTED { e.withheld() } else { e.clone() });
            (public.collect(), chain.collect())
        };
        Export {
            format: EXPORT_FORMAT.into(),
            exported_at: at("2026-12-05T11:00:00Z"),
            exported_by: user("manager-1"),
            org_id: "demo".into(),
            thread,
            participants: vec![],
            include_internal,
            timeline,
            head: chain.last().map(|e| ChainHead { seq: e.seq, hash: e.hash.clone() }),
            chain,
            checkpoint: None,
            verification: String::new(),
        }
    }

    /// `export` sealed at its entry `seq` by a fresh P-256 key, alone (as before stop 37).
    fn sealed(export: Export, seq: u64) -> Export {
        sealed_in_run(export, seq, 0)
    }

    /// `export` sealed at its entry `seq`, signed alone when `others` is 0, else in a run
    /// with `others` seals of other threads before it.
    fn sealed_in_run(mut export: Export, seq: u64, others: usize) -> Export {
        use base64::Engine;
        use p256::ecdsa::signature::Signer;
        use p256::pkcs8::EncodePublicKey;
        let engine = base64::engine::general_purpose::STANDARD;
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let entry = export.chain.iter().find(|e| e.seq == seq).unwrap();
        let seal = Seal {
            org_id: export.org_id.clone(),
            thread_id: export.thread.id.clone(),
            seq,
            hash: entry.hash.clone(),
            sealed_at: at("2026-12-05T10:30:00Z"),
        };
        let (signed, run) = if others == 0 {
            (seal.signed_bytes(), None)
        } else {
            let mut run: Vec<Seal> = (0..others)
                .map(|i| Seal { thread_id: format!("another thread {i}"), ..seal.clone() })
                .collect();
            run.push(seal.clone());
            let (signed, mut places) = seal_run(&run).unwrap();
            (signed, places.pop())
        };
        let signature: p256::ecdsa::Signature = key.sign(&signed);
        let public = key.verifying_key().to_public_key_der().unwrap();
        export.checkpoint = Some(SignedSeal {
            seal,
            signature: engine.encode(signature.to_der().as_bytes()),
            key_id: "local".into(),
            public_key: engine.encode(public.as_bytes()),
            object_key: "checkpoints/x.json".into(),
            run,
        });
        export
    }

    #[test]
    fn a_seal_signed_with_its_run_checks_alone_and_nothing_else_passes_for_it() {
        let in_run = sealed_in_run(export(true), 3, 6);
        assert_eq!(verify_export(&in_run), Verification::valid());
        let bad = "the checkpoint's signature does not verify";
        let broken = |change: &dyn Fn(&mut SignedSeal)| {
            let mut e = in_run.clone();
            change(e.checkpoint.as_mut().unwrap());
            verify_export(&e).reason
        };
        let another_hash = in_run.chain[1].hash.clone();
        assert_eq!(broken(&|c| c.seal.hash = another_hash.clone()).as_deref(), Some(bad));
        assert_eq!(broken(&|c| c.run.as_mut().unwrap().index = 5).as_deref(), Some(bad));
        assert_eq!(broken(&|c| c.run.as_mut().unwrap().tree_size = 8).as_deref(), Some(bad));
        assert_eq!(broken(&|c| c.run.as_mut().unwrap().path[0] = "00".repeat(32)).as_deref(), Some(bad));
        assert_eq!(broken(&|c| c.run.as_mut().unwrap().path[0] = "not hex".into()).as_deref(), Some(bad));
        let upper = |c: &mut SignedSeal| {
            let path = &mut c.run.as_mut().unwrap().path[0];
            *path = path.to_uppercase();
        };
        assert_eq!(broken(&upper).as_deref(), Some(bad), "one spelling of a hash");
        // The sibling hash itself, changed in one bit of its last byte.
        let flipped = |c: &mut SignedSeal| {
            let path = &mut c.run.as_mut().unwrap().path[0];
            let last = if path.ends_with('0') { '1' } else { '0' };
            path.replace_range(63.., &last.to_string());
        };
        assert_eq!(broken(&flipped).as_deref(), Some(bad));
        assert_eq!(broken(&|c| c.run.as_mut().unwrap().path.pop().map(drop).unwrap()).as_deref(), Some(bad));
        // Posing as a seal signed alone, or a run of one, does not pass either.
        assert_eq!(broken(&|c| c.run = None).as_deref(), Some(bad));
        let alone = |c: &mut SignedSeal| c.run = Some(SealRun { tree_size: 1, index: 0, path: vec![] });
        assert_eq!(broken(&alone).as_deref(), Some(bad));
        // The JSON of a seal signed alone has no `run` (exports before stop 37 read as they were).
        let json = serde_json::to_value(sealed(export(true), 3).checkpoint).unwrap();
        assert!(json.get("run").is_none(), "{json}");
    }

    #[test]
    fn a_checkpoint_catches_a_rehashed_chain_offline() {
        let sealed = sealed(export(true), 3);
        assert_eq!(verify_export(&sealed), Verification::valid());
        // The forger rewrites a message and rehashes everything after it.
        let mut forged = sealed.clone();
        let ExportItem::Message(m) = &mut forged.timeline[0] else { panic!() };
        m.body = "No leak".into();
        let mut chain = vec![forged.chain[0].clone()];
        for item in &forged.timeline {
            let last = chain.last().unwrap();
            let next = ChainEntry::chain(item.change("s"), Some((last.seq, &last.hash)));
            chain.push(next);
        }
        forged.head = chain.last().map(|x| ChainHead { seq: x.seq, hash: x.hash.clone() });
        forged.chain = chain;
        assert_eq!(verify_export(&forged).first_bad_seq, Some(3));
        // Nor can the seal be moved to the forged hash: the signature no longer holds.
        let mut moved = forged.clone();
        let forged_hash = moved.chain[2].hash.clone();
        moved.checkpoint.as_mut().unwrap().seal.hash = forged_hash;
        assert_eq!(
            verify_export(&moved).reason.as_deref(),
            Some("the checkpoint's signature does not verify")
        );
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let v = json!({"b": 1, "a": {"d": [1, "x\"y"], "c": null}});
        assert_eq!(canonical(&v), r#"{"a":{"c":null,"d":[1,"x\"y"]},"b":1}"#);
    }

    #[test]
    fn a_known_entry_hashes_to_a_known_value() {
        // Computed outside Rust (Python's hashlib over the canonical text the README shows),
        // so a change of the encoding, which would break every stored chain, fails here.
        let change = Change {
            at: at("2026-12-05T10:00:00.123456Z"),
            actor_id: user("u1"),
            action: Action::MESSAGE_POSTED,
            source_id: "M1".into(),
            data: json!({"b": "é", "a": 1}),
        };
        let entry = ChainEntry::chain(change, None);
        assert_eq!(entry.data_hash, "09ad9fd2fb648cb2f62141215828ea00a62c299db05d20aa9ade2f527a301cc6");
        assert_eq!(entry.hash, "137015db8649e4e3fb823140cf2da2bbe025b5746ca4f4370695d90bb334f6c2");
    }

    #[test]
    fn exports_with_and_without_internal_notes_verify() {
        assert_eq!(verify_export(&export(true)), Verification::valid());
        assert_eq!(verify_export(&export(false)), Verification::valid());
    }

    #[test]
    fn exports_of_format_1_still_verify_and_another_format_does_not() {
        let mut e = sealed(export(true), 3);
        e.format = "resident-messaging-export/1".into();
        assert_eq!(verify_export(&e), Verification::valid());
        e.format = "resident-messaging-export/3".into();
        assert!(!verify_export(&e).valid);
    }

    #[test]
    fn a_changed_word_names_its_entry() {
        let mut e = export(true);
        let ExportItem::Message(m) = &mut e.timeline[0] else { panic!() };
        m.body = "The kitchen pipe dripped".into();
        assert_eq!(verify_export(&e).first_bad_seq, Some(2));
    }

    #[test]
    fn a_removed_message_or_entry_fails() {
        let mut e = export(true);
        e.timeline.remove(0);
        assert_eq!(verify_export(&e).first_bad_seq, Some(2));
        let mut e = export(true);
        e.chain.remove(1);
        assert_eq!(verify_export(&e).first_bad_seq, Some(2));
        let mut e = export(true);
        e.chain.pop();
        assert!(!verify_export(&e).valid, "the timeline's last event has no entry any more");
    }

    #[test]
    fn reordering_fails() {
        let mut e = export(true);
        e.timeline.swap(0, 2);
        assert_eq!(verify_export(&e).first_bad_seq, Some(2));
        let mut e = export(true);
        e.chain.swap(1, 2);
        assert_eq!(verify_export(&e).first_bad_seq, Some(2));
    }

    #[test]
    fn a_public_message_cannot_pose_as_a_withheld_note() {
        let mut e = export(false);
        e.chain[1] = e.chain[1].withheld();
        e.timeline.remove(0);
        assert_eq!(verify_export(&e).first_bad_seq, Some(2));
        // Nor can a note be withheld from an export that says it holds them.
        let mut e = export(false);
        e.include_internal = true;
        assert_eq!(verify_export(&e).first_bad_seq, Some(3));
    }

    #[test]
    fn recomputed_hashes_still_fail_against_another_copy_of_the_head() {
        let mut e = export(true);
        let ExportItem::Message(m) = &mut e.timeline[0] else { panic!() };
        m.body = "No leak".into();
        // Rebuild a consistent chain from the edited timeline: it verifies on its own...
        let mut chain = vec![e.chain[0].clone()];
        for item in &e.timeline {
            let last = chain.last().unwrap();
            let next = ChainEntry::chain(item.change("s"), Some((last.seq, &last.hash)));
            chain.push(next);
        }
        let original_head = e.head.clone();
        e.head = chain.last().map(|x| ChainHead { seq: x.seq, hash: x.hash.clone() });
        e.chain = chain;
        assert!(verify_export(&e).valid);
        // ...but its head is not the one the record holds.
        assert_ne!(e.head, original_head);
    }

    #[test]
    fn the_opening_must_match_the_thread() {
        let mut e = export(true);
        e.thread.subject = "Nothing happened".into();
        assert_eq!(verify_export(&e).first_bad_seq, Some(1));
    }

    #[test]
    fn every_action_keeps_its_wire_name_and_so_its_entries_hashes() {
        // Chains recorded before actions were split in two (thread actions, timeline events)
        // must verify as they did: the name is what an entry's hash covers.
        let names = [
            "thread_opened",
            "message_posted",
            "note_posted",
            "status_changed",
            "priority_changed",
            "linked_record_changed",
            "participant_joined",
            "participant_left",
            "escalated",
            "acknowledged",
            "triage_corrected",
        ];
        let mut hashes = Vec::new();
        let mut prev: Option<(u64, String)> = None;
        for name in names {
            let action: Action = serde_json::from_value(json!(name)).unwrap();
            assert_eq!(serde_json::to_value(action).unwrap(), json!(name));
            let change = Change {
                at: at("2026-12-01T10:00:00Z"),
                actor_id: user("admin-1"),
                action,
                source_id: "01JEXAMPLE".into(),
                data: json!({"name": name}),
            };
            let entry = ChainEntry::chain(change, prev.as_ref().map(|(seq, hash)| (*seq, hash.as_str())));
            prev = Some((entry.seq, entry.hash.clone()));
            hashes.push(entry.hash);
        }
        assert_eq!(
            hashes.last().unwrap(),
            "0d88797c895143597b582f1b712baaa08b8a3bceb843f122306195688e407a3f"
        );
    }
}
