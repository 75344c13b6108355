//! Triage: a resident's message is classified, an emergency is made urgent, answered with
//! the org's safety notice, pages the on-call staff on every channel through their quiet
//! hours and waits in the queue until acknowledged (or escalates again to the admins); a
//! vague request gets the one approved question, a precise one none; only staff see it.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, eventually, World};

impl World {
    /// The org's triage settings, turned on (the harness turns it off).
    async fn triage_settings(&self) -> Value {
        let (status, mut settings) = self.get("admin-1", "/v1/settings/triage").await;
        assert_eq!(status, StatusCode::OK, "{settings}");
        settings["enabled"] = json!(true);
        let (status, saved) = self.put_triage(settings.clone()).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        settings
    }

    async fn put_triage(&self, settings: Value) -> (StatusCode, Value) {
        self.call("admin-1", Method::PUT, "/v1/settings/triage", Some(settings)).await
    }

    /// The thread once triage recorded a classification (as `staff` sees it).
    async fn triaged(&self, staff: &str, thread: &str) -> Value {
        eventually(30, &format!("{thread} triaged"), || async {
            let (_, t) = self.get(staff, &format!("/v1/threads/{thread}")).await;
            t.get("triage").is_some().then_some(t)
        })
        .await
    }

    /// The thread's automated messages, as its resident sees them.
    async fn automated(&self, thread: &str) -> Vec<Value> {
        self.messages("resident-1", thread).await.into_iter().filter(|m| m["automated"] == true).collect()
    }

    async fn queue_ids(&self, user: &str) -> Vec<String> {
        let (status, page) = self.get(user, "/v1/triage/queue").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["thread_id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `user` is reached on WhatsApp and Telegram, in quiet hours from an hour ago to an hour
    /// from now; returns the two addresses.
    async fn two_channels_in_quiet_hours(&self, user: &str, n: u8) -> (String, String) {
        let phone = self.phone(n);
        let chat = phone.trim_start_matches('+').to_owned();
        let now = Utc::now();
        let quiet = json!({
            "start": (now - Duration::hours(1)).format("%H:%M").to_string(),
            "end": (now + Duration::hours(1)).format("%H:%M").to_string(),
            "time_zone": "UTC"
        });
        let channels =
            json!([{"channel": "whatsapp", "address": phone}, {"channel": "telegram", "address": chat}]);
        self.set_preferences(user, json!({"channels": channels, "quiet_hours": quiet})).await;
        (phone, chat)
    }

    /// Waits until the provider sink got a page for `to` mentioning `words`.
    async fn paged(&self, to: &str, words: &str) {
        eventually(30, &format!("{to} paged about '{words}'"), || async {
            let got = self.sink_requests(to).await;
            got.iter().any(|r| r["body"].as_str().is_some_and(|b| b.contains(words))).then_some(())
        })
        .await
    }
}

/// The stack's events topic, for use cases run by the test itself.
async fn stack_events() -> queue::Events {
    let sdk = infra::stack::sdk_config(&crate::support::stack().endpoint).await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topics = sns.list_topics().send().await.unwrap();
    let arn = topics.topics().iter().filter_map(|t| t.topic_arn()).find(|a| a.ends_with(":EventsTopic"));
    queue::Events::new(sns, arn.expect("the stack's events topic"))
}

/// Every automated message is one of the org's approved texts.
fn approved(settings: &Value, message: &Value) -> bool {
    let body = message["body"].as_str().unwrap();
    let texts = settings["prompts"].as_object().unwrap().values().chain([&settings["safety_notice"]]);
    texts.flat_map(|t| [t["en"].as_str(), t["fr"].as_str()]).any(|t| t == Some(body))
}

fn timeline_events(items: &[Value], kind: &str) -> usize {
    items.iter().filter(|i| i["type"] == "event" && i["event"] == kind).count()
}

#[tokio::test]
async fn an_emergency_is_urgent_noticed_paged_through_quiet_hours_queued_and_acknowledged() {
    let w = World::new().await;
    let mut settings = w.triage_settings().await;
    settings["on_call"] = json!(["security-1"]);
    let (status, saved) = w.put_triage(settings.clone()).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (phone, chat) = w.two_channels_in_quiet_hours("security-1", 6).await;

    let id = w
        .start_thread(
            "resident-1",
            "maintenance",
            "Smell of gas",
            "There is a strong smell of gas in the hallway",
        )
        .await;
    let t = w.triaged("admin-1", &id).await;
    assert_eq!(t["triage"]["escalation"], "emergency", "{t}");
    assert_eq!(t["triage"]["path"], "maintenance");
    assert!(t["triage"]["reasons"].as_array().unwrap().iter().any(|r| r == "smell of gas"), "{t}");
    assert_eq!(t["triage"]["context"]["unit"], "101");
    assert_eq!(t["triage"]["context"]["property_id"], "prop-1");
    assert_eq!(t["triage"]["missing"], Value::Null, "no question on an escalated thread");
    assert_eq!(t["priority"], "urgent");

    // The org's safety notice, nothing else, and the on-call staff paged on both channels
    // although it is their quiet hours.
    let notice = eventually(30, "the safety notice", || async {
        let automated = w.automated(&id).await;
        (!automated.is_empty()).then_some(automated)
    })
    .await;
    assert_eq!(notice.len(), 1, "{notice:?}");
    assert_eq!(notice[0]["body"], settings["safety_notice"]["en"]);
    assert_eq!(notice[0]["automated_kind"], "safety_notice");
    w.paged(&phone, "smell of gas").await;
    w.paged(&chat, "smell of gas").await;
    assert!(w.participants(&id).await.contains(&"security-1".to_owned()), "on-call joined the thread");

    // Waiting in the queue for staff; residents may not look.
    assert!(w.queue_ids("admin-1").await.contains(&id));
    assert_eq!(w.queue_ids("security-1").await, vec![id.clone()]);
    let (status, body) = w.get("resident-1", "/v1/triage/queue").await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "staff_only"));
    let (_, seen) = w.get("resident-1", &format!("/v1/threads/{id}")).await;
    assert!(seen.get("triage").is_none(), "residents do not see triage: {seen}");
    let (status, body) = w.post("resident-1", &format!("/v1/threads/{id}/acknowledge"), json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "staff_only"));
    let (status, _) = w.post("admin-b", &format!("/v1/threads/{id}/acknowledge"), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another org's staff");

    let (status, acked) = w.post("security-1", &format!("/v1/threads/{id}/acknowledge"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["triage"]["acknowledged_by"], "security-1");
    assert!(!w.queue_ids("admin-1").await.contains(&id));
    let timeline = w.timeline("admin-1", &id, 50).await;
    assert_eq!(timeline_events(&timeline, "escalated"), 1);
    assert_eq!(timeline_events(&timeline, "acknowledged"), 1);
}

#[tokio::test]
async fn an_emergency_nobody_acknowledges_escalates_again_to_the_facility_admins() {
    let w = World::new().await;
    let mut settings = w.triage_settings().await;
    settings["ack_minutes"] = json!(1);
    assert_eq!(w.put_triage(settings).await.0, StatusCode::OK);
    let (_, admin_chat) = w.two_channels_in_quiet_hours("admin-1", 7).await;
    let id = w
        .start_thread(
            "resident-1",
            "maintenance",
            "Fumée",
            "Il y a de la fumée qui sort du mur de la cuisine",
        )
        .await;
    let t = w.triaged("admin-1", &id).await;
    assert_eq!(t["triage"]["escalation"], "emergency", "{t}");
    assert_eq!(t["triage"]["lang"], "fr");
    // No on-call staff set: the facility admins are paged at once.
    w.paged(&admin_chat, "fumée").await;
    assert_eq!(t["triage"]["level"], 1);

    // The schedule, a minute and a half on: escalated again (to the admins), with a
    // timeline event; once only for that level.
    let mut app = crate::housekeeping::app_on(&w.store, &w.url).await;
    app.events = stack_events().await;
    let later = Utc::now() + Duration::seconds(90);
    assert!(app::triage::escalate_overdue(&app, later).await.unwrap() >= 1);
    let (_, t) = w.get("admin-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(t["triage"]["level"], 2, "{t}");
    let again = app::triage::escalate_overdue(&app, later).await.unwrap();
    let (_, t) = w.get("admin-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(t["triage"]["level"], 2, "not escalated twice for one level ({again} others)");
    let timeline = w.timeline("admin-1", &id, 50).await;
    assert_eq!(timeline_events(&timeline, "escalated"), 2);
    // The page of the second level reaches the admins.
    w.paged(&admin_chat, "escalation 2").await;
    let (_, queue) = w.get("admin-1", "/v1/triage/queue").await;
    let entry = queue["items"].as_array().unwrap().iter().find(|e| e["thread_id"] == id.as_str()).cloned();
    assert_eq!(entry.expect("still queued")["level"], 2);

    // Resolving it is its acknowledgement: out of the queue, never escalated again.
    let (status, t) = w.patch("admin-1", &format!("/v1/threads/{id}"), json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["triage"]["acknowledged_by"], "admin-1");
    assert!(!w.queue_ids("admin-1").await.contains(&id));
    app::triage::escalate_overdue(&app, later + Duration::minutes(5)).await.unwrap();
    let (_, t) = w.get("admin-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(t["triage"]["level"], 2, "{t}");
}

#[tokio::test]
async fn a_vague_request_gets_one_approved_question_and_a_precise_one_none() {
    let w = World::new().await;
    let mut settings = w.triage_settings().await;
    // Maintenance is also routed to the parking topic's staff (security-1 in the demo).
    settings["routes"] = json!({"maintenance": "parking"});
    assert_eq!(w.put_triage(settings.clone()).await.0, StatusCode::OK);
    let vague = w.start_thread("resident-1", "maintenance", "Faucet", "My kitchen faucet is leaking").await;
    let t = w.triaged("maint-1", &vague).await;
    assert_eq!(t["triage"]["missing"], "photo", "{t}");
    assert_eq!(t["triage"]["path"], "maintenance");
    eventually(30, "the path's topic's staff joined", || async {
        w.participants(&vague).await.contains(&"security-1".to_owned()).then_some(())
    })
    .await;
    let asked = eventually(30, "the question", || async {
        let automated = w.automated(&vague).await;
        (!automated.is_empty()).then_some(automated)
    })
    .await;
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["body"], settings["prompts"]["photo"]["en"]);
    assert_eq!(asked[0]["automated_kind"], "question");

    // Resolved, then re-opened by the resident: triaged again, never asked twice.
    let (status, _) =
        w.patch("maint-1", &format!("/v1/threads/{vague}"), json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK);
    let reopening = w.reply("resident-1", &vague, "It is leaking again").await;
    let t = eventually(30, "the re-opening triaged", || async {
        let (_, t) = w.get("maint-1", &format!("/v1/threads/{vague}")).await;
        (t["triage"]["message_id"] == reopening.as_str()).then_some(t)
    })
    .await;
    assert_eq!(t["triage"]["asked"], "photo", "the thread's one question stays the first: {t}");
    assert_eq!(w.automated(&vague).await.len(), 1);

    // Precise: nothing missing, so nothing is asked (recorded before any question is).
    let precise = w
        .start_thread(
            "resident-1",
            "maintenance",
            "Light",
            "The light in my bathroom is out. You can enter anytime, no rush.",
        )
        .await;
    let t = w.triaged("maint-1", &precise).await;
    assert_eq!(
        (t["triage"]["missing"].clone(), t["triage"]["asked"].clone()),
        (Value::Null, Value::Null),
        "{t}"
    );
    assert!(w.automated(&precise).await.is_empty());

    // French, from the org's French prompts.
    let french = w
        .start_thread(
            "resident-1",
            "maintenance",
            "Fuite",
            "Il y a une fuite d'eau sous l'évier de la cuisine",
        )
        .await;
    let question = eventually(30, "the French question", || async { w.automated(&french).await.pop() }).await;
    assert_eq!(question["body"], settings["prompts"]["photo"]["fr"]);
    for thread in [&vague, &precise, &french] {
        assert!(w.automated(thread).await.iter().all(|m| approved(&settings, m)));
    }
}

#[tokio::test]
async fn triage_settings_are_staff_read_admin_written_and_bad_ones_change_nothing() {
    let w = World::new().await;
    let (status, body) = w.get("resident-1", "/v1/settings/triage").await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "staff_only"));
    // The other org never set them: the shipped rules, on.
    let (status, untouched) = w.get("admin-b", "/v1/settings/triage").await;
    assert_eq!((status, &untouched["enabled"]), (StatusCode::OK, &json!(true)));
    let shipped = w.triage_settings().await;
    assert_eq!(shipped["paths"], untouched["paths"]);
    assert!(!shipped["paths"]["maintenance"]["fr"].as_array().unwrap().is_empty());
    let (status, body) = w.call("maint-1", Method::PUT, "/v1/settings/triage", Some(shipped.clone())).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "admin_only"));

    for (field, value, code) in [
        ("ack_minutes", json!(0), "invalid_triage"),
        ("on_call", json!(["resident-1"]), "unknown_staff"),
        ("on_call", json!(["admin-b"]), "unknown_staff"),
        ("paths", json!({"billing": {"en": ["x"]}}), "invalid_triage"),
        ("safety_notice", json!({"en": "", "fr": "Appelez le 911."}), "invalid_triage"),
    ] {
        let mut bad = shipped.clone();
        bad[field] = value;
        let (status, body) = w.put_triage(bad).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, code), "{field}: {body}");
    }
    let (status, _) = w.put_triage(json!({"unknown": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(w.triage_settings().await, shipped, "nothing saved");

    // A field left out keeps the shipped default.
    let (status, saved) = w.put_triage(json!({"ack_minutes": 30})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["ack_minutes"], 30);
    assert_eq!(saved["paths"], shipped["paths"]);
}

#[tokio::test]
async fn metrics_count_human_replies_never_automation_and_corrections_count_against_auto_routing() {
    let w = World::new().await;
    w.triage_settings().await;
    // Answered only by automation (its question), and answered by staff.
    let asked = w.start_thread("resident-1", "maintenance", "Faucet", "My kitchen faucet is leaking").await;
    let answered =
        w.start_thread("resident-1", "billing", "Invoice", "Why is my invoice higher this month?").await;
    eventually(30, "the question", || async { w.automated(&asked).await.pop() }).await;
    // The resident's own answer is no response (the event says who posted: no read).
    w.reply("resident-1", &asked, "It is the kitchen one, the cold tap.").await;
    w.triaged("bookkeeper-1", &answered).await;
    w.reply("bookkeeper-1", &answered, "The water charge changed; details attached soon.").await;
    let metrics = |query: &'static str| {
        let w = &w;
        async move {
            let (status, m) = w.get("admin-1", &format!("/v1/metrics{query}")).await;
            assert_eq!(status, StatusCode::OK, "{m}");
            m
        }
    };
    let m = eventually(30, "the staff reply counted", || async {
        let m = metrics("").await;
        (m["first_response_minutes"]["all"]["count"] == 1).then_some(m)
    })
    .await;
    assert_eq!(m["conversations"], 2, "{m}");
    assert_eq!(m["first_response_minutes"]["unanswered"], 1, "the automated question is no response: {m}");
    assert_eq!(m["first_response_minutes"]["by_topic"]["billing"]["count"], 1);
    assert!(m["first_response_minutes"]["by_topic"].get("maintenance").is_none(), "{m}");
    assert_eq!(m["auto_routed_share"], 1.0);
    assert_eq!(m["backlog"]["unread"], 1, "{m}");
    assert_eq!(m["backlog"]["open"], 1);
    assert!(m["backlog"]["oldest_unread_minutes"].as_f64().unwrap() >= 0.0);

    // Staff correct one path and resolve the other.
    let (status, t) = w
        .call(
            "maint-1",
            Method::PUT,
            &format!("/v1/threads/{asked}/triage"),
            Some(json!({"path": "billing"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(
        (t["triage"]["path"].as_str(), t["triage"]["classified_path"].as_str()),
        (Some("billing"), Some("maintenance"))
    );
    assert_eq!(t["triage"]["corrected_by"], "maint-1");
    let (status, _) =
        w.patch("bookkeeper-1", &format!("/v1/threads/{answered}"), json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK);
    let m = eventually(30, "the correction and the resolution counted", || async {
        let m = metrics("").await;
        (m["resolution_minutes"]["count"] == 1 && m["auto_routed_share"] == 0.5).then_some(m)
    })
    .await;
    assert_eq!(m["first_response_minutes"]["unanswered"], 1, "the resident's reply answers nothing: {m}");
    assert_eq!(m["backlog"]["open"], 0, "{m}");
    assert_eq!(metrics("?property_id=prop-elsewhere").await["conversations"], 0);

    let (status, body) = w.get("resident-1", "/v1/metrics").await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "staff_only"));
    let (status, body) = w.get("admin-1", "/v1/metrics?from=2026-06-01&to=2026-01-01").await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_query"));
    let (status, body) = w
        .call(
            "resident-1",
            Method::PUT,
            &format!("/v1/threads/{asked}/triage"),
            Some(json!({"path": "lease"})),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "staff_only"));
    let (_, other) = w.get("admin-b", "/v1/metrics").await;
    assert_eq!(other["conversations"], 0, "another org's metrics hold none of these");
}

/// The thread's latest response cycle, as the figures store it.
async fn latest_cycle(w: &World, thread: &str) -> Option<store::CycleRecord> {
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(thread).unwrap());
    w.store.latest_cycle(&org, &thread, Utc::now()).await.unwrap()
}

/// Waits until a billing thread's opening started its cycle and the router added
/// bookkeeper-1 (staff see only threads they take part in): the opening's message id.
async fn opened_for_billing(w: &World, thread: &str) -> String {
    let opened = eventually(30, "the cycle started", || latest_cycle(w, thread)).await.message_id.to_string();
    w.routed_to(thread, "bookkeeper-1").await;
    opened
}

/// The `message_posted` event written with `message`: what it says it answers, and when.
async fn answers_of(w: &World, message: &str) -> (Value, chrono::DateTime<Utc>) {
    let events = w.outbox_events().await;
    let event = events.iter().find(|e| e["message_id"] == message).expect("the message's event");
    (event["answers"].clone(), serde_json::from_value(event["at"].clone()).unwrap())
}

/// Waits until the thread's latest cycle was started by `started` and answered.
async fn answered(w: &World, thread: &str, started: &str) -> store::CycleRecord {
    eventually(30, &format!("the cycle of {started} answered"), || async {
        latest_cycle(w, thread)
            .await
            .filter(|c| c.message_id.to_string() == started && c.responded_at.is_some())
    })
    .await
}

#[tokio::test]
async fn the_first_staff_reply_answers_a_cycle_a_resolution_settles_it_and_a_reopening_starts_the_next() {
    let w = World::new().await;
    w.triage_settings().await;
    let id = w.start_thread("resident-1", "billing", "Invoice", "Why is my invoice higher this month?").await;
    let opened = opened_for_billing(&w, &id).await;
    // The thread's clock names the cycle in the first reply's event; later ones answer nothing.
    let first = w.reply("bookkeeper-1", &id, "The water charge changed.").await;
    let second = w.reply("admin-1", &id, "Details follow by mail.").await;
    let (answers, first_at) = answers_of(&w, &first).await;
    assert_eq!(answers, json!({"cycle": opened}));
    assert_eq!(answers_of(&w, &second).await.0, "nothing");
    assert_eq!(answered(&w, &id, &opened).await.responded_at, Some(first_at), "the first reply's time");

    // Resolved: a reply after it answers nothing; the resident re-opening starts the next
    // cycle, which the next staff reply answers.
    let resolve = || async {
        let (status, _) =
            w.patch("bookkeeper-1", &format!("/v1/threads/{id}"), json!({"status": "resolved"})).await;
        assert_eq!(status, StatusCode::OK);
    };
    resolve().await;
    let unanswered = w.reply("resident-1", &id, "Still not clear to me.").await;
    assert_eq!(answers_of(&w, &unanswered).await.0, "nothing", "a resident answers no cycle");
    resolve().await;
    let late = w.reply("bookkeeper-1", &id, "Closing this, thanks.").await;
    assert_eq!(answers_of(&w, &late).await.0, "nothing", "the resolution settled its cycle");
    resolve().await;
    let reopened = w.reply("resident-1", &id, "It went up again this month!").await;
    let next = w.reply("bookkeeper-1", &id, "Looking into it again.").await;
    let (answers, next_at) = answers_of(&w, &next).await;
    assert_eq!(answers, json!({"cycle": reopened}));
    assert_eq!(answered(&w, &id, &reopened).await.responded_at, Some(next_at));
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    // The first cycle keeps its answer.
    let before = w.store.latest_cycle(&org, &thread, first_at).await.unwrap();
    assert_eq!(before.map(|c| (c.message_id.to_string(), c.responded_at)), Some((opened, Some(first_at))));
}

#[tokio::test]
async fn a_staff_reply_after_triages_question_still_names_the_cycle_it_answers() {
    let w = World::new().await;
    w.triage_settings().await;
    let id = w.start_thread("resident-1", "maintenance", "Faucet", "My kitchen faucet is leaking").await;
    w.routed_to(&id, "maint-1").await;
    // The question is the thread's newest message: the clock has seen it.
    eventually(30, "the question", || async { w.automated(&id).await.pop() }).await;
    let opened = eventually(30, "the cycle started", || latest_cycle(&w, &id)).await.message_id.to_string();
    let reply = w.reply("maint-1", &id, "Which tap, hot or cold?").await;
    assert_eq!(answers_of(&w, &reply).await.0, json!({"cycle": opened}));
}

#[tokio::test]
async fn a_new_threads_opening_is_read_with_its_first_message_in_one_query() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Dryer", "The dryer door does not close").await;
    // Timeline items after the first message: the router's join and a reply.
    w.routed_to(&id, "maint-1").await;
    w.reply("maint-1", &id, "On my way with a new latch.").await;
    let first =
        domain::MessageId::parse(w.messages("resident-1", &id).await[0]["id"].as_str().unwrap()).unwrap();
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    let (view, message) = w.store.load_opening(&org, &thread, &first).await.unwrap().expect("the thread");
    assert_eq!(message.expect("the first message").body.as_str(), "The dryer door does not close");
    let head = w.store.load_thread(&org, &thread).await.unwrap().unwrap();
    assert_eq!(format!("{view:?}"), format!("{head:?}"), "the same thread and participants");
    assert_eq!(view.participants.len(), 2);
}

#[tokio::test]
async fn a_thread_from_before_the_response_clock_still_counts_its_first_staff_reply() {
    let w = World::new().await;
    w.triage_settings().await;
    let id = w.start_thread("resident-1", "billing", "Invoice", "Why is my invoice higher this month?").await;
    let opened = opened_for_billing(&w, &id).await;
    // Its item as threads were stored before they kept the clock.
    w.update_thread_item(&id)
        .update_expression("REMOVE #d.#s, #d.#t, #k")
        .expression_attribute_names("#d", "data")
        .expression_attribute_names("#s", domain::response::STARTED_FIELD)
        .expression_attribute_names("#t", domain::response::THROUGH_FIELD)
        .expression_attribute_names("#k", domain::response::KNOWN_AT_FIELD)
        .send()
        .await
        .unwrap();
    let reply = w.reply("bookkeeper-1", &id, "The water charge changed.").await;
    let (answers, at) = answers_of(&w, &reply).await;
    assert_eq!(answers, Value::Null, "unknown: the consumer looks the cycle up");
    assert_eq!(answered(&w, &id, &opened).await.responded_at, Some(at));
}

#[tokio::test]
async fn a_clock_a_release_before_stop_44_kept_is_still_known_and_one_it_moved_past_is_unknown() {
    use aws_sdk_dynamodb::types::AttributeValue;

    let w = World::new().await;
    w.triage_settings().await;
    let kept =
        w.start_thread("resident-1", "billing", "Invoice", "Why is my invoice higher this month?").await;
    let moved = w.start_thread("resident-1", "billing", "Deposit", "When is my deposit returned?").await;
    let mut opened = Vec::new();
    for id in [&kept, &moved] {
        opened.push(opened_for_billing(&w, id).await);
        w.events_done(id).await;
    }
    let update = |id: &str| {
        w.update_thread_item(id).expression_attribute_names("#k", domain::response::KNOWN_AT_FIELD)
    };
    // As a release before stop 44 stored a known clock: its newest message named.
    let (_, t) = w.get("admin-1", &format!("/v1/threads/{kept}")).await;
    let newest = t["last_message"]["id"].as_str().unwrap().to_owned();
    update(&kept)
        .update_expression("REMOVE #k SET #d.#t = :newest")
        .expression_attribute_names("#d", "data")
        .expression_attribute_names("#t", domain::response::THROUGH_FIELD)
        .expression_attribute_values(":newest", AttributeValue::S(newest))
        .send()
        .await
        .unwrap();
    // As such a release's write leaves it: the version moved, the clock not.
    update(&moved)
        .update_expression("SET #v = #v + :one")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .condition_expression("attribute_exists(#k)")
        .send()
        .await
        .unwrap();

    let reply = w.reply("bookkeeper-1", &kept, "The water charge changed.").await;
    let (answers, at) = answers_of(&w, &reply).await;
    assert_eq!(answers, json!({"cycle": opened[0]}), "known, from the message it names");
    assert_eq!(answered(&w, &kept, &opened[0]).await.responded_at, Some(at));
    let reply = w.reply("bookkeeper-1", &moved, "Within 30 days of the move-out.").await;
    let (answers, at) = answers_of(&w, &reply).await;
    assert_eq!(answers, Value::Null, "unknown: the consumer looks the cycle up");
    assert_eq!(answered(&w, &moved, &opened[1]).await.responded_at, Some(at));
}

#[tokio::test]
async fn a_triage_stored_in_the_thread_item_as_before_is_read_and_kept_through_a_change() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use store::keys;

    let w = World::new().await;
    w.triage_settings().await;
    let id = w.start_thread("resident-1", "maintenance", "Faucet", "My kitchen faucet is leaking").await;
    let triaged = w.triaged("admin-1", &id).await["triage"].clone();
    w.events_done(&id).await;

    // Written the way it was before the triage had an item of its own: inside the thread's.
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    let pk = AttributeValue::S(keys::thread_pk(&org, &thread));
    let (db, table) = (w.store.client(), w.store.table());
    let item = |sk: &str| {
        db.get_item().table_name(table).key(keys::PK, pk.clone()).key(keys::SK, AttributeValue::S(sk.into()))
    };
    let own = item(keys::TRIAGE_SK).consistent_read(true).send().await.unwrap();
    let data = own.item().and_then(|i| i.get("data")).expect("the triage's own item").clone();
    db.update_item()
        .table_name(table)
        .key(keys::PK, pk.clone())
        .key(keys::SK, AttributeValue::S(keys::META_SK.into()))
        .update_expression("SET #d.#t = :t")
        .expression_attribute_names("#d", "data")
        .expression_attribute_names("#t", "triage")
        .expression_attribute_values(":t", data)
        .send()
        .await
        .unwrap();
    let removed = db
        .delete_item()
        .table_name(table)
        .key(keys::PK, pk.clone())
        .key(keys::SK, AttributeValue::S(keys::TRIAGE_SK.into()));
    removed.send().await.unwrap();
    let (_, read) = w.get("admin-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(read["triage"], triaged, "read from the thread item");

    // A change of the thread rewrites its item without the triage, and keeps the triage.
    let (status, changed) =
        w.patch("maint-1", &format!("/v1/threads/{id}"), json!({"priority": "urgent"})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (_, read) = w.get("admin-1", &format!("/v1/threads/{id}")).await;
    assert_eq!((&read["priority"], &read["triage"]), (&json!("urgent"), &triaged));
    let meta = item(keys::META_SK).consistent_read(true).send().await.unwrap();
    let meta = meta.item().and_then(|i| i.get("data")).and_then(|d| d.as_m().ok()).unwrap();
    assert!(!meta.contains_key("triage"), "moved out of the thread item");
    let own = item(keys::TRIAGE_SK).consistent_read(true).send().await.unwrap();
    assert!(own.item().is_some(), "into its own");
}

#[tokio::test]
async fn two_changes_of_a_triage_read_at_once_cannot_overwrite_each_other() {
    use store::{ArchiveCheck, QueueChange};

    let w = World::new().await;
    w.triage_settings().await;
    let id = w.start_thread("resident-1", "maintenance", "Faucet", "My kitchen faucet is leaking").await;
    w.triaged("admin-1", &id).await;
    w.events_done(&id).await;
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    let view = w.store.load_thread(&org, &thread).await.unwrap().unwrap();
    let change = |path: domain::triage::Path| {
        let mut after = view.thread.clone();
        after.triage.as_mut().unwrap().path = path;
        after
    };
    let (first, second) = (change(domain::triage::Path::Parking), change(domain::triage::Path::Billing));
    let write = |after| w.store.change_thread(&view, after, &[], ArchiveCheck::Keep, QueueChange::Keep, None);
    assert!(write(&first).await.unwrap(), "the first change");
    assert!(!write(&second).await.unwrap(), "the second, from the same read, is stale");
    let (_, read) = w.get("admin-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(read["triage"]["path"], "parking", "{read}");
}

#[tokio::test]
async fn the_context_shows_the_residents_account_state_unit_and_property_when_they_wrote() {
    let w = World::new().await;
    w.triage_settings().await;
    let context = |t: &Value| t["triage"]["context"].clone();
    let first = w.start_thread("resident-2", "maintenance", "Faucet", "My kitchen faucet is leaking").await;
    let active = context(&w.triaged("admin-1", &first).await);
    assert_eq!(
        (&active["account_state"], &active["unit"], &active["property_id"]),
        (&json!("active"), &json!("102"), &json!("prop-1")),
        "{active}"
    );
    // Moved out (archived): they can still message staff, and staff see it.
    let resolved = w.patch("admin-1", &format!("/v1/threads/{first}"), json!({"status": "resolved"})).await;
    assert_eq!(resolved.0, StatusCode::OK);
    let (status, archived) = w.contact_action("admin-1", "resident-2", "archive", json!({})).await;
    assert_eq!((status, archived["state"].as_str()), (StatusCode::OK, Some("archived")), "{archived}");
    let later = w.start_thread("resident-2", "maintenance", "Faucet", "The bathroom faucet leaks too").await;
    let later = context(&w.triaged("admin-1", &later).await);
    assert_eq!((&later["account_state"], &later["unit"]), (&json!("archived"), &json!("102")), "{later}");
}

#[tokio::test]
async fn the_context_counts_the_residents_other_recent_threads_on_the_path_and_forgets_old_ones() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use store::keys;

    let w = World::new().await;
    w.triage_settings().await;
    let context = |t: &Value| (t["triage"]["path"].clone(), t["triage"]["context"]["recent_on_path"].clone());
    let first = w.start_thread("resident-1", "maintenance", "Faucet", "My kitchen faucet is leaking").await;
    let first = w.triaged("admin-1", &first).await;
    let path = first["triage"]["path"].clone();
    assert_eq!(context(&first), (path.clone(), json!(0)), "{first}");
    let second = w.start_thread("resident-1", "maintenance", "Faucet", "The bathroom faucet leaks too").await;
    assert_eq!(context(&w.triaged("admin-1", &second).await), (path.clone(), json!(1)));
    // Another path, another resident: none.
    let billing =
        w.start_thread("resident-1", "billing", "Invoice", "Why is my invoice higher this month?").await;
    let billing = w.triaged("admin-1", &billing).await;
    assert_ne!(billing["triage"]["path"], path);
    assert_eq!(billing["triage"]["context"]["recent_on_path"], 0);
    let theirs = w.start_thread("resident-2", "maintenance", "Faucet", "My kitchen faucet is leaking").await;
    assert_eq!(context(&w.triaged("admin-1", &theirs).await), (path.clone(), json!(0)));

    // A thread triaged 91 days ago no longer counts, and is forgotten; one of yesterday does.
    let org = domain::OrgId::parse(&w.org).unwrap();
    let resident = domain::UserId::parse(first["resident"]["id"].as_str().unwrap()).unwrap();
    let key: std::collections::HashMap<String, AttributeValue> = [
        (keys::PK.to_owned(), AttributeValue::S(keys::user_pk(&org, &resident))),
        (keys::SK.to_owned(), AttributeValue::S(keys::triaged_sk(path.as_str().unwrap()))),
    ]
    .into();
    let now = chrono::Utc::now();
    let (old, yesterday) = (domain::ThreadId::new_at(1), domain::ThreadId::new_at(2));
    let (db, table) = (w.store.client(), w.store.table());
    db.update_item()
        .table_name(table)
        .set_key(Some(key.clone()))
        .update_expression("SET #old = :old, #new = :new")
        .expression_attribute_names("#old", keys::triaged_attr(&old))
        .expression_attribute_names("#new", keys::triaged_attr(&yesterday))
        .expression_attribute_values(
            ":old",
            AttributeValue::S(keys::timestamp(&(now - chrono::Duration::days(91)))),
        )
        .expression_attribute_values(
            ":new",
            AttributeValue::S(keys::timestamp(&(now - chrono::Duration::days(1)))),
        )
        .send()
        .await
        .unwrap();
    let third =
        w.start_thread("resident-1", "maintenance", "Faucet", "The faucet in the laundry leaks").await;
    assert_eq!(
        context(&w.triaged("admin-1", &third).await),
        (path, json!(3)),
        "the first two and yesterday's"
    );
    let item = db.get_item().table_name(table).set_key(Some(key)).consistent_read(true).send().await;
    let item = item.unwrap().item().cloned().unwrap();
    assert!(!item.contains_key(&keys::triaged_attr(&old)), "the old one is forgotten");
    assert!(item.contains_key(&keys::triaged_attr(&yesterday)));
    assert!(item.contains_key(&keys::triaged_attr(&domain::ThreadId::parse(&third).unwrap())));

    // The same thread triaged again (re-opened) is not one of the others.
    let (status, _) =
        w.patch("maint-1", &format!("/v1/threads/{third}"), json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK);
    let again = w.reply("resident-1", &third, "The laundry faucet leaks again").await;
    let again = eventually(30, "the re-opened thread triaged", || async {
        let (_, t) = w.get("admin-1", &format!("/v1/threads/{third}")).await;
        (t["triage"]["message_id"] == again.as_str()).then_some(t)
    })
    .await;
    assert_eq!(again["triage"]["context"]["recent_on_path"], 3, "{again}");
}

#[tokio::test]
async fn a_triage_change_applies_at_once_in_the_instance_that_made_it() {
    let w = World::new().await;
    let instance = crate::housekeeping::Instance::new(&w).await;
    let mut settings = domain::triage::TriageSettings { enabled: false, ..Default::default() };
    instance.store.put_triage_settings(&instance.org, &settings).await.unwrap();
    let triaged = |id| {
        let instance = &instance;
        async move { instance.store.load_thread(&instance.org, &id).await.unwrap().unwrap().thread.triage }
    };

    // Off: the instance classifies nothing, and now keeps that.
    let (off, event) = instance.resident_thread("The kitchen tap drips").await;
    app::triage::handle(&instance.app, event).await.unwrap();
    assert_eq!(triaged(off).await, None);
    // The instance itself turns it on.
    settings.enabled = true;
    app::triage::set_settings(&instance.app, &instance.user("admin-1").await, settings).await.unwrap();
    let (on, event) = instance.resident_thread("The bathroom tap drips").await;
    app::triage::handle(&instance.app, event).await.unwrap();
    assert!(triaged(on).await.is_some(), "the change, not what the instance kept before it");
}

#[tokio::test]
async fn two_replies_that_read_the_cycle_at_once_leave_the_earlier_as_its_answer_whatever_order_their_events_come(
) {
    use crate::support::{post_through, post_through_at, StorePost};
    use domain::events::OutboxKind;

    let w = World::new().await;
    let instance = crate::housekeeping::Instance::new(&w).await;
    let reply = |author, body| StorePost {
        author,
        author_name: "Staff",
        role: domain::Role::Staff,
        body,
        internal: false,
        notice: true,
    };
    let far = Utc::now() + Duration::days(1);
    // Both name the cycle; neither does (as events of threads from before the clock: the
    // figures look it up); or the earlier reply, overtaken by the later between its read
    // and its write, reads again and names nothing.
    for case in ["named", "looked up", "overtaken"] {
        let (thread, opening) = instance.resident_thread("The kitchen tap drips").await;
        let OutboxKind::ThreadCreated { first_message_id: opened, .. } = opening.kind else { panic!() };
        app::triage::handle(&instance.app, opening).await.unwrap();
        // Both read the thread while its cycle waits.
        let view = instance.store.load_thread(&instance.org, &thread).await.unwrap().unwrap();
        let (first, mut first_event, mut second_event) = if case == "overtaken" {
            let (second, second_event, _) =
                post_through(&instance.store, view.clone(), reply("admin-1", "A technician is coming")).await;
            let earlier = second.created_at - Duration::milliseconds(20);
            let (first, first_event, posted) =
                post_through_at(&instance.store, view, reply("maint-1", "On our way"), earlier).await;
            assert!(posted);
            (first, first_event, second_event)
        } else {
            let (first, first_event, _) =
                post_through(&instance.store, view.clone(), reply("maint-1", "On our way")).await;
            let (_, second_event, _) =
                post_through(&instance.store, view, reply("admin-1", "A technician is coming")).await;
            (first, first_event, second_event)
        };
        let answers =
            |event: &domain::events::OutboxEvent| serde_json::to_value(event).unwrap()["answers"].clone();
        let named = json!({"cycle": opened.to_string()});
        assert_eq!(answers(&second_event), named, "{case}");
        if case == "overtaken" {
            assert_eq!(answers(&first_event), Value::Null, "looked up");
            // What the outbox holds is what the post gave back (and relays).
            let stored = instance.store.pending_events(far, 100).await.unwrap();
            assert!(stored.contains(&first_event), "{case}");
            let t = instance.store.load_thread(&instance.org, &thread).await.unwrap().unwrap().thread;
            let known = t.response.known(t.last_id()).expect("the later reply's clock, unmoved");
            assert_eq!(known.settled, Some(opened), "{case}");
        } else {
            assert_eq!(answers(&first_event), named, "both think they answer it");
        }
        if case == "looked up" {
            first_event.set_answers(None);
            second_event.set_answers(None);
        }
        // The later reply's event comes first, then the earlier's, then the later's again.
        for event in [second_event.clone(), first_event, second_event] {
            app::triage::handle(&instance.app, event).await.unwrap();
        }
        let cycle = instance.store.cycle(&instance.org, &thread, &opened).await.unwrap().unwrap();
        assert_eq!(cycle.responded_at, Some(first.created_at), "{case}");
    }
}
