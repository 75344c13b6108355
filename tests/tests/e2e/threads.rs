use reqwest::StatusCode;
use serde_json::json;

use crate::support::{error_code, World};

#[tokio::test]
async fn a_maintenance_thread_goes_unread_open_resolved_and_back_to_unread() {
    let w = World::new().await;
    let id =
        w.start_thread("resident-1", "Maintenance", "Leaking tap", "The kitchen tap drips all night").await;
    assert_eq!(w.thread_ids("admin-1", "?folder=unread").await, vec![id.clone()]);
    assert!(w.thread_ids("admin-1", "?folder=open").await.is_empty());

    let (status, msg) = w
        .post("admin-1", &format!("/v1/threads/{id}/messages"), json!({"body": "A plumber comes tomorrow"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{msg}");
    assert_eq!(msg["author_id"], "admin-1");
    assert_eq!(w.thread_ids("admin-1", "?folder=open").await, vec![id.clone()]);
    assert!(w.thread_ids("admin-1", "?folder=unread").await.is_empty());

    let (status, thread) =
        w.patch("admin-1", &format!("/v1/threads/{id}"), json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK, "{thread}");
    assert_eq!(thread["status"], "resolved");
    assert_eq!(w.thread_ids("admin-1", "?folder=resolved").await, vec![id.clone()]);

    let (status, _) =
        w.post("resident-1", &format!("/v1/threads/{id}/messages"), json!({"body": "It drips again"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(w.thread_ids("admin-1", "?folder=unread").await, vec![id.clone()]);
    let (_, thread) = w.get("resident-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(thread["status"], "unread");
    assert_eq!(thread["last_message"]["body_preview"], "It drips again");

    let timeline = w.timeline("resident-1", &id, 50).await;
    // The router's join of maint-1 may land anywhere in between.
    let timeline: Vec<_> = timeline.into_iter().filter(|i| i["event"] != "participant_joined").collect();
    let kinds: Vec<String> = timeline
        .iter()
        .map(|i| {
            if i["type"] == "event" {
                format!("event:{}", i["status"].as_str().unwrap_or(""))
            } else {
                i["author_id"].as_str().unwrap().to_owned()
            }
        })
        .collect();
    assert_eq!(kinds, ["resident-1", "admin-1", "event:resolved", "resident-1"]);
    assert_eq!(timeline[2]["event"], "status_changed");
    assert_eq!(timeline[2]["actor_id"], "admin-1");
}

#[tokio::test]
async fn the_inbox_filters_by_topic_and_lists_newest_activity_first() {
    let w = World::new().await;
    let billing = w.start_thread("resident-1", "billing", "Invoice", "Why two charges?").await;
    let parking = w.start_thread("resident-2", "parking", "Spot", "Someone parks in my spot").await;
    assert_eq!(w.thread_ids("admin-1", "").await, vec![parking.clone(), billing.clone()]);
    assert_eq!(w.thread_ids("admin-1", "?topic=billing").await, vec![billing.clone()]);
    assert_eq!(w.thread_ids("admin-1", "?folder=unread&topic=parking").await, vec![parking.clone()]);
    // Activity moves a thread to the top.
    w.post("resident-1", &format!("/v1/threads/{billing}/messages"), json!({"body": "Any news?"})).await;
    assert_eq!(w.thread_ids("admin-1", "").await, vec![billing.clone(), parking.clone()]);
    // Residents see only their own.
    assert_eq!(w.thread_ids("resident-2", "").await, vec![parking]);
}

#[tokio::test]
async fn inbox_rows_carry_resident_unit_last_message_and_priority() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "billing", "March invoice", "Charged twice").await;
    let (status, changed) = w
        .patch(
            "admin-1",
            &format!("/v1/threads/{id}"),
            json!({"priority": "urgent", "linked_record": {"kind": "invoice", "id": "INV-1042", "label": "March rent"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["linked_record"]["id"], "INV-1042");
    let (_, page) = w.get("admin-1", "/v1/threads").await;
    let row = &page["items"][0];
    assert_eq!(
        row["resident"],
        json!({"id": "resident-1", "name": "Rita Resident", "unit": "101", "property_id": "prop-1"})
    );
    assert_eq!(row["priority"], "urgent");
    assert_eq!(row["last_message"]["body_preview"], "Charged twice");
    assert_eq!(row["unread"], true);
}

#[tokio::test]
async fn staff_start_a_thread_with_a_resident_and_residents_cannot_pick_another_resident() {
    let w = World::new().await;
    let (status, thread) = w
        .post("bookkeeper-1", "/v1/threads", json!({"topic": "billing", "subject": "Balance", "body": "Your balance is 0", "resident_id": "resident-2"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{thread}");
    assert_eq!(thread["status"], "open");
    assert_eq!(thread["resident"]["id"], "resident-2");
    let id = thread["id"].as_str().unwrap();
    assert_eq!(w.thread_ids("resident-2", "").await, vec![id.to_owned()]);
    assert_eq!(w.thread_ids("bookkeeper-1", "").await, vec![id.to_owned()]);
    let (_, seen) = w.get("resident-2", &format!("/v1/threads/{id}")).await;
    let names: Vec<&str> =
        seen["participants"].as_array().unwrap().iter().map(|p| p["user_id"].as_str().unwrap()).collect();
    assert_eq!(names, ["bookkeeper-1", "resident-2"]);

    let (status, body) = w
        .post(
            "resident-1",
            "/v1/threads",
            json!({"topic": "billing", "subject": "x", "body": "y", "resident_id": "resident-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "staff_only");
    let (status, body) =
        w.post("bookkeeper-1", "/v1/threads", json!({"topic": "billing", "subject": "x", "body": "y"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "resident_required");
    let (status, body) = w
        .post(
            "bookkeeper-1",
            "/v1/threads",
            json!({"topic": "billing", "subject": "x", "body": "y", "resident_id": "resident-b"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "another org's resident is unknown here");
    assert_eq!(error_code(&body), "unknown_resident");
}

#[tokio::test]
async fn another_resident_and_another_orgs_admin_get_404_everywhere_and_see_nothing() {
    let w = World::new().await;
    let secret = "Secret subject 7f3a";
    let id = w.start_thread("resident-1", "general", secret, "private words").await;
    let (_, first) = w.get("resident-1", &format!("/v1/threads/{id}/messages")).await;
    let message_id = first["items"][0]["id"].as_str().unwrap().to_owned();
    for outsider in ["resident-2", "admin-b", "resident-b", "maint-1"] {
        let attempts = [
            w.get(outsider, &format!("/v1/threads/{id}")).await,
            w.get(outsider, &format!("/v1/threads/{id}/messages")).await,
            w.post(outsider, &format!("/v1/threads/{id}/messages"), json!({"body": "let me in"})).await,
            w.patch(outsider, &format!("/v1/threads/{id}"), json!({"status": "resolved"})).await,
            w.post(outsider, &format!("/v1/threads/{id}/read"), json!({"message_id": message_id})).await,
        ];
        for (status, body) in attempts {
            assert_eq!(status, StatusCode::NOT_FOUND, "{outsider}: {body}");
            assert_eq!(error_code(&body), "not_found");
            assert!(!body.to_string().contains(secret) && !body.to_string().contains("private"));
        }
        assert!(!w.thread_ids(outsider, "").await.contains(&id), "{outsider} lists it");
    }
    // Nothing the outsiders tried was stored.
    assert_eq!(w.messages("resident-1", &id).await.len(), 1);
    let (_, thread) = w.get("resident-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(thread["status"], "unread");
}

#[tokio::test]
async fn residents_cannot_change_a_thread_and_staff_cannot_set_it_unread() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    let (status, body) =
        w.patch("resident-1", &format!("/v1/threads/{id}"), json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "staff_only");
    let (status, body) = w.patch("admin-1", &format!("/v1/threads/{id}"), json!({"status": "unread"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "invalid_status");
    let (status, body) = w.patch("admin-1", &format!("/v1/threads/{id}"), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "empty_patch");
    let (status, thread) = w
        .patch(
            "admin-1",
            &format!("/v1/threads/{id}"),
            json!({"priority": "urgent", "linked_record": {"kind": "work_order", "id": "WO-7"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{thread}");
    assert_eq!(thread["priority"], "urgent");
    assert_eq!(thread["linked_record"]["kind"], "work_order");
    let (_, seen) = w.get("resident-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(seen["linked_record"]["id"], "WO-7", "the linked record shows to both sides");
    let (_, thread) = w.patch("admin-1", &format!("/v1/threads/{id}"), json!({"linked_record": null})).await;
    assert!(thread["linked_record"].is_null());
}

#[tokio::test]
async fn a_locked_account_reads_but_every_write_is_refused() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    let org = domain::OrgId::parse(&w.org).unwrap();
    let mut user =
        w.store.get_user(&org, &domain::UserId::parse("resident-1").unwrap()).await.unwrap().unwrap();
    user.state = domain::AccountState::Locked;
    w.store.put_user(&user).await.unwrap();

    let (status, body) =
        w.post("resident-1", &format!("/v1/threads/{id}/messages"), json!({"body": "hello?"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "account_locked");
    let (status, body) =
        w.post("resident-1", "/v1/threads", json!({"topic": "general", "subject": "x", "body": "y"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "account_locked");
    let (status, _) = w.get("resident-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.messages("resident-1", &id).await.len(), 1);
}

#[tokio::test]
async fn a_retried_thread_creation_with_its_idempotency_key_makes_one_thread() {
    let w = World::new().await;
    let create = |body: serde_json::Value, key: &str| {
        w.http
            .post(format!("{}/v1/threads", w.url))
            .bearer_auth(w.token("resident-1"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let request = json!({"topic": "maintenance", "subject": "Leak", "body": "Water under the sink"});
    let (s1, first) = crate::support::read(create(request.clone(), "new-leak").await.unwrap()).await;
    let (s2, again) = crate::support::read(create(request, "new-leak").await.unwrap()).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED), "{first} {again}");
    assert_eq!(first["id"], again["id"], "the retry answers the thread the first request made");
    assert_eq!(first["last_message"]["id"], again["last_message"]["id"]);
    let other = json!({"topic": "maintenance", "subject": "Another", "body": "Different"});
    let (s3, reused) = crate::support::read(create(other, "new-leak").await.unwrap()).await;
    assert_eq!((s3, error_code(&reused)), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"));
    let mine = w.thread_ids("resident-1", "").await;
    assert_eq!(mine, [first["id"].as_str().unwrap()], "one thread, whatever the retries");
    assert_eq!(w.messages("resident-1", first["id"].as_str().unwrap()).await.len(), 1);
}
