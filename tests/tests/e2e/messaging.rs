//! The org's messaging settings: who sees read receipts, and whether residents may start
//! conversations.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, World};

impl World {
    async fn set_messaging(&self, settings: Value) {
        let (status, saved) =
            self.call("admin-1", Method::PUT, "/v1/settings/messaging", Some(settings.clone())).await;
        assert_eq!((status, &saved), (StatusCode::OK, &settings));
    }

    /// Each participant's read marker as `reader` is shown it.
    async fn markers(&self, reader: &str, thread: &str) -> Vec<(String, bool)> {
        let (status, t) = self.get(reader, &format!("/v1/threads/{thread}")).await;
        assert_eq!(status, StatusCode::OK, "{t}");
        let mut markers: Vec<(String, bool)> = t["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["user_id"].as_str().unwrap().to_owned(), p["last_read_message_id"].is_string()))
            .collect();
        markers.sort();
        markers
    }
}

#[tokio::test]
async fn read_receipts_show_everyone_staff_only_or_only_ones_own_as_the_org_chooses() {
    let w = World::new().await;
    let (status, defaults) = w.get("maint-1", "/v1/settings/messaging").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        defaults,
        json!({"archive_resolved_after_days": 30, "read_receipts": "everyone", "residents_can_start": true})
    );

    let thread = w.start_thread("resident-1", "maintenance", "Boiler", "It bangs").await;
    w.routed_to(&thread, "maint-1").await;
    let (_, reply) =
        w.post("maint-1", &format!("/v1/threads/{thread}/messages"), json!({"body": "On it"})).await;
    for user in ["resident-1", "maint-1"] {
        let read = json!({"message_id": reply["id"]});
        assert_eq!(w.post(user, &format!("/v1/threads/{thread}/read"), read).await.0, StatusCode::NO_CONTENT);
    }
    let both = vec![("maint-1".to_owned(), true), ("resident-1".to_owned(), true)];
    assert_eq!(w.markers("resident-1", &thread).await, both);

    w.set_messaging(
        json!({"archive_resolved_after_days": 30, "read_receipts": "staff", "residents_can_start": true}),
    )
    .await;
    let own_only = vec![("maint-1".to_owned(), false), ("resident-1".to_owned(), true)];
    assert_eq!(w.markers("resident-1", &thread).await, own_only, "the resident sees only their own");
    assert_eq!(w.markers("maint-1", &thread).await, both, "staff see everyone's");

    w.set_messaging(
        json!({"archive_resolved_after_days": 30, "read_receipts": "off", "residents_can_start": true}),
    )
    .await;
    assert_eq!(w.markers("resident-1", &thread).await, own_only);
    let staff_own = vec![("maint-1".to_owned(), true), ("resident-1".to_owned(), false)];
    assert_eq!(w.markers("maint-1", &thread).await, staff_own, "staff too see only their own");
}

#[tokio::test]
async fn closed_conversations_refuse_new_threads_from_residents_but_not_replies_or_staff() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "general", "Before", "Hello").await;
    w.set_messaging(
        json!({"archive_resolved_after_days": 7, "read_receipts": "everyone", "residents_can_start": false}),
    )
    .await;
    let before = w.thread_ids("admin-1", "").await.len();
    let (status, refused) = w
        .post("resident-1", "/v1/threads", json!({"topic": "general", "subject": "New", "body": "Hi"}))
        .await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "conversations_closed"));
    assert_eq!(w.thread_ids("admin-1", "").await.len(), before, "nothing stored");

    let (status, _) =
        w.post("resident-1", &format!("/v1/threads/{thread}/messages"), json!({"body": "Still here"})).await;
    assert_eq!(status, StatusCode::CREATED, "replies still work");
    let staff_start = json!({"topic": "general", "subject": "Notice", "body": "Water off Monday", "resident_id": "resident-1"});
    assert_eq!(w.post("admin-1", "/v1/threads", staff_start).await.0, StatusCode::CREATED);

    // Only admins change the settings; residents cannot read them.
    let open =
        json!({"archive_resolved_after_days": 0, "read_receipts": "everyone", "residents_can_start": true});
    let (status, refused) =
        w.call("maint-1", Method::PUT, "/v1/settings/messaging", Some(open.clone())).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "admin_only"));
    let (status, refused) = w.get("resident-1", "/v1/settings/messaging").await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    let (status, refused) = w
        .call("admin-1", Method::PUT, "/v1/settings/messaging", Some(json!({"read_receipts": "some"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let too_long = json!({"archive_resolved_after_days": 3651, "read_receipts": "everyone", "residents_can_start": true});
    let (status, refused) = w.call("admin-1", Method::PUT, "/v1/settings/messaging", Some(too_long)).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_archive_period"));
    assert_eq!(
        w.get("maint-1", "/v1/settings/messaging").await.1["archive_resolved_after_days"],
        7,
        "not stored"
    );
    // Left out of a PUT, the archive period is the default.
    let (_, saved) = w
        .call(
            "admin-1",
            Method::PUT,
            "/v1/settings/messaging",
            Some(json!({"read_receipts": "off", "residents_can_start": false})),
        )
        .await;
    assert_eq!(saved["archive_resolved_after_days"], 30);
    w.set_messaging(open).await;
    assert_eq!(
        w.post("resident-1", "/v1/threads", json!({"topic": "general", "subject": "New", "body": "Hi"}))
            .await
            .0,
        StatusCode::CREATED
    );
}
