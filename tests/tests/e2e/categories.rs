//! Communication categories: admins set them, staff read them, every new thread belongs to
//! one (by its topic, by staff's choice, else `service`), and the inbox filters by them.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, eventually, World};

impl World {
    async fn category_ids(&self, user: &str) -> Vec<String> {
        let (status, list) = self.get(user, "/v1/categories").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    }

    async fn create_category(&self, body: Value) -> Value {
        let (status, category) = self.post("admin-1", "/v1/categories", body).await;
        assert_eq!(status, StatusCode::CREATED, "{category}");
        category
    }

    async fn category_of(&self, thread: &str) -> String {
        let (_, rows) = self.get("admin-1", "/v1/threads?limit=100").await;
        let row = rows["items"].as_array().unwrap().iter().find(|r| r["id"] == thread).unwrap().clone();
        row["category_id"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn admins_set_categories_that_every_new_thread_belongs_to() {
    let w = World::new().await;
    assert_eq!(w.category_ids("maint-1").await, ["service"]);
    let (status, refused) = w.get("resident-1", "/v1/categories").await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    let newsletter = json!({"name": "Newsletter", "consent": "opt_in"});
    let (status, refused) = w.post("maint-1", "/v1/categories", newsletter.clone()).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "admin_only"));

    let newsletter = w.create_category(newsletter).await;
    let rules = w
        .create_category(json!({"name": "Parking rules", "consent": "request", "topics": ["Parking"], "auditors": ["security-1"], "dispatchers": ["security-1", "security-1"]}))
        .await;
    assert_eq!(rules["topics"], json!(["parking"]));
    assert_eq!(rules["dispatchers"], json!(["security-1"]), "once each");
    let (newsletter_id, rules_id) = (newsletter["id"].as_str().unwrap(), rules["id"].as_str().unwrap());
    assert!(newsletter_id.starts_with("cat-"));

    // Refused, and nothing stored.
    for (body, expected, code) in [
        (
            json!({"name": "Lots", "consent": "opt_out", "topics": ["parking"]}),
            StatusCode::CONFLICT,
            "topic_taken",
        ),
        (
            json!({"name": "Audit", "consent": "transactional", "auditors": ["resident-1"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_staff",
        ),
        (json!({"name": "No mode"}), StatusCode::UNPROCESSABLE_ENTITY, "empty_field"),
        (
            json!({"name": "Bad\nname", "consent": "opt_in"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_characters",
        ),
    ] {
        let (status, refused) = w.post("admin-1", "/v1/categories", body.clone()).await;
        assert_eq!((status, error_code(&refused)), (expected, code), "{body}");
    }
    let path = format!("/v1/categories/{rules_id}");
    let (status, refused) = w.patch("admin-1", &path, json!({"consent": "opt_in"})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "consent_fixed"));
    let (status, refused) = w.patch("admin-1", "/v1/categories/service", json!({"name": "Mine"})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "not_allowed"));
    assert_eq!(w.get("admin-1", "/v1/categories/cat-nope").await.0, StatusCode::NOT_FOUND);
    let mut ids = w.category_ids("bookkeeper-1").await;
    ids.sort();
    let mut expected = vec!["service".to_owned(), newsletter_id.to_owned(), rules_id.to_owned()];
    expected.sort();
    assert_eq!(ids, expected);
    let (status, renamed) = w.patch("admin-1", &path, json!({"name": "Parking"})).await;
    assert_eq!(
        (status, renamed["name"].as_str(), renamed["topics"].clone()),
        (StatusCode::OK, Some("Parking"), json!(["parking"]))
    );
    assert_eq!(w.category_ids("admin-b").await, ["service"], "another org's are its own");

    // Every new thread has one: by topic, by staff's choice, else service.
    let parking = w.start_thread("resident-1", "parking", "Spot 12", "Someone parks in my spot").await;
    let tap = w.start_thread("resident-1", "maintenance", "Tap", "Drips").await;
    let (status, news) = w
        .post(
            "admin-1",
            "/v1/threads",
            json!({"topic": "general", "subject": "Winter news", "body": "Snow removal Monday", "resident_id": "resident-1", "category_id": newsletter_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{news}");
    let news = news["id"].as_str().unwrap().to_owned();
    assert_eq!(w.category_of(&parking).await, rules_id);
    assert_eq!(w.category_of(&tap).await, "service");
    assert_eq!(w.category_of(&news).await, newsletter_id);
    let own = json!({"topic": "general", "subject": "Hi", "body": "x", "category_id": newsletter_id});
    let (status, refused) = w.post("resident-1", "/v1/threads", own).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    let unknown = json!({"topic": "general", "subject": "Hi", "body": "x", "resident_id": "resident-1", "category_id": "cat-nope"});
    let (status, refused) = w.post("admin-1", "/v1/threads", unknown).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"));

    // The inbox filters by category.
    assert_eq!(w.thread_ids("admin-1", &format!("?category_id={rules_id}")).await, [parking]);
    assert_eq!(w.thread_ids("admin-1", "?category_id=service").await, [tap]);
    assert_eq!(w.thread_ids("resident-1", &format!("?category_id={newsletter_id}")).await, [news]);
    let (status, refused) =
        w.call("admin-1", Method::GET, &format!("/v1/threads?category_id={}", "c".repeat(65)), None).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_query"));
}

#[tokio::test]
async fn auditors_read_every_thread_of_their_category_and_write_nothing() {
    let w = World::new().await;
    let parking = w
        .create_category(json!({"name": "Parking", "consent": "transactional", "topics": ["parking"], "auditors": ["bookkeeper-1"]}))
        .await;
    let parking = parking["id"].as_str().unwrap().to_owned();
    let thread = w.start_thread("resident-1", "parking", "Spot 12", "Someone parks in my spot").await;
    let other = w.start_thread("resident-1", "maintenance", "Tap", "Drips").await;
    w.routed_to(&thread, "security-1").await;
    let note = json!({"body": "Tow truck called", "internal": true});
    assert_eq!(
        w.post("security-1", &format!("/v1/threads/{thread}/messages"), note).await.0,
        StatusCode::CREATED
    );

    // The auditor reads it whole, internal notes included, and lists the category's threads.
    let (status, t) = w.get("bookkeeper-1", &format!("/v1/threads/{thread}")).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let bodies: Vec<String> = w
        .messages("bookkeeper-1", &thread)
        .await
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bodies, ["Someone parks in my spot", "Tow truck called"]);
    assert_eq!(
        w.thread_ids("bookkeeper-1", &format!("?category_id={parking}")).await,
        std::slice::from_ref(&thread)
    );
    assert!(!w.thread_ids("bookkeeper-1", "").await.contains(&thread), "not in their own inbox");

    // And writes nothing.
    let path = format!("/v1/threads/{thread}");
    for (method, route, body) in [
        (Method::POST, format!("{path}/messages"), json!({"body": "Hello"})),
        (Method::PATCH, path.clone(), json!({"status": "resolved"})),
        (Method::POST, format!("{path}/participants"), json!({"user_id": "bookkeeper-1"})),
        (Method::POST, format!("{path}/read"), json!({"message_id": t["last_message"]["id"]})),
    ] {
        let (status, refused) = w.call("bookkeeper-1", method.clone(), &route, Some(body)).await;
        assert_eq!(
            (status, error_code(&refused)),
            (StatusCode::FORBIDDEN, "not_allowed"),
            "{method} {route}"
        );
    }
    assert_eq!(w.messages("security-1", &thread).await.len(), 2, "nothing stored");

    // Nobody else: another staff member, another category's thread.
    assert_eq!(w.get("maint-1", &path).await.0, StatusCode::NOT_FOUND);
    assert!(w.thread_ids("maint-1", &format!("?category_id={parking}")).await.is_empty());
    assert_eq!(w.get("bookkeeper-1", &format!("/v1/threads/{other}")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dispatchers_read_assign_and_are_alerted_in_their_properties_only() {
    let w = World::new().await;
    // Dora works for prop-2 only; security-1 for prop-1 (the seed's property_id).
    let (status, dora) = w
        .post("admin-1", "/v1/contacts", json!({"kind": "staff", "name": "Dora Dispatch", "property_ids": ["prop-2", "prop-2"], "email": format!("dora@{}.example.com", w.org)}))
        .await;
    assert_eq!((status, dora["property_ids"].clone()), (StatusCode::CREATED, json!(["prop-2"])), "{dora}");
    let dora = dora["id"].as_str().unwrap().to_owned();
    let (status, refused) = w
        .post("admin-1", "/v1/contacts", json!({"kind": "resident", "name": "Rex", "property_id": "prop-1", "unit": "9", "property_ids": ["prop-2"]}))
        .await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
        "staff only"
    );
    let repairs = w
        .create_category(json!({"name": "Repairs", "consent": "transactional", "topics": ["maintenance"], "dispatchers": ["security-1", dora]}))
        .await;
    let repairs = repairs["id"].as_str().unwrap().to_owned();
    let thread = w.start_thread("resident-1", "maintenance", "Leak", "Water under the sink").await;
    w.routed_to(&thread, "maint-1").await;

    // Alerted to the resident's message: security-1 (prop-1), not Dora (prop-2).
    let security = format!("security-1@{}.example.com", w.org);
    eventually(20, "the dispatcher's alert", || async {
        crate::support::sent_mail(&security)
            .await
            .iter()
            .any(|m| m.contains("Water under the sink"))
            .then_some(())
    })
    .await;
    assert!(w.pending(&dora, 10).await.is_empty());
    assert!(crate::support::sent_mail(&format!("dora@{}.example.com", w.org)).await.is_empty());

    // security-1 reads it, lists the category's threads of the property, adds someone...
    let path = format!("/v1/threads/{thread}");
    assert_eq!(w.get("security-1", &path).await.0, StatusCode::OK);
    assert_eq!(w.messages("security-1", &thread).await.len(), 1);
    let listed = w.thread_ids("security-1", &format!("?category_id={repairs}&property_id=prop-1")).await;
    assert_eq!(listed, std::slice::from_ref(&thread));
    assert!(!w.thread_ids("security-1", "").await.contains(&thread), "not in their own inbox");
    let added =
        w.post("security-1", &format!("{path}/participants"), json!({"user_id": "bookkeeper-1"})).await;
    assert_eq!(added.0, StatusCode::CREATED, "{}", added.1);
    assert!(w.participants(&thread).await.contains(&"bookkeeper-1".to_owned()));
    // ...but does not post or change it.
    for (method, route, body) in [
        (Method::POST, format!("{path}/messages"), json!({"body": "On it"})),
        (Method::PATCH, path.clone(), json!({"priority": "urgent"})),
    ] {
        let (status, refused) = w.call("security-1", method.clone(), &route, Some(body)).await;
        assert_eq!(
            (status, error_code(&refused)),
            (StatusCode::FORBIDDEN, "not_allowed"),
            "{method} {route}"
        );
    }

    // Outside their properties a dispatcher sees nothing.
    assert_eq!(w.get(&dora, &path).await.0, StatusCode::NOT_FOUND);
    let (status, _) = w.post(&dora, &format!("{path}/participants"), json!({"user_id": "maint-1"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(w.thread_ids(&dora, &format!("?category_id={repairs}&property_id=prop-1")).await.is_empty());
    assert!(w.thread_ids(&dora, &format!("?category_id={repairs}&property_id=prop-2")).await.is_empty());
    // Nor in another org.
    assert_eq!(w.get("admin-b", &path).await.0, StatusCode::NOT_FOUND);
}
