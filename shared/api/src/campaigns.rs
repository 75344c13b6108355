//! Campaigns (facility admins): consent requests and message campaigns, run by the campaign
//! schedule. What may be done is in `app::campaigns`.

use app::campaigns::{self, NewCampaign};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::campaign::{Audience, CampaignKind, CampaignStatus, Counts};
use domain::{CampaignId, DomainError, ErrorCode, MessageBody, Subject, Topic, UserId};
use serde::{Deserialize, Serialize};
use store::CampaignRecord;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound};
use crate::extract::{CampaignPath, IdempotencyKey, JsonBody, ListParams};
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show)).routes(routes!(cancel))
}

/// A campaign as admins see it, with its live counts.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CampaignBody {
    id: CampaignId,
    kind: CampaignKind,
    category_id: String,
    audience: Audience,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<Subject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<MessageBody>,
    /// A message campaign's conversations' topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<Topic>,
    /// Who a consent request says it is from.
    sender_name: String,
    status: CampaignStatus,
    /// When it starts (or started).
    send_at: DateTime<Utc>,
    counts: Counts,
    author_id: UserId,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<DateTime<Utc>>,
}

impl From<CampaignRecord> for CampaignBody {
    fn from(r: CampaignRecord) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            category_id: r.category_id,
            audience: r.audience,
            subject: r.subject,
            body: r.body,
            topic: r.topic,
            sender_name: r.sender_name,
            status: r.status,
            send_at: r.start_at,
            counts: r.counts,
            author_id: r.author_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CampaignPage {
    items: Vec<CampaignBody>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateCampaign {
    kind: CampaignKind,
    /// A category of the organization (422 unknown_category); a consent request's must have
    /// the consent mode `request` (422 invalid_category).
    category_id: String,
    audience: Audience,
    /// A message campaign's subject (required); a consent request's e-mail subject.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    subject: Option<String>,
    /// A message campaign's message (required); a consent request's opening words.
    #[schema(value_type = Option<String>, min_length = 1)]
    body: Option<String>,
    /// A message campaign's topic (default: the category's first topic, else `general`).
    #[schema(value_type = Option<String>)]
    topic: Option<String>,
    /// RFC 3339; absent: now. At most a year ahead (422 invalid_send_at).
    send_at: Option<String>,
    /// Who a consent request says it is from (default: the organization's id), one line of
    /// at most 120 characters.
    sender_name: Option<String>,
}

/// List campaigns
///
/// Facility admins only (403 admin_only): the organization's campaigns, newest first, each
/// with its live counts.
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", operation_id = "listCampaigns",
    params(ListParams),
    responses((status = 200, description = "A page of campaigns.", body = CampaignPage)))]
async fn list(
    State(app): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<CampaignPage>, ApiError> {
    let page = campaigns::list(&app, &actor, params.cursor, params.limit).await?;
    Ok(Json(CampaignPage {
        items: page.items.into_iter().map(CampaignBody::from).collect(),
        next_cursor: page.next.map(|c| c.as_str().to_owned()),
    }))
}

/// Create a campaign
///
/// Facility admins only. `consent_request` e-mails each resident of the audience who has
/// not decided about the category (and was never asked) a request naming the category and
/// the sender, with accept/decline links that need no sign-in; `message` starts one private
/// conversation with each consenting, non-archived resident. The campaign schedule runs it
/// from `send_at`, paced to the provider's sending rate, never twice to one person. At most 5
/// scheduled or running at once (409 too_many_campaigns). With an Idempotency-Key, the
/// same request by the same admin within 24 hours answers the campaign it made instead of
/// making another; the key with a different request is 422 idempotency_key_reused.
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", operation_id = "createCampaign",
    params(IdempotencyKey), request_body = CreateCampaign,
    responses(
        (status = 201, description = "The campaign, scheduled.", body = CampaignBody),
        (status = 409, response = Conflict),
    ))]
async fn create(
    State(app): State<AppState>,
    Actor(actor): Actor,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(body): JsonBody<CreateCampaign>,
) -> Result<(StatusCode, Json<CampaignBody>), ApiError> {
    let request = app::Idempotency::new(key, "new campaign", &body);
    let new = NewCampaign {
        kind: body.kind,
        category_id: body.category_id,
        audience: body.audience,
        subject: body.subject.as_deref().map(Subject::parse).transpose()?,
        body: body.body.as_deref().map(MessageBody::parse).transpose()?,
        topic: body.topic.as_deref().map(Topic::parse).transpose()?,
        send_at: body.send_at.as_deref().map(send_at).transpose()?,
        sender_name: body.sender_name,
    };
    let record = campaigns::create(&app, &actor, new, request).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// Show a campaign
///
/// Facility admins only: its status and live counts.
#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns", operation_id = "getCampaign",
    params(CampaignPath),
    responses(
        (status = 200, description = "The campaign.", body = CampaignBody),
        (status = 404, response = NotFound),
    ))]
async fn show(
    State(app): State<AppState>,
    Actor(actor): Actor,
    CampaignPath(id): CampaignPath,
) -> Result<Json<CampaignBody>, ApiError> {
    Ok(Json(campaigns::show(&app, &actor, &id).await?.into()))
}

/// Cancel a campaign
///
/// Facility admins only. Nobody more is sent to; what was sent stays counted. Cancelling a
/// cancelled campaign answers it as it is; a finished one is 409 invalid_transition.
#[utoipa::path(post, path = "/v1/campaigns/{id}/cancel", tag = "campaigns", operation_id = "cancelCampaign",
    params(CampaignPath),
    responses(
        (status = 200, description = "The campaign, cancelled.", body = CampaignBody),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn cancel(
    State(app): State<AppState>,
    Actor(actor): Actor,
    CampaignPath(id): CampaignPath,
) -> Result<Json<CampaignBody>, ApiError> {
    Ok(Json(campaigns::cancel(&app, &actor, &id).await?.into()))
}

/// `send_at` as given: an RFC 3339 time (a past one means now).
fn send_at(raw: &str) -> Result<DateTime<Utc>, DomainError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| DomainError::invalid(ErrorCode::InvalidSendAt, "send_at must be an RFC 3339 time"))
}
