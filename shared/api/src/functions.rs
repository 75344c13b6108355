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
        "threads" => crate::threads::routes()
            .merge(crate::triage::routes())
            .merge(crate::audit::routes())
            .merge(public(crate::system::routes())),
        "messages" => crate::messages::routes(),
        "settings" => crate::settings::routes()
            .merge(crate::me::routes())
            .merge(crate::templates::routes())
            .merge(crate::categories::routes())
            .merge(crate::campaigns::routes())
            .merge(crate::triage::settings_routes())
            .merge(crate::webhooks::routes()),
        "attachments" => crate::attachments::routes(),
        "contacts" => crate::contacts::routes(),
        "invites" => public(crate::contacts::public_routes()),
        "search" => crate::search::routes(),
        "links" => public(crate::links::routes()),
        _ => return None,
    })
}

/// The axum router of the function `binary`.
pub fn router(binary: &str, state: AppState) -> Option<axum::Router> {
    routes(binary).map(|r| crate::doc::serve(r, state))
}

/// The function's routes as `(METHOD, path)`, in the path syntax of template.yaml.
pub fn route_list(binary: &str) -> Vec<(String, String)> {
    routes(binary).map_or_else(Vec::new, |r| {
        crate::doc::routes_of(&serde_json::to_value(r.into_openapi()).expect("the description is JSON"))
    })
}
