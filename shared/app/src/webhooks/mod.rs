//! Webhooks to the org's own systems (PMS, CRM, work orders): facility admins register
//! endpoints for event types, each gets a signing secret shown once (rotatable, both
//! signing during the overlap); every delivery is logged with its attempts and can be
//! delivered again. What is sent and when is in [`deliver`] and [`payload`]; the HTTP
//! attempt and the address rule in [`send`].

pub mod deliver;
pub mod payload;
pub mod send;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use domain::webhook::{
    parse_events, AddressPolicy, DeliveryId, SigningSecret, WebhookEvent, WebhookUrl, MAX_WEBHOOKS,
};
use domain::{policy, DomainError, ErrorCode, OrgId, User, WebhookId};
use store::{Cursor, DeliveryRecord, DeliveryState, Page, SecretRecord, WebhookRecord};

use crate::conversation::millis;
use crate::{App, Error};

pub use deliver::{handle, run_due, Work};

/// What deliveries need, built once per cold start.
#[derive(Clone, Debug)]
pub struct Webhooks {
    pub sender: send::Sender,
    /// The first retry's delay; later ones are multiples (30 s in AWS).
    pub retry_unit: Duration,
    /// The orgs' endpoints, as last read (every event of every org looks; a change this
    /// instance makes is read again at once).
    pub endpoints: crate::org_cache::OrgCache<Vec<WebhookRecord>>,
    /// The webhook queue, for a first retry sooner than the minute schedule; `None` where
    /// the function has none (the schedule still retries).
    pub later: Option<queue::Later>,
}

impl Webhooks {
    pub fn new(policy: AddressPolicy, retry_unit: Duration, cache_ttl: Duration) -> Result<Self, String> {
        Ok(Self {
            sender: send::Sender::new(policy)?,
            retry_unit,
            endpoints: crate::org_cache::OrgCache::with_ttl(cache_ttl),
            later: None,
        })
    }

    pub fn with_later(self, later: queue::Later) -> Self {
        Self { later: Some(later), ..self }
    }

    /// In AWS: https to public addresses only (`WEBHOOKS_ALLOW_LOOPBACK=true` is for a
    /// local run, never set by template.yaml); `WEBHOOK_QUEUE_URL` where first retries
    /// are sent (the webhooks function's own queue).
    pub fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, String> {
        let allow_loopback = std::env::var("WEBHOOKS_ALLOW_LOOPBACK").is_ok_and(|v| v == "true");
        let webhooks =
            Self::new(AddressPolicy { allow_loopback }, Duration::from_secs(30), crate::SETTINGS_TTL)?;
        Ok(match std::env::var("WEBHOOK_QUEUE_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => webhooks.with_later(queue::Later::new(aws_sdk_sqs::Client::new(aws), url)),
            None => webhooks,
        })
    }

    pub fn policy(&self) -> AddressPolicy {
        self.sender.policy()
    }

    async fn endpoints(&self, app: &App, org: &OrgId) -> Result<Vec<WebhookRecord>, store::StoreError> {
        self.endpoints.get(org, app.store.list_webhooks(org)).await
    }
}

/// A new endpoint.
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub include_internal: bool,
}

/// An endpoint with the secret that was just made for it (the only time it is shown).
pub struct WithSecret {
    pub webhook: WebhookRecord,
    pub secret: SigningSecret,
}

/// Registers an endpoint (facility admins; at most [`MAX_WEBHOOKS`] per org).
pub async fn create(app: &App, actor: &User, new: NewWebhook) -> Result<WithSecret, Error> {
    policy::ensure_org_admin(actor)?;
    let url = WebhookUrl::parse(new.url.trim(), app.webhooks.policy())?;
    let events = parse_events(new.events)?;
    let secret = new_secret()?;
    let now = Utc::now();
    let webhook = WebhookRecord {
        id: WebhookId::new_at(millis(now)),
        org: actor.org.clone(),
        url,
        events,
        include_internal: new.include_internal,
        secrets: vec![SecretRecord { secret: secret.clone(), until: None }],
        created_by: actor.id.clone(),
        created_at: now,
        failing_since: None,
        disabled_at: None,
        version: 0,
    };
    if !app.store.add_webhook(&webhook, MAX_WEBHOOKS).await? {
        return Err(DomainError::conflict(
            ErrorCode::TooManyWebhooks,
            format!("an organization has at most {MAX_WEBHOOKS} webhook endpoints"),
        )
        .into());
    }
    app.webhooks.endpoints.forget(&actor.org);
    Ok(WithSecret { webhook, secret })
}

pub async fn list(app: &App, actor: &User) -> Result<Vec<WebhookRecord>, Error> {
    policy::ensure_org_admin(actor)?;
    Ok(app.store.list_webhooks(&actor.org).await?)
}

/// The endpoint `id` of the actor's org (facility admins).
async fn find(app: &App, actor: &User, id: &WebhookId) -> Result<WebhookRecord, Error> {
    policy::ensure_org_admin(actor)?;
    Ok(app.store.get_webhook(&actor.org, id).await?.ok_or(DomainError::NotFound("webhook"))?)
}

pub async fn delete(app: &App, actor: &User, id: WebhookId) -> Result<(), Error> {
    find(app, actor, &id).await?;
    if !app.store.delete_webhook(&actor.org, &id).await? {
        return Err(DomainError::NotFound("webhook").into());
    }
    app.webhooks.endpoints.forget(&actor.org);
    Ok(())
}

/// A new secret signs from now; the previous one signs too for
/// [`ROTATION_OVERLAP`](domain::webhook::ROTATION_OVERLAP), so receivers can switch without
/// losing a delivery (any older one stops: two at most).
pub async fn rotate(app: &App, actor: &User, id: WebhookId) -> Result<WithSecret, Error> {
    let secret = new_secret()?;
    change(app, actor, &id, |webhook, now| webhook.rotate(secret.clone(), now))
        .await
        .map(|webhook| WithSecret { webhook, secret })
}

/// Sends to a disabled endpoint again (what it missed can be redelivered from its log).
pub async fn enable(app: &App, actor: &User, id: WebhookId) -> Result<WebhookRecord, Error> {
    change(app, actor, &id, |webhook, _| {
        webhook.disabled_at = None;
        webhook.failing_since = None;
    })
    .await
}

/// Applies `edit` to the endpoint, again on a fresh read if it changed meanwhile.
async fn change(
    app: &App,
    actor: &User,
    id: &WebhookId,
    edit: impl Fn(&mut WebhookRecord, chrono::DateTime<Utc>),
) -> Result<WebhookRecord, Error> {
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let mut webhook = find(app, actor, id).await?;
        edit(&mut webhook, Utc::now());
        if app.store.save_webhook(&webhook).await? {
            webhook.version += 1;
            app.webhooks.endpoints.forget(&actor.org);
            return Ok(webhook);
        }
    }
    Err(store::StoreError::Contention.into())
}

/// The endpoint's deliveries, newest first.
pub async fn deliveries(
    app: &App,
    actor: &User,
    id: WebhookId,
    cursor: Option<&Cursor>,
    limit: i32,
) -> Result<Page<DeliveryRecord>, Error> {
    find(app, actor, &id).await?;
    Ok(app.store.list_deliveries(&actor.org, &id, cursor, limit).await?)
}

/// Sends a delivered or failed delivery again, with the same id and body, from the start
/// of the retry schedule (the schedule picks it up within a minute). 409 while it is still
/// being tried or its endpoint is disabled.
pub async fn redeliver(
    app: &App,
    actor: &User,
    id: WebhookId,
    delivery_id: DeliveryId,
) -> Result<DeliveryRecord, Error> {
    let webhook = find(app, actor, &id).await?;
    if webhook.disabled_at.is_some() {
        return Err(DomainError::conflict(ErrorCode::WebhookDisabled, "enable the endpoint first").into());
    }
    let mut delivery = app
        .store
        .get_delivery(&actor.org, &id, &delivery_id)
        .await?
        .ok_or(DomainError::NotFound("delivery"))?;
    if delivery.state == DeliveryState::Pending {
        return Err(
            DomainError::conflict(ErrorCode::DeliveryPending, "this delivery is still being tried").into()
        );
    }
    delivery.state = DeliveryState::Pending;
    delivery.series_attempts = 0;
    delivery.next_at = Some(Utc::now());
    if !app.store.save_delivery(&actor.org, &delivery, None).await? {
        return Err(DomainError::conflict(ErrorCode::DeliveryPending, "this delivery is being tried").into());
    }
    Ok(delivery)
}

/// `whsec_` and the base64 of 32 bytes from the OS's random source.
fn new_secret() -> Result<SigningSecret, Error> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(Error::Random)?;
    Ok(SigningSecret::from_base64_key(&STANDARD.encode(key)))
}
