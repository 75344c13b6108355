//! Scheduled sends: held until send_at, invisible to the resident until then, posted once by
//! the schedule through the live path; edited and cancelled until sent; dropped when the
//! resident answers first if the author chose so; exactly once across a crashed run.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, eventually, World};

/// A send time `secs` from now, as a client in Montreal would write it.
fn in_secs(secs: i64) -> String {
    let offset = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
    (Utc::now() + Duration::seconds(secs))
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

impl World {
    async fn schedule(&self, user: &str, thread: &str, body: Value) -> Value {
        let (status, scheduled) = self.post(user, &format!("/v1/threads/{thread}/messages"), body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{scheduled}");
        assert_eq!(scheduled["status"], "scheduled");
        scheduled
    }

    /// Waits until the schedule has settled `id`, and returns it.
    async fn settled(&self, user: &str, id: &str) -> Value {
        eventually(30, &format!("scheduled {id} settled"), || async {
            let (status, s) = self.get(user, &format!("/v1/scheduled/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{s}");
            (!["scheduled", "sending"].contains(&s["status"].as_str().unwrap())).then_some(s)
        })
        .await
    }

    async fn bodies(&self, user: &str, thread: &str) -> Vec<String> {
        self.messages(user, thread).await.iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect()
    }

    async fn scheduled_ids(&self, user: &str) -> Vec<String> {
        let (status, page) = self.get(user, "/v1/scheduled").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
    }
}

#[tokio::test]
async fn a_scheduled_reply_is_invisible_until_send_at_then_posted_once_signed() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Heat", "No heat since Monday").await;
    w.routed_to(&thread, "maint-1").await;
    let signature = json!({"text": "Max, maintenance", "enabled": true});
    assert_eq!(w.call("maint-1", Method::PUT, "/v1/me/signature", Some(signature)).await.0, StatusCode::OK);
    let read = json!({"message_id": w.messages("resident-1", &thread).await[0]["id"]});
    assert_eq!(
        w.post("resident-1", &format!("/v1/threads/{thread}/read"), read.clone()).await.0,
        StatusCode::NO_CONTENT
    );

    let send_at = in_secs(4);
    let first = w
        .schedule("maint-1", &thread, json!({"body": "The technician comes at 9.", "send_at": send_at}))
        .await;
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        first["post"],
        json!({"kind": "reply", "thread_id": thread, "internal": false, "seen_last": read["message_id"]})
    );
    assert_eq!(first["body"], "The technician comes at 9.", "signed when sent, not before");

    // Before send_at: nobody but staff sees it.
    assert_eq!(w.bodies("resident-1", &thread).await, ["No heat since Monday"]);
    assert_eq!(w.bodies("maint-1", &thread).await, ["No heat since Monday"]);
    let (status, refused) = w.get("resident-1", "/v1/scheduled").await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    assert_eq!(w.get("resident-1", &format!("/v1/scheduled/{id}")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        w.get("security-1", &format!("/v1/scheduled/{id}")).await.0,
        StatusCode::NOT_FOUND,
        "a colleague's"
    );
    assert_eq!(
        w.get("admin-b", &format!("/v1/scheduled/{id}")).await.0,
        StatusCode::NOT_FOUND,
        "another org"
    );
    assert_eq!(w.scheduled_ids("maint-1").await, [id]);
    assert_eq!(w.scheduled_ids("admin-1").await, [id], "admins list the org's");
    assert!(w.scheduled_ids("security-1").await.is_empty());

    // At send_at: posted once, signed, as a live reply (the thread is open and unread for
    // the resident).
    let sent = w.settled("maint-1", id).await;
    assert_eq!(sent["status"], "sent", "{sent}");
    let messages = w.messages("resident-1", &thread).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["id"], sent["message_id"]);
    let posted_at =
        chrono::DateTime::parse_from_rfc3339(messages[1]["created_at"].as_str().unwrap()).unwrap();
    assert!(posted_at >= chrono::DateTime::parse_from_rfc3339(&send_at).unwrap(), "not before send_at");
    assert_eq!(messages[1]["body"], "The technician comes at 9.\n\nMax, maintenance");
    assert_eq!(messages[1]["author_id"], "maint-1");
    let (_, t) = w.get("resident-1", &format!("/v1/threads/{thread}")).await;
    assert_eq!(t["status"], "open");
    let rows = w.get("resident-1", "/v1/threads").await.1;
    assert_eq!(rows["items"][0]["unread"], true, "{rows}");
    assert!(w.scheduled_ids("maint-1").await.is_empty(), "a sent message leaves the list");

    // Once sent, neither edited nor cancelled.
    let (status, refused) =
        w.patch("maint-1", &format!("/v1/scheduled/{id}"), json!({"body": "Later"})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "already_sent"));
    let (status, refused) = w.call("maint-1", Method::DELETE, &format!("/v1/scheduled/{id}"), None).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "already_sent"));

    // A later one is sent too; the first still once.
    let second = w.schedule("maint-1", &thread, json!({"body": "Done.", "send_at": in_secs(2)})).await;
    assert_eq!(w.settled("maint-1", second["id"].as_str().unwrap()).await["status"], "sent");
    assert_eq!(
        w.bodies("resident-1", &thread).await,
        [
            "No heat since Monday",
            "The technician comes at 9.\n\nMax, maintenance",
            "Done.\n\nMax, maintenance"
        ]
    );
}

#[tokio::test]
async fn a_scheduled_message_is_edited_and_cancelled_until_sent_and_bad_times_are_refused() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Tap", "The tap drips").await;
    w.routed_to(&thread, "maint-1").await;
    let tomorrow = in_secs(86_400);
    let s = w.schedule("maint-1", &thread, json!({"body": "Plumber Friday", "send_at": tomorrow})).await;
    let path = format!("/v1/scheduled/{}", s["id"].as_str().unwrap());

    let next_week = in_secs(7 * 86_400);
    let (status, edited) = w
        .patch(
            "maint-1",
            &path,
            json!({"body": "Plumber Monday", "send_at": next_week, "cancel_on_reply": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["body"].as_str(), edited["cancel_on_reply"].as_bool()),
        (Some("Plumber Monday"), Some(true))
    );
    let moved = chrono::DateTime::parse_from_rfc3339(edited["send_at"].as_str().unwrap()).unwrap();
    assert_eq!(moved, chrono::DateTime::parse_from_rfc3339(&next_week).unwrap());
    assert_eq!(w.get("maint-1", &path).await.1, edited, "the edit is stored");

    for (change, code) in [
        (json!({}), "empty_patch"),
        (json!({"send_at": in_secs(-60)}), "invalid_send_at"),
        (json!({"send_at": in_secs(366 * 86_400)}), "invalid_send_at"),
        (json!({"body": ""}), "empty_field"),
    ] {
        let (status, refused) = w.patch("maint-1", &path, change.clone()).await;
        assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, code), "{change}");
    }
    assert_eq!(
        w.patch("security-1", &path, json!({"body": "x"})).await.0,
        StatusCode::NOT_FOUND,
        "not theirs"
    );
    let (status, by_admin) = w.patch("admin-1", &path, json!({"body": "Plumber Tuesday"})).await;
    assert_eq!(
        (status, error_code(&by_admin)),
        (StatusCode::FORBIDDEN, "not_allowed"),
        "it speaks for its author"
    );
    let (status, moved) = w.patch("admin-1", &path, json!({"send_at": tomorrow})).await;
    assert_eq!(
        (status, moved["body"].as_str()),
        (StatusCode::OK, Some("Plumber Monday")),
        "admins may move it"
    );
    assert_eq!(w.get("maint-1", &path).await.1, moved, "nothing refused was stored");

    let (status, _) = w.call("maint-1", Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(w.get("maint-1", &path).await.0, StatusCode::NOT_FOUND);
    assert!(w.scheduled_ids("maint-1").await.is_empty());

    // Refused when scheduling: nothing kept.
    let messages = format!("/v1/threads/{thread}/messages");
    let refusals = [
        (
            "maint-1",
            json!({"body": "x", "send_at": in_secs(-5)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_send_at",
        ),
        (
            "maint-1",
            json!({"body": "x", "send_at": in_secs(366 * 86_400)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_send_at",
        ),
        (
            "maint-1",
            json!({"body": "x", "send_at": "next friday"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_send_at",
        ),
        (
            "maint-1",
            json!({"body": "x", "cancel_on_reply": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            "maint-1",
            json!({"body": "x", "send_at": tomorrow, "attachment_ids": ["01JDQ8Z3M1T7B2XG7Z9WQ4N6E5"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        ("resident-1", json!({"body": "x", "send_at": tomorrow}), StatusCode::FORBIDDEN, "staff_only"),
    ];
    for (user, body, expected, code) in refusals {
        let (status, refused) = w.post(user, &messages, body.clone()).await;
        assert_eq!((status, error_code(&refused)), (expected, code), "{body}");
    }
    let new_thread = json!({"topic": "general", "subject": "Hi", "body": "x", "send_at": tomorrow});
    let (status, refused) = w.post("resident-1", "/v1/threads", new_thread).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    assert!(w.scheduled_ids("admin-1").await.is_empty());
    assert_eq!(w.bodies("maint-1", &thread).await, ["The tap drips"]);
}

#[tokio::test]
async fn a_reply_is_dropped_when_the_resident_answers_first_only_if_its_author_chose_so() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Door", "The door sticks").await;
    w.routed_to(&thread, "maint-1").await;
    let send_at = in_secs(5);
    let dropped = w
        .schedule(
            "maint-1",
            &thread,
            json!({"body": "Any news?", "send_at": send_at, "cancel_on_reply": true}),
        )
        .await;
    let kept = w.schedule("maint-1", &thread, json!({"body": "We come Tuesday.", "send_at": send_at})).await;
    let (status, _) = w
        .post("resident-1", &format!("/v1/threads/{thread}/messages"), json!({"body": "Fixed it myself"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let dropped = w.settled("maint-1", dropped["id"].as_str().unwrap()).await;
    assert_eq!(
        (dropped["status"].as_str(), dropped["reason"].as_str()),
        (Some("cancelled"), Some("resident_replied"))
    );
    assert!(dropped["message_id"].is_null());
    assert_eq!(w.settled("maint-1", kept["id"].as_str().unwrap()).await["status"], "sent");
    assert_eq!(
        w.bodies("resident-1", &thread).await,
        ["The door sticks", "Fixed it myself", "We come Tuesday."]
    );
}

#[tokio::test]
async fn a_scheduled_conversation_starts_at_send_at() {
    let w = World::new().await;
    let new = json!({
        "topic": "billing", "subject": "Your December invoice", "body": "It is ready.",
        "resident_id": "resident-2", "priority": "urgent", "send_at": in_secs(4),
    });
    let (status, scheduled) = w.post("bookkeeper-1", "/v1/threads", new).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{scheduled}");
    assert_eq!(scheduled["post"]["kind"], "thread");
    assert!(w.thread_ids("resident-2", "").await.is_empty(), "nothing before send_at");

    let sent = w.settled("bookkeeper-1", scheduled["id"].as_str().unwrap()).await;
    assert_eq!(sent["status"], "sent", "{sent}");
    let thread = sent["sent_thread_id"].as_str().unwrap();
    assert_eq!(w.thread_ids("resident-2", "").await, [thread]);
    let (_, t) = w.get("resident-2", &format!("/v1/threads/{thread}")).await;
    assert_eq!(
        (t["subject"].as_str(), t["priority"].as_str()),
        (Some("Your December invoice"), Some("urgent"))
    );
    assert_eq!(w.bodies("resident-2", thread).await, ["It is ready."]);
    assert_eq!(w.messages("resident-2", thread).await[0]["id"], sent["message_id"]);

    // A scheduled conversation with someone who is not a resident is refused at once.
    let bad = json!({"topic": "billing", "subject": "x", "body": "x", "resident_id": "maint-1", "send_at": in_secs(60)});
    let (status, refused) = w.post("bookkeeper-1", "/v1/threads", bad).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "not_a_resident"));
}

#[tokio::test]
async fn a_run_that_died_between_claiming_and_recording_posts_it_once() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Leak", "Water under the sink").await;
    w.routed_to(&thread, "maint-1").await;
    let s =
        w.schedule("maint-1", &thread, json!({"body": "Plumber at 2 pm.", "send_at": in_secs(86_400)})).await;
    let id = domain::ScheduledId::parse(s["id"].as_str().unwrap()).unwrap();
    let org = domain::OrgId::parse(&w.org).unwrap();

    // As a run leaves it when it dies after its claim and its post: `sending`, due, and
    // posted under the message's own key.
    let mut claimed = w.store.get_scheduled(&org, &id).await.unwrap().unwrap();
    claimed.status = domain::scheduled::ScheduledStatus::Sending;
    claimed.send_at = Utc::now() - Duration::seconds(1);
    claimed.rev += 1;
    let app = crate::housekeeping::app_on(&w.store, &w.url).await;
    let author = w.store.get_user(&org, &domain::UserId::parse("maint-1").unwrap()).await.unwrap().unwrap();
    let body = app::messages::Body::Text(domain::MessageBody::parse("Plumber at 2 pm.").unwrap());
    let new =
        app::messages::NewMessage { body, attachment_ids: vec![], internal: false, expected_last: None };
    let thread_id = domain::ThreadId::parse(&thread).unwrap();
    let first =
        app::messages::post(&app, &author, thread_id, new, app::scheduled::idempotency(&id)).await.unwrap();
    let first = first.message().id.to_string();
    assert!(w.store.replace_scheduled(&claimed).await.unwrap());
    // Three runs at once take it up again (the stack's own and two more): none posts again,
    // and the record says which message it became.
    let now = Utc::now();
    let (a, b) = tokio::join!(app::scheduled::run_due(&app, now), app::scheduled::run_due(&app, now));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    let sent = w.settled("maint-1", &id.to_string()).await;
    assert_eq!((sent["status"].as_str(), sent["message_id"].as_str()), (Some("sent"), Some(first.as_str())));
    assert_eq!(w.bodies("resident-1", &thread).await, ["Water under the sink", "Plumber at 2 pm."]);
}

#[tokio::test]
async fn a_message_whose_author_left_the_organization_is_not_sent() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Lock", "The lock is stiff").await;
    w.routed_to(&thread, "maint-1").await;
    let s =
        w.schedule("maint-1", &thread, json!({"body": "Locksmith Monday.", "send_at": in_secs(3600)})).await;
    // Archived once their conversations are resolved.
    let resolved = w.patch("admin-1", &format!("/v1/threads/{thread}"), json!({"status": "resolved"})).await;
    assert_eq!(resolved.0, StatusCode::OK);
    let (status, archived) = w.post("admin-1", "/v1/contacts/maint-1/archive", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{archived}");
    // Due only now that the author is archived, however long the two changes took.
    let (org, id) = (
        domain::OrgId::parse(&w.org).unwrap(),
        domain::ScheduledId::parse(s["id"].as_str().unwrap()).unwrap(),
    );
    let mut due = w.store.get_scheduled(&org, &id).await.unwrap().unwrap();
    due.send_at = Utc::now() - Duration::seconds(1);
    due.rev += 1;
    assert!(w.store.replace_scheduled(&due).await.unwrap());
    let failed = w.settled("admin-1", s["id"].as_str().unwrap()).await;
    assert_eq!(
        (failed["status"].as_str(), failed["reason"].as_str()),
        (Some("failed"), Some("account_archived"))
    );
    assert_eq!(w.bodies("resident-1", &thread).await, ["The lock is stiff"]);
}

#[tokio::test]
async fn a_retried_scheduling_with_its_idempotency_key_schedules_once() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Fan", "The fan is loud").await;
    w.routed_to(&thread, "maint-1").await;
    let send = |body: Value| {
        let request = w
            .http
            .post(format!("{}/v1/threads/{thread}/messages", w.url))
            .bearer_auth(w.token("maint-1"))
            .header("Idempotency-Key", "fan-reminder-1")
            .json(&body);
        async move { crate::support::read(request.send().await.unwrap()).await }
    };
    let body = json!({"body": "Technician Thursday.", "send_at": in_secs(86_400)});
    let (status, first) = send(body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (status, again) = send(body).await;
    assert_eq!((status, &again), (StatusCode::ACCEPTED, &first), "the first answer again");
    let (status, refused) = send(json!({"body": "Something else", "send_at": in_secs(86_400)})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"));
    assert_eq!(w.scheduled_ids("maint-1").await, [first["id"].as_str().unwrap()], "scheduled once");
}
