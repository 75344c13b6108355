//! Request parsing at the edge: bounded JSON bodies, list parameters, path ids and the
//! Idempotency-Key header, each refused with a clear error before any handler runs.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use domain::{DomainError, ErrorCode, ScheduledId, TemplateId, ThreadId, UserId};
use serde::de::DeserializeOwned;
use store::Cursor;

use crate::ApiError;

/// Request bodies larger than this are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const DEFAULT_LIMIT: i32 = 25;
pub const MAX_LIMIT: i32 = 100;
const MAX_IDEMPOTENCY_KEY: usize = 128;

/// A JSON body: at most `LIMIT` bytes ([`MAX_BODY_BYTES`] unless a route says more);
/// malformed JSON → 400; well-formed JSON with wrong fields or types → 422.
pub struct JsonBody<T, const LIMIT: usize = MAX_BODY_BYTES>(pub T);

impl<S: Send + Sync, T: DeserializeOwned, const LIMIT: usize> FromRequest<S> for JsonBody<T, LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(Body::new(req.into_body()), LIMIT).await.map_err(|_| {
            ApiError::App(app::Error::PayloadTooLarge { what: "request body", limit_bytes: LIMIT as u64 })
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A body as JSON or, when so declared, as a form (`application/x-www-form-urlencoded`, what
/// an HTML form posts); the same limits and errors as [`JsonBody`].
pub struct JsonOrForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonOrForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if !form {
            return JsonBody::<T>::from_request(req, state).await.map(|JsonBody(v)| Self(v));
        }
        let bytes = axum::body::to_bytes(Body::new(req.into_body()), MAX_BODY_BYTES).await.map_err(|_| {
            ApiError::App(app::Error::PayloadTooLarge {
                what: "request body",
                limit_bytes: MAX_BODY_BYTES as u64,
            })
        })?;
        serde_urlencoded::from_bytes(&bytes)
            .map(Self)
            .map_err(|e| DomainError::invalid(ErrorCode::InvalidRequest, e.to_string()).into())
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::from(DomainError::invalid(ErrorCode::InvalidRequest, e.to_string())),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::bad_request(ErrorCode::MalformedJson, "request body is not valid JSON")
            }
        }
    })
}

/// `?cursor=&limit=` plus the other parameters of a list, as given.
pub struct ListParams {
    pub cursor: Option<Cursor>,
    pub limit: i32,
    pub rest: HashMap<String, String>,
}

/// The query string's parameters; a malformed one is 400 invalid_query.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Query(map) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::bad_request(ErrorCode::InvalidQuery, "query string is malformed"))?;
        Ok(Self(map))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let QueryMap(mut rest) = QueryMap::from_request_parts(parts, state).await?;
        let cursor =
            rest.remove("cursor").filter(|c| !c.is_empty()).map(|c| Cursor::parse(&c)).transpose()?;
        let limit = match rest.remove("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => {
                let n: i32 = raw.parse().map_err(|_| {
                    ApiError::bad_request(ErrorCode::InvalidLimit, "limit must be a whole number")
                })?;
                if !(1..=MAX_LIMIT).contains(&n) {
                    return Err(DomainError::invalid(
                        ErrorCode::InvalidLimit,
                        format!("limit must be between 1 and {MAX_LIMIT}"),
                    )
                    .into());
                }
                n
            }
        };
        Ok(Self { cursor, limit, rest })
    }
}

/// The `{id}` of a thread route. An id that cannot exist is simply not found.
pub struct ThreadPath(pub ThreadId);

impl<S: Send + Sync> FromRequestParts<S> for ThreadPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(Self(ThreadId::parse(&path_id(parts, state, "thread").await?)?))
    }
}

/// The `{id}` of a contact route. An id that cannot exist names no contact.
pub struct ContactPath(pub UserId);

impl<S: Send + Sync> FromRequestParts<S> for ContactPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_id(parts, state, "contact").await?;
        Ok(Self(UserId::parse(raw).map_err(|_| DomainError::NotFound("contact"))?))
    }
}

/// The `{id}` of a category route. An id that cannot exist names no category.
pub struct CategoryPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CategoryPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_id(parts, state, "category").await?;
        // Category ids have the shape of user ids (`service`, `cat-…`).
        UserId::parse(raw.as_str()).map_err(|_| DomainError::NotFound("category"))?;
        Ok(Self(raw))
    }
}

/// The `{id}` of a template route. An id that cannot exist names no template.
pub struct TemplatePath(pub TemplateId);

impl<S: Send + Sync> FromRequestParts<S> for TemplatePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_id(parts, state, "template").await?;
        Ok(Self(TemplateId::parse(&raw).map_err(|_| DomainError::NotFound("template"))?))
    }
}

pub struct ScheduledPath(pub ScheduledId);

impl<S: Send + Sync> FromRequestParts<S> for ScheduledPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_id(parts, state, "scheduled message").await?;
        Ok(Self(ScheduledId::parse(&raw)?))
    }
}

pub struct CampaignPath(pub domain::CampaignId);

impl<S: Send + Sync> FromRequestParts<S> for CampaignPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_id(parts, state, "campaign").await?;
        Ok(Self(domain::CampaignId::parse(&raw).map_err(|_| DomainError::NotFound("campaign"))?))
    }
}

/// The `{id}` of a webhook route. An id that cannot exist names no webhook.
pub struct WebhookPath(pub domain::WebhookId);

impl<S: Send + Sync> FromRequestParts<S> for WebhookPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_id(parts, state, "webhook").await?;
        Ok(Self(domain::WebhookId::parse(&raw).map_err(|_| DomainError::NotFound("webhook"))?))
    }
}

/// The `{id}` and `{delivery_id}` of a delivery route.
pub struct DeliveryPath(pub domain::WebhookId, pub domain::webhook::DeliveryId);

impl<S: Send + Sync> FromRequestParts<S> for DeliveryPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let WebhookPath(webhook) = WebhookPath::from_request_parts(parts, state).await?;
        let axum::extract::Path(params) =
            axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::from(DomainError::NotFound("delivery")))?;
        let raw = params.get("delivery_id").ok_or(DomainError::NotFound("delivery"))?;
        Ok(Self(webhook, domain::webhook::DeliveryId::parse(raw)?))
    }
}

/// The `{token}` of a public link; its check is the use case's (any failure is 404).
pub struct LinkToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for LinkToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(mut params) =
            axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::from(DomainError::NotFound("link")))?;
        Ok(Self(params.remove("token").ok_or(DomainError::NotFound("link"))?))
    }
}

/// The `{id}` path parameter of a route about a `what`; not found when it cannot be read.
async fn path_id<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    what: &'static str,
) -> Result<String, ApiError> {
    let axum::extract::Path(mut params) =
        axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::from(DomainError::NotFound(what)))?;
    Ok(params.remove("id").ok_or(DomainError::NotFound(what))?)
}

/// Path parameters as text: a `String`, or a tuple of them. A parameter that is not UTF-8
/// once percent-decoded names nothing that can exist: 404 in the error shape, where axum's
/// own `Path` would answer a plain-text 400.
pub struct PathText<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathText<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| ApiError::from(DomainError::NotFound("resource")))
    }
}

/// The optional `Idempotency-Key` header: 1 to 128 visible ASCII characters.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| {
                (1..=MAX_IDEMPOTENCY_KEY).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
            })
            .ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::InvalidIdempotencyKey,
                    "Idempotency-Key is 1 to 128 visible ASCII characters",
                )
            })?;
        Ok(Self(Some(key.to_owned())))
    }
}

/// How the extractors' parameters appear in the API description.
mod described {
    use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Ref, Required, Type};
    use utoipa::{IntoParams, ToSchema};

    use super::{
        CampaignPath, CategoryPath, ContactPath, DeliveryPath, IdempotencyKey, LinkToken, ListParams,
        ScheduledPath, TemplatePath, ThreadPath, WebhookPath, DEFAULT_LIMIT, MAX_IDEMPOTENCY_KEY, MAX_LIMIT,
    };

    fn parameter(name: &str, place: ParameterIn, description: &str) -> ParameterBuilder {
        let required = if place == ParameterIn::Path { Required::True } else { Required::False };
        ParameterBuilder::new()
            .name(name)
            .parameter_in(place)
            .required(required)
            .description(Some(description))
    }

    impl IntoParams for ThreadPath {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let description = "Thread id: a ULID in canonical upper-case form. An id that is malformed, \
                               absent or not visible to the caller is answered with 404.";
            let schema = Ref::from_schema_name(domain::ThreadId::name());
            vec![parameter("id", ParameterIn::Path, description).schema(Some(schema)).build()]
        }
    }

    impl IntoParams for ContactPath {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let description = "Contact (user) id. An id that is malformed, absent or not visible to the \
                               caller is answered with 404.";
            let schema = Ref::from_schema_name(domain::UserId::name());
            vec![parameter("id", ParameterIn::Path, description).schema(Some(schema)).build()]
        }
    }

    impl IntoParams for TemplatePath {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let description = "Template id. An id that is malformed, absent or not the caller's to use \
                               is answered with 404.";
            let schema = Ref::from_schema_name(domain::TemplateId::name());
            vec![parameter("id", ParameterIn::Path, description).schema(Some(schema)).build()]
        }
    }

    impl IntoParams for CategoryPath {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let description = "Category id: `service` (built in) or `cat-…`. An id that is malformed or \
                               names no category of the caller's organization is answered with 404.";
            let schema =
                ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(64));
            vec![parameter("id", ParameterIn::Path, description).schema(Some(schema)).build()]
        }
    }

    impl IntoParams for ScheduledPath {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let description = "Scheduled message id. An id that is malformed, absent or neither the \
                               caller's nor (for a facility admin) the organization's is answered with 404.";
            let schema = Ref::from_schema_name(domain::ScheduledId::name());
            vec![parameter("id", ParameterIn::Path, description).schema(Some(schema)).build()]
        }
    }

    const WEBHOOK_ID: &str = "Webhook id. An id that is malformed or names no webhook of the caller's \
                              organization is answered with 404.";

    impl IntoParams for WebhookPath {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let schema = Ref::from_schema_name(domain::WebhookId::name());
            vec![parameter("id", ParameterIn::Path, WEBHOOK_ID).schema(Some(schema)).build()]
        }
    }

    impl IntoParams for DeliveryPath {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let webhook = Ref::from_schema_name(domain::WebhookId::name());
            let delivery = ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^msg_[0-9A-HJKMNP-TV-Z]{26}(_[1-9][0-9]*)?$"));
            vec![
                parameter("id", ParameterIn::Path, WEBHOOK_ID).schema(Some(webhook)).build(),
                parameter(
                    "delivery_id",
                    ParameterIn::Path,
                    "Delivery id (its `webhook-id`). One that is malformed or not of this webhook is 404.",
                )
                .schema(Some(delivery))
                .build(),
            ]
        }
    }

    impl IntoParams for CampaignPath {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let description = "Campaign id. An id that is malformed or names no campaign of the caller's \
                               organization is answered with 404.";
            let schema = Ref::from_schema_name(domain::CampaignId::name());
            vec![parameter("id", ParameterIn::Path, description).schema(Some(schema)).build()]
        }
    }

    impl IntoParams for LinkToken {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let description = "The token of a link as e-mailed or texted. A forged, altered or expired \
                               token is answered with 404 and changes nothing.";
            let schema = ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(app::links::MAX_TOKEN_CHARS));
            vec![parameter("token", ParameterIn::Path, description).schema(Some(schema)).build()]
        }
    }

    impl IntoParams for ListParams {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let cursor = parameter(
                "cursor",
                ParameterIn::Query,
                "Opaque next_cursor of the previous page of the same list (400 invalid_cursor \
                 otherwise). Empty means the first page.",
            )
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).max_length(Some(4096))));
            let limit = parameter(
                "limit",
                ParameterIn::Query,
                "Page size. Not a whole number: 400 invalid_limit; out of range: 422 invalid_limit.",
            )
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(MAX_LIMIT))
                    .default(Some(DEFAULT_LIMIT.into())),
            ));
            vec![cursor.build(), limit.build()]
        }
    }

    impl IntoParams for IdempotencyKey {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let schema = ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_IDEMPOTENCY_KEY))
                .pattern(Some("^[!-~]+$"));
            let description = "Makes retries safe: 1 to 128 visible ASCII characters, scoped to the \
                               author (400 invalid_idempotency_key otherwise).";
            vec![parameter("Idempotency-Key", ParameterIn::Header, description).schema(Some(schema)).build()]
        }
    }
}
