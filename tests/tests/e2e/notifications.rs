use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{error_code, eventually, World};

impl World {
    /// A phone number no other test uses.
    fn phone(&self, n: u8) -> String {
        let digits: String = self.org.bytes().map(|b| char::from(b'0' + b % 10)).rev().take(7).collect();
        format!("+1{n}55{digits}")
    }

    async fn set_preferences(&self, user: &str, prefs: Value) {
        let (status, body) =
            self.call(user, reqwest::Method::PUT, "/v1/me/notification-preferences", Some(prefs)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// What the dispatcher delivered to `user` (GET /dev/outbox), newest first.
    async fn outbox(&self, user: &str) -> Vec<Value> {
        let url = format!("{}/dev/outbox?user_id={user}&org_id={}", self.url, self.org);
        let page: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }

    /// Requests the local provider sink received for one recipient.
    async fn sink_requests(&self, to: &str) -> Vec<Value> {
        let url = format!("{}/dev/sink/requests?to={}", self.url, to.replace('+', "%2B"));
        let page: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }

    async fn provider_answers(&self, to: &str, statuses: &[u16]) {
        let resp = self
            .http
            .post(format!("{}/dev/sink/failures", self.url))
            .json(&json!({"to": to, "statuses": statuses}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }

    async fn reply(&self, user: &str, thread: &str, body: &str) -> String {
        let (status, msg) =
            self.post(user, &format!("/v1/threads/{thread}/messages"), json!({"body": body})).await;
        assert_eq!(status, StatusCode::CREATED, "{msg}");
        msg["id"].as_str().unwrap().to_owned()
    }

    /// Waits for a delivery to `user` covering `message`.
    async fn delivered(&self, user: &str, message: &str) -> Value {
        eventually(45, &format!("{message} notified to {user}"), || async {
            self.outbox(user).await.into_iter().find(|d| covers(d, message))
        })
        .await
    }
}

fn covers(delivery: &Value, message: &str) -> bool {
    delivery["message_ids"].as_array().unwrap().iter().any(|m| m == message)
}

#[tokio::test]
async fn a_staff_reply_notifies_the_resident_once_on_their_first_channel_and_never_its_author() {
    let w = World::new().await;
    let phone = w.phone(1);
    w.set_preferences("resident-1", json!({"channels": [{"channel": "sms", "address": phone}, {"channel": "email", "address": "rita@example.com"}]})).await;
    let id = w.start_thread("resident-1", "maintenance", "Leak", "Water under the sink").await;
    w.routed_to(&id, "maint-1").await;
    let note = w
        .post(
            "maint-1",
            &format!("/v1/threads/{id}/messages"),
            json!({"body": "Tenant is difficult", "internal": true}),
        )
        .await
        .1;
    let reply = w.reply("maint-1", &id, "Plumber at 9").await;

    let delivery = w.delivered("resident-1", &reply).await;
    assert_eq!(delivery["channel"], "sms");
    assert_eq!(delivery["to"], phone.as_str());
    assert!(delivery["body"].as_str().unwrap().contains("Plumber at 9"));
    assert!(delivery["body"].as_str().unwrap().contains(&format!("/threads/{id}")), "links to the thread");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = w.outbox("resident-1").await;
    assert_eq!(all.iter().filter(|d| covers(d, &reply)).count(), 1, "notified once");
    assert!(
        !all.iter().any(|d| covers(d, note["id"].as_str().unwrap())),
        "internal notes never reach residents"
    );
    assert!(!all.iter().any(|d| d["body"].as_str().unwrap().contains("difficult")));
    assert_eq!(w.sink_requests(&phone).await.len(), all.len());
    // The author is never notified of their own message; the new thread did reach maint-1.
    let staff = w.outbox("maint-1").await;
    assert!(!staff.iter().any(|d| covers(d, &reply)));
    assert!(staff.iter().any(|d| d["body"].as_str().unwrap().contains("Water under the sink")));
}

#[tokio::test]
async fn redelivering_the_same_notification_event_sends_nothing_more() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "billing", "Refund", "Where is it?").await;
    w.routed_to(&id, "bookkeeper-1").await;
    let reply = w.reply("bookkeeper-1", &id, "Sent on Friday").await;
    w.delivered("resident-1", &reply).await;
    let event = w
        .outbox_events()
        .await
        .into_iter()
        .find(|e| e["message_id"] == reply.as_str())
        .expect("the message's event")
        .to_string();
    let queue = w.queue_url("NotificationQueue").await;
    for _ in 0..2 {
        w.sqs.send_message().queue_url(&queue).message_body(&event).send().await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(w.outbox("resident-1").await.iter().filter(|d| covers(d, &reply)).count(), 1);
}

#[tokio::test]
async fn a_provider_500_is_retried_and_a_400_falls_back_to_the_next_channel() {
    let w = World::new().await;
    let phone = w.phone(2);
    w.set_preferences("resident-1", json!({"channels": [{"channel": "sms", "address": phone}, {"channel": "email", "address": "rita@example.com"}]})).await;
    let id = w.start_thread("resident-1", "parking", "Spot", "Blocked").await;
    w.routed_to(&id, "security-1").await;

    w.provider_answers(&phone, &[500]).await;
    let first = w.reply("security-1", &id, "Towing now").await;
    let delivery = w.delivered("resident-1", &first).await;
    assert_eq!(delivery["channel"], "sms", "a 500 is retried on the same channel");
    assert_eq!(
        w.sink_requests(&phone).await.iter().map(|r| r["status"].as_u64().unwrap()).collect::<Vec<_>>(),
        [500, 200]
    );

    w.provider_answers(&phone, &[400]).await;
    let second = w.reply("security-1", &id, "Done").await;
    let delivery = w.delivered("resident-1", &second).await;
    assert_eq!(delivery["channel"], "email", "a 400 falls back to the next channel");
    assert_eq!(delivery["to"], "rita@example.com");
}

#[tokio::test]
async fn quiet_hours_hold_a_normal_message_and_let_an_urgent_one_through() {
    let w = World::new().await;
    let now = chrono::Utc::now();
    let quiet = json!({
        "start": (now - chrono::Duration::hours(1)).format("%H:%M").to_string(),
        "end": (now + chrono::Duration::hours(1)).format("%H:%M").to_string(),
        "time_zone": "UTC"
    });
    let phone = w.phone(3);
    w.set_preferences(
        "resident-1",
        json!({"channels": [{"channel": "whatsapp", "address": phone}], "quiet_hours": quiet}),
    )
    .await;
    let normal = w.start_thread("resident-1", "general", "Hello", "Question").await;
    // Priority is staff work: maintenance raises it.
    let (_, urgent) = w
        .post("maint-1", "/v1/threads", json!({"topic": "maintenance", "subject": "Flood", "body": "Water everywhere", "priority": "urgent", "resident_id": "resident-1"}))
        .await;
    let urgent = urgent["id"].as_str().unwrap().to_owned();
    w.routed_to(&normal, "admin-1").await;
    w.routed_to(&urgent, "maint-1").await;

    let held = w.reply("admin-1", &normal, "We will look tomorrow").await;
    let through = w.reply("maint-1", &urgent, "On our way").await;
    let delivery = w.delivered("resident-1", &through).await;
    assert_eq!(delivery["channel"], "whatsapp");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!w.outbox("resident-1").await.iter().any(|d| covers(d, &held)), "held until the quiet hours end");
}

#[tokio::test]
async fn ten_quick_messages_to_one_recipient_become_one_digest() {
    let w = World::new().await;
    w.set_preferences("resident-1", json!({"channels": [{"channel": "telegram", "address": "424242"}]}))
        .await;
    let id = w.start_thread("resident-1", "maintenance", "Boiler", "Noisy boiler").await;
    w.routed_to(&id, "maint-1").await;
    let posts = (0..10).map(|i| {
        let (w, id) = (&w, id.clone());
        async move { w.reply("maint-1", &id, &format!("update {i}")).await }
    });
    let ids = futures::future::join_all(posts).await;
    eventually(45, "all ten notified", || async {
        let outbox = w.outbox("resident-1").await;
        ids.iter().all(|m| outbox.iter().any(|d| covers(d, m))).then_some(())
    })
    .await;
    let outbox = w.outbox("resident-1").await;
    assert_eq!(outbox.len(), 1, "one digest, not ten notifications: {outbox:?}");
    assert!(outbox[0]["body"].as_str().unwrap().starts_with("10 new messages"));
}

#[tokio::test]
async fn bad_preferences_are_refused_with_422_and_nothing_is_saved() {
    let w = World::new().await;
    let (_, before) = w.get("resident-2", "/v1/me/notification-preferences").await;
    assert_eq!(before["channels"][0]["channel"], "email", "defaults to the contact e-mail");
    for bad in [
        json!({"channels": [{"channel": "pager", "address": "1"}]}),
        json!({"channels": [{"channel": "sms", "address": "555-1234"}]}),
        json!({"channels": [{"channel": "email", "address": "not-an-email"}]}),
        json!({"channels": [{"channel": "sms", "address": "+15145550123"}], "quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "Nowhere/City"}}),
    ] {
        let (status, body) = w
            .call("resident-2", reqwest::Method::PUT, "/v1/me/notification-preferences", Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        error_code(&body);
    }
    assert_eq!(w.get("resident-2", "/v1/me/notification-preferences").await.1, before);
}

#[tokio::test]
async fn the_org_default_channel_order_reaches_users_without_preferences_of_their_own() {
    let w = World::new().await;
    let defaults = json!({"default_channels": ["whatsapp", "email"]});
    let (status, body) =
        w.call("maint-1", reqwest::Method::PUT, "/v1/settings/notifications", Some(defaults.clone())).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "admin_only"));
    let (status, _) = w
        .call(
            "admin-1",
            reqwest::Method::PUT,
            "/v1/settings/notifications",
            Some(json!({"default_channels": []})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, saved) =
        w.call("admin-1", reqwest::Method::PUT, "/v1/settings/notifications", Some(defaults.clone())).await;
    assert_eq!((status, saved), (StatusCode::OK, defaults));

    let (_, prefs) = w.get("resident-2", "/v1/me/notification-preferences").await;
    assert_eq!(prefs["channels"][0]["channel"], "whatsapp", "WhatsApp first, at the contact's phone");
    let phone = prefs["channels"][0]["address"].as_str().unwrap().to_owned();
    let id = w.start_thread("resident-2", "parking", "Gate", "The gate is stuck").await;
    w.routed_to(&id, "security-1").await;
    let reply = w.reply("security-1", &id, "Fixed").await;
    let delivery = w.delivered("resident-2", &reply).await;
    assert_eq!(
        (delivery["channel"].as_str(), delivery["to"].as_str()),
        (Some("whatsapp"), Some(phone.as_str()))
    );
}
