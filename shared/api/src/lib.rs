//! The HTTP API: one axum router per area (each served by its own Lambda function and all
//! merged by the local dev gateway), the request-context → [`Actor`] extractor, request
//! parsing at the edge, and the one place errors become HTTP answers.

mod actor;
pub mod attachments;
pub mod contacts;
mod error;
mod extract;
pub mod me;
pub mod messages;
mod participants;
pub mod settings;
mod system;
pub mod threads;
mod views;

pub use actor::{claims_context, Actor, Myself};
pub use app::QuotaCache;

/// What every handler is given: the use cases' adapters.
pub type AppState = app::App;
pub use error::{error_response, ApiError};
pub use system::{health_router, OPENAPI_JSON};

/// Every route of the API as `(method, path)`, in the path syntax of template.yaml.
/// A test checks template.yaml declares exactly these, so cloud and local cannot drift.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("POST", "/v1/threads"),
    ("GET", "/v1/threads"),
    ("GET", "/v1/threads/{id}"),
    ("PATCH", "/v1/threads/{id}"),
    ("GET", "/v1/threads/{id}/messages"),
    ("POST", "/v1/threads/{id}/messages"),
    ("POST", "/v1/threads/{id}/read"),
    ("POST", "/v1/threads/{id}/participants"),
    ("DELETE", "/v1/threads/{id}/participants/{user_id}"),
    ("GET", "/v1/settings/routing"),
    ("PUT", "/v1/settings/routing"),
    ("GET", "/v1/me/notification-preferences"),
    ("PUT", "/v1/me/notification-preferences"),
    ("POST", "/v1/attachments"),
    ("GET", "/v1/attachments/{id}"),
    ("GET", "/v1/settings/retention"),
    ("PUT", "/v1/settings/retention"),
    ("GET", "/v1/settings/notifications"),
    ("PUT", "/v1/settings/notifications"),
    ("POST", "/v1/contacts"),
    ("GET", "/v1/contacts"),
    ("GET", "/v1/contacts/{id}"),
    ("PATCH", "/v1/contacts/{id}"),
    ("POST", "/v1/contacts/{id}/lock"),
    ("POST", "/v1/contacts/{id}/unlock"),
    ("POST", "/v1/contacts/{id}/archive"),
    ("POST", "/v1/contacts/{id}/unarchive"),
    ("GET", "/v1/contacts/{id}/audit"),
    ("POST", "/v1/contacts/{id}/invite"),
    ("POST", "/v1/invites/accept"),
];

/// The whole API on one router, as the dev gateway serves it.
pub fn router(state: AppState) -> axum::Router {
    health_router()
        .merge(threads::router(state.clone()))
        .merge(messages::router(state.clone()))
        .merge(settings::router(state.clone()))
        .merge(me::router(state.clone()))
        .merge(attachments::router(state.clone()))
        .merge(contacts::router(state.clone()))
        .merge(contacts::public_router(state))
}
