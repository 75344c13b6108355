use reqwest::{Method, StatusCode};
use serde_json::json;

use store::keys;

use crate::support::{error_code, read, StorePost, World};

#[tokio::test]
async fn an_idempotency_key_replay_stores_one_message_and_a_reuse_is_refused() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    let url = format!("{}/v1/threads/{id}/messages", w.url);
    let send = |body: serde_json::Value, key: &str| {
        w.http
            .request(Method::POST, &url)
            .bearer_auth(w.token("resident-1"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let (s1, first) = read(send(json!({"body": "pay now?"}), "key-1").await.unwrap()).await;
    let (s2, again) = read(send(json!({"body": "pay now?"}), "key-1").await.unwrap()).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first, again, "the replay answers the first answer again");
    let (s3, reused) = read(send(json!({"body": "something else"}), "key-1").await.unwrap()).await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&reused), "idempotency_key_reused");
    let (s4, _) = read(send(json!({"body": "pay now?"}), "").await.unwrap()).await;
    assert_eq!(s4, StatusCode::BAD_REQUEST, "an empty key is malformed");
    let bodies: Vec<String> =
        w.messages("resident-1", &id).await.iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect();
    assert_eq!(bodies, ["Hi", "pay now?"]);
}

#[tokio::test]
async fn the_same_key_from_another_author_is_a_separate_request() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    for user in ["resident-1", "admin-1"] {
        let req = w
            .http
            .post(format!("{}/v1/threads/{id}/messages", w.url))
            .bearer_auth(w.token(user))
            .header("Idempotency-Key", "shared-key")
            .json(&json!({"body": "same words"}));
        let (status, body) = read(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["author_id"], user);
    }
    assert_eq!(w.messages("admin-1", &id).await.len(), 3);
}

#[tokio::test]
async fn internal_notes_never_reach_the_resident() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "billing", "Refund", "Where is my refund?").await;
    let (status, note) = w
        .post(
            "admin-1",
            &format!("/v1/threads/{id}/messages"),
            json!({"body": "Tenant owes 3 months", "internal": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(note["internal"], true);

    let staff_view = w.messages("admin-1", &id).await;
    assert_eq!(staff_view.len(), 2);
    let resident_view = w.timeline("resident-1", &id, 50).await;
    assert_eq!(resident_view.iter().filter(|i| i["type"] == "message").count(), 1);
    let (_, thread) = w.get("resident-1", &format!("/v1/threads/{id}")).await;
    let (_, list) = w.get("resident-1", "/v1/threads").await;
    for seen in [thread.to_string(), list.to_string(), serde_json::to_string(&resident_view).unwrap()] {
        assert!(!seen.contains("owes"), "internal note leaked: {seen}");
    }
    assert_eq!(thread["status"], "unread", "an internal note is not an answer");
    let (_, admin_thread) = w.get("admin-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(admin_thread["last_message"]["body_preview"], "Tenant owes 3 months");
    let (status, _) =
        w.post("resident-1", &format!("/v1/threads/{id}/read"), json!({"message_id": note["id"]})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a resident cannot probe for an internal note");
}

#[tokio::test]
async fn read_receipts_show_who_has_seen_what_and_clear_unread() {
    let w = World::new().await;
    let (_, thread) = w
        .post("maint-1", "/v1/threads", json!({"topic": "maintenance", "subject": "Visit", "body": "We come Monday", "resident_id": "resident-1"}))
        .await;
    let id = thread["id"].as_str().unwrap().to_owned();
    let (_, page) = w.get("resident-1", "/v1/threads").await;
    assert_eq!(page["items"][0]["unread"], true);

    let message_id = w.messages("resident-1", &id).await[0]["id"].as_str().unwrap().to_owned();
    let (status, _) =
        w.post("resident-1", &format!("/v1/threads/{id}/read"), json!({"message_id": message_id})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = w.get("resident-1", "/v1/threads").await;
    assert_eq!(page["items"][0]["unread"], false);
    let (_, seen) = w.get("maint-1", &format!("/v1/threads/{id}")).await;
    let resident = seen["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == "resident-1")
        .unwrap()
        .clone();
    assert_eq!(resident["last_read_message_id"].as_str(), Some(message_id.as_str()));

    let (status, body) = w
        .post(
            "resident-1",
            &format!("/v1/threads/{id}/read"),
            json!({"message_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) =
        w.post("resident-1", &format!("/v1/threads/{id}/read"), json!({"message_id": "nope"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// Help Scout's "traffic cop": a staff reply written against the thread as it was is
/// refused when someone wrote since, with what they missed, and nothing is stored.
#[tokio::test]
async fn a_reply_to_a_thread_that_moved_on_is_refused_with_what_was_missed() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Door", "The lock is stuck").await;
    w.routed_to(&thread, "maint-1").await;
    let path = format!("/v1/threads/{thread}/messages");
    let seen = w.messages("maint-1", &thread).await[0]["id"].as_str().unwrap().to_owned();
    let (status, colleague) = w.post("admin-1", &path, json!({"body": "Locksmith booked for 3pm"})).await;
    assert_eq!(status, StatusCode::CREATED);

    let late = json!({"body": "I will come and look", "expected_last_message_id": seen});
    let (status, refused) = w.post("maint-1", &path, late).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "thread_moved_on"));
    let missed: Vec<&str> =
        refused["error"]["newer"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(missed, ["Locksmith booked for 3pm"]);
    assert_eq!(w.messages("admin-1", &thread).await.len(), 2, "nothing stored");

    // Against the thread as it is now, the reply goes through.
    let current = json!({"body": "Thanks, I will meet them", "expected_last_message_id": colleague["id"]});
    let (status, mine) = w.post("maint-1", &path, current).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    // Staff see internal notes, so a note counts as moving on for them.
    let (status, _) = w.post("admin-1", &path, json!({"body": "Bill the owner", "internal": true})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, refused) =
        w.post("maint-1", &path, json!({"body": "Done", "expected_last_message_id": mine["id"]})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "thread_moved_on"));
    assert_eq!(refused["error"]["newer"][0]["body"], "Bill the owner");

    let (status, refused) =
        w.post("resident-1", &path, json!({"body": "Hello?", "expected_last_message_id": mine["id"]})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    let (status, refused) =
        w.post("maint-1", &path, json!({"body": "Done", "expected_last_message_id": "nope"})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_message_id"));
    assert_eq!(w.messages("admin-1", &thread).await.len(), 4, "nothing more stored");
}

#[tokio::test]
async fn residents_see_the_last_public_message_which_is_stored_only_while_a_note_came_after_it() {
    use aws_sdk_dynamodb::types::AttributeValue;

    let w = World::new().await;
    let id = w.start_thread("resident-1", "billing", "Refund", "Where is my refund?").await;
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    // A field of the thread item's `data`, as stored.
    let stored_field = |name: &'static str| {
        let key = [
            (keys::PK.to_owned(), AttributeValue::S(keys::thread_pk(&org, &thread))),
            (keys::SK.to_owned(), AttributeValue::S(keys::META_SK.into())),
        ];
        let read = w.store.client().get_item().table_name(w.store.table()).set_key(Some(key.into()));
        async move {
            let item = read.consistent_read(true).send().await.unwrap();
            item.item().unwrap()["data"].as_m().unwrap().get(name).cloned()
        }
    };
    let stored = || stored_field("public_last");
    // While it is not stored, the item names the last message as public.
    let named_public = || async {
        let public_id = stored_field("public_id").await;
        let (_, t) = w.get("admin-1", &format!("/v1/threads/{id}")).await;
        public_id.and_then(|v| v.as_s().ok().cloned()) == t["last_message"]["id"].as_str().map(str::to_owned)
    };
    let last_seen = |user: &'static str| last_seen(&w, user, &id);
    assert!(stored().await.is_none(), "the newest message is public: not stored twice");
    assert!(named_public().await, "as created");
    let note = json!({"body": "Tenant owes 3 months", "internal": true});
    let (status, _) = w.post("admin-1", &format!("/v1/threads/{id}/messages"), note.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(stored().await.is_some(), "a note came after it");
    assert_eq!(last_seen("resident-1").await, "Where is my refund?");
    assert_eq!(last_seen("admin-1").await, "Tenant owes 3 months");

    // A second note keeps what residents see; a public reply is what everyone sees.
    let (status, _) = w.post("admin-1", &format!("/v1/threads/{id}/messages"), note.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(last_seen("resident-1").await, "Where is my refund?");
    let view = w.store.load_thread(&org, &thread).await.unwrap().unwrap();
    let (status, _) =
        w.post("admin-1", &format!("/v1/threads/{id}/messages"), json!({"body": "Sent on Monday"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(stored().await.is_none());
    assert!(named_public().await, "as posted");
    let (status, _) = w.patch("admin-1", &format!("/v1/threads/{id}"), json!({"priority": "urgent"})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(stored().await.is_none());
    assert!(named_public().await, "as changed");
    assert_eq!(last_seen("resident-1").await, "Sent on Monday");

    // A note posted from a read older than a public reply (a request that read the thread
    // before the reply landed) still leaves residents that reply: whether the read's newest
    // message was a note (here) or public (next).
    assert!(post_note(&w, view, "Owes 4 months now").await);
    assert_eq!(last_seen("admin-1").await, "Owes 4 months now");
    assert_eq!(last_seen("resident-1").await, "Sent on Monday", "never a note");
    let (status, _) = w
        .post("admin-1", &format!("/v1/threads/{id}/messages"), json!({"body": "It left our bank today"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let view = w.store.load_thread(&org, &thread).await.unwrap().unwrap();
    let (status, _) = w
        .post("admin-1", &format!("/v1/threads/{id}/messages"), json!({"body": "The receipt is attached"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(post_note(&w, view, "Paid in full").await);
    assert_eq!(last_seen("resident-1").await, "The receipt is attached", "not the reply the old read saw");

    // A note posted by a release before stop 36 left no `public_last` beside it (or a
    // null, from a whole-item write; or it came in the same millisecond as the public
    // message): residents still see the last public message, read from the timeline, and
    // the next note stores it.
    let notes = ["Paid in full", "Tenant owes 3 months", "Tenant owes 3 months"];
    let states = ["REMOVE #d.#pl", "SET #d.#pl = :null", "REMOVE #d.#pl SET #d.#pa = :at"];
    for (old, newest_note) in states.into_iter().zip(notes) {
        let note_at = w.get("admin-1", &format!("/v1/threads/{id}")).await.1["last_message"]["at"].clone();
        let mut write = w
            .store
            .client()
            .update_item()
            .table_name(w.store.table())
            .key(keys::PK, AttributeValue::S(keys::thread_pk(&org, &thread)))
            .key(keys::SK, AttributeValue::S(keys::META_SK.into()))
            .update_expression(old)
            .expression_attribute_names("#d", "data")
            .expression_attribute_names("#pl", "public_last");
        if old.contains(":null") {
            write = write.expression_attribute_values(":null", AttributeValue::Null(true));
        }
        if old.contains(":at") {
            write = write
                .expression_attribute_names("#pa", "public_at")
                .expression_attribute_values(":at", AttributeValue::S(note_at.as_str().unwrap().to_owned()));
        }
        write.send().await.unwrap();
        assert_eq!(last_seen("resident-1").await, "The receipt is attached", "{old}");
        assert_eq!(last_seen("admin-1").await, newest_note);
        // A change rewrites the item and the rows from the thread as read.
        let priority = if old.contains(":null") { "urgent" } else { "normal" };
        let (status, _) =
            w.patch("admin-1", &format!("/v1/threads/{id}"), json!({"priority": priority})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(last_seen("resident-1").await, "The receipt is attached", "{old}");
        let (status, _) = w.post("admin-1", &format!("/v1/threads/{id}/messages"), note.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{old}");
        assert!(stored().await.is_some_and(|p| p.as_m().is_ok()), "{old}");
        assert_eq!(last_seen("resident-1").await, "The receipt is attached", "{old}");
    }
}

/// The preview of the message `user` sees last in `thread`, checking that their inbox row
/// and the thread agree.
async fn last_seen(w: &World, user: &str, thread: &str) -> String {
    let (_, t) = w.get(user, &format!("/v1/threads/{thread}")).await;
    let (_, list) = w.get(user, "/v1/threads").await;
    let row = list["items"].as_array().unwrap().iter().find(|r| r["id"] == thread).unwrap().clone();
    assert_eq!(row["last_message"], t["last_message"], "{user}: the inbox row and the thread agree");
    t["last_message"]["body_preview"].as_str().unwrap().to_owned()
}

/// Posts an internal note of `admin-1` from `view` (read some time ago) through the store,
/// as a request that read the thread then would.
async fn post_note(w: &World, view: store::ThreadView, body: &str) -> bool {
    let note = StorePost {
        author: "admin-1",
        author_name: "Admin",
        role: domain::Role::FacilityAdmin,
        body,
        internal: true,
        notice: true,
    };
    w.post_through_store(view, note).await.2
}

/// The next release stops writing the thread item's top-level `last_id`: this one's posts
/// condition on the summary's last message instead, so each guard holds on such an item.
#[tokio::test]
async fn posts_to_a_thread_item_without_its_top_level_last_id_keep_order_guard_and_notes() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Door", "The lock is stuck").await;
    w.routed_to(&thread, "maint-1").await;
    let (org, id) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&thread).unwrap());
    let path = format!("/v1/threads/{thread}/messages");
    let without_last_id = || async {
        w.update_thread_item(&thread)
            .update_expression("REMOVE #last")
            .expression_attribute_names("#last", "last_id")
            .send()
            .await
            .unwrap();
    };
    let last_seen = |user: &'static str| last_seen(&w, user, &thread);

    // A reply against the thread as it is goes through (the condition compares what the
    // poster saw with the stored newest message).
    without_last_id().await;
    let seen = w.messages("maint-1", &thread).await[0]["id"].as_str().unwrap().to_owned();
    let current = json!({"body": "Locksmith booked for 3pm", "expected_last_message_id": seen});
    let (status, booked) = w.post("maint-1", &path, current).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let read_before_the_note = w.store.load_thread(&org, &id).await.unwrap().unwrap();

    // An internal note after a public message stores the public one beside it, conditioned
    // on the newest message it read: the resident still sees the public one last.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    without_last_id().await;
    let (status, note) = w.post("maint-1", &path, json!({"body": "Bill the owner", "internal": true})).await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(last_seen("resident-1").await, "Locksmith booked for 3pm");
    assert_eq!(last_seen("maint-1").await, "Bill the owner");

    // A public message read before the note and written after it, though older: it is
    // stored, and the note stays the thread's last.
    without_last_id().await;
    let at = |posted: &serde_json::Value| -> chrono::DateTime<chrono::Utc> {
        serde_json::from_value(posted["created_at"].clone()).unwrap()
    };
    let post = StorePost {
        author: "maint-1",
        author_name: "Maintenance",
        role: domain::Role::Staff,
        body: "Written a moment before the note",
        internal: false,
        notice: true,
    };
    let older = at(&note) - chrono::Duration::milliseconds(20);
    let (message, _, posted) =
        crate::support::post_through_at(&w.store, read_before_the_note, post, older).await;
    assert!(posted && message.created_at > at(&booked), "between the two");
    assert!(w.messages("maint-1", &thread).await.iter().any(|m| m["id"] == message.id.to_string().as_str()));
    assert_eq!(last_seen("maint-1").await, "Bill the owner", "the note is still the newest");
}
