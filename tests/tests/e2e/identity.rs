use reqwest::StatusCode;

use crate::support::{error_code, read, World};

#[tokio::test]
async fn no_token_an_expired_token_and_a_forged_one_get_401() {
    let w = World::new().await;
    let url = format!("{}/v1/threads", w.url);
    let expired = infra::token::mint(infra::token::DEFAULT_SECRET, "resident-1", &w.org, -30);
    let forged = infra::token::mint("not-the-secret", "resident-1", &w.org, 600);
    let requests = [
        w.http.get(&url),
        w.http.get(&url).bearer_auth(expired),
        w.http.get(&url).bearer_auth(forged),
        w.http.get(&url).bearer_auth("garbage"),
        w.http.get(&url).header("authorization", "Basic dXNlcjpwYXNz"),
    ];
    for req in requests {
        let (status, body) = read(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(error_code(&body), "unauthorized");
    }
}

#[tokio::test]
async fn a_valid_token_for_a_user_unknown_to_the_org_is_forbidden() {
    let w = World::new().await;
    let token = infra::token::mint(infra::token::DEFAULT_SECRET, "resident-1", &w.other_org, 600);
    let (status, body) =
        read(w.http.get(format!("{}/v1/threads", w.url)).bearer_auth(token).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "unknown_user");
}

#[tokio::test]
async fn health_and_openapi_need_no_token() {
    let w = World::new().await;
    let (status, body) = read(w.http.get(format!("{}/health", w.url)).send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!({"status": "ok"})));
    let (status, spec) = read(w.http.get(format!("{}/openapi.json", w.url)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    // Every API route the cloud stack routes is described, as the functions serve it (the
    // web client's files and configuration are no API).
    let template = infra::provision::Template::load(&infra::template_path()).unwrap();
    let client = web::ROUTES.map(|(m, p)| (m.to_owned(), p.to_owned()));
    for (method, path) in template.http_routes().into_iter().filter(|r| !client.contains(r)) {
        let op = &spec["paths"][&path][method.to_lowercase()];
        assert!(op["responses"].is_object(), "openapi.json lacks {method} {path}");
    }
}

#[tokio::test]
async fn unknown_routes_answer_404_in_the_error_shape() {
    let w = World::new().await;
    let (status, body) = w.get("resident-1", "/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
}

#[tokio::test]
async fn me_says_who_the_caller_is_and_nothing_without_a_token() {
    let w = World::new().await;
    let (status, me) = w.get("resident-1", "/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (me["id"].as_str(), me["role"].as_str(), me["unit"].as_str(), me["org_id"].as_str()),
        (Some("resident-1"), Some("resident"), Some("101"), Some(w.org.as_str()))
    );
    let (_, admin) = w.get("admin-1", "/v1/me").await;
    assert_eq!(
        (admin["role"].as_str(), admin["name"].as_str()),
        (Some("facility_admin"), Some("Avery Admin"))
    );
    let (status, body) = read(w.http.get(format!("{}/v1/me", w.url)).send().await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthorized"));
}
