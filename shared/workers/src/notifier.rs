//! Notifications. The notifier (SQS consumer of the notification queue) turns a new
//! message into one pending notification per recipient (everyone in the thread but the
//! author; staff only for internal notes), each a conditional write, so a redelivered event
//! adds nothing. The dispatcher (scheduled) sends each recipient's due notifications as one
//! message, or one digest, on their first channel that works, outside their quiet hours
//! unless something is urgent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::events::{OutboxEvent, OutboxKind};
use domain::notify::{render, PendingNotification};
use domain::{MessageId, Priority};
use store::{Delivery, DueBucket, Store};

use crate::channels::{Outgoing, Providers, SendError};
use crate::WorkError;

#[derive(Debug, Clone)]
pub struct Notifier {
    pub store: Store,
    pub providers: Providers,
    /// Links in notifications point here (`{app_url}/threads/{id}`).
    pub app_url: String,
    /// Notifications to one recipient within this window go out together, as a digest.
    pub digest_window: Duration,
}

/// After a transient provider outage, try the recipient again this much later.
const RETRY_LATER: Duration = Duration::from_secs(30);
const BUCKETS_PER_RUN: i32 = 100;

/// Handles one notification-queue event.
pub async fn handle(n: &Notifier, event: OutboxEvent) -> Result<(), WorkError> {
    let message_id = match event.kind {
        OutboxKind::MessagePosted { message_id, .. } => message_id,
        OutboxKind::ThreadCreated { first_message_id, .. } => first_message_id,
    };
    let view = n
        .store
        .load_thread(&event.org, &event.thread_id)
        .await?
        .ok_or(WorkError::MissingThread(event.thread_id))?;
    let Some(msg) = n.store.get_message(&event.org, &event.thread_id, &message_id).await? else {
        return Err(WorkError::MissingThread(event.thread_id));
    };
    let urgent = view.thread.summary.priority == Priority::Urgent;
    let now = Utc::now();
    let due =
        if urgent { now } else { now + chrono::Duration::from_std(n.digest_window).unwrap_or_default() };
    let pending = PendingNotification {
        message_id: msg.id,
        thread_id: msg.thread_id,
        subject: view.thread.summary.subject.as_str().to_owned(),
        author_name: msg.author_name.clone(),
        preview: msg.body.preview(),
        urgent,
        at: msg.created_at,
    };
    for p in &view.participants {
        // Never the author; internal notes only to staff.
        if p.user_id == msg.author_id || (msg.internal && !p.role.is_staff()) {
            continue;
        }
        n.store.enqueue_notification(&event.org, &p.user_id, &pending, due).await?;
        // Urgent ones go out now, not at the next scheduled dispatch.
        if urgent {
            if let Some(bucket) = n.store.bucket_of(&event.org, &p.user_id).await?.filter(|b| b.due <= now) {
                dispatch_bucket(n, &bucket, now).await?;
            }
        }
    }
    Ok(())
}

/// Sends every due bucket once. Returns how many notifications went out.
pub async fn dispatch(n: &Notifier, now: DateTime<Utc>) -> Result<usize, WorkError> {
    let mut sent = 0;
    for bucket in n.store.due_buckets(now, BUCKETS_PER_RUN).await? {
        match dispatch_bucket(n, &bucket, now).await {
            Ok(true) => sent += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(user = %bucket.user, error = ?e, "dispatch failed; will retry"),
        }
    }
    Ok(sent)
}

/// How long a dispatcher holds a bucket while it sends.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

async fn dispatch_bucket(n: &Notifier, bucket: &DueBucket, now: DateTime<Utc>) -> Result<bool, WorkError> {
    if !n.store.claim_bucket(bucket, now, now + LEASE).await? {
        return Ok(false);
    }
    let pending = n.store.pending_notifications(&bucket.org, &bucket.user).await?;
    if pending.is_empty() {
        n.store.finish_bucket(bucket, &[], None).await?;
        return Ok(false);
    }
    let Some(user) = n.store.get_user(&bucket.org, &bucket.user).await? else {
        n.store.finish_bucket(bucket, &pending, None).await?;
        return Ok(false);
    };
    let prefs = match n.store.get_preferences(&bucket.org, &bucket.user).await? {
        Some(p) => p,
        None => n.store.get_notification_defaults(&bucket.org).await?.for_user(&user),
    };
    // In quiet hours only urgent notifications go out; the rest wait for the end.
    let hold_until = prefs.quiet_hours.as_ref().filter(|q| q.is_quiet(now)).map(|q| q.end_after(now));
    let pending: Vec<PendingNotification> = match hold_until {
        Some(until) => {
            let urgent: Vec<_> = pending.into_iter().filter(|p| p.urgent).collect();
            if urgent.is_empty() {
                n.store.postpone_bucket(bucket, until).await?;
                return Ok(false);
            }
            urgent
        }
        None => pending,
    };
    let finish = |delivery: Option<Delivery>| {
        let pending = &pending;
        async move {
            match hold_until {
                Some(until) => n.store.finish_part(bucket, pending, delivery.as_ref(), until).await,
                None => n.store.finish_bucket(bucket, pending, delivery.as_ref()).await,
            }
        }
    };
    let rendered = render(&pending, &n.app_url);
    let newest = pending.iter().map(|p| p.message_id).max().unwrap_or_else(|| MessageId::new_at(0));
    let key = format!("{}:{}", bucket.user, newest);
    for ca in &prefs.channels {
        let out =
            Outgoing { to: &ca.address, title: &rendered.title, text: &rendered.text, idempotency_key: &key };
        match n.providers.send(ca.channel, &out).await {
            Ok(()) => {
                let delivery = Delivery {
                    channel: ca.channel,
                    to: ca.address.clone(),
                    user_id: bucket.user.clone(),
                    thread_id: pending.last().map(|p| p.thread_id),
                    message_id: Some(newest),
                    message_ids: pending.iter().map(|p| p.message_id).collect(),
                    body: rendered.text.clone(),
                    sent_at: Utc::now(),
                };
                finish(Some(delivery)).await?;
                return Ok(true);
            }
            Err(SendError::Permanent(e)) => {
                tracing::warn!(user = %bucket.user, channel = ?ca.channel, error = %e, "channel refused; trying the next");
            }
            Err(SendError::Transient(e)) => {
                tracing::warn!(user = %bucket.user, channel = ?ca.channel, error = %e, "provider down; retrying later");
                let later = now + chrono::Duration::from_std(RETRY_LATER).unwrap_or_default();
                n.store.postpone_bucket(bucket, later).await?;
                return Ok(false);
            }
        }
    }
    tracing::error!(user = %bucket.user, "no channel could deliver; notification dropped");
    finish(None).await?;
    Ok(false)
}
