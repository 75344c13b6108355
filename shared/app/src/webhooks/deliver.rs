//! Deliveries: the webhook consumer makes one per event part and endpoint that wants it and
//! tries it at once; the minute schedule tries again what failed, with exponential backoff
//! and jitter for more than a day (`domain::webhook::retry_delay`), sooner never than a
//! receiver's `Retry-After`. Whoever tries a delivery holds it first (its `next_at` moved
//! past the attempt), so one retry is one attempt however many runs see it due. An endpoint
//! failing for [`DISABLE_AFTER`] is disabled and its admin told by e-mail.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::events::OutboxEvent;
use domain::notify::Channel;
use domain::webhook::{retry_delay, DeliveryId, Verdict, DISABLE_AFTER};
use domain::{AccountState, OrgId, Role, User, WebhookId};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use store::{AttemptRecord, DeliveryRecord, DeliveryState, DueDelivery, WebhookRecord};
use tokio::time::Instant;

use super::payload;
use crate::{App, WorkError};

/// How long whoever tries a delivery holds it: more than an attempt and its writes.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// Deliveries tried at once.
const CONCURRENCY: usize = 8;
const DUE_PER_RUN: i32 = 100;
/// Nothing new is tried with less than this left before the deadline.
const ATTEMPT_ROOM: Duration = Duration::from_secs(12);
/// Facility admins are read from at most this many pages of contacts (500 each).
const ADMIN_PAGES: usize = 20;

/// What the webhook queue carries: domain events, and first retries sent to itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Work {
    Retry { retry: RetryRef },
    Event(OutboxEvent),
}

/// A delivery to try again if it is still due.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetryRef {
    pub org: OrgId,
    pub webhook_id: WebhookId,
    pub delivery_id: DeliveryId,
}

/// The consumer.
pub async fn handle(app: &App, work: Work, deadline: Instant) -> Result<(), WorkError> {
    match work {
        Work::Event(event) => deliveries(app, event, deadline).await,
        Work::Retry { retry: at } => {
            if Instant::now() + ATTEMPT_ROOM > deadline {
                // Untouched, it stays due: the schedule tries it.
                return Ok(());
            }
            let Some(delivery) = app.store.get_delivery(&at.org, &at.webhook_id, &at.delivery_id).await?
            else {
                return Ok(());
            };
            // Still waiting for this retry (not taken by the schedule, not put off by a
            // Retry-After): try it now.
            let due = delivery.state == DeliveryState::Pending
                && delivery.next_at.is_some_and(|at| at <= Utc::now() + chrono::Duration::seconds(2));
            if due {
                retry(app, DueDelivery { org: at.org, delivery }).await?;
            }
            Ok(())
        }
    }
}

/// The deliveries `event` makes, tried once each by `deadline` (the rest are left due for
/// the schedule). Orgs where nobody subscribes cost no read but the cached list; where
/// someone may, the endpoints are read again (strongly consistent), so that one deleted,
/// disabled or changed within the cache's minute is taken as it is now.
async fn deliveries(app: &App, event: OutboxEvent, deadline: Instant) -> Result<(), WorkError> {
    let parts = payload::parts(&event);
    if parts.is_empty() {
        return Ok(());
    }
    let anyone_wants = |endpoints: &[WebhookRecord]| {
        parts.iter().any(|p| endpoints.iter().any(|w| w.wants(p.event, p.internal)))
    };
    if !anyone_wants(&app.webhooks.endpoints(app, &event.org).await?) {
        return Ok(());
    }
    let endpoints = app.store.list_webhooks(&event.org).await?;
    if !anyone_wants(&endpoints) {
        return Ok(());
    }
    let Some(view) = app.store.load_thread(&event.org, &event.thread_id).await? else {
        // Deleted by retention meanwhile: nothing left to tell.
        return Ok(());
    };
    let mut messages = HashMap::new();
    for id in parts.iter().filter_map(|p| p.message) {
        let message = app.store.get_message(&event.org, &event.thread_id, &id).await?;
        messages.insert(id, message.ok_or(WorkError::MissingMessage(id))?);
    }
    let now = Utc::now();
    let mut made = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let message = part.message.and_then(|id| messages.get(&id));
        let body = payload::body(&event, part, &view.thread, message);
        for webhook in endpoints.iter().filter(|w| w.wants(part.event, part.internal)) {
            let mut delivery = DeliveryRecord {
                id: DeliveryId::new(event.id, index),
                webhook_id: webhook.id,
                event: part.event,
                thread_id: event.thread_id,
                created_at: now,
                body: body.clone(),
                state: DeliveryState::Pending,
                attempt_count: 0,
                series_attempts: 0,
                attempts: vec![],
                next_at: Some(now + LEASE),
            };
            if webhook.disabled_at.is_some() {
                refuse_disabled(&mut delivery, now);
            }
            // Made before: a redelivered event; the schedule tries it if still due.
            if app.store.create_delivery(&event.org, &delivery).await?
                && delivery.state == DeliveryState::Pending
            {
                made.push((webhook.clone(), delivery));
            }
        }
    }
    let org = &event.org;
    let tried = stream::iter(made)
        .map(|(webhook, delivery)| async move {
            let held = delivery.next_at;
            if Instant::now() + ATTEMPT_ROOM > deadline {
                // Left for the schedule, due now.
                let mut later = delivery;
                later.next_at = Some(Utc::now());
                return app.store.save_delivery(org, &later, held).await.map(|_| ());
            }
            attempt(app, org, &webhook, delivery, held).await
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    tried.into_iter().collect::<Result<(), _>>().map_err(WorkError::from)
}

/// The schedule: every delivery due at `now`, held and tried, none started after
/// `deadline`. Returns how many were tried.
pub async fn run_due(app: &App, now: DateTime<Utc>, deadline: Instant) -> Result<usize, WorkError> {
    let due = app.store.due_deliveries(now, DUE_PER_RUN).await?;
    let tried = stream::iter(due)
        .map(|due| async move {
            if Instant::now() + ATTEMPT_ROOM > deadline {
                return false;
            }
            match retry(app, due).await {
                Ok(tried) => tried,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook retry failed; it stays due");
                    false
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|tried| std::future::ready(*tried))
        .count()
        .await;
    Ok(tried)
}

/// Holds a due delivery and tries it; `Ok(false)` when someone else held it first.
async fn retry(app: &App, due: DueDelivery) -> Result<bool, WorkError> {
    let DueDelivery { org, mut delivery } = due;
    let seen = delivery.next_at;
    let held = Utc::now() + LEASE;
    delivery.next_at = Some(held);
    if !app.store.save_delivery(&org, &delivery, seen).await? {
        return Ok(false);
    }
    let Some(webhook) = app.store.get_webhook(&org, &delivery.webhook_id).await? else {
        // The endpoint was deleted: nothing more to try.
        delivery.state = DeliveryState::Failed;
        delivery.next_at = None;
        app.store.save_delivery(&org, &delivery, Some(held)).await?;
        return Ok(false);
    };
    attempt(app, &org, &webhook, delivery, Some(held)).await?;
    Ok(true)
}

/// One attempt of a delivery the caller holds (its `next_at` is `held`), recorded with
/// what comes next; the endpoint's health follows.
async fn attempt(
    app: &App,
    org: &OrgId,
    webhook: &WebhookRecord,
    mut delivery: DeliveryRecord,
    held: Option<DateTime<Utc>>,
) -> Result<(), store::StoreError> {
    let started = Utc::now();
    if webhook.disabled_at.is_some() {
        refuse_disabled(&mut delivery, started);
        app.store.save_delivery(org, &delivery, held).await?;
        return Ok(());
    }
    let secrets: Vec<_> = webhook.signing_secrets(started).collect();
    let clock = Instant::now();
    let answer = app
        .webhooks
        .sender
        .post(webhook.url.as_str(), delivery.id.as_str(), &delivery.body, &secrets, started)
        .await;
    delivery.record(AttemptRecord {
        at: started,
        status: answer.status,
        error: answer.error.clone(),
        duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    delivery.series_attempts += 1;
    let verdict = Verdict::of(answer.status);
    (delivery.state, delivery.next_at) = match verdict {
        Verdict::Delivered => (DeliveryState::Delivered, None),
        Verdict::Final => (DeliveryState::Failed, None),
        Verdict::Retry => match retry_delay(delivery.series_attempts, app.webhooks.retry_unit) {
            Some(delay) => {
                let wait = jittered(delay).max(answer.retry_after.unwrap_or_default());
                (DeliveryState::Pending, Some(Utc::now() + chrono::Duration::from_std(wait).unwrap_or(LEASE)))
            }
            None => (DeliveryState::Failed, None),
        },
    };
    if !app.store.save_delivery(org, &delivery, held).await? {
        tracing::warn!(delivery = %delivery.id, "a delivery was taken over while it was tried");
    } else if delivery.series_attempts == 1 {
        first_retry(app, org, &delivery).await;
    }
    health(app, webhook, verdict == Verdict::Delivered, started).await
}

/// Logs a delivery to a disabled endpoint as failed, with no call made, so that it can be
/// redelivered from the log once the endpoint is enabled again.
fn refuse_disabled(delivery: &mut DeliveryRecord, at: DateTime<Utc>) {
    delivery.record(AttemptRecord {
        at,
        status: None,
        error: Some("the endpoint is disabled".into()),
        duration_ms: 0,
    });
    delivery.state = DeliveryState::Failed;
    delivery.next_at = None;
}

/// Sends the first retry to the queue, due when the delivery is, so it comes within a
/// minute rather than at the schedule's next run after that. Logged if it cannot: the
/// schedule retries it anyway.
async fn first_retry(app: &App, org: &OrgId, delivery: &DeliveryRecord) {
    let (Some(later), Some(at)) = (&app.webhooks.later, delivery.next_at) else { return };
    if delivery.state != DeliveryState::Pending {
        return;
    }
    let retry = Work::Retry {
        retry: RetryRef {
            org: org.clone(),
            webhook_id: delivery.webhook_id,
            delivery_id: delivery.id.clone(),
        },
    };
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    if let Err(e) = later.send(&retry, wait).await {
        tracing::warn!(error = %e, delivery = %delivery.id, "first retry left to the schedule");
    }
}

/// `delay` moved by up to a fifth either way, from the OS's random source, so endpoints
/// that failed together are not retried together.
fn jittered(delay: Duration) -> Duration {
    let mut byte = [0u8; 2];
    let spread = match getrandom::fill(&mut byte) {
        Ok(()) => f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX),
        Err(_) => 0.5,
    };
    delay.mul_f64(0.8 + 0.4 * spread)
}

/// Keeps the endpoint's failing clock: cleared by a success, started by a failure, and
/// past [`DISABLE_AFTER`] the endpoint is disabled and its admin told. Decided first on
/// `seen`, the endpoint as the attempt had it: most attempts change nothing and cost no
/// read; a change is decided again on a fresh read and written conditioned on it.
async fn health(
    app: &App,
    seen: &WebhookRecord,
    delivered: bool,
    at: DateTime<Utc>,
) -> Result<(), store::StoreError> {
    if after_attempt(seen, delivered, at).is_none() {
        return Ok(());
    }
    for _ in 0..3 {
        let Some(webhook) = app.store.get_webhook(&seen.org, &seen.id).await? else { return Ok(()) };
        let Some(next) = after_attempt(&webhook, delivered, at) else { return Ok(()) };
        if app.store.save_webhook(&next).await? {
            if next.disabled_at.is_some() {
                tell_admin(app, &next).await;
            }
            return Ok(());
        }
    }
    Ok(())
}

/// The endpoint as an attempt at `at` leaves it, if that changes it.
fn after_attempt(webhook: &WebhookRecord, delivered: bool, at: DateTime<Utc>) -> Option<WebhookRecord> {
    if webhook.disabled_at.is_some() {
        return None;
    }
    let mut next = webhook.clone();
    match (delivered, webhook.failing_since) {
        (true, None) => return None,
        (true, Some(_)) => next.failing_since = None,
        (false, None) => next.failing_since = Some(at),
        (false, Some(since)) if at - since >= DISABLE_AFTER => next.disabled_at = Some(at),
        (false, Some(_)) => return None,
    }
    Some(next)
}

/// E-mails that the endpoint was disabled (logged if that fails: the endpoint shows
/// `disabled_at` in the API either way). The URL is shown without its query, which can
/// carry a token.
async fn tell_admin(app: &App, webhook: &WebhookRecord) {
    let admins = match admins_to_tell(app, webhook).await {
        Ok(admins) => admins,
        Err(e) => {
            tracing::warn!(error = %e, webhook = %webhook.id, "the admins to tell could not be read");
            return;
        }
    };
    let since = webhook.failing_since.map(|s| s.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
    let text = format!(
        "Every delivery to your webhook endpoint {} has failed since {since}, so it was disabled and \
         receives nothing more. Fix the endpoint, then enable it again (POST /v1/webhooks/{}/enable) \
         and redeliver what it missed from its delivery log.",
        webhook.url.redacted(),
        webhook.id
    );
    for admin in admins {
        let Some(to) = admin.email.as_deref() else { continue };
        let key = format!("webhook-disabled-{}-{}-{}", webhook.id, webhook.version, admin.id);
        let out = channels::Outgoing {
            to,
            title: "A webhook endpoint was disabled",
            text: &text,
            idempotency_key: &key,
            unsubscribe: None,
        };
        if let Err(e) = app.providers.send(Channel::Email, &out).await {
            tracing::warn!(error = %e, webhook = %webhook.id, "an admin of a disabled webhook was not told");
        }
    }
}

/// Whom a disabled endpoint is told to: the admin who registered it while they are an
/// active facility admin, else the org's active facility admins (a filtered Query of the
/// contact list, not a Scan), else nobody.
async fn admins_to_tell(app: &App, webhook: &WebhookRecord) -> Result<Vec<User>, store::StoreError> {
    let active_admin = |u: &User| u.role == Role::FacilityAdmin && u.state == AccountState::Active;
    match app.store.get_user(&webhook.org, &webhook.created_by).await? {
        Some(creator) if active_admin(&creator) => Ok(vec![creator]),
        _ => app.store.facility_admins(&webhook.org, ADMIN_PAGES).await,
    }
}

#[cfg(test)]
mod tests {
    use domain::webhook::{AddressPolicy, WebhookUrl};
    use domain::UserId;

    use super::*;

    fn endpoint(failing_since: Option<DateTime<Utc>>) -> WebhookRecord {
        WebhookRecord {
            id: WebhookId::new_at(1_000),
            org: OrgId::parse("demo").unwrap(),
            url: WebhookUrl::parse("https://pms.example.com/", AddressPolicy::default()).unwrap(),
            events: vec![],
            include_internal: false,
            secrets: vec![],
            created_by: UserId::parse("admin-1").unwrap(),
            created_at: Utc::now(),
            failing_since,
            disabled_at: None,
            version: 0,
        }
    }

    #[test]
    fn only_a_change_of_health_needs_the_endpoint_read_and_written() {
        let now = Utc::now();
        let failing = endpoint(Some(now - chrono::Duration::hours(1)));
        assert_eq!(after_attempt(&endpoint(None), true, now), None);
        assert_eq!(after_attempt(&failing, false, now), None);
        assert_eq!(after_attempt(&endpoint(None), false, now).unwrap().failing_since, Some(now));
        assert_eq!(after_attempt(&failing, true, now).unwrap().failing_since, None);
        let past = endpoint(Some(now - DISABLE_AFTER));
        assert_eq!(after_attempt(&past, false, now).unwrap().disabled_at, Some(now));
    }
}
