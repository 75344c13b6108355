//! Notification state: preferences, per-recipient pending notifications gathered into a
//! bucket that falls due (so several messages become one digest), and the delivery log.
//!
//! Items (keys in `keys`): preferences on the user (`NOTIFY_PREFS_SK`); under the
//! recipient's `notify_pk`, pending notifications (`pending_sk`, one per message and
//! recipient), each marked `sent_at` in place once sent and kept 90 days (the conditional
//! put finds it, which is what makes redelivery harmless); the bucket (`BUCKET_SK`), on the
//! schedule partition `Due::Notify` by due time, with its floor: a pending key at or below
//! its oldest unsent notification, so a dispatch reads from there and not through the
//! recipient's sent history (the floor goes with the bucket); the paid-channel allowance
//! (`PAID_SK`); notifications that reached nobody (`failed_sk`); the delivery log under
//! `delivery_pk` by `log_sk`.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use domain::notify::{Channel, NotificationDefaults, NotificationPreferences, PendingNotification};
use domain::{LogId, MessageId, OrgId, ThreadId, User, UserId};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, n, s, Item};
use crate::keys::{self, Due, Index, BUCKET_SK, PAID_SK};
use crate::records::{MessageRecord, TimelineItem};
use crate::tx::{self, Condition, TxOutcome};
use crate::{Store, StoreError};

const DELIVERY_RETENTION_SECS: i64 = 90 * 24 * 3600;
/// The bucket's attribute holding its lowest pending key.
const FLOOR: &str = "floor";
/// The bucket's attribute holding until when a dispatcher has claimed it.
const LEASE: &str = "lease_until";
/// A pending notification's attribute saying when it was sent (absent: waiting; the
/// dispatch's Queries filter on it by name).
const SENT_AT: &str = "sent_at";

fn defaults_key(org: &OrgId) -> Item {
    key(keys::settings_pk(org), keys::NOTIFICATIONS_SETTINGS_SK)
}

fn bucket(item: &Item, now: DateTime<Utc>) -> Result<DueBucket, StoreError> {
    let record: BucketRecord = data(item)?;
    let due: String = items::field(item, "due")?;
    let count: u64 = items::field(item, "count")?;
    // Buckets made before floors were kept have none: read from the first pending key.
    let floor = items::field(item, FLOOR).unwrap_or_else(|_| keys::PENDING_PREFIX.to_owned());
    let due = DateTime::parse_from_rfc3339(&due).map(|d| d.with_timezone(&Utc)).unwrap_or(now);
    // Another dispatcher's lease, if the item has one, is not this reader's.
    Ok(DueBucket { org: record.org, user: record.user, due, count, floor, lease: None })
}

/// What every settle of a bucket holds to: nothing arrived since it was read (its count),
/// and the claim is still this dispatcher's (its lease; unclaimed: nobody's).
fn held(bucket: &DueBucket) -> Condition<'static> {
    let (expression, values) = match &bucket.lease {
        Some(lease) => {
            ("#count = :count AND #lease = :lease", vec![(":count", n(bucket.count)), (":lease", s(lease))])
        }
        None => ("#count = :count AND attribute_not_exists(#lease)", vec![(":count", n(bucket.count))]),
    };
    Condition { expression, names: vec![("#count", "count"), ("#lease", LEASE)], values }
}

fn delivery_item(org: &OrgId, d: &Delivery) -> Result<Item, StoreError> {
    let sk = match d.message_id {
        Some(message) => keys::log_sk(&d.sent_at, &message),
        // Not about a message (an invitation): an id of its own.
        None => keys::log_sk(
            &d.sent_at,
            &LogId::new_at(u64::try_from(d.sent_at.timestamp_millis()).unwrap_or_default()),
        ),
    };
    let mut item = key(keys::delivery_pk(org, &d.user_id), sk);
    item.insert(items::DATA.into(), items::av(d)?);
    item.insert(items::EXPIRES_AT.into(), n(d.sent_at.timestamp() + DELIVERY_RETENTION_SECS));
    Ok(item)
}

/// At most this many notifications settle in one dispatch; a recipient with more waiting
/// gets them over several deliveries, each a digest a person can still read.
pub const MAX_SETTLED: usize = 40;

/// A recipient whose pending notifications are due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueBucket {
    pub org: OrgId,
    pub user: UserId,
    pub due: DateTime<Utc>,
    /// How many notifications had arrived when read; finishing is conditioned on it.
    pub count: u64,
    /// Where its pending notifications start (every key before it is sent).
    pub floor: String,
    /// Until when this reader's claim holds it (as stored: it also tells this claim from a
    /// later one); `None` as read without a claim. Every settle is conditioned on it, so a
    /// dispatcher whose lease ran out and was taken over changes nothing of the bucket.
    pub lease: Option<String>,
}

/// A notification a provider accepted, as the delivery log and `/dev/outbox` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel: Channel,
    pub to: String,
    pub user_id: UserId,
    /// The thread and newest message notified; none for messages outside threads (invites).
    pub thread_id: Option<ThreadId>,
    pub message_id: Option<MessageId>,
    /// Every message this delivery covers (more than one for a digest).
    pub message_ids: Vec<MessageId>,
    pub body: String,
    pub sent_at: DateTime<Utc>,
}

/// A notification that no channel could deliver, kept beside the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedNotification {
    pub user_id: UserId,
    pub thread_id: Option<ThreadId>,
    pub message_ids: Vec<MessageId>,
    /// Each channel tried and why it refused, in the recipient's order; empty when the
    /// recipient has no channel at all.
    pub attempts: Vec<Attempt>,
    pub failed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub channel: Channel,
    pub to: String,
    pub reason: String,
}

/// What is left of a recipient's allowance on paid channels (a token bucket), as of `at`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PaidAllowance {
    pub tokens: f64,
    pub at: DateTime<Utc>,
}

/// How a dispatch of a bucket ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// A provider accepted it.
    Delivered(&'a Delivery),
    /// Every channel refused.
    Failed(&'a FailedNotification),
    /// Nobody to send to (the recipient is gone).
    Dropped,
}

/// What a dispatch settles: the notifications it covered, how it ended, and when the
/// bucket falls due again.
#[derive(Debug, Clone, Copy)]
pub struct Settle<'a> {
    pub settled: &'a [PendingNotification],
    pub outcome: Outcome<'a>,
    /// The recipient's paid-channel allowance after this delivery, when it used one.
    pub allowance: Option<PaidAllowance>,
    /// `None`: the bucket goes, unless more arrived meanwhile (then it stays due).
    pub next_due: Option<DateTime<Utc>>,
    /// The oldest notification read and left waiting, when the bucket stays: its floor
    /// moves up to it, unless more arrived meanwhile.
    pub rest: Option<MessageId>,
}

/// What an enqueued notification does to its bucket's floor.
#[derive(Debug, Clone, Copy)]
enum Floor {
    /// A new bucket starts at it; an existing one's floor is at or below it already.
    Keeps,
    /// It sorts below the floor (handled after a newer one): the floor moves down to it.
    Lowers,
    /// A bucket of an earlier release, without a floor: its pending notifications may
    /// start anywhere, so it reads from the first pending key until it goes.
    Earliest,
}

#[derive(Serialize, Deserialize)]
struct BucketRecord {
    org: OrgId,
    user: UserId,
}

impl Store {
    pub async fn get_preferences(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<NotificationPreferences>, StoreError> {
        self.get_data(key(keys::user_pk(org, user), keys::NOTIFY_PREFS_SK), false).await
    }

    /// The preferences a recipient is notified with (their own, or the org's defaults for
    /// them), their profile and both read in one BatchGetItem. `None`: no such user.
    pub async fn recipient_preferences(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<NotificationPreferences>, StoreError> {
        let pk = keys::user_pk(org, user);
        let wanted =
            vec![key(pk.clone(), keys::PROFILE_SK), key(pk, keys::NOTIFY_PREFS_SK), defaults_key(org)];
        let found = self.batch_get(wanted, false).await?;
        let with_sk = |sk: &str| {
            found.iter().find(|i| i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some(sk))
        };
        let Some(profile) = with_sk(keys::PROFILE_SK) else { return Ok(None) };
        let user: domain::User = data(profile)?;
        let prefs = match (with_sk(keys::NOTIFY_PREFS_SK), with_sk(keys::NOTIFICATIONS_SETTINGS_SK)) {
            (Some(own), _) => data(own)?,
            (None, Some(defaults)) => data::<NotificationDefaults>(defaults)?.for_user(&user),
            (None, None) => NotificationDefaults::default().for_user(&user),
        };
        Ok(Some(prefs))
    }

    /// Saves `user`'s own notification preferences while their contact is still at the
    /// revision read (`user.rev`). `Ok(false)`: it changed since (a new e-mail address, whose
    /// write dropped the preferences chosen under the old sign-in, must not see them
    /// written back by that sign-in's request).
    pub async fn put_preferences(
        &self,
        user: &User,
        prefs: &NotificationPreferences,
    ) -> Result<bool, StoreError> {
        let pk = keys::user_pk(&user.org, &user.id);
        let mut item = key(pk.clone(), keys::NOTIFY_PREFS_SK);
        item.insert(items::DATA.into(), items::av(prefs)?);
        let read = Condition::new("#rev = :rev").name("#rev", items::REV).value(":rev", n(user.rev));
        let writes = vec![
            tx::check(&self.table, key(pk, keys::PROFILE_SK), read)?,
            tx::put(&self.table, item, Condition::always())?,
        ];
        match self.transact(writes).await? {
            TxOutcome::Committed => Ok(true),
            o if o.failed_condition(0) || o.conflicted() => Ok(false),
            TxOutcome::Cancelled(_) => Err(StoreError::Contention),
        }
    }

    /// One message of a thread's timeline.
    pub async fn get_message(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        id: &MessageId,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::thread_pk(org, thread), keys::timeline_sk(*id))))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(match out.item().map(data::<TimelineItem>).transpose()? {
            Some(TimelineItem::Message(m)) => Some(m),
            _ => None,
        })
    }

    /// Adds a pending notification for `user`, due no later than the bucket's current due
    /// time or `due`. `Ok(false)`: it was added before (a redelivered event; the pending
    /// item stays, marked sent, after its delivery).
    pub async fn enqueue_notification(
        &self,
        org: &OrgId,
        user: &UserId,
        pending: &PendingNotification,
        due: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let pk = keys::notify_pk(org, user);
        let sk = keys::pending_sk(&pending.message_id);
        let mut item = key(pk.clone(), sk.clone());
        item.insert(items::DATA.into(), items::av(pending)?);
        let mut floor = Floor::Keeps;
        let mut tries = crate::retry::Tries::new();
        while tries.another().await {
            let writes = vec![
                tx::put(&self.table, item.clone(), Condition::new("attribute_not_exists(pk)"))?,
                self.join_bucket(org, user, &sk, pending.urgent, due, floor)?,
            ];
            match self.transact(writes).await? {
                TxOutcome::Committed => return Ok(true),
                o if o.failed_condition(0) => return Ok(false),
                // Rare (a notification handled after a newer one, a bucket of an earlier
                // release): see what the floor is, and write what it needs.
                o if o.failed_condition(1) => floor = self.floor_for(org, user, &sk).await?,
                o if o.conflicted() => {}
                TxOutcome::Cancelled(_) => return Err(StoreError::Contention),
            }
        }
        Err(StoreError::Contention)
    }

    /// What a notification keyed `sk` does to the recipient's bucket's floor, as it is now.
    async fn floor_for(&self, org: &OrgId, user: &UserId, sk: &str) -> Result<Floor, StoreError> {
        Ok(match self.get_item(key(keys::notify_pk(org, user), BUCKET_SK), true).await?.as_ref() {
            None => Floor::Keeps,
            Some(bucket) => match items::field::<String>(bucket, FLOOR) {
                Err(_) => Floor::Earliest,
                Ok(floor) if floor.as_str() > sk => Floor::Lowers,
                Ok(_) => Floor::Keeps,
            },
        })
    }

    /// The bucket's side of an enqueued notification `sk`: one more counted, due at `due`
    /// if new (now if urgent), and its floor (where the dispatcher starts reading: every
    /// key before it is sent) at or below `sk`, as `floor` says.
    fn join_bucket(
        &self,
        org: &OrgId,
        user: &UserId,
        sk: &str,
        urgent: bool,
        due: DateTime<Utc>,
        floor: Floor,
    ) -> Result<TransactWriteItem, StoreError> {
        // An urgent notification makes the bucket due at once, even if it was held.
        let (due_expr, sort_expr) = if urgent {
            (":due", ":sort")
        } else {
            ("if_not_exists(#due, :due)", "if_not_exists(#gsk, :sort)")
        };
        let (floor_expr, condition, floor_value) = match floor {
            Floor::Keeps => {
                ("if_not_exists(#floor, :floor)", "attribute_not_exists(pk) OR #floor <= :floor", sk)
            }
            Floor::Lowers => (":floor", "#floor > :floor", sk),
            Floor::Earliest => {
                (":floor", "attribute_exists(pk) AND attribute_not_exists(#floor)", keys::PENDING_PREFIX)
            }
        };
        let bucket = items::SetExpression::new(
            // The first notification of a bucket sets its due time; later ones join it.
            format!(
                "SET #d = if_not_exists(#d, :bucket), #due = {due_expr}, #gpk = :part, #gsk = {sort_expr}, \
                 #floor = {floor_expr} ADD #count :one"
            ),
            &[
                ("#d", items::DATA),
                ("#due", "due"),
                ("#count", "count"),
                ("#floor", FLOOR),
                ("#gpk", Index::Gsi1.pk()),
                ("#gsk", Index::Gsi1.sk()),
            ],
            vec![
                (":bucket", items::av(&BucketRecord { org: org.clone(), user: user.clone() })?),
                (":due", s(keys::timestamp(&due))),
                (":part", s(Due::Notify.partition())),
                (":sort", s(keys::due_sk(&due, org, user))),
                (":floor", s(floor_value)),
                (":one", n(1)),
            ],
        );
        tx::update(&self.table, key(keys::notify_pk(org, user), BUCKET_SK), bucket, condition)
    }

    /// Buckets due by `now`, oldest first.
    pub async fn due_buckets(&self, now: DateTime<Utc>, limit: i32) -> Result<Vec<DueBucket>, StoreError> {
        let due = self.query_due(Due::Notify, keys::due_by(&now), limit).await?;
        due.iter().map(|item| bucket(item, now)).collect()
    }

    /// Up to `limit` of the notifications pending in a bucket, oldest first; with
    /// `urgent_only`, only urgent ones (in quiet hours, behind however many are held).
    pub async fn pending_notifications(
        &self,
        bucket: &DueBucket,
        limit: usize,
        urgent_only: bool,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        let mut query = self
            .query()
            .key_condition_expression("pk = :pk AND sk BETWEEN :floor AND :last")
            .filter_expression("attribute_not_exists(sent_at)")
            .expression_attribute_values(":pk", s(keys::notify_pk(&bucket.org, &bucket.user)))
            .expression_attribute_values(":floor", s(&bucket.floor))
            .expression_attribute_values(":last", s(keys::PENDING_LAST))
            .consistent_read(true);
        if urgent_only {
            query = query
                .filter_expression("attribute_not_exists(sent_at) AND #d.#urgent = :true")
                .expression_attribute_names("#d", items::DATA)
                .expression_attribute_names("#urgent", "urgent")
                .expression_attribute_values(":true", AttributeValue::Bool(true));
        }
        // Reads on: notifications sent since the floor stay, marked, and may fill pages.
        self.read_records(query, limit).await
    }

    /// A recipient's allowance on paid channels, if they used one recently.
    pub async fn paid_allowance(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<PaidAllowance>, StoreError> {
        self.get_data(key(keys::notify_pk(org, user), PAID_SK), true).await
    }

    /// The notifications of a recipient that no channel could deliver, newest first.
    pub async fn failed_notifications(
        &self,
        org: &OrgId,
        user: &UserId,
        limit: i32,
    ) -> Result<Vec<FailedNotification>, StoreError> {
        let out = self
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(keys::notify_pk(org, user)))
            .expression_attribute_values(":p", s(keys::FAILED_PREFIX))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.items().iter().map(data::<FailedNotification>).collect()
    }

    /// Moves a bucket's due time (quiet hours, a provider that is down) and releases it,
    /// if nothing arrived since the claim; else only releases it, due as the arrivals left
    /// it (an urgent one: now), for the next run to decide again.
    pub async fn postpone_bucket(&self, bucket: &DueBucket, due: DateTime<Utc>) -> Result<(), StoreError> {
        self.settle_bucket(bucket, self.reschedule(bucket, due, None)?).await
    }

    /// The bucket due at `due` (its floor at `rest`, when given) and released, if its count
    /// is still the claimed one.
    fn reschedule(
        &self,
        bucket: &DueBucket,
        due: DateTime<Utc>,
        rest: Option<MessageId>,
    ) -> Result<TransactWriteItem, StoreError> {
        let floor = if rest.is_some() { ", #floor = :floor" } else { "" };
        let mut values = vec![
            (":due", s(keys::timestamp(&due))),
            (":sort", s(keys::due_sk(&due, &bucket.org, &bucket.user))),
            (":count", n(bucket.count)),
        ];
        values.extend(rest.map(|rest| (":floor", s(keys::pending_sk(&rest)))));
        let mut names = vec![("#due", "due"), ("#gsk", Index::Gsi1.sk())];
        names.extend(rest.map(|_| ("#floor", FLOOR)));
        // Its names include `#lease`, which the expression removes.
        let held = held(bucket);
        names.extend(held.names);
        values.extend(held.values);
        let set = items::SetExpression::new(
            format!("SET #due = :due, #gsk = :sort{floor} REMOVE #lease"),
            &names,
            values,
        );
        tx::update(
            &self.table,
            key(keys::notify_pk(&bucket.org, &bucket.user), BUCKET_SK),
            set,
            held.expression,
        )
    }

    /// Releases the bucket, if the claim is still this dispatcher's (unclaimed: a no-op
    /// that holds while nobody claimed it).
    fn release(&self, bucket: &DueBucket) -> Result<TransactWriteItem, StoreError> {
        let (condition, values) = match &bucket.lease {
            Some(lease) => ("#lease = :lease", vec![(":lease", s(lease))]),
            None => ("attribute_exists(pk) AND attribute_not_exists(#lease)", vec![]),
        };
        let set = items::SetExpression::new("REMOVE #lease", &[("#lease", LEASE)], values);
        tx::update(&self.table, key(keys::notify_pk(&bucket.org, &bucket.user), BUCKET_SK), set, condition)
    }

    /// Gives a claimed bucket back untouched (it was not due after all), again after a
    /// conflict; taken over meanwhile, there is nothing to give back.
    pub async fn release_bucket(&self, bucket: &DueBucket) -> Result<(), StoreError> {
        self.settle_bucket(bucket, self.release(bucket)?).await
    }

    /// Makes the bucket's `write` (conditioned on the claimed count and lease), again after
    /// a conflict. Notifications that arrived since the claim fail that condition: the
    /// bucket then stays as they left it, only released; taken over meanwhile (the release
    /// fails too), it is left alone.
    async fn settle_bucket(
        &self,
        bucket: &DueBucket,
        mut write: TransactWriteItem,
    ) -> Result<(), StoreError> {
        let mut released = false;
        let mut tries = crate::retry::Tries::new();
        while tries.another().await {
            match self.transact(vec![write.clone()]).await? {
                TxOutcome::Committed => return Ok(()),
                o if o.failed_condition(0) && !released => {
                    released = true;
                    write = self.release(bucket)?;
                }
                o if o.failed_condition(0) => return Ok(()),
                o if o.conflicted() => {}
                TxOutcome::Cancelled(_) => return Err(StoreError::Contention),
            }
        }
        Err(StoreError::Contention)
    }

    /// Claims a due bucket for one dispatcher until `until`, so the scheduled dispatcher and
    /// an urgent dispatch never send the same notifications twice. The bucket as claimed
    /// (its count and floor now, not as the due index or an earlier read had them);
    /// `Ok(None)`: taken, or gone.
    pub async fn claim_bucket(
        &self,
        bucket: &DueBucket,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DueBucket>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::notify_pk(&bucket.org, &bucket.user), BUCKET_SK)))
            .update_expression("SET #lease = :until")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(#lease) OR #lease < :now)")
            .expression_attribute_names("#lease", LEASE)
            .expression_attribute_values(":until", s(keys::timestamp(&until)))
            .expression_attribute_values(":now", s(keys::timestamp(&now)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let lease = Some(keys::timestamp(&until));
        match out {
            Ok(claimed) => claimed
                .attributes()
                .map(|item| Ok(DueBucket { lease: lease.clone(), ..self::bucket(item, now)? }))
                .transpose(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                Ok(None)
            }
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// A recipient's bucket, if they have notifications waiting.
    pub async fn bucket_of(&self, org: &OrgId, user: &UserId) -> Result<Option<DueBucket>, StoreError> {
        let found = self.get_item(key(keys::notify_pk(org, user), BUCKET_SK), true).await?;
        found.map(|item| bucket(&item, Utc::now())).transpose()
    }

    pub async fn get_notification_defaults(&self, org: &OrgId) -> Result<NotificationDefaults, StoreError> {
        Ok(self.get_data(defaults_key(org), false).await?.unwrap_or_default())
    }

    pub async fn put_notification_defaults(
        &self,
        org: &OrgId,
        defaults: &NotificationDefaults,
    ) -> Result<(), StoreError> {
        self.put_data(defaults_key(org), defaults).await
    }

    /// Records what was sent and clears those pending notifications; the bucket goes too
    /// unless more arrived meanwhile (then it stays due, for the next run).
    pub async fn finish_bucket(
        &self,
        bucket: &DueBucket,
        sent: &[PendingNotification],
        delivery: Option<&Delivery>,
    ) -> Result<(), StoreError> {
        let outcome = delivery.map_or(Outcome::Dropped, Outcome::Delivered);
        self.settle(bucket, &Settle { settled: sent, outcome, allowance: None, next_due: None, rest: None })
            .await
    }

    /// Settles a dispatch of `bucket` as [`Self::claim_bucket`] returned it (one read
    /// without a claim settles only while nobody holds it): each covered notification (at
    /// most [`MAX_SETTLED`]; callers pass no more) is marked sent, the outcome is recorded
    /// (delivery log or failure), the paid allowance is updated, and then the bucket goes or
    /// falls due at `next_due`.
    ///
    /// The records are plain puts in batches (half a transaction's write capacity): first
    /// the outcome and the allowance, then the marks, 25 a request; only the bucket's write
    /// has a condition, and it comes last. Cut short after the marks, the bucket stays
    /// claimed until its lease lapses, and the next dispatch finds nothing unsent from its
    /// floor and settles it; cut short before or during the marks, the notifications left
    /// unmarked are sent again (and logged again), as when a transaction failed. The bucket
    /// refused (something arrived since the claim) is released, due as it was, so the
    /// newcomer is sent next.
    pub async fn settle(&self, bucket: &DueBucket, settle: &Settle<'_>) -> Result<(), StoreError> {
        let pk = keys::notify_pk(&bucket.org, &bucket.user);
        let now = Utc::now();
        // The outcome and the allowance before the marks, in a request of their own (no
        // BatchWriteItem is atomic): a settle cut short after some marks would leave
        // notifications sent with no record of it. Cut short before them, the notifications
        // are sent again, and logged again.
        let mut records = Vec::new();
        match settle.outcome {
            Outcome::Delivered(d) => records.push(delivery_item(&bucket.org, d)?),
            Outcome::Failed(f) => {
                let id = f.message_ids.iter().max().copied().unwrap_or_else(|| MessageId::new_at(0));
                let mut item = key(pk.clone(), keys::failed_sk(&f.failed_at, &id));
                item.insert(items::DATA.into(), items::av(f)?);
                item.insert(items::EXPIRES_AT.into(), n(f.failed_at.timestamp() + DELIVERY_RETENTION_SECS));
                records.push(item);
            }
            Outcome::Dropped => {}
        }
        if let Some(allowance) = &settle.allowance {
            let mut item = key(pk.clone(), PAID_SK);
            item.insert(items::DATA.into(), items::av(allowance)?);
            // Refilled after an hour whatever it held: no need to keep it longer.
            item.insert(items::EXPIRES_AT.into(), n(now.timestamp() + 2 * 3600));
            records.push(item);
        }
        self.put_all(records).await?;
        // The notification stays (until TTL), marked sent, as the record that this message
        // was notified to this user: a redelivered event then finds it and adds nothing.
        let mut marks = Vec::new();
        for p in settle.settled.iter().take(MAX_SETTLED) {
            let mut item = key(pk.clone(), keys::pending_sk(&p.message_id));
            item.insert(items::DATA.into(), items::av(p)?);
            item.insert(SENT_AT.into(), s(keys::timestamp(&now)));
            item.insert(items::EXPIRES_AT.into(), n(now.timestamp() + DELIVERY_RETENTION_SECS));
            marks.push(item);
        }
        self.put_all(marks).await?;
        // The bucket goes, or falls due again (its floor up to the oldest left waiting),
        // only if nothing arrived since the claim.
        let write = match settle.next_due {
            None => tx::delete(&self.table, key(pk, BUCKET_SK), held(bucket))?,
            Some(due) => self.reschedule(bucket, due, settle.rest)?,
        };
        self.settle_bucket(bucket, write).await
    }

    /// Records a delivery made outside the notification buckets (an invitation).
    pub async fn record_delivery(&self, org: &OrgId, d: &Delivery) -> Result<(), StoreError> {
        self.put(delivery_item(org, d)?).await
    }

    /// The delivery log of a recipient, newest first.
    pub async fn deliveries(
        &self,
        org: &OrgId,
        user: &UserId,
        limit: i32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let out = self
            .query()
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::delivery_pk(org, user)))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.items().iter().map(data::<Delivery>).collect()
    }
}
