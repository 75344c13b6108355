//! The HTTP API: one axum router per area (each served by its own Lambda function and all
//! merged by the local dev gateway), the request-context → [`Actor`] extractor, request
//! parsing at the edge, and the one place errors become HTTP answers.

mod actor;
pub mod attachments;
mod audit;
pub mod campaigns;
pub mod categories;
pub mod contacts;
mod doc;
mod error;
mod etag;
mod extract;
pub mod functions;
pub mod links;
pub mod me;
pub mod messages;
mod pages;
mod participants;
pub mod scheduled;
pub mod search;
pub mod settings;
mod system;
pub mod templates;
pub mod threads;
pub mod triage;
mod views;
mod webhooks;

pub use actor::{claims_context, Actor, Myself};
pub use app::QuotaCache;

/// What every handler is given: the use cases' adapters.
pub type AppState = app::App;
pub use doc::{document, is_public, route_list};
pub use error::{error_response, ApiError};

/// The whole API on one router, as the dev gateway serves it.
pub fn router(state: AppState) -> axum::Router {
    doc::serve(doc::routes(), state)
}
