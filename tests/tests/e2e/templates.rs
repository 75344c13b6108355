//! Saved replies and signatures: placeholders filled from the thread on the server, who may
//! see and change which template, and a signature on staff's messages to residents only.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, World};

impl World {
    async fn create_template(&self, user: &str, body: Value) -> Value {
        let (status, template) = self.post(user, "/v1/templates", body).await;
        assert_eq!(status, StatusCode::CREATED, "{template}");
        template
    }

    async fn template_names(&self, user: &str) -> Vec<String> {
        let (status, list) = self.get(user, "/v1/templates").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
    }

    /// Posts `body` to `thread` as `user` and returns the stored message's text.
    async fn posted_text(&self, user: &str, thread: &str, body: Value) -> String {
        let (status, message) = self.post(user, &format!("/v1/threads/{thread}/messages"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        message["body"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_template_is_rendered_from_the_thread_with_fallbacks_where_it_has_no_value() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Leak", "Water under the sink").await;
    w.routed_to(&thread, "maint-1").await;
    let template = w
        .create_template(
            "maint-1",
            json!({"name": "Visit", "body": "Hi {{resident.first_name|there}}, we visit unit {{unit}} \
                   of {{property}} about {{linked_record.id|your request}}. {{staff.name}}"}),
        )
        .await;
    assert_eq!(template["scope"], "personal");
    let id = template["id"].as_str().unwrap();
    let text = w.posted_text("maint-1", &thread, json!({"template_id": id})).await;
    assert_eq!(text, "Hi Rita, we visit unit 101 of prop-1 about your request. Max Maintenance");

    // Linked to a work order, the same template names it.
    let (status, _) = w
        .patch(
            "maint-1",
            &format!("/v1/threads/{thread}"),
            json!({"linked_record": {"kind": "work_order", "id": "WO-7"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = w.posted_text("maint-1", &thread, json!({"template_id": id})).await;
    assert_eq!(text, "Hi Rita, we visit unit 101 of prop-1 about WO-7. Max Maintenance");
    let seen = w.messages("resident-1", &thread).await;
    assert_eq!(seen.last().unwrap()["body"], text.as_str(), "the resident reads the rendered text");
}

#[tokio::test]
async fn bad_templates_and_bad_uses_are_refused_and_store_nothing() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Question", "Hello").await;
    w.routed_to(&thread, "maint-1").await;
    for (body, code) in [
        (json!({"name": "Bad", "body": "Dear {{resident.email}}"}), "unknown_placeholder"),
        (json!({"name": "Bad", "body": "Dear {{resident.name"}), "unknown_placeholder"),
        (json!({"name": "Line\nbreak", "body": "Hi"}), "invalid_characters"),
        (json!({"name": "Empty", "body": "   "}), "empty_field"),
    ] {
        let (status, refused) = w.post("maint-1", "/v1/templates", body).await;
        assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, code));
    }
    assert!(w.template_names("maint-1").await.is_empty(), "nothing was saved");

    let template = w.create_template("maint-1", json!({"name": "Ok", "body": "Hi {{resident.name}}"})).await;
    let id = template["id"].as_str().unwrap();
    let path = format!("/v1/threads/{thread}/messages");
    let both = json!({"body": "x", "template_id": id});
    for (user, body, expected) in [
        ("maint-1", both, (StatusCode::UNPROCESSABLE_ENTITY, "body_or_template")),
        ("maint-1", json!({}), (StatusCode::UNPROCESSABLE_ENTITY, "body_or_template")),
        (
            "maint-1",
            json!({"template_id": "01JD3Z8Q4WQ5X2E9V7N6B4K1MT"}),
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_template"),
        ),
        ("admin-1", json!({"template_id": id}), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_template")),
        ("resident-1", json!({"template_id": id}), (StatusCode::FORBIDDEN, "staff_only")),
    ] {
        let (status, refused) = w.post(user, &path, body).await;
        assert_eq!((status, error_code(&refused)), expected, "{user}");
    }
    assert_eq!(w.messages("admin-1", &thread).await.len(), 1, "only the first message");
}

#[tokio::test]
async fn personal_templates_are_their_authors_and_org_templates_are_kept_by_admins() {
    let w = World::new().await;
    let mine = w.create_template("maint-1", json!({"name": "Mine", "body": "Mine"})).await;
    let mine_path = format!("/v1/templates/{}", mine["id"].as_str().unwrap());
    let (status, refused) =
        w.post("maint-1", "/v1/templates", json!({"name": "Everyone", "body": "x", "scope": "org"})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "admin_only"));
    let shared =
        w.create_template("admin-1", json!({"name": "Everyone", "body": "Shared", "scope": "org"})).await;
    let shared_path = format!("/v1/templates/{}", shared["id"].as_str().unwrap());

    assert_eq!(w.template_names("maint-1").await, ["Everyone", "Mine"]);
    assert_eq!(w.template_names("bookkeeper-1").await, ["Everyone"], "another's personal one is not listed");
    assert_eq!(w.get("bookkeeper-1", &mine_path).await.0, StatusCode::NOT_FOUND);
    let (status, refused) = w.get("resident-1", "/v1/templates").await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    let (status, _) = w.get("admin-b", &shared_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another org's");

    let (status, refused) =
        w.call("maint-1", Method::PUT, &shared_path, Some(json!({"name": "Mine now", "body": "x"}))).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "admin_only"));
    assert_eq!(w.call("maint-1", Method::DELETE, &shared_path, None).await.0, StatusCode::FORBIDDEN);
    let (status, changed) = w
        .call(
            "admin-1",
            Method::PUT,
            &shared_path,
            Some(json!({"name": "Everyone", "body": "Hello {{unit|}}"})),
        )
        .await;
    assert_eq!((status, changed["body"].as_str()), (StatusCode::OK, Some("Hello {{unit|}}")), "{changed}");
    let (status, refused) = w
        .call("maint-1", Method::PUT, &mine_path, Some(json!({"name": "Mine", "body": "x", "scope": "org"})))
        .await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "scope_fixed"));

    assert_eq!(w.call("maint-1", Method::DELETE, &mine_path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(w.get("maint-1", &mine_path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(w.template_names("maint-1").await, ["Everyone"]);
}

#[tokio::test]
async fn a_signature_ends_staff_messages_to_residents_but_never_internal_notes() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Heat", "No heat").await;
    w.routed_to(&thread, "maint-1").await;
    let (status, off) = w.get("maint-1", "/v1/me/signature").await;
    assert_eq!((status, off), (StatusCode::OK, json!({"text": "", "enabled": false})));
    let signature = json!({"text": " Max Maintenance\nAcme Property Management ", "enabled": true});
    let (status, saved) = w.call("maint-1", Method::PUT, "/v1/me/signature", Some(signature)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["text"], "Max Maintenance\nAcme Property Management");

    let text = w.posted_text("maint-1", &thread, json!({"body": "A technician comes today."})).await;
    assert_eq!(text, "A technician comes today.\n\nMax Maintenance\nAcme Property Management");
    let note =
        w.posted_text("maint-1", &thread, json!({"body": "Boiler part ordered", "internal": true})).await;
    assert_eq!(note, "Boiler part ordered");
    let resident = w.posted_text("resident-1", &thread, json!({"body": "Thanks"})).await;
    assert_eq!(resident, "Thanks");
    let others = w.posted_text("admin-1", &thread, json!({"body": "No charge"})).await;
    assert_eq!(others, "No charge", "a colleague's posts carry their own signature, none here");

    let off = json!({"text": "Max", "enabled": false});
    assert_eq!(w.call("maint-1", Method::PUT, "/v1/me/signature", Some(off)).await.0, StatusCode::OK);
    assert_eq!(w.posted_text("maint-1", &thread, json!({"body": "Done."})).await, "Done.");

    let (status, refused) = w.get("resident-1", "/v1/me/signature").await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    let long = json!({"text": "x".repeat(501), "enabled": true});
    let (status, refused) = w.call("maint-1", Method::PUT, "/v1/me/signature", Some(long)).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "too_long"));
}
