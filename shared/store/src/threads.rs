//! Threads: create, load with participants, post messages, change, mark read.
//!
//! The thread item carries a `version`; every write that changes the inbox row is
//! conditioned on the version it read, and retried on a fresh read if it lost the race,
//! so concurrent writers never overwrite each other.

use std::ops::ControlFlow;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use domain::events::OutboxEvent;
use domain::response::{ClockChange, Posting};
use domain::triage::ThreadTriage;
use domain::{MessageId, OrgId, Role, ThreadId, ThreadStatus, UserId};

use crate::items::{
    self, data, inbox_keys, s, set_expression, take_data, take_field, Item, SetExpression, SUMMARY,
};
use crate::keys::InboxScope;
use crate::keys::{self, PK, SK};
use crate::outbox;
use crate::records::{
    EventRecord, IdempotencyRecord, LastMessage, MessageRecord, ParticipantRecord, ThreadRecord, ThreadView,
    TimelineItem,
};
use crate::retry::Tries;
use crate::tx::{self, Condition, TxOutcome};
use crate::{Store, StoreError};

pub enum PostOutcome {
    Posted,
    /// The idempotency key was used before: here is what was recorded for it.
    Replayed(IdempotencyRecord),
    /// An attachment was taken by another message meanwhile.
    AttachmentTaken,
    /// The thread has a message newer than the one the poster said they had seen.
    MovedOn,
    /// An automatic reply the thread already got for this closed period, or that a newer
    /// message made pointless.
    NotNeeded,
}

/// What a post writes, and what it is conditioned on.
pub struct NewPost<'a> {
    pub message: &'a MessageRecord,
    /// The message as the response clock sees it (its author's role, the thread's status
    /// when it was read).
    pub posting: Posting,
    /// Its `message_posted` event. What it answers is named as the post writes the clock.
    pub event: &'a mut OutboxEvent,
    /// Uploads the message takes (each must still be pending).
    pub attachments: &'a [crate::AttachmentRecord],
    pub idempotency: Option<NewIdempotency<'a>>,
    /// The newest message the poster saw: a newer one refuses the post.
    pub expected_last: Option<MessageId>,
    /// An automatic reply for the closed period that began then: posted only if the thread
    /// has none for it yet, and only as its newest message.
    pub auto_reply_for: Option<chrono::DateTime<Utc>>,
}

pub enum CreateOutcome {
    Created,
    /// The idempotency key was used before: here is what was recorded for it (the first
    /// message of the thread it created, or of whatever else it was used for).
    Replayed(IdempotencyRecord),
    /// An attachment of the first message was taken by another message meanwhile.
    AttachmentTaken,
}

pub enum ReadOutcome {
    Marked,
    /// The caller had already read this far.
    AlreadyRead,
    /// No such message in this thread (or not one the caller may see).
    NoSuchMessage,
}

/// An idempotency key to record with a post or a new thread.
pub struct NewIdempotency<'a> {
    pub key: &'a str,
    pub request_hash: String,
}

const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;
/// `ThreadRecord::auto_replied_for`, as stored under `data`.
const AUTO_REPLIED_FOR: &str = "auto_replied_for";

/// What a post's update of the thread item is conditioned on, besides its order.
struct Guards {
    expected_last: Option<MessageId>,
    auto_reply_for: Option<chrono::DateTime<Utc>>,
}

/// The thread's newest message id in a condition: the id of its summary's last message.
const LAST: &str = "#d.#sum.#lm.#lid";

fn last_message_id_names() -> [(String, String); 4] {
    [
        ("#d".to_owned(), items::DATA.to_owned()),
        ("#sum".to_owned(), items::SUMMARY.to_owned()),
        ("#lm".to_owned(), "last_message".to_owned()),
        ("#lid".to_owned(), "id".to_owned()),
    ]
}

/// The thread item's fields a message's [`ClockChange`] sets, the post making the item's
/// version `version` (the clock has seen the message while that is still its version).
fn clock_fields(change: Option<ClockChange>, version: u64) -> Vec<(String, AttributeValue)> {
    use domain::response::{KNOWN_AT_FIELD, SETTLED_FIELD, STARTED_FIELD};
    let field = |name: &str, id: MessageId| (format!("{}.{name}", items::DATA), s(id.to_string()));
    let mut fields = match change {
        Some(ClockChange::Start(started)) => vec![field(STARTED_FIELD, started)],
        Some(ClockChange::Saw { settle, .. }) => {
            settle.map(|cycle| field(SETTLED_FIELD, cycle)).into_iter().collect()
        }
        None => return vec![],
    };
    fields.push((KNOWN_AT_FIELD.to_owned(), items::n(version)));
    fields
}
const NOT_EXISTS: &str = "attribute_not_exists(pk)";
const EXISTS: &str = "attribute_exists(pk)";

/// How far into its partition a thread is read: the head items (under
/// `THREAD_HEAD_PREFIX`, which sorts before the timeline) always.
#[derive(PartialEq)]
enum Reach {
    Head,
    /// And the timeline up to this sort key.
    UpTo(String),
    All,
}

impl Store {
    /// The thread and its participants in one strongly consistent Query.
    pub async fn load_thread(&self, org: &OrgId, id: &ThreadId) -> Result<Option<ThreadView>, StoreError> {
        Ok(self.load_partition(org, id, Reach::Head).await?.map(|(view, _)| view))
    }

    /// The thread, its participants and its first message, `first`, in one strongly
    /// consistent Query: the head items and the timeline up to that message, which for a
    /// new thread is all there is before it. (`None` for the message: not found there.)
    pub async fn load_opening(
        &self,
        org: &OrgId,
        id: &ThreadId,
        first: &MessageId,
    ) -> Result<Option<(ThreadView, Option<MessageRecord>)>, StoreError> {
        let reach = Reach::UpTo(keys::timeline_sk(*first));
        let Some((view, messages)) = self.load_partition(org, id, reach).await? else { return Ok(None) };
        let message = messages.into_iter().find(|m| m.id == *first);
        Ok(Some((view, message)))
    }

    /// The thread, its participants and every message, oldest first: the whole partition,
    /// strongly consistent, a Query per MB (what the search indexer reindexes a thread from).
    pub async fn load_conversation(
        &self,
        org: &OrgId,
        id: &ThreadId,
    ) -> Result<Option<(ThreadView, Vec<MessageRecord>)>, StoreError> {
        self.load_partition(org, id, Reach::All).await
    }

    async fn load_partition(
        &self,
        org: &OrgId,
        id: &ThreadId,
        reach: Reach,
    ) -> Result<Option<(ThreadView, Vec<MessageRecord>)>, StoreError> {
        let mut thread: Option<ThreadRecord> = None;
        let mut public_id = None;
        let mut triage = None;
        let mut participants = Vec::new();
        let mut messages = Vec::new();
        let query = self
            .query()
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(keys::thread_pk(org, id)))
            .consistent_read(true);
        let query = match &reach {
            Reach::All => query.key_condition_expression("#pk = :pk"),
            Reach::Head => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :meta)")
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":meta", s(keys::THREAD_HEAD_PREFIX)),
            Reach::UpTo(sk) => query
                .key_condition_expression("#pk = :pk AND #sk <= :upto")
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":upto", s(sk.clone())),
        };
        self.each_page(query, |items| {
            for mut item in items {
                let Some(AttributeValue::S(sk)) = item.remove(SK) else { continue };
                let item = &mut item;
                match sk.as_str() {
                    keys::META_SK => {
                        public_id = items::public_id(item);
                        let mut record: ThreadRecord = take_data(item)?;
                        record.version = take_field(item, items::VERSION)?;
                        record.members_version = take_field(item, items::MEMBERS_VERSION)?;
                        let known_at: Option<u64> = take_field(item, domain::response::KNOWN_AT_FIELD)?;
                        if known_at == Some(record.version) {
                            record.response.through = record.last_id();
                        }
                        thread = Some(record);
                    }
                    keys::TRIAGE_SK => {
                        triage = Some((take_data::<ThreadTriage>(item)?, take_field(item, items::REV)?))
                    }
                    sk if sk.starts_with(keys::PARTICIPANT_PREFIX) => participants.push(take_data(item)?),
                    sk if sk.starts_with(keys::TIMELINE_PREFIX) => {
                        if let TimelineItem::Message(m) = take_data(item)? {
                            messages.push(m);
                        }
                    }
                    _ => {}
                }
            }
            // The head's items fit in one page; the rest of the partition is not wanted.
            Ok(if reach == Reach::Head { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })
        .await?;
        let Some(mut thread) = thread else { return Ok(None) };
        let triage_rev = triage.map(|(triage, rev)| {
            thread.triage = Some(triage);
            rev
        });
        let public_last_stored = thread.public_last.is_some();
        if !public_last_stored {
            thread.public_last = match &thread.summary.last_message {
                Some(last) if public_id == Some(last.id) => Some(last.clone()),
                Some(last) => {
                    let pk = keys::thread_pk(org, id);
                    self.last_public_message(&pk, &last.id).await?.as_ref().map(LastMessage::of)
                }
                None => None,
            };
        }
        Ok(Some((ThreadView { thread, participants, triage_rev, public_last_stored }, messages)))
    }

    /// Creates a thread with its participants and first message, atomically.
    pub async fn create_thread(
        &self,
        thread: &ThreadRecord,
        participants: &[ParticipantRecord],
        first: &MessageRecord,
        attachments: &[crate::AttachmentRecord],
        idempotency: Option<NewIdempotency<'_>>,
        event: &OutboxEvent,
    ) -> Result<CreateOutcome, StoreError> {
        let org = &thread.org;
        let mut writes = vec![tx::put(&self.table, items::thread_item(thread)?, Condition::new(NOT_EXISTS))?];
        for p in participants {
            let item = items::participant_item(org, p, &thread.view_for(p.role))?;
            writes.push(tx::put(&self.table, item, Condition::new(NOT_EXISTS))?);
        }
        let entry = TimelineItem::Message(first.clone());
        let item = items::timeline_item(org, &thread.summary.id, &entry)?;
        writes.push(tx::put(&self.table, item, Condition::new(NOT_EXISTS))?);
        writes.push(outbox::put_item(&self.table, event)?);
        // Each attachment taken on condition it is still unused, as a post takes them.
        let attachments_from = writes.len();
        for a in attachments {
            writes.push(crate::attachments::transition(&self.table, a, crate::AttachmentStatus::Pending)?);
        }
        let idem_pk = idempotency.as_ref().map(|i| keys::idempotency_pk(org, &first.author_id, i.key));
        if let (Some(idem), Some(pk)) = (&idempotency, &idem_pk) {
            writes.push(self.idempotency_put(pk, idem, first)?);
        }
        let idem_index = writes.len() - 1;
        let attachments_to = attachments_from + attachments.len();
        let mut tries = Tries::new();
        while tries.another().await {
            let outcome = self.transact(writes.clone()).await?;
            if let TxOutcome::Committed = outcome {
                return Ok(CreateOutcome::Created);
            }
            if let Some(pk) = idem_pk.as_deref().filter(|_| outcome.failed_condition(idem_index)) {
                if let Some(record) = self.idempotency_record(pk).await? {
                    return Ok(CreateOutcome::Replayed(record));
                }
            }
            if (attachments_from..attachments_to).any(|i| outcome.failed_condition(i)) {
                return Ok(CreateOutcome::AttachmentTaken);
            }
            // Another transaction on the same items (a start racing for an attachment):
            // again, and the loser then fails the attachment's condition.
            if !outcome.conflicted() {
                // A fresh ULID collided: transient.
                return Err(StoreError::Contention);
            }
        }
        Err(StoreError::Contention)
    }

    /// The record of an idempotency key's first answer, written in the transaction of the
    /// write it answers. An expired record that TTL has not removed yet does not count.
    fn idempotency_put(
        &self,
        pk: &str,
        idem: &NewIdempotency<'_>,
        message: &MessageRecord,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let now = Utc::now().timestamp();
        let record = IdempotencyRecord {
            request_hash: idem.request_hash.clone(),
            message: message.clone(),
            expires_at: now + IDEMPOTENCY_TTL_SECS,
        };
        let mut item = items::key(pk.to_owned(), keys::IDEMPOTENCY_SK);
        item.insert(items::DATA.into(), items::av(&record)?);
        item.insert(items::EXPIRES_AT.into(), items::n(record.expires_at));
        let cond = Condition::new("attribute_not_exists(pk) OR #exp < :now")
            .name("#exp", items::EXPIRES_AT)
            .value(":now", items::n(now));
        tx::put(&self.table, item, cond)
    }

    /// Posts a message read against `view`. If the message is the newest in the thread,
    /// the inbox rows of the thread and of every participant move with it.
    pub async fn post_message(
        &self,
        mut view: ThreadView,
        post: NewPost<'_>,
    ) -> Result<PostOutcome, StoreError> {
        let NewPost { message: msg, posting, event, attachments, idempotency, expected_last, auto_reply_for } =
            post;
        let author_role = posting.role;
        let org = view.thread.org.clone();
        let idem_pk = idempotency.as_ref().map(|i| keys::idempotency_pk(&org, &msg.author_id, i.key));
        let mut newest = view.thread.last_id().is_none_or(|last| msg.id > last);
        let mut tries = Tries::new();
        while tries.another().await {
            if expected_last.is_some_and(|seen| view.thread.last_id().is_some_and(|last| last > seen)) {
                return Ok(PostOutcome::MovedOn);
            }
            if let Some(period) = auto_reply_for {
                if !newest || view.thread.auto_replied_for.is_some_and(|done| done >= period) {
                    return Ok(PostOutcome::NotNeeded);
                }
            }
            // Worked out again on each read: a message posted meanwhile may have answered
            // the cycle, left the clock unknown, or be newer than this one (which then moves
            // no clock, and what it answers is looked up).
            let (clock, answers) = if newest {
                view.thread.response.after(view.thread.last_id(), &posting)
            } else {
                (None, posting.answers_unknown())
            };
            event.set_answers(answers);
            let entry = TimelineItem::Message(msg.clone());
            let mut writes = vec![tx::put(
                &self.table,
                items::timeline_item(&org, &msg.thread_id, &entry)?,
                Condition::new(NOT_EXISTS),
            )?];
            if let (Some(idem), Some(pk)) = (&idempotency, &idem_pk) {
                writes.push(self.idempotency_put(pk, idem, msg)?);
            }
            writes.push(outbox::put_item(&self.table, event)?);
            let attachments_from = writes.len();
            for a in attachments {
                writes.push(crate::attachments::transition(
                    &self.table,
                    a,
                    crate::AttachmentStatus::Pending,
                )?);
            }
            let meta_index = writes.len();
            let mut left_out = Vec::new();
            if newest {
                let guards = Guards { expected_last, auto_reply_for };
                let rows = self.push_message_moves(&mut writes, &view, msg, author_role, guards, clock)?;
                left_out = push_rows_that_fit(&self.table, &mut writes, rows)?;
            }
            let outcome = self.transact(writes).await?;
            if let TxOutcome::Committed = outcome {
                self.sync_rows_after(&org, &msg.thread_id, &left_out).await;
                return Ok(PostOutcome::Posted);
            }
            if idem_pk.is_some() && outcome.failed_condition(1) {
                if let Some(record) = self.idempotency_record(idem_pk.as_deref().unwrap_or_default()).await? {
                    return Ok(PostOutcome::Replayed(record));
                }
            }
            if (attachments_from..meta_index).any(|i| outcome.failed_condition(i)) {
                return Ok(PostOutcome::AttachmentTaken);
            }
            if newest && outcome.failed_condition(meta_index) {
                // A newer message was recorded first, or someone joined or left: read again.
                view = self.load_thread(&org, &msg.thread_id).await?.ok_or(StoreError::Contention)?;
                newest = view.thread.last_id().is_none_or(|last| msg.id > last);
                continue;
            }
            if !outcome.conflicted() {
                return Err(StoreError::Contention);
            }
        }
        Err(StoreError::Contention)
    }

    /// Brings the inbox rows of `users` in line with the thread as it is now: for the rows
    /// of a very large conversation that did not fit in the transaction of the change that
    /// moved them. Each batch holds only while the thread is at the version read, so a
    /// later change is never undone; a row is the thread item's view for its reader, the
    /// thread item being the truth. A failure is logged, not returned: the change itself is
    /// stored, and the next one moves the rows again.
    async fn sync_rows_after(&self, org: &OrgId, thread: &ThreadId, users: &[UserId]) {
        if users.is_empty() {
            return;
        }
        if let Err(e) = self.sync_rows(org, thread, users).await {
            tracing::warn!(%thread, error = %e, rows = users.len(), "inbox rows left behind");
        }
    }

    async fn sync_rows(&self, org: &OrgId, thread: &ThreadId, users: &[UserId]) -> Result<(), StoreError> {
        let pk = keys::thread_pk(org, thread);
        let mut pending: Vec<UserId> = users.to_vec();
        let mut tries = Tries::new();
        while tries.another().await {
            let Some(view) = self.load_thread(org, thread).await? else { return Ok(()) };
            let version = Condition::new("#v = :v")
                .name("#v", items::VERSION)
                .value(":v", items::n(view.thread.version));
            let mut stale = false;
            while !pending.is_empty() && !stale {
                let chunk: Vec<UserId> = pending.iter().take(tx::MAX_ITEMS - 1).cloned().collect();
                let mut writes =
                    vec![tx::check(&self.table, items::key(pk.clone(), keys::META_SK), version.clone())?];
                for p in chunk.iter().filter_map(|u| view.participant(u)) {
                    let row = view.thread.view_for(p.role);
                    let mut fields = vec![(SUMMARY.to_owned(), items::summary_av(&row)?)];
                    fields.extend(inbox_keys(&InboxScope::User(org.clone(), p.user_id.clone()), &row));
                    let key = items::key(pk.clone(), keys::participant_sk(&p.user_id));
                    writes.push(tx::update(&self.table, key, set_expression(fields), EXISTS)?);
                }
                match self.transact(writes).await? {
                    TxOutcome::Committed => pending.retain(|u| !chunk.contains(u)),
                    outcome if outcome.failed_condition(0) => stale = true,
                    // Someone left meanwhile, or the service conflicted: read again.
                    _ => stale = true,
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
        }
        Err(StoreError::Contention)
    }

    /// The updates that move the inbox rows to a new newest message: the thread item's is
    /// pushed to `writes`, the participants' rows are returned. Each field a message
    /// determines is set on its own path, so concurrent changes to other fields (priority,
    /// linked record) are never overwritten; the thread item's update holds only while no
    /// newer message was recorded, so rows never move backwards.
    fn push_message_moves(
        &self,
        writes: &mut Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        view: &ThreadView,
        msg: &MessageRecord,
        author_role: Role,
        guards: Guards,
        clock: Option<ClockChange>,
    ) -> Result<Vec<(Item, SetExpression)>, StoreError> {
        let thread = &view.thread;
        let org = &thread.org;
        // What the system writes leaves the status as it is: a resident's message answered
        // automatically still waits for staff.
        let status =
            if msg.automated { None } else { ThreadStatus::after_message(author_role, msg.internal) };
        let last = items::av(&LastMessage::of(msg))?;
        let at = items::av(&msg.created_at)?;
        let sort = keys::activity_sk(&msg.created_at);
        let row_fields =
            |scope: &InboxScope, row: &str| -> Result<Vec<(String, AttributeValue)>, StoreError> {
                let mut fields = vec![
                    (format!("{row}.last_message"), last.clone()),
                    (format!("{row}.updated_at"), at.clone()),
                ];
                if let Some(st) = status {
                    fields.push((format!("{row}.status"), items::av(&st)?));
                    fields.extend(items::index_partitions(scope, st));
                }
                fields.extend(items::index_sorts(&sort));
                Ok(fields)
            };

        let mut fields = row_fields(&InboxScope::Org(org.clone()), "data.summary")?;
        // What residents see last (`public_last`) is stored only while it is not the newest
        // message: a public message removes it (after every SET, below); an internal note
        // after a public one stores the public one as read. A note holds only while what it
        // read still holds (its newest message; `public_last` stored): a public message
        // posted since fails it, and the retry reads that.
        let keeps_public = msg.internal && !view.public_last_stored;
        if !msg.internal {
            fields.push(("data.public_at".into(), at.clone()));
            fields.push((format!("data.{}", items::PUBLIC_ID), s(msg.id.to_string())));
        } else if keeps_public {
            fields.push((format!("data.{}", items::PUBLIC_LAST), items::av(&thread.public_last)?));
        }
        // Written for the releases before stop 45, whose conditions read it; this one's read
        // the summary's last message, which every thread item holds.
        fields.push((items::LAST_ID.into(), s(msg.id.to_string())));
        // A write committed since the read makes the version another: the clock is unknown.
        fields.extend(clock_fields(clock, thread.version + 1));
        let mut set = set_expression(fields);
        set.expression.push_str(", #ver = #ver + :one");
        set.names.extend([
            ("#ver".to_owned(), items::VERSION.to_owned()),
            ("#mv".to_owned(), items::MEMBERS_VERSION.to_owned()),
        ]);
        set.names.extend(last_message_id_names());
        set.values.extend([
            (":one".to_owned(), items::n(1)),
            (":id".to_owned(), s(msg.id.to_string())),
            (":mv".to_owned(), items::n(thread.members_version)),
        ]);
        let meta = items::key(keys::thread_pk(org, &msg.thread_id), keys::META_SK);
        let mut cond = format!("(attribute_not_exists({LAST}) OR {LAST} < :id) AND #mv = :mv");
        if let Some(seen) = guards.expected_last {
            // A message posted after the read the poster saw fails this, and the retry reads it.
            cond.push_str(&format!(" AND {LAST} <= :seen"));
            set.values.insert(":seen".to_owned(), s(seen.to_string()));
        }
        if let Some(period) = guards.auto_reply_for {
            // One automatic reply per closed period, however many consumers race (the
            // retry reads the thread and finds the reply done). Whole-minute UTC times in
            // RFC 3339 compare as text.
            set.expression.push_str(", #d.#arf = :arf");
            set.names.extend([
                ("#d".to_owned(), items::DATA.to_owned()),
                ("#arf".to_owned(), AUTO_REPLIED_FOR.to_owned()),
            ]);
            set.values.insert(":arf".to_owned(), items::av(&period)?);
            cond.push_str(" AND (attribute_not_exists(#d.#arf) OR #d.#arf < :arf)");
        }
        // What items before stop 44 named the clock's newest message by goes with every post.
        let mut removes = vec!["#d.#ct"];
        set.names.extend([
            ("#d".to_owned(), items::DATA.to_owned()),
            ("#ct".to_owned(), domain::response::THROUGH_FIELD.to_owned()),
        ]);
        let public_last = ("#pl".to_owned(), items::PUBLIC_LAST.to_owned());
        match (msg.internal, thread.last_id()) {
            (true, Some(read)) if keeps_public => {
                cond.push_str(&format!(" AND {LAST} = :read"));
                set.values.insert(":read".to_owned(), s(read.to_string()));
            }
            (true, _) => {
                // A map: not a null that a release before stop 36 may have written.
                cond.push_str(" AND attribute_type(#d.#pl, :map)");
                set.values.insert(":map".to_owned(), s("M".to_owned()));
                set.names.extend([public_last]);
            }
            (false, _) => {
                removes.push("#d.#pl");
                set.names.extend([public_last]);
            }
        }
        set.expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        writes.push(tx::update(&self.table, meta, set, &cond)?);

        let mut rows = Vec::new();
        for p in &view.participants {
            if msg.internal && !p.role.is_staff() {
                continue;
            }
            let mut fields = row_fields(&InboxScope::User(org.clone(), p.user_id.clone()), SUMMARY)?;
            if p.user_id == msg.author_id {
                // The author has read their own message, and everything before it.
                fields.push((format!("{}.last_read_id", items::DATA), s(msg.id.to_string())));
                let public =
                    if msg.internal { thread.public_last.as_ref().map(|m| m.id) } else { Some(msg.id) };
                if let Some(public) = public {
                    fields.push((format!("{}.public_read_id", items::DATA), s(public.to_string())));
                }
            }
            let key = items::key(keys::thread_pk(org, &msg.thread_id), keys::participant_sk(&p.user_id));
            // The author's row first: it carries their read marker, and always fits in the
            // transaction.
            if p.user_id == msg.author_id {
                rows.insert(0, (key, set_expression(fields)));
            } else {
                rows.push((key, set_expression(fields)));
            }
        }
        Ok(rows)
    }

    /// Replaces the thread record (status, priority, linked record) if nobody changed it
    /// since `view` was read, with `events` added to the timeline. `Ok(false)`: stale view.
    pub async fn update_thread(
        &self,
        view: &ThreadView,
        after: &ThreadRecord,
        events: &[EventRecord],
        check: crate::ArchiveCheck,
    ) -> Result<bool, StoreError> {
        self.update_thread_with(view, after, events, check, vec![]).await
    }

    /// [`Self::update_thread`], with `extra` writes in the same transaction (after the
    /// thread's own, so a stale view still fails at index 0).
    pub(crate) async fn update_thread_with(
        &self,
        view: &ThreadView,
        after: &ThreadRecord,
        events: &[EventRecord],
        check: crate::ArchiveCheck,
        extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        let triage = self.triage_write(view, after)?;
        // A new triage of a thread otherwise as it was (no events, nothing else written)
        // is its own item's write alone: the thread item and the rows stay as they are.
        if let Some(write) = triage.clone().filter(|_| {
            events.is_empty()
                && extra.is_empty()
                && check == crate::ArchiveCheck::Keep
                && same_but_triage(&view.thread, after)
        }) {
            return match self.transact(vec![write]).await? {
                TxOutcome::Committed => Ok(true),
                outcome if outcome.failed_condition(0) || outcome.conflicted() => Ok(false),
                TxOutcome::Cancelled(_) => Err(StoreError::Contention),
            };
        }
        let mut writes = Vec::new();
        let rows = self.push_thread_change(&mut writes, view, after)?;
        let triage_at = triage.is_some().then_some(writes.len());
        writes.extend(triage);
        writes.extend(extra);
        writes.extend(crate::archive_checks::write(&self.table, &after.org, &after.summary.id, check)?);
        for event in events {
            let entry = TimelineItem::Event(event.clone());
            let item = items::timeline_item(&after.org, &after.summary.id, &entry)?;
            writes.push(tx::put(&self.table, item, Condition::new(NOT_EXISTS))?);
        }
        let left_out = push_rows_that_fit(&self.table, &mut writes, rows)?;
        match self.transact(writes).await? {
            TxOutcome::Committed => {
                self.sync_rows_after(&after.org, &after.summary.id, &left_out).await;
                Ok(true)
            }
            outcome
                if outcome.failed_condition(0)
                    || triage_at.is_some_and(|i| outcome.failed_condition(i))
                    || outcome.conflicted() =>
            {
                Ok(false)
            }
            TxOutcome::Cancelled(_) => Err(StoreError::Contention),
        }
    }

    /// The write of the thread's triage item that a change from `view` to `after` needs,
    /// if any, conditioned on the item as read: a triage and an acknowledgement at once
    /// cannot overwrite each other. (A triage read from the thread item moves to its own.)
    fn triage_write(
        &self,
        view: &ThreadView,
        after: &ThreadRecord,
    ) -> Result<Option<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        let read = match view.triage_rev {
            Some(rev) => Condition::new("#rev = :rev").name("#rev", items::REV).value(":rev", items::n(rev)),
            None => Condition::new(NOT_EXISTS),
        };
        let at = items::key(keys::thread_pk(&after.org, &after.summary.id), keys::TRIAGE_SK);
        Ok(match &after.triage {
            Some(triage) if view.triage_rev.is_none() || view.thread.triage.as_ref() != Some(triage) => {
                let mut item = items::triage_item(&after.org, &after.summary.id, triage)?;
                item.insert(items::REV.into(), items::n(view.triage_rev.map_or(1, |rev| rev + 1)));
                Some(tx::put(&self.table, item, read)?)
            }
            None if view.triage_rev.is_some() => Some(tx::delete(&self.table, at, read)?),
            _ => None,
        })
    }

    /// Records that `user` has read up to `message` of the thread in `view`, never moving
    /// the marker backwards; with it, the newest public message up to there, which is what
    /// residents are shown of the marker.
    pub async fn mark_read(
        &self,
        view: &ThreadView,
        user: &UserId,
        message: &MessageId,
        may_see_internal: bool,
    ) -> Result<ReadOutcome, StoreError> {
        let thread = &view.thread;
        let pk = keys::thread_pk(&thread.org, &thread.summary.id);
        let internal = match self.timeline_visibility(&pk, message).await? {
            Some(internal) if may_see_internal || !internal => internal,
            _ => return Ok(ReadOutcome::NoSuchMessage),
        };
        let public = match internal {
            false => Some(*message),
            true => self.last_public_up_to(&pk, thread, message).await?,
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::key(pk, keys::participant_sk(user))))
            .update_expression(match public {
                Some(_) => "SET #d.#lrid = :m, #d.#prid = :p",
                None => "SET #d.#lrid = :m",
            })
            // Null: as a release before stop 44 stored "nothing read yet".
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(#d.#lrid) OR attribute_type(#d.#lrid, :null) \
                 OR #d.#lrid < :m)",
            )
            .expression_attribute_names("#d", items::DATA)
            .expression_attribute_names("#lrid", crate::records::LAST_READ_ID)
            .expression_attribute_values(":m", s(message.to_string()))
            .expression_attribute_values(":null", s("NULL".to_owned()));
        if let Some(public) = public {
            update = update
                .expression_attribute_names("#prid", "public_read_id")
                .expression_attribute_values(":p", s(public.to_string()));
        }
        match update.send().await {
            Ok(_) => Ok(ReadOutcome::Marked),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(ReadOutcome::AlreadyRead)
            }
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// Whether a timeline entry is an internal note; `None` if there is no such entry.
    async fn timeline_visibility(&self, pk: &str, id: &MessageId) -> Result<Option<bool>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(pk.to_owned(), keys::timeline_sk(*id))))
            .projection_expression("#internal")
            .expression_attribute_names("#internal", items::INTERNAL)
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item().map(|item| items::field::<bool>(item, items::INTERNAL)).transpose()
    }

    /// The newest message residents may see at or before `id`. Usually the thread's last
    /// public message; only a marker set on an older internal note reads the timeline
    /// backwards from it.
    async fn last_public_up_to(
        &self,
        pk: &str,
        thread: &crate::ThreadRecord,
        id: &MessageId,
    ) -> Result<Option<MessageId>, StoreError> {
        if let Some(last) = thread.public_last.as_ref().filter(|m| m.id <= *id) {
            return Ok(Some(last.id));
        }
        Ok(self.last_public_message(pk, id).await?.map(|m| m.id))
    }

    /// The newest message residents may see at or before `id`, read from the timeline
    /// backwards.
    async fn last_public_message(
        &self,
        pk: &str,
        id: &MessageId,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let query = self
            .query()
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .filter_expression("#internal = :false AND #d.#type = :message")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#internal", items::INTERNAL)
            .expression_attribute_names("#d", items::DATA)
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(keys::TIMELINE_PREFIX))
            .expression_attribute_values(":to", s(keys::timeline_sk(*id)))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":message", s("message"))
            .scan_index_forward(false)
            .limit(100);
        let newest = self
            .read_on(query, 1, |mut item| match take_data::<TimelineItem>(&mut item)? {
                TimelineItem::Message(m) => Ok(Some(m)),
                TimelineItem::Event(_) => Ok(None),
            })
            .await?;
        Ok(newest.into_iter().next())
    }

    /// The first answer recorded for an idempotency key, if any.
    pub async fn replay(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.idempotency_record(&keys::idempotency_pk(org, user, key)).await
    }

    async fn idempotency_record(&self, pk: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(pk.to_owned(), keys::IDEMPOTENCY_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item().map(data::<IdempotencyRecord>).transpose()
    }

    /// The writes that move a thread from `view` to `after`: the thread item, conditioned
    /// on the version read, and every participant's inbox row that changed.
    fn push_thread_change(
        &self,
        writes: &mut Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        view: &ThreadView,
        after: &ThreadRecord,
    ) -> Result<Vec<(Item, SetExpression)>, StoreError> {
        let cond =
            Condition::new("#v = :v").name("#v", items::VERSION).value(":v", items::n(view.thread.version));
        writes.push(tx::put(&self.table, items::thread_item(after)?, cond)?);
        let mut rows = Vec::new();
        for p in &view.participants {
            let row = after.view_for(p.role);
            if row == view.thread.view_for(p.role) {
                continue;
            }
            let mut fields = vec![(SUMMARY.to_owned(), items::summary_av(&row)?)];
            fields.extend(inbox_keys(&InboxScope::User(after.org.clone(), p.user_id.clone()), &row));
            let key =
                items::key(keys::thread_pk(&after.org, &after.summary.id), keys::participant_sk(&p.user_id));
            rows.push((key, set_expression(fields)));
        }
        Ok(rows)
    }
}

/// Adds the row updates that fit in the transaction `writes` (at most [`tx::MAX_ITEMS`]
/// actions) and returns whose rows were left out, for [`Store::sync_rows_after`].
fn push_rows_that_fit(
    table: &str,
    writes: &mut Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    rows: Vec<(Item, SetExpression)>,
) -> Result<Vec<UserId>, StoreError> {
    let room = tx::MAX_ITEMS.saturating_sub(writes.len());
    let mut left_out = Vec::new();
    for (i, (key, set)) in rows.into_iter().enumerate() {
        if i < room {
            writes.push(tx::update(table, key, set, EXISTS)?);
        } else {
            left_out.push(participant_of(&key)?);
        }
    }
    Ok(left_out)
}

/// The user whose participant item `key` is.
fn participant_of(key: &Item) -> Result<UserId, StoreError> {
    key.get(SK)
        .and_then(|v| v.as_s().ok())
        .and_then(|sk| sk.strip_prefix(keys::PARTICIPANT_PREFIX))
        .and_then(|id| UserId::parse(id).ok())
        .ok_or_else(|| StoreError::unavailable(std::io::Error::other("not a participant key")))
}

/// Whether two versions of a thread differ in their triage alone (and the version a
/// change bumps).
fn same_but_triage(before: &ThreadRecord, after: &ThreadRecord) -> bool {
    let bare = |t: &ThreadRecord| ThreadRecord { triage: None, version: 0, ..t.clone() };
    bare(before) == bare(after)
}
