//! Consent to communication categories: each mode's default, residents deciding from the
//! portal, admins recording with evidence, the append-only ledger, and staff-started
//! conversations refused without consent.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, World};

impl World {
    async fn new_category(&self, name: &str, consent: &str) -> String {
        let (status, c) =
            self.post("admin-1", "/v1/categories", json!({"name": name, "consent": consent})).await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        c["id"].as_str().unwrap().to_owned()
    }

    /// Staff start a conversation with resident-1 in `category`: the answer's status and body.
    async fn write_in(&self, category: &str) -> (StatusCode, Value) {
        let body = json!({"topic": "general", "subject": "News", "body": "Hello", "resident_id": "resident-1", "category_id": category});
        self.post("admin-1", "/v1/threads", body).await
    }

    async fn my_consents(&self, user: &str) -> Vec<(String, bool, bool)> {
        let (status, list) = self.get(user, "/v1/me/consents").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["subscribed"].as_bool().unwrap(),
                    c["updated_at"].is_string(),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn staff_write_to_residents_only_in_categories_they_consent_to() {
    let w = World::new().await;
    let news = w.new_category("News", "opt_in").await;
    let offers = w.new_category("Offers", "request").await;
    let surveys = w.new_category("Surveys", "opt_out").await;
    let notices = w.new_category("Notices", "transactional").await;

    // Until they decide, each mode's default; transactional ones are not listed.
    let defaults = vec![
        ("News".to_owned(), true, false),
        ("Offers".to_owned(), false, false),
        ("Surveys".to_owned(), false, false),
    ];
    assert_eq!(w.my_consents("resident-1").await, defaults);
    assert_eq!(w.write_in(&news).await.0, StatusCode::CREATED, "opt_in: until they opt out");
    assert_eq!(w.write_in(&notices).await.0, StatusCode::CREATED, "transactional: always");
    assert_eq!(w.write_in("service").await.0, StatusCode::CREATED);
    let threads = w.thread_ids("admin-1", "").await.len();
    for category in [&offers, &surveys] {
        let (status, refused) = w.write_in(category).await;
        assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "no_consent"));
    }
    let later = (Utc::now() + Duration::days(1)).to_rfc3339();
    let scheduled = json!({"topic": "general", "subject": "x", "body": "x", "resident_id": "resident-1", "category_id": offers, "send_at": later});
    let (status, refused) = w.post("admin-1", "/v1/threads", scheduled).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "no_consent"), "scheduling too");
    assert_eq!(w.thread_ids("admin-1", "").await.len(), threads, "nothing stored");
    assert_eq!(w.get("admin-1", "/v1/scheduled").await.1["items"], json!([]), "nothing scheduled");

    // The resident decides from the portal: at once.
    let (status, set) = w
        .call(
            "resident-1",
            Method::PUT,
            &format!("/v1/me/consents/{offers}"),
            Some(json!({"subscribed": true})),
        )
        .await;
    assert_eq!((status, set["subscribed"].as_bool()), (StatusCode::OK, Some(true)), "{set}");
    assert_eq!(w.write_in(&offers).await.0, StatusCode::CREATED);
    let (status, _) = w
        .call(
            "resident-1",
            Method::PUT,
            &format!("/v1/me/consents/{news}"),
            Some(json!({"subscribed": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.write_in(&news).await.1["error"]["code"], "no_consent", "opted out");
    let mine = w.my_consents("resident-1").await;
    assert_eq!(mine[0], ("News".to_owned(), false, true));
    assert_eq!(mine[1], ("Offers".to_owned(), true, true));
    for (category, expected, code) in [
        (notices.as_str(), StatusCode::UNPROCESSABLE_ENTITY, "consent_not_needed"),
        ("cat-nope", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let path = format!("/v1/me/consents/{category}");
        let (status, refused) =
            w.call("resident-1", Method::PUT, &path, Some(json!({"subscribed": true}))).await;
        assert_eq!((status, error_code(&refused)), (expected, code));
    }
    assert_eq!(w.my_consents("resident-2").await, defaults, "each their own");

    // Admins record a decision with evidence; the ledger keeps every change.
    let path = "/v1/contacts/resident-2/consents";
    let no_proof = json!({"category_id": surveys, "subscribed": true});
    let (status, refused) = w.post("admin-1", path, no_proof).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "evidence_required"));
    let proof = json!({"category_id": surveys, "subscribed": true, "evidence": "Asked at the front desk, 2026-12-04, signed form #88"});
    let (status, refused) = w.post("maint-1", path, proof.clone()).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "admin_only"));
    let (status, recorded) = w.post("admin-1", path, proof).await;
    assert_eq!((status, recorded["subscribed"].as_bool()), (StatusCode::CREATED, Some(true)));

    let (status, ledger) = w.get("maint-1", "/v1/contacts/resident-1/consents").await;
    assert_eq!(status, StatusCode::OK);
    let history = ledger["history"].as_array().unwrap();
    let decisions: Vec<(&str, bool, &str, &str)> = history
        .iter()
        .map(|e| {
            (
                e["category_id"].as_str().unwrap(),
                e["subscribed"].as_bool().unwrap(),
                e["source"].as_str().unwrap(),
                e["basis"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [(offers.as_str(), true, "portal", "express"), (news.as_str(), false, "portal", "express")]
    );
    assert_eq!(history[0]["actor_id"], "resident-1");
    let (_, other) = w.get("admin-1", "/v1/contacts/resident-2/consents").await;
    let entry = &other["history"][0];
    assert_eq!((entry["source"].as_str(), entry["actor_id"].as_str()), (Some("admin"), Some("admin-1")));
    assert_eq!(entry["evidence"], "Asked at the front desk, 2026-12-04, signed form #88");

    let (status, refused) = w.get("resident-1", "/v1/contacts/resident-1/consents").await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    assert_eq!(
        w.get("admin-b", "/v1/contacts/resident-1/consents").await.0,
        StatusCode::NOT_FOUND,
        "another org"
    );
}
