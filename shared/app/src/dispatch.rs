//! The dispatcher: sends each recipient's due notifications as one message, or one digest,
//! on their first channel that works, outside their quiet hours unless something is urgent,
//! within the paid-channel cap, each channel's text bounded, all by a deadline. A
//! notification no channel takes is recorded as failed, never as sent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::notify::{render, Channel, PendingNotification};
use domain::MessageId;
use futures::stream::{self, StreamExt};
use store::{Attempt, Delivery, DueBucket, FailedNotification, Outcome, Settle, Store, MAX_SETTLED};
use tokio::time::Instant;

use crate::links::{self, LinkClaim, LinkKey, Purpose};
use crate::{paid, WorkError};
use channels::{fit, Outgoing, Providers, SendError};

/// What sending notifications needs: the notifier and the dispatcher share it.
#[derive(Debug, Clone)]
pub struct Notifier {
    pub store: Store,
    pub providers: Providers,
    /// Links in notifications point here (`{app_url}/threads/{id}`).
    pub app_url: String,
    /// Notifications to one recipient within this window go out together, as a digest.
    pub digest_window: Duration,
    /// The orgs' categories, as last read (which need consent).
    pub categories: CategoryCache,
    /// Signs the unsubscribe links of messages that need consent.
    pub links: Option<LinkKey>,
}

/// The orgs' categories, read at most once a minute per function instance.
pub type CategoryCache = crate::org_cache::OrgCache<Vec<domain::category::Category>>;

/// How a text in a category that needs consent says how to stop.
const SMS_STOP: &str = "\nOr reply STOP.";

/// After a transient provider outage, try the recipient again this much later.
const RETRY_LATER: Duration = Duration::from_secs(30);
const BUCKETS_PER_RUN: i32 = 100;
/// Recipients dispatched at once: one whose provider stalls holds up no one else.
const CONCURRENCY: usize = 8;
/// How long a dispatcher holds a bucket while it sends.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// Sends every due bucket once, starting none after `deadline`. Returns how many
/// deliveries went out; buckets not reached stay due for the next run.
pub async fn run(n: &Notifier, now: DateTime<Utc>, deadline: Instant) -> Result<usize, WorkError> {
    let due = n.store.due_buckets(now, BUCKETS_PER_RUN).await?;
    let sent = stream::iter(due)
        .map(|bucket| async move {
            if Instant::now() >= deadline {
                return false;
            }
            match bucket_now(n, &bucket, now, deadline).await {
                Ok(sent) => sent,
                Err(e) => {
                    tracing::warn!(user = %bucket.user, error = ?e, "dispatch failed; will retry");
                    false
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|sent| std::future::ready(*sent))
        .count()
        .await;
    Ok(sent)
}

/// Dispatches one recipient's due bucket unless another dispatcher holds it. `Ok(true)`:
/// a provider accepted a delivery.
pub async fn bucket_now(
    n: &Notifier,
    bucket: &DueBucket,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<bool, WorkError> {
    // As claimed: its count and floor now, not as listed a while ago.
    let Some(bucket) = n.store.claim_bucket(bucket, now, now + LEASE).await? else {
        return Ok(false);
    };
    let bucket = &bucket;
    // Postponed, or gone and made again, since it was listed: not due yet.
    if bucket.due > now.max(Utc::now()) {
        n.store.release_bucket(bucket).await?;
        return Ok(false);
    }
    let read = n.store.pending_notifications(bucket, MAX_SETTLED + 1, false).await?;
    // More than one delivery settles: this one takes the oldest, the bucket stays due.
    let more = read.len() > MAX_SETTLED;
    let pending: Vec<PendingNotification> = read.iter().take(MAX_SETTLED).cloned().collect();
    let again = more.then_some(now);
    // The oldest of those read that a settle of `settled` leaves waiting.
    let rest = |settled: &[PendingNotification]| {
        read.iter().map(|p| p.message_id).filter(|id| settled.iter().all(|s| s.message_id != *id)).min()
    };
    if pending.is_empty() {
        let settle =
            Settle { settled: &[], outcome: Outcome::Dropped, allowance: None, next_due: None, rest: None };
        n.store.settle(bucket, &settle).await?;
        return Ok(false);
    }
    let Some(prefs) = n.store.recipient_preferences(&bucket.org, &bucket.user).await? else {
        let rest = rest(&pending);
        let settle =
            Settle { settled: &pending, outcome: Outcome::Dropped, allowance: None, next_due: again, rest };
        n.store.settle(bucket, &settle).await?;
        return Ok(false);
    };
    // In quiet hours only urgent notifications go out; the rest wait for the end.
    let hold_until = prefs.quiet_hours.as_ref().filter(|q| q.is_quiet(now)).map(|q| q.end_after(now));
    let (pending, next_due): (Vec<PendingNotification>, _) = match hold_until {
        Some(until) => {
            let mut urgent: Vec<_> = pending.into_iter().filter(|p| p.urgent).collect();
            if urgent.is_empty() && more {
                // Held ones fill the first page; an urgent one may wait behind them.
                urgent = n.store.pending_notifications(bucket, MAX_SETTLED, true).await?;
            }
            if urgent.is_empty() {
                n.store.postpone_bucket(bucket, until).await?;
                return Ok(false);
            }
            (urgent, Some(if more { now } else { until }))
        }
        None => (pending, again),
    };
    let rest = rest(&pending);
    let rendered = render(&pending, &n.app_url);
    let more_link = match pending.as_slice() {
        [first, rest @ ..] if rest.iter().all(|p| p.thread_id == first.thread_id) => {
            format!("{}/threads/{}", n.app_url, first.thread_id)
        }
        _ => format!("{}/threads", n.app_url),
    };
    let unsubscribe = unsubscribe_links(n, bucket, &pending, now)?;
    let links_footer: String =
        unsubscribe.iter().map(|url| format!("\n\nTo stop messages like this: {url}")).collect();
    let newest = pending.iter().map(|p| p.message_id).max().unwrap_or_else(|| MessageId::new_at(0));
    let key = format!("{}:{}", bucket.user, newest);
    let mut attempts = Vec::new();
    // A page (an emergency) goes on every channel, whatever the paid-channel cap.
    let paging = pending.iter().any(|p| p.page);
    let mut paged: Option<Delivery> = None;
    let mut provider_down = false;
    for ca in &prefs.channels {
        let allowance = if paid::is_paid(ca.channel) && !paging {
            let left = n.store.paid_allowance(&bucket.org, &bucket.user).await?;
            match paid::spend(n.providers.paid_per_hour(), left, now) {
                Ok(after) => Some(after),
                Err(next) => {
                    // Over the cap: what waits until then goes out as one digest.
                    tracing::info!(user = %bucket.user, channel = ?ca.channel, %next, "paid-channel cap reached; holding for a digest");
                    n.store.postpone_bucket(bucket, next).await?;
                    return Ok(false);
                }
            }
        } else {
            None
        };
        // A text may also be answered STOP (the provider's webhook honours it).
        let footer = match ca.channel {
            Channel::Sms if !unsubscribe.is_empty() => format!("{links_footer}{SMS_STOP}"),
            _ => links_footer.clone(),
        };
        let text = fit::fit_with_footer(ca.channel, &rendered.title, &rendered.text, &more_link, &footer);
        let out = Outgoing {
            to: &ca.address,
            title: &rendered.title,
            text: &text,
            idempotency_key: &key,
            unsubscribe: unsubscribe.first().map(String::as_str),
        };
        if ca.channel == Channel::Sms {
            // Before the text goes: a STOP reply to it must find whom it withdraws.
            let categories: Vec<String> = pending.iter().filter_map(|p| p.consent_category.clone()).collect();
            n.store.record_texted(&ca.address, &bucket.org, &bucket.user, &categories).await?;
        }
        match n.providers.send_within(ca.channel, &out, deadline).await {
            Ok(()) => {
                let delivery = Delivery {
                    channel: ca.channel,
                    to: ca.address.clone(),
                    user_id: bucket.user.clone(),
                    thread_id: pending.last().map(|p| p.thread_id),
                    message_id: Some(newest),
                    message_ids: pending.iter().map(|p| p.message_id).collect(),
                    body: text,
                    sent_at: Utc::now(),
                };
                if paging {
                    tracing::info!(user = %bucket.user, channel = ?ca.channel, "paged");
                    paged.get_or_insert(delivery);
                    continue;
                }
                let outcome = Outcome::Delivered(&delivery);
                n.store
                    .settle(bucket, &Settle { settled: &pending, outcome, allowance, next_due, rest })
                    .await?;
                return Ok(true);
            }
            Err(SendError::Permanent(e)) => {
                tracing::warn!(user = %bucket.user, channel = ?ca.channel, error = %e, "channel refused; trying the next");
                attempts.push(Attempt { channel: ca.channel, to: ca.address.clone(), reason: e });
            }
            Err(SendError::OutOfTime) if paged.is_some() => break,
            Err(SendError::Transient(e)) if paging => {
                tracing::warn!(user = %bucket.user, channel = ?ca.channel, error = %e, "provider down; paging on the next channel");
                provider_down = true;
                attempts.push(Attempt { channel: ca.channel, to: ca.address.clone(), reason: e });
            }
            Err(SendError::OutOfTime) => {
                // Nothing was tried: leave it due for the next dispatcher.
                n.store.postpone_bucket(bucket, now).await?;
                return Ok(false);
            }
            Err(SendError::Transient(e)) => {
                tracing::warn!(user = %bucket.user, channel = ?ca.channel, error = %e, "provider down; retrying later");
                let later = now + chrono::Duration::from_std(RETRY_LATER).unwrap_or_default();
                n.store.postpone_bucket(bucket, later).await?;
                return Ok(false);
            }
        }
    }
    if let Some(delivery) = &paged {
        let outcome = Outcome::Delivered(delivery);
        n.store
            .settle(bucket, &Settle { settled: &pending, outcome, allowance: None, next_due, rest })
            .await?;
        return Ok(true);
    }
    if provider_down {
        // A page no channel took while a provider was down is tried again soon.
        let later = now + chrono::Duration::from_std(RETRY_LATER).unwrap_or_default();
        n.store.postpone_bucket(bucket, later).await?;
        return Ok(false);
    }
    let failed = FailedNotification {
        user_id: bucket.user.clone(),
        thread_id: pending.last().map(|p| p.thread_id),
        message_ids: pending.iter().map(|p| p.message_id).collect(),
        attempts,
        failed_at: Utc::now(),
    };
    tracing::error!(
        user = %bucket.user,
        messages = failed.message_ids.len(),
        channels_tried = failed.attempts.len(),
        "no channel could deliver; notification recorded as failed"
    );
    let settle =
        Settle { settled: &pending, outcome: Outcome::Failed(&failed), allowance: None, next_due, rest };
    n.store.settle(bucket, &settle).await?;
    Ok(false)
}

/// One unsubscribe link per category of the delivery that needs the recipient's consent.
fn unsubscribe_links(
    n: &Notifier,
    bucket: &DueBucket,
    pending: &[PendingNotification],
    now: DateTime<Utc>,
) -> Result<Vec<String>, WorkError> {
    let categories: std::collections::BTreeSet<&String> =
        pending.iter().filter_map(|p| p.consent_category.as_ref()).collect();
    if categories.is_empty() {
        return Ok(vec![]);
    }
    // A message that needs consent never goes without its link.
    let key = n
        .links
        .as_ref()
        .ok_or_else(|| WorkError::UseCase(Box::new(crate::Error::Unconfigured("LINK_KEY"))))?;
    Ok(categories
        .into_iter()
        .map(|category| {
            let claim = LinkClaim {
                purpose: Purpose::Unsubscribe,
                org: bucket.org.clone(),
                contact: bucket.user.clone(),
                category_id: category.clone(),
                campaign: None,
                day: links::day(now),
            };
            links::url(&crate::config::links_url(&n.app_url), Purpose::Unsubscribe, &key.seal(&claim))
        })
        .collect())
}
