//! The API description (OpenAPI 3.1), generated from the handlers: each route's
//! `#[utoipa::path]` next to its handler, the bodies' types and their bounds. The routers
//! that serve the routes are the ones that describe them, so the description, the local
//! gateway and each function cannot disagree; a test checks template.yaml against it too.
//! What is common to every route lives here: the shared error answers, the bearer scheme,
//! and the answers the extractors give on their own (see [`document_extractor_answers`]).

use std::sync::OnceLock;

use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Resident messaging API",
        version = "1.0.0",
        description = "Conversations between residents and the staff of their management \
            organization. A thread is with one resident; staff and facility admins answer it, \
            change its status, priority and linked record, and may add internal notes that \
            residents never see. Every request except /health, /openapi.json, \
            /v1/invites/accept and the consent and unsubscribe links carries a bearer JWT whose `sub` claim is the user id and whose \
            `custom:org_id` claim is the organization. Every error body has the shape \
            {\"error\":{\"code\":\"snake_case\",\"message\":\"...\"}}; clients should branch on \
            `code`, not on `message`."
    ),
    servers((url = "http://127.0.0.1:3000", description = "Local stack (dev gateway)")),
    security(("bearerAuth" = [])),
    modifiers(&Common),
    tags(
        (name = "system", description = "Unauthenticated health and API description."),
        (name = "threads", description = "Starting, listing, reading and changing threads."),
        (name = "messages", description = "A thread's timeline, posting messages and read receipts."),
        (name = "participants", description = "Who is in a conversation."),
        (name = "settings", description = "Organization settings: routing, retention, notification defaults."),
        (name = "me", description = "The caller's own settings."),
        (name = "templates", description = "Saved replies with placeholders (staff)."),
        (name = "categories", description = "Communication categories: consent rules, topics, auditors, dispatchers."),
        (name = "scheduled", description = "Messages and conversations waiting for their send time (staff)."),
        (name = "attachments", description = "Photos and PDFs on messages."),
        (name = "contacts", description = "Residents, owners, staff and vendors; invitations."),
        (name = "campaigns", description = "Consent requests and message campaigns to an audience of residents (facility admins)."),
        (name = "links", description = "Consent and unsubscribe links, used without signing in."),
        (name = "search", description = "Finding messages by words, dates, resident, unit, property and topic."),
        (name = "audit", description = "Each thread's tamper-evident record: its hash-chained audit entries, exports as JSON or PDF, and their verification (staff)."),
        (name = "webhooks", description = "Signed deliveries of thread, message, participant and triage events to the org's own systems (facility admins)."),
    )
)]
struct Base;

/// The error answers every operation shares, by name, with what each code means.
const ERROR_ANSWERS: [(&str, &str); 9] = [
    (
        "BadRequest",
        "Malformed request. Codes: malformed_json (body is not JSON), invalid_cursor, \
         invalid_limit (not a number), invalid_query (query string malformed), \
         invalid_idempotency_key.",
    ),
    (
        "Unauthorized",
        "Missing, expired or invalid bearer token, or one lacking `sub` or `custom:org_id`. \
         Code: unauthorized.",
    ),
    (
        "Forbidden",
        "The caller may not do this. Codes: unknown_user (not set up in the organization), \
         account_archived (archived staff, admins and vendors: every route), account_locked (a \
         locked resident reads but never writes; locked staff read nothing but their own \
         profile), staff_only, admin_only, and those the operation names.",
    ),
    (
        "NotFound",
        "Code not_found: the object does not exist or is not visible to the caller; the two \
         are never distinguished.",
    ),
    (
        "Conflict",
        "The current state does not allow it. Codes: concurrent_update (too many simultaneous \
         changes; retry), thread_moved_on (with `newer`), and those the operation names.",
    ),
    ("PayloadTooLarge", "Request body larger than 65536 bytes. Code: payload_too_large."),
    (
        "UnprocessableEntity",
        "Well-formed request with a refused value. Codes: invalid_request (unknown field or \
         wrong type), invalid_limit, and those the operation and its body's fields name.",
    ),
    ("Unavailable", "The service is briefly unavailable; retry shortly. Code: unavailable."),
    (
        "RateLimited",
        "A write quota is spent: too many of these writes by this user, this organization or \
         (invitations) for this contact in the current window. Code: rate_limited. Retry after \
         the number of seconds in Retry-After.",
    ),
];

/// The shared error answers as `#[utoipa::path]` names them (`response = NotFound`).
macro_rules! error_answers {
    ($($name:ident),*) => {$(
        pub struct $name;
        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
                (stringify!($name), error_answer(stringify!($name)).into())
            }
        }
    )*};
}
error_answers!(NotFound, Conflict, Forbidden, RateLimited, UnprocessableEntity, Unavailable);

fn error_answer(name: &str) -> utoipa::openapi::Response {
    let (_, description) = ERROR_ANSWERS.iter().find(|(n, _)| *n == name).expect("a shared error answer");
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(ErrorBody::name()))).build();
    let mut answer = ResponseBuilder::new().description(*description).content("application/json", content);
    if name == "RateLimited" {
        let seconds = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Integer)
            .minimum(Some(1));
        let header =
            HeaderBuilder::new().schema(Some(seconds)).description(Some("Seconds until the window ends."));
        answer = answer.header("Retry-After", header.build());
    }
    answer.build()
}

/// What the description has besides the routes: the bearer scheme and the shared answers.
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer =
            HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").description(Some(
                "A verified JWT. `sub` is the user id and `custom:org_id` the organization id; the \
             user must be set up in that organization (403 unknown_user otherwise).",
            ));
        components.add_security_scheme("bearerAuth", SecurityScheme::Http(bearer.build()));
        for (name, _) in ERROR_ANSWERS {
            components.responses.insert(name.to_owned(), error_answer(name).into());
        }
        components.schemas.insert(ErrorBody::name().into_owned(), ErrorBody::schema());
        let mut nested = Vec::new();
        ErrorBody::schemas(&mut nested);
        components.schemas.extend(nested);
    }
}

/// The body of every error answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    #[schema(schema_with = error_codes)]
    pub code: &'static str,
    /// Human-readable explanation.
    #[schema(examples("thread not found"))]
    pub message: String,
    /// thread_moved_on only: the first messages the poster had not seen, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newer: Option<Vec<store::MessageRecord>>,
}

fn error_codes() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(domain::ErrorCode::ALL.iter().map(|c| c.as_str())))
        .examples(["not_found"])
        .build()
}

/// Marks every operation of `routes` as needing no token.
pub(crate) fn public<S: Clone + Send + Sync + 'static>(mut routes: OpenApiRouter<S>) -> OpenApiRouter<S> {
    for (_, item) in routes.get_openapi_mut().paths.paths.iter_mut() {
        for op in operations(item) {
            op.security = Some(Vec::new());
        }
    }
    routes
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
}

/// The answers an operation gives before its handler runs, added to what the handler's
/// `#[utoipa::path]` says: a JSON body can be malformed (400), too large (413) or wrongly
/// typed (422); a list's cursor or limit can be refused (400, 422); a route that needs a
/// token can lack one (401) or be refused (403); every route that reads storage can find it
/// down (503).
fn document_extractor_answers(doc: &mut Document) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in operations(item) {
            let mut answers: Vec<(&str, &str)> = Vec::new();
            if op.request_body.is_some() {
                answers.extend([
                    ("400", "BadRequest"),
                    ("413", "PayloadTooLarge"),
                    ("422", "UnprocessableEntity"),
                ]);
            }
            let params = op.parameters.iter().flatten();
            let names: Vec<&str> = params
                .filter_map(|p| match p {
                    RefOr::T(p) => Some(p.name.as_str()),
                    RefOr::Ref(_) => None,
                })
                .collect();
            if names.contains(&"cursor") {
                answers.extend([("400", "BadRequest"), ("422", "UnprocessableEntity")]);
            }
            if names.contains(&"Idempotency-Key") {
                answers.push(("400", "BadRequest"));
            }
            let public = op.security.as_ref().is_some_and(Vec::is_empty);
            if !public {
                answers.extend([("401", "Unauthorized"), ("403", "Forbidden")]);
            }
            if path.starts_with("/v1/") {
                answers.push(("503", "Unavailable"));
            }
            for (status, name) in answers {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| Ref::from_response_name(name).into());
            }
        }
    }
}

/// Every route of the API, as served, with its description: every function's.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    crate::functions::HTTP_FUNCTIONS
        .iter()
        .filter_map(|binary| crate::functions::routes(binary))
        .fold(OpenApiRouter::with_openapi(Base::openapi()), OpenApiRouter::merge)
}

/// The axum router of `routes`, given the state its handlers need; every function's and the
/// dev gateway's, so each answers conditional GETs the same way ([`crate::etag`]).
pub(crate) fn serve(routes: OpenApiRouter<AppState>, state: AppState) -> axum::Router {
    routes.split_for_parts().0.layer(axum::middleware::from_fn(crate::etag::revalidate)).with_state(state)
}

/// The description of the whole API, built once.
pub fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = routes().into_openapi();
        document_extractor_answers(&mut doc);
        doc
    })
}

const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "PATCH"];

/// Whether the route `method path` (in the path syntax of template.yaml) needs no token.
pub fn is_public(method: &str, path: &str) -> bool {
    static PUBLIC: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let public = PUBLIC.get_or_init(|| {
        let doc = serde_json::to_value(document()).expect("the description is JSON");
        let public = |(m, p): &(String, String)| {
            doc["paths"][p][m.to_lowercase()]["security"].as_array().is_some_and(Vec::is_empty)
        };
        route_list().into_iter().filter(public).collect()
    });
    public.iter().any(|(m, p)| m == method && p == path)
}

/// Every route as `(METHOD, path)`, in the path syntax of template.yaml.
pub fn route_list() -> Vec<(String, String)> {
    routes_of(&serde_json::to_value(document()).expect("the description is JSON"))
}

/// The routes of an API description as `(METHOD, path)`, sorted.
pub(crate) fn routes_of(doc: &serde_json::Value) -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            let methods = item.as_object().into_iter().flatten().map(|(m, _)| m.to_uppercase());
            methods.filter(|m| METHODS.contains(&m.as_str())).map(move |m| (m, path.clone()))
        })
        .collect();
    routes.sort();
    routes
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::Value;

    use super::{document, route_list};

    fn spec() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    fn operations(spec: &Value) -> Vec<(String, String, Value)> {
        route_list()
            .into_iter()
            .map(|(m, p)| {
                let op = spec["paths"][&p][m.to_lowercase()].clone();
                (m, p, op)
            })
            .collect()
    }

    #[test]
    fn the_description_is_openapi_3_1_with_every_area_of_the_api() {
        let spec = spec();
        assert_eq!(spec["openapi"], "3.1.0");
        let routes = route_list();
        for route in [("GET", "/health"), ("POST", "/v1/threads"), ("POST", "/v1/invites/accept")] {
            assert!(routes.contains(&(route.0.into(), route.1.into())), "{route:?} is not described");
        }
        assert_eq!(routes.len(), routes.iter().collect::<HashSet<_>>().len());
    }

    /// What a generated client needs: a unique operationId, a summary and a tag per
    /// operation, and a schema for every JSON body it sends or reads.
    #[test]
    fn every_operation_has_a_unique_id_a_summary_a_tag_and_typed_bodies() {
        let spec = spec();
        let mut ids = HashSet::new();
        for (method, path, op) in operations(&spec) {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(!id.is_empty() && ids.insert(id.clone()), "{method} {path}: operationId {id:?}");
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{method} {path}: no summary");
            assert!(op["tags"].as_array().is_some_and(|t| t.len() == 1), "{method} {path}: no tag");
            if let Some(body) = op.get("requestBody") {
                // JSON, or the forms a browser or a provider posts: each with its schema.
                let typed = body["content"]
                    .as_object()
                    .is_some_and(|c| !c.is_empty() && c.values().all(|media| media["schema"].is_object()));
                assert!(typed, "{method} {path}");
            }
            let success = op["responses"].as_object().unwrap().iter().find(|(code, _)| code.starts_with('2'));
            assert!(success.is_some(), "{method} {path}: no success answer");
        }
    }

    /// What every route answers by construction, so that schemathesis (`make schema`) finds
    /// only real gaps: a JSON body can be malformed (400), too large (413) or wrongly typed
    /// (422); a secured route can lack a token (401), be refused (403) or find storage down
    /// (503); and every error is the one error shape, whose codes are the domain's.
    #[test]
    fn every_operation_documents_the_answers_its_extractors_give() {
        let spec = spec();
        let error_shape = "#/components/schemas/Error";
        for (name, response) in spec["components"]["responses"].as_object().unwrap() {
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, error_shape, "components.responses.{name}");
        }
        let codes = &spec["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"];
        assert_eq!(codes.as_array().unwrap().len(), domain::ErrorCode::ALL.len());
        let mut public = Vec::new();
        for (method, path, op) in operations(&spec) {
            let responses = op["responses"].as_object().unwrap();
            let has = |code: &str| responses.contains_key(code);
            if op.get("requestBody").is_some() {
                for code in ["400", "413", "422"] {
                    assert!(has(code), "{method} {path} reads a JSON body but does not document {code}");
                }
            }
            if op["security"].as_array().is_some_and(|s| s.is_empty()) {
                public.push(path.clone());
            } else {
                for code in ["401", "403", "503"] {
                    assert!(has(code), "{method} {path} needs a token but does not document {code}");
                }
            }
            for (code, response) in responses {
                if code.starts_with('4') || code.starts_with('5') {
                    let target = response["$ref"].as_str().unwrap_or_default();
                    assert!(
                        target.starts_with("#/components/responses/"),
                        "{method} {path} {code} is not one of the shared error answers"
                    );
                }
            }
        }
        public.sort();
        public.dedup();
        let links =
            ["/v1/consent/{token}", "/v1/invites/accept", "/v1/unsubscribe/{token}", "/v1/webhooks/sms"];
        assert_eq!(public, [["/health", "/openapi.json"].as_slice(), &links].concat());
        assert_eq!(spec["security"], serde_json::json!([{ "bearerAuth": [] }]));
    }
}
