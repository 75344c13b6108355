use reqwest::StatusCode;
use serde_json::json;

use crate::support::{error_code, read, World};

/// Sends a raw body as resident-1 and returns the answer.
async fn raw(w: &World, path: &str, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let req = w
        .http
        .post(format!("{}{path}", w.url))
        .bearer_auth(w.token("resident-1"))
        .header("content-type", "application/json")
        .body(body);
    read(req.send().await.unwrap()).await
}

#[tokio::test]
async fn bad_thread_input_gets_a_clear_error_and_stores_nothing() {
    let w = World::new().await;
    let long_subject = "s".repeat(201);
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (b"{not json".to_vec(), StatusCode::BAD_REQUEST, "malformed_json"),
        (b"".to_vec(), StatusCode::BAD_REQUEST, "malformed_json"),
        (br#"{"topic": 5, "subject": "x", "body": "y"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
        (br#"{"subject": "x", "body": "y"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
        (br#"{"topic": "pool", "subject": "x", "body": "y"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "unknown_topic"),
        (br#"{"topic": "general", "subject": "x", "body": "   "}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "empty_field"),
        (json!({"topic": "general", "subject": long_subject, "body": "y"}).to_string().into_bytes(), StatusCode::UNPROCESSABLE_ENTITY, "too_long"),
        (br#"{"topic": "general", "subject": "x", "body": "y", "priority": "panic"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
        (br#"{"topic": "general", "subject": "x", "body": "y", "linked_record": {"kind": "INVOICE!", "id": "1"}}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
        (br#"{"topic": "general", "subject": "x", "body": "y", "surprise": true}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
    ];
    for (body, expected, code) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (status, answer) = raw(&w, "/v1/threads", body).await;
        assert_eq!(status, expected, "{shown}: {answer}");
        assert_eq!(error_code(&answer), code, "{shown}");
    }
    assert_eq!(w.stored_thread_items().await, 0);
    assert!(w.thread_ids("admin-1", "").await.is_empty());
}

#[tokio::test]
async fn a_two_megabyte_body_is_refused_with_413_and_nothing_is_stored() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    w.routed_to(&id, "admin-1").await;
    let before = w.stored_thread_items().await;
    let huge = json!({"body": "x".repeat(2 * 1024 * 1024)}).to_string().into_bytes();
    let (status, body) = raw(&w, &format!("/v1/threads/{id}/messages"), huge.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "payload_too_large");
    let (status, _) = raw(&w, "/v1/threads", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(w.stored_thread_items().await, before);
}

#[tokio::test]
async fn bad_message_input_is_refused_and_nothing_is_stored() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    let path = format!("/v1/threads/{id}/messages");
    let cases = [
        (json!({"body": ""}), "empty_field"),
        (json!({"body": "x".repeat(5001)}), "too_long"),
        (json!({"body": "x", "attachment_ids": ["a", "b", "c", "d"]}), "too_many_attachments"),
        (json!({"body": "x", "attachment_ids": ["someone-elses"]}), "unknown_attachment"),
        (json!({"body": 42}), "invalid_request"),
    ];
    for (body, code) in cases {
        let (status, answer) = w.post("resident-1", &path, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(error_code(&answer), code);
    }
    let (status, answer) = w.post("resident-1", &path, json!({"body": "note", "internal": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "residents cannot write internal notes: {answer}");
    assert_eq!(w.messages("resident-1", &id).await.len(), 1);
    assert_eq!(w.messages("admin-1", &id).await.len(), 1);
}

#[tokio::test]
async fn garbage_and_foreign_cursors_and_bad_limits_are_400_or_422() {
    let w = World::new().await;
    let mine = w.start_thread("resident-1", "general", "Mine", "Hi").await;
    let theirs = w.start_thread("resident-2", "general", "Theirs", "Hi").await;
    for _ in 0..2 {
        w.post("resident-2", &format!("/v1/threads/{theirs}/messages"), json!({"body": "more"})).await;
    }
    let (_, page) = w.get("resident-2", &format!("/v1/threads/{theirs}/messages?limit=1")).await;
    let foreign = page["next_cursor"].as_str().expect("a second page").to_owned();

    for path in [
        "/v1/threads?cursor=%%%garbage".to_owned(),
        "/v1/threads?cursor=eyJwayI6IngifQ".to_owned(),
        format!("/v1/threads/{mine}/messages?cursor={foreign}"),
        "/v1/threads?limit=ten".to_owned(),
    ] {
        let (status, body) = w.get("resident-1", &path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    for path in [
        "/v1/threads?limit=0",
        "/v1/threads?limit=101",
        "/v1/threads?folder=trash",
        "/v1/threads?topic=%23%23",
    ] {
        let (status, body) = w.get("resident-1", path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    }
}

#[tokio::test]
async fn a_path_id_that_is_not_utf8_is_not_found_in_the_error_shape() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    let cases = [
        (reqwest::Method::GET, "/v1/attachments/%FF".to_owned()),
        (reqwest::Method::DELETE, format!("/v1/threads/{id}/participants/%FF")),
        (reqwest::Method::GET, "/v1/threads/%FF".to_owned()),
        (reqwest::Method::GET, "/v1/contacts/%FF".to_owned()),
        (reqwest::Method::GET, "/v1/contacts/%FF/audit".to_owned()),
        (reqwest::Method::POST, "/v1/contacts/%FF/unlock".to_owned()),
    ];
    for (method, path) in cases {
        let (status, body) = w.call("admin-1", method, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(error_code(&body), "not_found", "{path}");
    }
}
