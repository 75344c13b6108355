//! Unauthenticated system routes: health and the OpenAPI description.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

/// The whole HTTP API as OpenAPI 3.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

pub fn health_router() -> Router {
    Router::new().route("/health", get(|| async { Json(serde_json::json!({ "status": "ok" })) })).route(
        "/openapi.json",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response() }),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::OPENAPI_JSON;

    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

    fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
        let paths = spec["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                METHODS.iter().filter_map(move |m| Some((m.to_uppercase(), path.clone(), item.get(*m)?)))
            })
            .collect()
    }

    #[test]
    fn the_description_has_exactly_the_routes_the_api_serves() {
        let spec: Value = serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON");
        assert!(spec["openapi"].as_str().unwrap().starts_with("3.0."));
        let mut described: Vec<(String, String)> =
            operations(&spec).into_iter().map(|(m, p, _)| (m, p)).collect();
        described.sort();
        let mut served: Vec<(String, String)> =
            crate::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        served.sort();
        assert_eq!(described, served);
    }

    /// What every route answers by construction, so that schemathesis (`make schema`) finds
    /// only real gaps: a JSON body can be malformed (400), too large (413) or wrongly typed
    /// (422); a secured route can lack a token (401), be refused (403) or find storage down
    /// (503); and every error is the one error shape.
    #[test]
    fn every_operation_documents_the_answers_its_extractors_give() {
        let spec: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        let error_shape = "#/components/schemas/Error";
        for (name, response) in spec["components"]["responses"].as_object().unwrap() {
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, error_shape, "components.responses.{name}");
        }
        for (method, path, op) in operations(&spec) {
            let responses = op["responses"].as_object().unwrap();
            let has = |code: &str| responses.contains_key(code);
            if op.get("requestBody").is_some() {
                for code in ["400", "413", "422"] {
                    assert!(has(code), "{method} {path} reads a JSON body but does not document {code}");
                }
            }
            let public = op["security"].as_array().is_some_and(|s| s.is_empty());
            if !public {
                for code in ["401", "403", "503"] {
                    assert!(has(code), "{method} {path} needs a token but does not document {code}");
                }
            }
            for (code, response) in responses {
                if code.starts_with('4') || code.starts_with('5') {
                    let target = response["$ref"].as_str().unwrap_or_default();
                    assert!(
                        target.starts_with("#/components/responses/"),
                        "{method} {path} {code} is not one of the shared error responses"
                    );
                }
            }
        }
    }
}
