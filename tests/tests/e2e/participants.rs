use reqwest::StatusCode;
use serde_json::json;

use crate::support::{error_code, World};

#[tokio::test]
async fn a_participant_added_mid_thread_reads_the_whole_history_and_the_resident_sees_them() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "billing", "Two charges", "I was charged twice in March").await;
    w.routed_to(&id, "bookkeeper-1").await;
    let (status, _) = w
        .post(
            "bookkeeper-1",
            &format!("/v1/threads/{id}/messages"),
            json!({"body": "Checking with maintenance"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, thread) = w
        .post("bookkeeper-1", &format!("/v1/threads/{id}/participants"), json!({"user_id": "maint-1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{thread}");
    let bodies: Vec<String> =
        w.messages("maint-1", &id).await.iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect();
    assert_eq!(bodies, ["I was charged twice in March", "Checking with maintenance"]);
    let (status, _) = w
        .post("maint-1", &format!("/v1/threads/{id}/messages"), json!({"body": "The meter was swapped"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    assert_eq!(w.participants(&id).await, ["bookkeeper-1", "maint-1", "resident-1"]);
    let joined = w
        .timeline("resident-1", &id, 100)
        .await
        .into_iter()
        .find(|e| e["event"] == "participant_joined" && e["subject_id"] == "maint-1")
        .expect("a join event");
    assert_eq!(joined["actor_id"], "bookkeeper-1");
    assert!(joined["at"].is_string());

    // The newcomer's inbox row moves with new messages like everyone else's.
    w.post("resident-1", &format!("/v1/threads/{id}/messages"), json!({"body": "Thanks both"})).await;
    let (_, inbox) = w.get("maint-1", "/v1/threads").await;
    assert_eq!(inbox["items"][0]["last_message"]["body_preview"], "Thanks both");
    assert_eq!(inbox["items"][0]["unread"], true);
}

#[tokio::test]
async fn residents_cannot_add_people_and_staff_can_leave_but_not_remove_others() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Heater", "No heat").await;
    w.routed_to(&id, "maint-1").await;
    let path = format!("/v1/threads/{id}/participants");

    let (status, body) = w.post("resident-1", &path, json!({"user_id": "bookkeeper-1"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "staff_only");
    let (status, body) = w.post("maint-1", &path, json!({"user_id": "resident-2"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "not_addable"));
    let (status, body) = w.post("maint-1", &path, json!({"user_id": "admin-b"})).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_user"),
        "another org's user"
    );
    let (status, body) = w.post("maint-1", &path, json!({"user_id": "maint-1"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "already_participant"));
    let (status, _) = w.post("maint-1", &path, json!({"user_id": "security-1"})).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) =
        w.call("maint-1", reqwest::Method::DELETE, &format!("{path}/security-1"), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "not_allowed"));
    let (status, body) =
        w.call("admin-1", reqwest::Method::DELETE, &format!("{path}/resident-1"), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "cannot_remove_resident"));

    let (status, _) =
        w.call("security-1", reqwest::Method::DELETE, &format!("{path}/security-1"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = w.get("security-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "who left no longer sees the thread");
    assert_eq!(w.participants(&id).await, ["maint-1", "resident-1"]);
    let left = w
        .timeline("resident-1", &id, 100)
        .await
        .into_iter()
        .find(|e| e["event"] == "participant_left")
        .unwrap();
    assert_eq!(
        (left["actor_id"].as_str(), left["subject_id"].as_str()),
        (Some("security-1"), Some("security-1"))
    );

    let (status, _) = w.call("admin-1", reqwest::Method::DELETE, &format!("{path}/maint-1"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "an admin removes staff");
    let (status, _) = w.call("admin-1", reqwest::Method::DELETE, &format!("{path}/maint-1"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
