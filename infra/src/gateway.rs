//! The dev gateway: what API Gateway's HTTP API does in front of the functions, locally.
//! It verifies HS256 tokens (expiry required), hands the handlers the same request context
//! the JWT authorizer builds, and leaves open the routes the API description marks public.

use std::collections::HashMap;
use std::sync::Arc;

use api::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use domain::ErrorCode;

use crate::meter::as_function;
use crate::provision::Template;
use crate::token;

pub fn app(state: AppState, secret: String) -> Router {
    api::router(state)
        .route_layer(middleware::from_fn_with_state(Arc::new(secret), authenticate))
        .fallback(|| async {
            api::error_response(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
        })
        .method_not_allowed_fallback(|| async {
            api::error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "method not allowed on this route",
            )
        })
}

/// Routes the API description marks public pass as they are; the rest need a valid token.
async fn authenticate(State(secret): State<Arc<String>>, mut req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    if api::is_public(req.method().as_str(), &path) {
        return next.run(req).await;
    }
    let claims = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| token::verify(&secret, t.trim()));
    match claims {
        Some(claims) => {
            req.extensions_mut().insert(api::claims_context(claims));
            next.run(req).await
        }
        None => api::error_response(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "missing, expired or invalid token",
        ),
    }
}

/// Which function template.yaml routes each `(method, path)` to.
type FunctionsByRoute = HashMap<(String, String), &'static str>;

/// Runs each request as the function template.yaml routes it to (see
/// [`crate::meter::as_function`]), as API Gateway's integrations would.
pub fn as_functions(router: Router, template: &Template) -> Router {
    let by_route: FunctionsByRoute = template
        .http_routes_by_function()
        .into_iter()
        // A handful of names, once per stack.
        .map(|(method, path, function)| ((method, path), &*Box::leak(function.into_boxed_str())))
        .collect();
    router.route_layer(middleware::from_fn_with_state(Arc::new(by_route), run_as_function))
}

async fn run_as_function(
    State(by_route): State<Arc<FunctionsByRoute>>,
    req: Request,
    next: Next,
) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| (req.method().to_string(), p.as_str().to_owned()));
    match route.and_then(|r| by_route.get(&r).copied()) {
        Some(function) => as_function(function, next.run(req)).await,
        None => next.run(req).await,
    }
}
