//! The public links (no sign-in): a consent request's `/v1/consent/{token}` and every
//! delivery's `/v1/unsubscribe/{token}`. A forged, altered or expired token is 404 and
//! changes nothing (`app::links`).

use app::consents;
use app::links::Purpose;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::NotFound;
use crate::extract::{JsonBody, LinkToken};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show_consent, decide)).routes(routes!(show_unsubscribe, unsubscribe))
}

#[derive(Serialize, utoipa::ToSchema)]
struct LinkCategory {
    id: String,
    name: String,
}

/// What a link is about.
#[derive(Serialize, utoipa::ToSchema)]
struct LinkView {
    category: LinkCategory,
    /// Whether the contact gets the category's messages now.
    subscribed: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Decided {
    subscribed: bool,
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum Decision {
    Accept,
    Decline,
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Decide {
    decision: Decision,
}

async fn view(app: &AppState, token: &str, purpose: Purpose) -> Result<LinkView, ApiError> {
    let (claim, category) = consents::by_link(app, token, purpose).await?;
    let (decided, _) = app.store.get_consents(&claim.org, &claim.contact).await.map_err(app::Error::from)?;
    Ok(LinkView {
        subscribed: decided.allows(&category),
        category: LinkCategory { id: category.id, name: category.name },
    })
}

/// A consent request
///
/// No sign-in: the token is the link e-mailed by a consent-request campaign. Names the
/// category the request is about.
#[utoipa::path(get, path = "/v1/consent/{token}", tag = "links", operation_id = "getConsentRequest",
    params(LinkToken),
    responses(
        (status = 200, description = "The category asked about.", body = LinkView),
        (status = 404, response = NotFound),
    ))]
async fn show_consent(
    State(app): State<AppState>,
    LinkToken(token): LinkToken,
) -> Result<Json<LinkView>, ApiError> {
    Ok(Json(view(&app, &token, Purpose::Consent).await?))
}

/// Answer a consent request
///
/// No sign-in. `accept` subscribes the contact to the category, `decline` does not; either is
/// recorded in the consent ledger (source `consent_request`, basis `express`) with the
/// request's wording and the link's use as evidence. Takes effect at once.
#[utoipa::path(post, path = "/v1/consent/{token}", tag = "links", operation_id = "answerConsentRequest",
    params(LinkToken), request_body = Decide,
    responses(
        (status = 200, description = "The contact's standing now.", body = Decided),
        (status = 404, response = NotFound),
    ))]
async fn decide(
    State(app): State<AppState>,
    LinkToken(token): LinkToken,
    JsonBody(body): JsonBody<Decide>,
) -> Result<Json<Decided>, ApiError> {
    let accept = matches!(body.decision, Decision::Accept);
    let standing = consents::decide_by_link(&app, &token, accept).await?;
    Ok(Json(Decided { subscribed: standing.subscribed }))
}

/// An unsubscribe link
///
/// No sign-in: the token is the link a delivery in a category that needs consent carried.
/// Names the category it withdraws from.
#[utoipa::path(get, path = "/v1/unsubscribe/{token}", tag = "links", operation_id = "getUnsubscribe",
    params(LinkToken),
    responses(
        (status = 200, description = "The category.", body = LinkView),
        (status = 404, response = NotFound),
    ))]
async fn show_unsubscribe(
    State(app): State<AppState>,
    LinkToken(token): LinkToken,
) -> Result<Json<LinkView>, ApiError> {
    Ok(Json(view(&app, &token, Purpose::Unsubscribe).await?))
}

/// Unsubscribe
///
/// No sign-in; the one-click POST of RFC 8058 (body `List-Unsubscribe=One-Click`, form or
/// multipart encoded) or any other body, which is not read: the token is the whole request.
/// Withdraws the contact's consent to the category at once (ledger source `unsubscribe`);
/// again changes nothing.
#[utoipa::path(post, path = "/v1/unsubscribe/{token}", tag = "links", operation_id = "unsubscribe",
    params(LinkToken),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`List-Unsubscribe=One-Click`, or empty."),
    responses(
        (status = 200, description = "Unsubscribed.", body = Decided),
        (status = 404, response = NotFound),
    ))]
async fn unsubscribe(
    State(app): State<AppState>,
    LinkToken(token): LinkToken,
) -> Result<Json<Decided>, ApiError> {
    let standing = consents::unsubscribe_by_link(&app, &token).await?;
    Ok(Json(Decided { subscribed: standing.subscribed }))
}
