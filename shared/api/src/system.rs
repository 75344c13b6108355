//! Unauthenticated system routes: health and the API description.

use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(openapi))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Health {
    #[schema(pattern = "^ok$")]
    status: &'static str,
}

/// Health check
#[utoipa::path(get, path = "/health", tag = "system", operation_id = "getHealth",
    responses((status = 200, description = "The service is up.", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// This OpenAPI document
#[utoipa::path(get, path = "/openapi.json", tag = "system", operation_id = "getOpenApi",
    responses((status = 200, description = "The OpenAPI 3.1 description of this API.", body = Object)))]
async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

/// The description as `make web-types` wrote it from the handlers (a unit test keeps it
/// equal to [`crate::doc::document`]), served as stored: building it here would link every
/// other function's handlers into this one's binary.
const DOCUMENT: &str = include_str!("../../../web/openapi.json");
