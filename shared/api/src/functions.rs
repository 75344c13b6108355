//! The routes each HTTP function serves, by its binary name (template.yaml's
//! `BuildProperties.Binary`): each function's `main` serves these, and a test checks them
//! against the routes template.yaml gives the function, so no route is declared for a
//! function that does not serve it.

use utoipa_axum::router::OpenApiRouter;

use crate::doc::public;
use crate::AppState;

/// The binaries of the HTTP functions.
pub const HTTP_FUNCTIONS: [&str; 8] =
    ["threads", "messages", "settings", "attachments", "contacts", "invites", "search", "links"];

/// The routes (with their description) the function `binary` serves; `None` for a function
/// that serves no HTTP route.
pub fn routes(binary: &str) -> Option<OpenApiRouter<AppState>> {
    Some(match binary {
        "threads" => threads(),
        "messages" => messages(),
        "settings" => settings(),
        "attachments" => attachments(),
        "contacts" => contacts(),
        "invites" => invites(),
        "search" => search(),
        "links" => links(),
        _ => return None,
    })
}

// One function per binary, which its `main` names: a binary then links only its own
// handlers, and the release build's link-time optimization has only those to work on.

pub fn threads() -> OpenApiRouter<AppState> {
    crate::threads::routes()
        .merge(crate::triage::routes())
        .merge(crate::audit::routes())
        .merge(public(crate::system::routes()))
}

pub fn messages() -> OpenApiRouter<AppState> {
    crate::messages::routes()
}

pub fn settings() -> OpenApiRouter<AppState> {
    crate::settings::routes()
        .merge(crate::me::routes())
        .merge(crate::templates::routes())
        .merge(crate::categories::routes())
        .merge(crate::campaigns::routes())
        .merge(crate::triage::settings_routes())
        .merge(crate::webhooks::routes())
}

pub fn attachments() -> OpenApiRouter<AppState> {
    crate::attachments::routes()
}

pub fn contacts() -> OpenApiRouter<AppState> {
    crate::contacts::routes()
}

pub fn invites() -> OpenApiRouter<AppState> {
    public(crate::contacts::public_routes())
}

pub fn search() -> OpenApiRouter<AppState> {
    crate::search::routes()
}

pub fn links() -> OpenApiRouter<AppState> {
    public(crate::links::routes())
}

/// The axum router serving `routes` (a function's `main` passes its own).
pub fn serve(routes: OpenApiRouter<AppState>, state: AppState) -> axum::Router {
    crate::doc::serve(routes, state)
}

/// The function's routes as `(METHOD, path)`, in the path syntax of template.yaml.
pub fn route_list(binary: &str) -> Vec<(String, String)> {
    routes(binary).map_or_else(Vec::new, |r| {
        crate::doc::routes_of(&serde_json::to_value(r.into_openapi()).expect("the description is JSON"))
    })
}
