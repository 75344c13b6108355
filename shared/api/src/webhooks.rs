//! Webhook routes (facility admins): endpoints, their secrets, their delivery logs. What is
//! delivered, how it is signed and retried is in `app::webhooks`.

use app::webhooks::{self, NewWebhook, WithSecret};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::webhook::WebhookEvent;
use domain::{UserId, WebhookId};
use serde::{Deserialize, Serialize};
use store::{DeliveryRecord, WebhookRecord};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound, UnprocessableEntity};
use crate::extract::{DeliveryPath, JsonBody, ListParams, WebhookPath};
use crate::views::DeliveryPage;
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete))
        .routes(routes!(rotate))
        .routes(routes!(enable))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// A webhook endpoint. The secret is only in the answers that made it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Webhook)]
struct WebhookView {
    id: WebhookId,
    url: String,
    events: Vec<WebhookEvent>,
    include_internal: bool,
    created_by: UserId,
    created_at: DateTime<Utc>,
    /// Every delivery since then failed.
    failing_since: Option<DateTime<Utc>>,
    /// Disabled after failing 3 days; `POST /v1/webhooks/{id}/enable` sends again. What it
    /// misses meanwhile is in its delivery log as failed, to redeliver.
    disabled_at: Option<DateTime<Utc>>,
    /// `whsec_…`: shown once, when made or rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl From<WebhookRecord> for WebhookView {
    fn from(w: WebhookRecord) -> Self {
        Self {
            id: w.id,
            url: w.url.as_str().to_owned(),
            events: w.events,
            include_internal: w.include_internal,
            created_by: w.created_by,
            created_at: w.created_at,
            failing_since: w.failing_since,
            disabled_at: w.disabled_at,
            secret: None,
        }
    }
}

impl From<WithSecret> for WebhookView {
    fn from(w: WithSecret) -> Self {
        Self { secret: Some(w.secret.expose().to_owned()), ..w.webhook.into() }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookList {
    items: Vec<WebhookView>,
    /// Always null: an org has at most 10 endpoints.
    next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateWebhook {
    /// `https://` to a public address (locally, `http://` to loopback too); at most 2,048
    /// characters, no credentials.
    #[schema(max_length = 2048)]
    url: String,
    /// At least one.
    #[schema(min_items = 1)]
    events: Vec<WebhookEvent>,
    /// Whether internal notes are delivered (`message.created` with `internal: true`).
    #[serde(default)]
    include_internal: bool,
}

/// Webhook endpoints
///
/// Facility admins only (403 admin_only).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    responses((status = 200, description = "The org's endpoints.", body = WebhookList)))]
async fn list(State(app): State<AppState>, Actor(actor): Actor) -> Result<impl IntoResponse, ApiError> {
    let items = webhooks::list(&app, &actor).await?.into_iter().map(WebhookView::from).collect();
    // A receiver's URL may carry its own token (`?token=…`): never kept by the browser.
    Ok((crate::etag::NEVER_KEPT, Json(WebhookList { items, next_cursor: None })))
}

/// Register a webhook endpoint
///
/// Facility admins only. Each event of the chosen types is POSTed as `{type, timestamp,
/// data}`, signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`) with the `secret` of the answer, shown this once. 422
/// `invalid_url` (not https, credentials, malformed), `forbidden_address` (private,
/// loopback, link-local or metadata address), `invalid_events`; 409 `too_many_webhooks`
/// past 10.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", operation_id = "createWebhook",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "The endpoint, with its secret.", body = WebhookView),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
    ))]
async fn create(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(req): JsonBody<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let new = NewWebhook { url: req.url, events: req.events, include_internal: req.include_internal };
    Ok((StatusCode::CREATED, Json(webhooks::create(&app, &actor, new).await?.into())))
}

/// Remove a webhook endpoint
///
/// Nothing more is sent to it, retries included.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", operation_id = "deleteWebhook",
    params(WebhookPath),
    responses((status = 204, description = "Removed."), (status = 404, response = NotFound)))]
async fn delete(
    State(app): State<AppState>,
    Actor(actor): Actor,
    WebhookPath(id): WebhookPath,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&app, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a webhook's secret
///
/// A new secret signs from now (shown this once); the previous one signs as well for 24
/// hours, so each delivery carries both signatures meanwhile.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate", tag = "webhooks", operation_id = "rotateWebhookSecret",
    params(WebhookPath),
    responses((status = 200, description = "The endpoint, with its new secret.", body = WebhookView),
        (status = 404, response = NotFound)))]
async fn rotate(
    State(app): State<AppState>,
    Actor(actor): Actor,
    WebhookPath(id): WebhookPath,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(webhooks::rotate(&app, &actor, id).await?.into()))
}

/// Enable a disabled webhook
///
/// An endpoint failing for 3 days is disabled (its admin is e-mailed); this sends to it
/// again. What it missed can be redelivered from its log.
#[utoipa::path(post, path = "/v1/webhooks/{id}/enable", tag = "webhooks", operation_id = "enableWebhook",
    params(WebhookPath),
    responses((status = 200, description = "The endpoint.", body = WebhookView), (status = 404, response = NotFound)))]
async fn enable(
    State(app): State<AppState>,
    Actor(actor): Actor,
    WebhookPath(id): WebhookPath,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(webhooks::enable(&app, &actor, id).await?.into()))
}

/// A webhook's delivery log
///
/// Newest first, kept 30 days: each delivery's body as sent, state (`pending`,
/// `delivered`, `failed`), attempts (status or error, time) and next attempt.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "listWebhookDeliveries",
    params(WebhookPath, ListParams),
    responses((status = 200, description = "A page of deliveries.", body = DeliveryPage),
        (status = 404, response = NotFound)))]
async fn deliveries(
    State(app): State<AppState>,
    Actor(actor): Actor,
    WebhookPath(id): WebhookPath,
    params: ListParams,
) -> Result<Json<DeliveryPage>, ApiError> {
    let page = webhooks::deliveries(&app, &actor, id, params.cursor.as_ref(), params.limit).await?;
    Ok(Json(DeliveryPage::from_page(page, |d: DeliveryRecord| d)))
}

/// Deliver again
///
/// The same id and body, from the start of the retry schedule; tried within a minute.
/// 409 `delivery_pending` while it is still being tried, `webhook_disabled` when the
/// endpoint is disabled.
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    operation_id = "redeliverWebhook",
    params(DeliveryPath),
    responses((status = 202, description = "The delivery, pending.", body = DeliveryRecord),
        (status = 404, response = NotFound), (status = 409, response = Conflict)))]
async fn redeliver(
    State(app): State<AppState>,
    Actor(actor): Actor,
    DeliveryPath(id, delivery): DeliveryPath,
) -> Result<(StatusCode, Json<DeliveryRecord>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(webhooks::redeliver(&app, &actor, id, delivery).await?)))
}
