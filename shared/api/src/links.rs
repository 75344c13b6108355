//! The public links (no sign-in): a consent request's `/v1/consent/{token}` and every
//! delivery's `/v1/unsubscribe/{token}`. A forged, altered or expired token is 404 and
//! changes nothing (`app::links`).

use app::consents;
use app::links::Purpose;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{DomainError, ErrorCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::NotFound;
use crate::extract::{JsonOrForm, LinkToken};
use crate::pages;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show_consent, decide))
        .routes(routes!(show_unsubscribe, unsubscribe))
        .routes(routes!(sms_reply))
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

/// A link's answer, never cached: `json` for API clients; for a browser a page titled with
/// the category's name, its body made from the escaped name, and an error as a page too.
fn reply<T: Serialize>(
    headers: &HeaderMap,
    result: Result<(T, String), ApiError>,
    body: impl FnOnce(&str) -> String,
) -> Response {
    let html = pages::wants_html(headers);
    match result {
        Ok((json, _)) if !html => pages::private(Json(json).into_response()),
        Ok((_, name)) => {
            let name = pages::escape(&name);
            pages::page(&name, &body(&name))
        }
        Err(e) if html => pages::error_page(e.into_response().status()),
        Err(e) => pages::private(e.into_response()),
    }
}

/// A link's view with the category's name (a page's title).
fn named(view: LinkView) -> (LinkView, String) {
    let name = view.category.name.clone();
    (view, name)
}

/// A decision's answer with the category's name.
fn decided(standing: consents::ConsentView) -> (Decided, String) {
    (Decided { subscribed: standing.subscribed }, standing.name)
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
/// category the request is about; a browser (`Accept: text/html`) gets a page with
/// Accept and Decline buttons, in English and French.
#[utoipa::path(get, path = "/v1/consent/{token}", tag = "links", operation_id = "getConsentRequest",
    params(LinkToken),
    responses(
        (status = 200, description = "The category asked about.",
            content((LinkView = "application/json"), (String = "text/html"))),
        (status = 404, response = NotFound),
    ))]
async fn show_consent(
    State(app): State<AppState>,
    headers: HeaderMap,
    LinkToken(token): LinkToken,
) -> Response {
    let result = view(&app, &token, Purpose::Consent).await.map(named);
    reply(&headers, result, |name| {
        format!(
            "<h1>{name}</h1><p>May we send you messages of this kind? You may change your mind at any \
             time.</p><p lang=\"fr\">Acceptez-vous de recevoir ce type de messages&#8239;? Vous pourrez \
             changer d’avis en tout temps.</p><form method=\"post\"><button name=\"decision\" \
             value=\"accept\">Yes / Oui</button><button name=\"decision\" value=\"decline\">No / \
             Non</button></form>"
        )
    })
}

/// Answer a consent request
///
/// No sign-in. `accept` subscribes the contact to the category, `decline` does not; either is
/// recorded in the consent ledger (source `consent_request`, basis `express`) with the
/// request's wording and the link's use as evidence. Takes effect at once. JSON, or the
/// form the page posts (`decision=accept`), which is answered with a page.
#[utoipa::path(post, path = "/v1/consent/{token}", tag = "links", operation_id = "answerConsentRequest",
    params(LinkToken),
    request_body(content((Decide = "application/json"), (Decide = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The contact's standing now.",
            content((Decided = "application/json"), (String = "text/html"))),
        (status = 404, response = NotFound),
    ))]
async fn decide(
    State(app): State<AppState>,
    headers: HeaderMap,
    LinkToken(token): LinkToken,
    JsonOrForm(body): JsonOrForm<Decide>,
) -> Response {
    let accept = matches!(body.decision, Decision::Accept);
    let result = consents::decide_by_link(&app, &token, accept).await.map(decided).map_err(ApiError::from);
    reply(&headers, result, |name| {
        if accept {
            format!(
                "<h1>{name}</h1><p>Thank you: you will receive these messages.</p><p lang=\"fr\">Merci\
                 &#8239;: vous recevrez ces messages.</p>"
            )
        } else {
            format!(
                "<h1>{name}</h1><p>Noted: you will not receive these messages.</p><p lang=\"fr\">C’est \
                 noté&#8239;: vous ne recevrez pas ces messages.</p>"
            )
        }
    })
}

/// An unsubscribe link
///
/// No sign-in: the token is the link a delivery in a category that needs consent carried.
/// Names the category it withdraws from; a browser gets a page with an Unsubscribe button
/// (opening the link changes nothing: mail scanners open links too).
#[utoipa::path(get, path = "/v1/unsubscribe/{token}", tag = "links", operation_id = "getUnsubscribe",
    params(LinkToken),
    responses(
        (status = 200, description = "The category.",
            content((LinkView = "application/json"), (String = "text/html"))),
        (status = 404, response = NotFound),
    ))]
async fn show_unsubscribe(
    State(app): State<AppState>,
    headers: HeaderMap,
    LinkToken(token): LinkToken,
) -> Response {
    let result = view(&app, &token, Purpose::Unsubscribe).await.map(named);
    reply(&headers, result, |name| {
        format!(
            "<h1>{name}</h1><p>Stop receiving messages of this kind?</p><p lang=\"fr\">Ne plus recevoir ce \
             type de messages&#8239;?</p><form method=\"post\"><input type=\"hidden\" \
             name=\"List-Unsubscribe\" value=\"One-Click\"><button>Unsubscribe / Me désabonner</button></form>"
        )
    })
}

/// Unsubscribe
///
/// No sign-in; the one-click POST of RFC 8058 (body `List-Unsubscribe=One-Click`, form or
/// multipart encoded), the page's form, or any other body, which is not read: the token is
/// the whole request. Withdraws the contact's consent to the category at once (ledger
/// source `unsubscribe`); again changes nothing.
#[utoipa::path(post, path = "/v1/unsubscribe/{token}", tag = "links", operation_id = "unsubscribe",
    params(LinkToken),
    request_body(content = OneClick, content_type = "application/x-www-form-urlencoded",
        description = "`List-Unsubscribe=One-Click`, or empty."),
    responses(
        (status = 200, description = "Unsubscribed.",
            content((Decided = "application/json"), (String = "text/html"))),
        (status = 404, response = NotFound),
    ))]
async fn unsubscribe(
    State(app): State<AppState>,
    headers: HeaderMap,
    LinkToken(token): LinkToken,
) -> Response {
    let result = consents::unsubscribe_by_link(&app, &token).await.map(decided).map_err(ApiError::from);
    reply(&headers, result, |name| {
        format!(
            "<h1>{name}</h1><p>You are unsubscribed: you will not receive these messages any more.</p>\
             <p lang=\"fr\">Vous êtes désabonné&#8239;: vous ne recevrez plus ces messages.</p>"
        )
    })
}

/// The one-click form of RFC 8058 (not read: the token is the whole request).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct OneClick {
    #[schema(rename = "List-Unsubscribe")]
    list_unsubscribe: Option<String>,
}

/// What the SMS provider posts about a reply (the fields read; it sends more).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SmsForm {
    /// The sender's number (E.164).
    #[schema(rename = "From")]
    from: String,
    #[schema(rename = "To")]
    to: String,
    /// The reply's text.
    #[schema(rename = "Body")]
    body: String,
}

/// The longest SMS webhook body read (the provider's form is a few hundred bytes).
const MAX_WEBHOOK_BYTES: usize = 16 * 1024;
/// What the provider is answered: nothing to send back.
const NO_REPLY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

/// A reply by SMS
///
/// No sign-in: the SMS provider's webhook for a reply to one of our texts, form-encoded and
/// signed with the account's token (`X-Twilio-Signature`; otherwise 403 invalid_signature
/// and nothing is read). A reply that is a stop word (STOP, UNSUBSCRIBE, CANCEL, END, QUIT,
/// STOPALL, ARRÊT, DÉSABONNER; case and accents ignored) withdraws, at once, every category
/// that needs consent the sender's number was texted in (ledger source `unsubscribe`). Any
/// other reply is ignored. Answered with an empty TwiML response.
#[utoipa::path(post, path = "/v1/webhooks/sms", tag = "links", operation_id = "smsReply",
    request_body(content = SmsForm, content_type = "application/x-www-form-urlencoded",
        description = "The provider's form: `From`, `To`, `Body` and others."),
    responses(
        (status = 200, description = "Handled.", body = String, content_type = "text/xml"),
        (status = 403, response = crate::doc::Forbidden),
    ))]
async fn sms_reply(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<([(axum::http::header::HeaderName, &'static str); 1], &'static str), ApiError> {
    let forged = || {
        ApiError::from(DomainError::forbidden(
            ErrorCode::InvalidSignature,
            "the webhook's signature does not match",
        ))
    };
    if body.len() > MAX_WEBHOOK_BYTES {
        return Err(forged());
    }
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| forged())?;
    let given = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).ok_or_else(forged)?;
    // SMS off (no account): nothing we sent can be answered.
    let token = app.providers.sms_token().ok_or_else(forged)?;
    let url = app::sms_webhook_url(&app.app_url);
    if !channels::inbound::verify(token, &url, &params, given) {
        return Err(forged());
    }
    let field = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let (Some(from), Some(text)) = (field("From"), field("Body")) {
        if channels::inbound::is_stop(text) {
            let withdrawn = consents::stop_by_sms(&app, from).await?;
            tracing::info!(withdrawn, "an SMS STOP was honoured");
        }
    }
    Ok(([(axum::http::header::CONTENT_TYPE, "text/xml")], NO_REPLY))
}
