//! Unauthenticated system routes: health and the API description.

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
async fn openapi() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(crate::doc::document())
}
