use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::notify::PendingNotification;
use domain::{OrgId, UserId};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{error_code, eventually, StorePost, World};

impl World {
    /// A phone number no other test uses.
    pub(crate) fn phone(&self, n: u8) -> String {
        let digits: String = self.org.bytes().map(|b| char::from(b'0' + b % 10)).rev().take(7).collect();
        format!("+1{n}55{digits}")
    }

    /// `user` is notified on WhatsApp at `phone`, in quiet hours from an hour ago to an hour
    /// from now.
    async fn whatsapp_in_quiet_hours(&self, user: &str, phone: &str) {
        let now = chrono::Utc::now();
        let quiet = json!({
            "start": (now - chrono::Duration::hours(1)).format("%H:%M").to_string(),
            "end": (now + chrono::Duration::hours(1)).format("%H:%M").to_string(),
            "time_zone": "UTC"
        });
        self.set_preferences(
            user,
            json!({"channels": [{"channel": "whatsapp", "address": phone}], "quiet_hours": quiet}),
        )
        .await;
    }

    pub(crate) async fn set_preferences(&self, user: &str, prefs: Value) {
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

    /// Up to `limit` notifications waiting for `user`, read as the dispatcher reads them:
    /// from their bucket's floor (no bucket, none waiting).
    pub(crate) async fn pending(&self, user: &str, limit: usize) -> Vec<PendingNotification> {
        let (org, user) = (OrgId::parse(&self.org).unwrap(), UserId::parse(user).unwrap());
        match self.store.bucket_of(&org, &user).await.unwrap() {
            Some(bucket) => self.store.pending_notifications(&bucket, limit, false).await.unwrap(),
            None => vec![],
        }
    }

    /// Requests the local provider sink received for one recipient.
    pub(crate) async fn sink_requests(&self, to: &str) -> Vec<Value> {
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

    pub(crate) async fn reply(&self, user: &str, thread: &str, body: &str) -> String {
        let (status, msg) =
            self.post(user, &format!("/v1/threads/{thread}/messages"), json!({"body": body})).await;
        assert_eq!(status, StatusCode::CREATED, "{msg}");
        msg["id"].as_str().unwrap().to_owned()
    }

    /// Waits for a delivery to `user` covering `message`.
    pub(crate) async fn delivered(&self, user: &str, message: &str) -> Value {
        eventually(45, &format!("{message} notified to {user}"), || async {
            self.outbox(user).await.into_iter().find(|d| covers(d, message))
        })
        .await
    }
}

/// A notification of an admin's message in `thread`, as the notifier would enqueue it.
fn admin_notification(
    thread: &str,
    message_id: domain::MessageId,
    preview: &str,
    urgent: bool,
) -> PendingNotification {
    PendingNotification {
        message_id,
        thread_id: domain::ThreadId::parse(thread).unwrap(),
        subject: "Notified".into(),
        author_name: "Admin".into(),
        preview: preview.into(),
        urgent,
        at: chrono::Utc::now(),
        consent_category: None,
        page: false,
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
    // A colleague in the thread, so the note has someone to reach.
    let (status, _) =
        w.post("admin-1", &format!("/v1/threads/{id}/participants"), json!({"user_id": "admin-1"})).await;
    assert_eq!(status, StatusCode::CREATED);
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
    // The positive signal that the note was handled: it reached the colleague.
    w.delivered("admin-1", note["id"].as_str().unwrap()).await;
    w.delivered("admin-1", &reply).await;
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
    // A later message through the same queue: once it is delivered, the copies (queued
    // before it) have been handled.
    let later = w.reply("bookkeeper-1", &id, "Reference 42").await;
    w.delivered("resident-1", &later).await;
    assert_eq!(w.outbox("resident-1").await.iter().filter(|d| covers(d, &reply)).count(), 1);
    // The sent marker is what refuses the copies.
    let (org, user) = (domain::OrgId::parse(&w.org).unwrap(), domain::UserId::parse("resident-1").unwrap());
    let copy = domain::notify::PendingNotification {
        message_id: domain::MessageId::parse(&reply).unwrap(),
        thread_id: domain::ThreadId::parse(&id).unwrap(),
        subject: "Refund".into(),
        author_name: "Bookkeeper".into(),
        preview: "Sent on Friday".into(),
        urgent: false,
        at: chrono::Utc::now(),
        consent_category: None,
        page: false,
    };
    assert!(!w.store.enqueue_notification(&org, &user, &copy, chrono::Utc::now()).await.unwrap());
}

/// Events carry what a notification shows of their message; one written before they did
/// (as a release before stop 37 wrote it) is still notified, from the message itself.
#[tokio::test]
async fn an_event_without_the_messages_notice_is_notified_from_the_message_itself() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "billing", "Refund", "Where is it?").await;
    w.routed_to(&id, "bookkeeper-1").await;
    let reply = w.reply("bookkeeper-1", &id, "Sent on Friday").await;
    w.delivered("resident-1", &reply).await;
    let carried = w.outbox_events().await.into_iter().find(|e| e["message_id"] == reply.as_str()).unwrap();
    assert_eq!(carried["notice"]["preview"], "Sent on Friday", "{carried}");

    // A message whose event names only its id, posted through the store.
    let (org, thread) = (OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    let view = w.store.load_thread(&org, &thread).await.unwrap().unwrap();
    let post = StorePost {
        author: "bookkeeper-1",
        author_name: "Bea from billing",
        role: domain::Role::Staff,
        body: "The cheque cleared this morning",
        internal: false,
        notice: false,
    };
    let (message, event, posted) = w.post_through_store(view, post).await;
    assert!(posted);
    let body = serde_json::to_string(&event).unwrap();
    assert!(!body.contains("notice"), "{body}");
    let queue = w.queue_url("NotificationQueue").await;
    w.sqs.send_message().queue_url(&queue).message_body(&body).send().await.unwrap();

    let delivery = w.delivered("resident-1", &message.id.to_string()).await;
    let text = delivery["body"].as_str().unwrap();
    assert!(text.contains("The cheque cleared this morning") && text.contains("Bea from billing"), "{text}");
}

#[tokio::test]
async fn a_notification_handled_after_a_newer_one_still_waits_to_go_out_and_only_once() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Late", "First").await;
    let (org, user) = (OrgId::parse(&w.org).unwrap(), UserId::parse("resident-1").unwrap());
    let now = chrono::Utc::now();
    let millis = u64::try_from(now.timestamp_millis()).unwrap();
    let notification = |message_id, preview: &str| admin_notification(&id, message_id, preview, false);
    // Events are handled out of order: the newer message's notification opens the bucket,
    // the older one (a minute earlier) sorts before where the bucket starts reading.
    let newer = notification(domain::MessageId::new_at(millis), "newer");
    let older = notification(domain::MessageId::new_at(millis - 60_000), "older");
    let later = now + chrono::Duration::hours(1);
    assert!(w.store.enqueue_notification(&org, &user, &newer, later).await.unwrap());
    assert!(w.store.enqueue_notification(&org, &user, &older, later).await.unwrap());
    // (An automated answer to the thread may be waiting too.)
    let ours = |p: &PendingNotification| p.thread_id == older.thread_id && p.author_name == "Admin";
    let waiting = || async {
        w.pending("resident-1", 10).await.into_iter().filter(ours).map(|p| p.preview).collect::<Vec<_>>()
    };
    assert_eq!(waiting().await, ["older", "newer"]);
    // Both are counted once: a copy of either adds nothing.
    assert!(!w.store.enqueue_notification(&org, &user, &older, later).await.unwrap());
    assert!(!w.store.enqueue_notification(&org, &user, &newer, later).await.unwrap());
    assert_eq!(waiting().await, ["older", "newer"]);

    // A bucket an earlier release made has no floor: its notifications may start anywhere,
    // and a newer one joining it must not hide them.
    w.store
        .client()
        .update_item()
        .table_name(w.store.table())
        .key("pk", AttributeValue::S(store::keys::notify_pk(&org, &user)))
        .key("sk", AttributeValue::S(store::keys::BUCKET_SK.into()))
        .update_expression("REMOVE floor")
        .send()
        .await
        .unwrap();
    let newest = notification(domain::MessageId::new_at(millis + 60_000), "newest");
    assert!(w.store.enqueue_notification(&org, &user, &newest, later).await.unwrap());
    assert_eq!(waiting().await, ["older", "newer", "newest"]);
}

#[tokio::test]
async fn more_notifications_waiting_than_one_delivery_takes_go_out_in_two_each_once() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Many", "First").await;
    let (org, user) = (OrgId::parse(&w.org).unwrap(), UserId::parse("resident-1").unwrap());
    let now = chrono::Utc::now();
    let millis = u64::try_from(now.timestamp_millis()).unwrap();
    let notification = |i: u64, urgent| {
        admin_notification(&id, domain::MessageId::new_at(millis + i), &format!("update {i}"), urgent)
    };
    // 45 held for an hour, then an urgent one makes the bucket due at once: the dispatcher
    // finds 46 waiting, sends the oldest 40, and the rest at its next run.
    let later = now + chrono::Duration::hours(1);
    let all: Vec<PendingNotification> = (0..46).map(|i| notification(i, i == 45)).collect();
    for p in &all {
        assert!(w
            .store
            .enqueue_notification(&org, &user, p, if p.urgent { now } else { later })
            .await
            .unwrap());
    }
    let last = all[45].message_id.to_string();
    w.delivered("resident-1", &last).await;
    let deliveries: Vec<Value> = w
        .outbox("resident-1")
        .await
        .into_iter()
        .filter(|d| all.iter().any(|p| covers(d, &p.message_id.to_string())))
        .collect();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    for p in &all {
        let id = p.message_id.to_string();
        assert_eq!(deliveries.iter().filter(|d| covers(d, &id)).count(), 1, "{id} once");
    }
    assert!(w.pending("resident-1", 50).await.iter().all(|p| !p.preview.starts_with("update ")));
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
    let phone = w.phone(3);
    w.whatsapp_in_quiet_hours("resident-1", &phone).await;
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
    let (org, user) = (domain::OrgId::parse(&w.org).unwrap(), domain::UserId::parse("resident-1").unwrap());
    eventually(20, "the normal message held until the quiet hours end", || async {
        let b = w.store.bucket_of(&org, &user).await.unwrap()?;
        (b.due > now + chrono::Duration::minutes(30)).then_some(())
    })
    .await;
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

impl World {
    /// The notifications that reached nobody (GET /dev/outbox's `failed`), newest first.
    async fn failed(&self, user: &str) -> Vec<Value> {
        let url = format!("{}/dev/outbox?user_id={user}&org_id={}", self.url, self.org);
        let page: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        page["failed"].as_array().cloned().unwrap_or_default()
    }

    /// The next `n` answers to `to` take `delay_ms` each (a provider that stalls).
    async fn provider_stalls(&self, to: &str, n: usize, delay_ms: u64) {
        let resp = self
            .http
            .post(format!("{}/dev/sink/failures", self.url))
            .json(&json!({"to": to, "statuses": vec![200; n], "delay_ms": delay_ms}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }

    /// A thread of `resident` routed to `staff`, made urgent by them.
    async fn urgent_thread(&self, resident: &str, topic: &str, staff: &str) -> String {
        let id = self.start_thread(resident, topic, "Burst pipe", "Water in the hall").await;
        self.routed_to(&id, staff).await;
        let (status, body) =
            self.patch(staff, &format!("/v1/threads/{id}"), json!({"priority": "urgent"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        id
    }
}

#[tokio::test]
async fn a_recipient_with_thousands_of_sent_notifications_still_hears_of_a_new_message() {
    use domain::notify::PendingNotification;
    use domain::{MessageId, OrgId, ThreadId, UserId};

    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Noise", "Hammering upstairs").await;
    w.routed_to(&id, "maint-1").await;
    // 2,000 notifications already sent to resident-1 (older than anything new), written
    // through the store the way the dispatcher leaves them. Each is about as large as a
    // long subject and preview make it, so they fill more than one 1 MB Query page.
    let (org, user) = (OrgId::parse(&w.org).unwrap(), UserId::parse("resident-1").unwrap());
    let thread = ThreadId::parse(&id).unwrap();
    let since = u64::try_from((chrono::Utc::now() - chrono::Duration::days(30)).timestamp_millis()).unwrap();
    // Due far ahead, so the running dispatcher leaves them to this test.
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    for chunk in 0..50u64 {
        let sent: Vec<PendingNotification> = (0..40u64)
            .map(|i| PendingNotification {
                message_id: MessageId::new_at(since + chunk * 40 + i),
                thread_id: thread,
                subject: "s".repeat(200),
                author_name: "Max Mustermann".into(),
                preview: "p".repeat(400),
                urgent: false,
                at: chrono::Utc::now(),
                consent_category: None,
                page: false,
            })
            .collect();
        for p in &sent {
            assert!(w.store.enqueue_notification(&org, &user, p, later).await.unwrap());
        }
        let bucket = w.store.bucket_of(&org, &user).await.unwrap().expect("the bucket those made");
        w.store.finish_bucket(&bucket, &sent, None).await.unwrap();
    }
    assert!(w.store.bucket_of(&org, &user).await.unwrap().is_none(), "all 2,000 recorded as sent");

    let reply = w.reply("maint-1", &id, "Found the noise: a loose pipe").await;
    let delivery = w.delivered("resident-1", &reply).await;
    assert_eq!(delivery["message_ids"].as_array().unwrap().len(), 1, "only the new message: {delivery}");
}

#[tokio::test]
async fn a_long_sms_digest_is_cut_to_what_sms_carries_with_a_link_to_the_rest() {
    let w = World::new().await;
    let phone = w.phone(4);
    w.set_preferences("resident-1", json!({"channels": [{"channel": "sms", "address": phone}]})).await;
    let id = w.start_thread("resident-1", "maintenance", "Heating", "Radiators are cold").await;
    w.routed_to(&id, "maint-1").await;
    let posts = (0..12).map(|i| {
        let (w, id) = (&w, id.clone());
        async move {
            w.reply("maint-1", &id, &format!("update {i}: {}", "the technician checks the valves ".repeat(6)))
                .await
        }
    });
    let ids = futures::future::join_all(posts).await;
    eventually(45, "all twelve notified", || async {
        let outbox = w.outbox("resident-1").await;
        ids.iter().all(|m| outbox.iter().any(|d| covers(d, m))).then_some(())
    })
    .await;
    let outbox = w.outbox("resident-1").await;
    let widest = outbox.iter().max_by_key(|d| d["message_ids"].as_array().unwrap().len()).unwrap();
    assert!(
        widest["message_ids"].as_array().unwrap().len() >= 9,
        "a digest too long for one SMS: {outbox:?}"
    );
    for d in &outbox {
        assert_eq!(d["channel"], "sms");
        let body = d["body"].as_str().unwrap();
        assert!(body.encode_utf16().count() <= 1600, "{} characters", body.encode_utf16().count());
    }
    let body = widest["body"].as_str().unwrap();
    assert!(body.contains(&format!("{}/threads/{id}", w.url)), "the rest is a link away: {body}");
    assert!(w.sink_requests(&phone).await.iter().all(|r| r["status"] == 200), "the provider refused nothing");
}

#[tokio::test]
async fn a_notification_no_channel_could_deliver_is_recorded_as_failed_not_sent() {
    let w = World::new().await;
    let phone = w.phone(5);
    w.set_preferences("resident-1", json!({"channels": [{"channel": "sms", "address": phone}]})).await;
    let id = w.start_thread("resident-1", "billing", "Invoice", "Charged twice").await;
    w.routed_to(&id, "bookkeeper-1").await;
    w.provider_answers(&phone, &[400]).await;
    let reply = w.reply("bookkeeper-1", &id, "Refund issued").await;

    let failed = eventually(45, "the failure recorded", || async {
        w.failed("resident-1").await.into_iter().find(|f| covers(f, &reply))
    })
    .await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"][0]["channel"], "sms");
    assert_eq!(failed["attempts"][0]["to"], phone.as_str());
    assert!(!w.outbox("resident-1").await.iter().any(|d| covers(d, &reply)), "not in the sent deliveries");
    assert_eq!(w.sink_requests(&phone).await.len(), 1, "one refusal, no retry of a permanent one");
}

#[tokio::test]
async fn a_stalled_provider_for_one_urgent_recipient_holds_up_nobody_elses_notifications() {
    let w = World::new().await;
    let phone = w.phone(6);
    w.set_preferences("resident-1", json!({"channels": [{"channel": "sms", "address": phone}]})).await;
    let urgent = w.urgent_thread("resident-1", "maintenance", "maint-1").await;
    let other = w.start_thread("resident-2", "parking", "Gate", "The gate is stuck").await;
    w.routed_to(&other, "security-1").await;
    // Every attempt to reach resident-1 hangs well past the provider timeout.
    w.provider_stalls(&phone, 3, 30_000).await;

    w.reply("maint-1", &urgent, "On our way").await;
    eventually(20, "the stalled send attempted", || async {
        (!w.sink_requests(&phone).await.is_empty()).then_some(())
    })
    .await;
    let started = std::time::Instant::now();
    let reply = w.reply("security-1", &other, "Fixed").await;
    w.delivered("resident-2", &reply).await;
    let took = started.elapsed();
    // Held up, it would wait out a 30 s stall; the margin is for two busy cores.
    assert!(took < Duration::from_secs(20), "resident-2 waited {took:?} behind resident-1's provider");
}

#[tokio::test]
async fn paid_channels_carry_at_most_the_hourly_cap_and_the_rest_waits_for_one_digest() {
    use domain::{OrgId, UserId};

    const CAP: usize = 60;
    let w = World::new().await;
    let phone = w.phone(7);
    w.set_preferences("resident-1", json!({"channels": [{"channel": "sms", "address": phone}]})).await;
    let id = w.urgent_thread("resident-1", "maintenance", "maint-1").await;
    let (org, user) = (OrgId::parse(&w.org).unwrap(), UserId::parse("resident-1").unwrap());
    let held_bucket = || async {
        let b = w.store.bucket_of(&org, &user).await.unwrap()?;
        (b.due > chrono::Utc::now() + chrono::Duration::seconds(5)).then_some(b)
    };
    // Urgent messages skip the digest window: each would be its own SMS, until the cap.
    let started = std::time::Instant::now();
    let mut sent = 0;
    let mut first_held = loop {
        let m = w.reply("maint-1", &id, &format!("page {sent}")).await;
        let delivered = eventually(20, &format!("page {sent} sent or held"), || async {
            if w.outbox("resident-1").await.iter().any(|d| covers(d, &m)) {
                Some(true)
            } else {
                held_bucket().await.map(|_| false)
            }
        })
        .await;
        if !delivered {
            break m;
        }
        sent += 1;
        assert!(sent <= CAP + 2, "{sent} sent and none held");
    };
    // The bucket refills at CAP an hour, so a slow run may send a little over CAP.
    let allowed = CAP as f64 * (1.0 + started.elapsed().as_secs_f64() / 3600.0);
    assert!(sent >= CAP && sent as f64 <= allowed.ceil(), "{sent} sent, {allowed:.2} allowed");

    // A run slower than a minute has refilled part of a token, so the held one may go out
    // in a moment, before another could join it. Then it goes alone when its token is back,
    // and the next one waits a whole minute.
    let soon = chrono::Utc::now() + chrono::Duration::seconds(20);
    if w.store.bucket_of(&org, &user).await.unwrap().is_none_or(|b| b.due < soon) {
        let alone = w.delivered("resident-1", &first_held).await;
        assert_eq!(alone["message_ids"].as_array().map(Vec::len), Some(1), "{alone}");
        sent += 1;
        first_held = w.reply("maint-1", &id, "held for the next token").await;
        eventually(20, "held until the next token", || async { held_bucket().await }).await;
    }
    let second = w.reply("maint-1", &id, "and another").await;
    let held =
        eventually(20, "both held for one digest", || async { held_bucket().await.filter(|b| b.count == 2) })
            .await;
    assert!(held.due < chrono::Utc::now() + chrono::Duration::minutes(2), "a minute or so at 60 an hour");
    let outbox = w.outbox("resident-1").await;
    assert!(
        !outbox.iter().any(|d| covers(d, &first_held) || covers(d, &second)),
        "nothing past the cap sent"
    );
    assert_eq!(w.sink_requests(&phone).await.len(), sent);
}

#[tokio::test]
async fn an_urgent_message_goes_out_in_quiet_hours_behind_dozens_held_for_the_morning() {
    let w = World::new().await;
    let phone = w.phone(7);
    w.whatsapp_in_quiet_hours("resident-1", &phone).await;
    let thread = w.start_thread("resident-1", "general", "Hello", "Question").await;
    w.routed_to(&thread, "admin-1").await;
    for i in 0..45 {
        w.reply("admin-1", &thread, &format!("update {i}")).await;
    }
    // All 45 are held (more than one delivery's page) before the urgent one arrives.
    eventually(45, "45 notifications held", || async {
        let held = w.pending("resident-1", 100).await;
        (held.len() >= 45).then_some(())
    })
    .await;
    let (status, urgent) = w
        .post("maint-1", "/v1/threads", json!({"topic": "maintenance", "subject": "Flood", "body": "Water in your unit", "priority": "urgent", "resident_id": "resident-1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{urgent}");
    let first = urgent["last_message"]["id"].as_str().unwrap().to_owned();
    let delivery = w.delivered("resident-1", &first).await;
    assert_eq!(delivery["channel"], "whatsapp");
    let held = w.pending("resident-1", 100).await;
    assert!(held.len() >= 45, "the normal ones still wait for the morning: {}", held.len());
}

/// A dispatcher of this test's own, sending through the local stack's providers.
async fn own_dispatcher(w: &World) -> app::dispatch::Notifier {
    let sdk = infra::stack::sdk_config(&crate::support::stack().endpoint).await;
    app::dispatch::Notifier {
        store: w.store.clone(),
        providers: infra::stack::local_providers(&sdk, &w.url, None).await.unwrap(),
        app_url: w.url.clone(),
        digest_window: infra::stack::LOCAL_DIGEST_WINDOW,
        categories: app::dispatch::CategoryCache::default(),
        links: None,
    }
}

#[tokio::test]
async fn a_dispatcher_whose_lease_ran_out_leaves_the_next_notifications_bucket_alone() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Lease", "First").await;
    let (org, user) = (OrgId::parse(&w.org).unwrap(), UserId::parse("resident-1").unwrap());
    let now = chrono::Utc::now();
    let millis = u64::try_from(now.timestamp_millis()).unwrap();
    // Due far ahead, so the running dispatcher leaves them to this test.
    let later = now + chrono::Duration::days(1);
    let first = admin_notification(&id, domain::MessageId::new_at(millis), "first", false);
    assert!(w.store.enqueue_notification(&org, &user, &first, later).await.unwrap());
    let listed = w.store.bucket_of(&org, &user).await.unwrap().unwrap();
    // A dispatcher claims it for a moment and stalls; a second takes it over once that
    // lease ran out, sends, and the bucket goes.
    let stalled =
        w.store.claim_bucket(&listed, now, now + chrono::Duration::milliseconds(1)).await.unwrap().unwrap();
    let after = now + chrono::Duration::seconds(1);
    let second =
        w.store.claim_bucket(&listed, after, after + chrono::Duration::minutes(1)).await.unwrap().unwrap();
    w.store.finish_bucket(&second, std::slice::from_ref(&first), None).await.unwrap();
    assert!(w.store.bucket_of(&org, &user).await.unwrap().is_none());
    // A new notification makes the bucket again, with the count the stalled one claimed.
    let next = admin_notification(&id, domain::MessageId::new_at(millis + 1), "next", false);
    assert!(w.store.enqueue_notification(&org, &user, &next, later).await.unwrap());
    assert_eq!(w.store.bucket_of(&org, &user).await.unwrap().unwrap().count, stalled.count);

    // The stalled dispatcher finishes: the new notification still waits, and only it.
    w.store.finish_bucket(&stalled, std::slice::from_ref(&first), None).await.unwrap();
    let waiting = w.pending("resident-1", 10).await;
    assert_eq!(waiting.iter().map(|p| p.message_id).collect::<Vec<_>>(), vec![next.message_id]);
}

#[tokio::test]
async fn a_bucket_postponed_after_the_dispatcher_listed_it_is_not_sent_early() {
    let w = World::new().await;
    let phone = w.phone(7);
    w.set_preferences("resident-1", json!({"channels": [{"channel": "sms", "address": phone}]})).await;
    let id = w.start_thread("resident-1", "general", "Postponed", "First").await;
    let (org, user) = (OrgId::parse(&w.org).unwrap(), UserId::parse("resident-1").unwrap());
    let now = chrono::Utc::now();
    let millis = u64::try_from(now.timestamp_millis()).unwrap();
    let held = admin_notification(&id, domain::MessageId::new_at(millis), "held", false);
    assert!(w.store.enqueue_notification(&org, &user, &held, now + chrono::Duration::days(1)).await.unwrap());
    // As the due index had it before it was postponed to tomorrow.
    let bucket = w.store.bucket_of(&org, &user).await.unwrap().unwrap();
    let listed = store::DueBucket { due: now - chrono::Duration::minutes(1), ..bucket };
    let dispatcher = own_dispatcher(&w).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);

    let sent = app::dispatch::bucket_now(&dispatcher, &listed, now, deadline).await.unwrap();
    assert!(!sent);
    assert!(w.sink_requests(&phone).await.is_empty(), "nothing sent before its time");
    let waiting = w.pending("resident-1", 10).await;
    assert_eq!(waiting.iter().map(|p| p.message_id).collect::<Vec<_>>(), vec![held.message_id]);
    // Given back, not held: another claim takes it now (for a moment), and tomorrow a
    // dispatcher sends it.
    let moment = chrono::Utc::now();
    let claim = w.store.claim_bucket(&listed, moment, moment + chrono::Duration::milliseconds(1)).await;
    assert!(claim.unwrap().is_some(), "released");
    let tomorrow = now + chrono::Duration::days(1) + chrono::Duration::seconds(1);
    assert!(app::dispatch::bucket_now(&dispatcher, &listed, tomorrow, deadline).await.unwrap());
    assert_eq!(w.sink_requests(&phone).await.len(), 1);
}
