use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{api_without_events, error_code, eventually, read, World};

#[tokio::test]
async fn each_default_topic_reaches_its_owner_within_seconds() {
    let w = World::new().await;
    for (topic, owner) in [
        ("billing", "bookkeeper-1"),
        ("maintenance", "maint-1"),
        ("parking", "security-1"),
        ("general", "admin-1"),
    ] {
        let id = w.start_thread("resident-1", topic, &format!("About {topic}"), "Hello").await;
        eventually(10, &format!("{topic} reaches {owner}"), || async {
            w.participants(&id).await.contains(&owner.to_owned()).then_some(())
        })
        .await;
        assert!(w.thread_ids(owner, "").await.contains(&id));
    }
    // Nobody else was added.
    assert!(w.thread_ids("maint-1", "").await.len() == 1);
}

#[tokio::test]
async fn routing_settings_are_for_admins_validated_and_route_new_topics_to_teams() {
    let w = World::new().await;
    let (status, current) = w.get("admin-1", "/v1/settings/routing").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current["routes"]["billing"], json!({"user_id": "bookkeeper-1"}));

    let settings = json!({
        "routes": {"billing": {"user_id": "bookkeeper-1"}, "pool": {"team": "facilities"}},
        "teams": {"facilities": {"name": "Facilities", "members": ["maint-1", "security-1"]}}
    });
    let (status, body) =
        w.call("maint-1", reqwest::Method::PUT, "/v1/settings/routing", Some(settings.clone())).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "admin_only"));
    let bad = json!({"routes": {"pool": {"user_id": "resident-2"}}});
    let (status, body) = w.call("admin-1", reqwest::Method::PUT, "/v1/settings/routing", Some(bad)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_staff"));
    let (status, body) =
        w.post("resident-1", "/v1/threads", json!({"topic": "pool", "subject": "x", "body": "y"})).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_topic"),
        "not offered yet"
    );

    let (status, saved) =
        w.call("admin-1", reqwest::Method::PUT, "/v1/settings/routing", Some(settings.clone())).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(w.get("admin-1", "/v1/settings/routing").await.1, settings);
    let id = w.start_thread("resident-1", "pool", "Pool gate", "The gate is broken").await;
    w.routed_to(&id, "security-1").await;
    assert_eq!(w.participants(&id).await, ["maint-1", "resident-1", "security-1"]);
}

#[tokio::test]
async fn a_router_keeps_the_settings_a_minute_but_routes_a_topic_routed_since_at_once() {
    use domain::{OrgId, Topic, UserId};

    let w = World::new().await;
    let org = OrgId::parse(&w.org).unwrap();
    // A router instance that read the settings before they changed (it keeps them a minute).
    let router = crate::housekeeping::app_on(&w.store, &w.url).await;
    let before = w.store.get_routing(&org).await.unwrap().unwrap_or_default();
    router.routing.put(&org, std::sync::Arc::new(before));
    let (_, mut settings) = w.get("admin-1", "/v1/settings/routing").await;
    settings["routes"]["maintenance"] = json!({"user_id": "bookkeeper-1"});
    settings["routes"]["pool"] = json!({"team": "facilities"});
    settings["teams"]["facilities"] = json!({"name": "Facilities", "members": ["security-1"]});
    let (status, saved) =
        w.call("admin-1", reqwest::Method::PUT, "/v1/settings/routing", Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let recipients = |topic: &str| {
        let (router, org, topic) = (&router, &org, Topic::parse(topic).unwrap());
        async move { app::router::recipients(router, org, &topic).await.unwrap() }
    };
    let user = |id: &str| vec![UserId::parse(id).unwrap()];
    assert_eq!(recipients("maintenance").await, user("maint-1"), "as kept, within the minute");
    assert_eq!(recipients("pool").await, user("security-1"), "a topic routed since: read again");
    assert_eq!(recipients("maintenance").await, user("bookkeeper-1"), "and kept from then on");
    // Through the stack: the thread reaches the team.
    let id = w.start_thread("resident-1", "pool", "Pool gate", "The gate is broken").await;
    w.routed_to(&id, "security-1").await;
}

#[tokio::test]
async fn a_routing_change_applies_at_once_in_the_instance_that_made_it() {
    use domain::{OrgId, Topic, UserId};

    let w = World::new().await;
    let org = OrgId::parse(&w.org).unwrap();
    // One function instance keeping settings a minute, as deployed: it routes, then changes
    // the routing itself.
    let instance = crate::housekeeping::app_on(&w.store, &w.url).await;
    let maintenance = Topic::parse("maintenance").unwrap();
    let routed = app::router::recipients(&instance, &org, &maintenance).await.unwrap();
    assert_eq!(routed, [UserId::parse("maint-1").unwrap()], "as seeded, and now kept");
    let admin = w.store.get_user(&org, &UserId::parse("admin-1").unwrap()).await.unwrap().unwrap();
    let mut settings = w.store.get_routing(&org).await.unwrap().unwrap_or_default();
    let change = json!({"user_id": "bookkeeper-1"});
    settings.routes.insert("maintenance".to_owned(), serde_json::from_value(change).unwrap());
    app::settings::set_routing(&instance, &admin, settings).await.unwrap();
    assert_eq!(
        app::router::recipients(&instance, &org, &maintenance).await.unwrap(),
        [UserId::parse("bookkeeper-1").unwrap()],
        "the change, not what the instance kept before it"
    );
}

/// The events a thread's timeline holds of one kind, about one user.
async fn joins(w: &World, thread: &str, user: &str) -> usize {
    w.timeline("resident-1", thread, 100)
        .await
        .iter()
        .filter(|e| e["event"] == "participant_joined" && e["subject_id"] == user)
        .count()
}

#[tokio::test]
async fn threads_created_while_the_events_topic_is_unreachable_answer_201_and_are_routed_once_when_it_is_back(
) {
    let w = World::new().await;
    let outage = api_without_events();
    let mut ids = Vec::new();
    let mut took = Vec::new();
    for i in 0..5 {
        let started = Instant::now();
        let resp = w
            .http
            .post(format!("{}/v1/threads", outage.url))
            .bearer_auth(w.token("resident-1"))
            .json(&json!({"topic": "maintenance", "subject": format!("Outage {i}"), "body": "Help"}))
            // Lambda's own limit: a publish without a bound fails here instead of hanging.
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("an answer within Lambda's 10 s");
        let (status, thread) = read(resp).await;
        assert_eq!(status, StatusCode::CREATED, "{thread}");
        took.push(started.elapsed());
        ids.push(thread["id"].as_str().unwrap().to_owned());
    }
    // Each publish waits for the relay's 2 s bound, not the functions' 6 s one. The median
    // of five: the emulator's load slows a request now and then, a stall most of them.
    took.sort();
    assert!(
        took[2] < Duration::from_secs(5),
        "an outage of the events topic must not stall the request: five took {took:?}"
    );
    // The repair job publishes what the API could not, once the topic is reachable (it is, for
    // the main stack's scheduled job).
    for id in &ids {
        w.routed_to(id, "maint-1").await;
        // Marked routed in the transaction that routed it: copies the repair job published
        // meanwhile can change nothing after this.
        w.events_done(id).await;
    }
    for id in &ids {
        assert_eq!(joins(&w, id, "maint-1").await, 1, "routed exactly once");
        assert_eq!(w.participants(id).await, ["maint-1", "resident-1"]);
    }
}

#[tokio::test]
async fn the_same_queue_message_delivered_twice_routes_once_and_poison_goes_to_the_dlq_without_blocking() {
    let w = World::new().await;
    // Created while the API cannot reach the events topic, so only our sends below (and the repair job)
    // deliver its event.
    let resp = w
        .http
        .post(format!("{}/v1/threads", api_without_events().url))
        .bearer_auth(w.token("resident-1"))
        .json(&json!({"topic": "parking", "subject": "Spot 12", "body": "Someone parks in my spot"}))
        .send()
        .await
        .unwrap();
    let (_, thread) = read(resp).await;
    let id = thread["id"].as_str().unwrap().to_owned();
    let event = w
        .outbox_events()
        .await
        .into_iter()
        .find(|e| e["thread_id"] == id.as_str() && e["kind"] == "thread_created")
        .expect("the thread's outbox event")
        .to_string();
    let poison = format!("not json {}", w.org);
    let routing = w.queue_url("RoutingQueue").await;
    for body in [&poison, &event, &event] {
        w.sqs.send_message().queue_url(&routing).message_body(body.as_str()).send().await.unwrap();
    }
    w.routed_to(&id, "security-1").await;
    w.events_done(&id).await;
    assert_eq!(joins(&w, &id, "security-1").await, 1, "delivered three times, routed once");

    let dlq = w.queue_url("RoutingDeadLetterQueue").await;
    eventually(40, "the poison message in the dead-letter queue", || async {
        let out = w.sqs.receive_message().queue_url(&dlq).max_number_of_messages(10).send().await.unwrap();
        out.messages().iter().any(|m| m.body() == Some(poison.as_str())).then_some(())
    })
    .await;
}
