//! The hot routes make the AWS round trips docs/table-design.md lists ("Access patterns")
//! and `make bench` measures: a change that adds one (a record read twice, a lost
//! projection field that brings back a Query) fails here, not only in the bench's figures.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{metered_api, World};

const GET: &str = "dynamodb GetItem";
const QUERY: &str = "dynamodb Query";
const UPDATE: &str = "dynamodb UpdateItem";
const PUT: &str = "dynamodb PutItem";
const TRANSACT: &str = "dynamodb TransactWriteItems";
const PUBLISH: &str = "sns Publish";

/// How many runs after the warm-up may try to make the listed calls.
const RUNS: usize = 3;

/// The calls one request made, by service and operation (`dynamodb GetItem`: 2).
type Trips = BTreeMap<String, usize>;

/// One route as a user calls it; `body(run)` is the body of each run (0: the warm-up).
struct Route<'a> {
    name: &'a str,
    user: &'a str,
    method: Method,
    path: String,
    body: &'a dyn Fn(usize) -> Option<Value>,
}

/// Calls `route` on the metered API once to warm what a function instance keeps (the org's
/// quota limits and messaging settings), then until a run makes exactly the `expected` calls, `RUNS` at most:
/// a run the shared emulator slowed can differ (an SDK retry, a publish that timed out and
/// was left to the outbox repair), while a change to the route's calls fails them all.
/// Answers every run's body, and what the runs made when none matched.
async fn measure(w: &World, route: Route<'_>, expected: &[(&str, usize)]) -> (Vec<Value>, Option<String>) {
    let (_, meter) = metered_api();
    let expected: Trips = expected.iter().map(|(call, n)| ((*call).to_owned(), *n)).collect();
    let mut answers = Vec::new();
    let mut made = Vec::new();
    for run in 0..=RUNS {
        meter.take();
        let (status, answer) = w.call(route.user, route.method.clone(), &route.path, (route.body)(run)).await;
        assert!(status.is_success(), "{} {}: {status} {answer}", route.method, route.path);
        answers.push(answer);
        let mut trips = Trips::new();
        for call in meter.take() {
            *trips.entry(format!("{} {}", call.service, call.operation)).or_default() += 1;
        }
        if run > 0 && trips == expected {
            return (answers, None);
        }
        made.push(trips);
    }
    (answers, Some(format!("{}: made {:?} (warm-up first), expected {expected:?}", route.name, made)))
}

#[tokio::test]
async fn the_hot_routes_make_the_round_trips_the_table_design_lists() {
    let mut w = World::new().await;
    w.url = metered_api().0.url.clone();
    let mut wrong = Vec::new();
    let route =
        |name, user, method, path: &str, body| Route { name, user, method, path: path.to_owned(), body };

    let new = |_| Some(json!({"topic": "maintenance", "subject": "Leak", "body": "Water under the sink"}));
    let (threads, mismatch) = measure(
        &w,
        route("create thread", "resident-1", Method::POST, "/v1/threads", &new),
        // The caller and `CATEGORIES` (`MESSAGING`, whether residents may start one and
        // whose read markers the answer shows, is kept from the warm-up); the two quota
        // counters and the event marked published.
        &[(GET, 2), (UPDATE, 3), (TRANSACT, 1), (PUBLISH, 1)],
    )
    .await;
    wrong.extend(mismatch);
    let thread = threads.last().unwrap();
    let id = thread["id"].as_str().unwrap().to_owned();
    // Routed before anyone posts: a membership change meanwhile would make a post read the
    // thread again.
    w.events_done(&id).await;

    let messages = format!("/v1/threads/{id}/messages");
    let reply = |_| Some(json!({"body": "A plumber comes on Thursday."}));
    let (mut posted, mismatch) = measure(
        &w,
        route("post message", "admin-1", Method::POST, &messages, &reply),
        // The caller and the staff member's signature; Query thread.
        &[(GET, 2), (QUERY, 1), (UPDATE, 3), (TRANSACT, 1), (PUBLISH, 1)],
    )
    .await;
    wrong.extend(mismatch);
    w.events_done(&id).await;

    let text = "Hi {{resident.first_name|there}}, the plumber comes to unit {{unit}}.";
    let (status, template) = w.post("admin-1", "/v1/templates", json!({"name": "Visit", "body": text})).await;
    assert_eq!(status, StatusCode::CREATED, "{template}");
    let templated = |_| Some(json!({"template_id": template["id"]}));
    let (more, mismatch) = measure(
        &w,
        route("post with template", "admin-1", Method::POST, &messages, &templated),
        // Also the org's and the caller's template at once, and the resident's contact.
        &[(GET, 3), ("dynamodb BatchGetItem", 1), (QUERY, 1), (UPDATE, 3), (TRANSACT, 1), (PUBLISH, 1)],
    )
    .await;
    wrong.extend(mismatch);
    posted.extend(more);
    w.events_done(&id).await;

    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let later = |_| Some(json!({"body": "Reminder: the plumber comes today.", "send_at": tomorrow}));
    let (_, mismatch) = measure(
        &w,
        route("schedule a message", "admin-1", Method::POST, &messages, &later),
        // Query thread and the author's waiting ones (the cap); no quota, no event.
        &[(GET, 1), (QUERY, 2), (PUT, 1)],
    )
    .await;
    wrong.extend(mismatch);

    let none = |_| None;
    let inbox = "/v1/threads?folder=unread&limit=25";
    let (_, mismatch) =
        measure(&w, route("list inbox", "admin-1", Method::GET, inbox, &none), &[(GET, 1), (QUERY, 1)]).await;
    wrong.extend(mismatch);
    let (_, mismatch) = measure(
        &w,
        route("open thread", "resident-1", Method::GET, &format!("/v1/threads/{id}"), &none),
        // The caller and Query thread: the org's read receipts, which say whose markers it
        // shows, are kept from the warm-up.
        &[(GET, 1), (QUERY, 1)],
    )
    .await;
    wrong.extend(mismatch);
    let (_, mismatch) = measure(
        &w,
        route("list messages", "resident-1", Method::GET, &format!("{messages}?limit=25"), &none),
        // Query thread (may the reader see it), then its timeline.
        &[(GET, 1), (QUERY, 2)],
    )
    .await;
    wrong.extend(mismatch);
    // Each run marks a newer staff reply read: the marker moves every time (the two posting
    // routes answered at least two replies each, one per run up to the one that matched).
    assert!(posted.len() > RUNS, "{} replies to mark read", posted.len());
    let read = |run: usize| Some(json!({"message_id": posted[run]["id"]}));
    let (marked, mismatch) = measure(
        &w,
        route("mark read", "resident-1", Method::POST, &format!("/v1/threads/{id}/read"), &read),
        // The entry read (it exists and the reader may see it), the marker moved.
        &[(GET, 2), (QUERY, 1), (UPDATE, 1)],
    )
    .await;
    wrong.extend(mismatch);
    let (_, thread) = w.get("resident-1", &format!("/v1/threads/{id}")).await;
    let mine = thread["participants"].as_array().unwrap().iter().find(|p| p["user_id"] == "resident-1");
    if mine.unwrap()["last_read_message_id"] != posted[marked.len() - 1]["id"] {
        wrong.push(format!("mark read: the marker did not move to the reply marked last: {thread}"));
    }
    let upload =
        |_| Some(json!({"file_name": "leak.jpg", "content_type": "image/jpeg", "size_bytes": 180_000}));
    let (_, mismatch) = measure(
        &w,
        route("presign attachment", "resident-1", Method::POST, "/v1/attachments", &upload),
        // The two upload quota counters and the pending attachment; presigning is local.
        &[(GET, 1), (UPDATE, 2), (PUT, 1)],
    )
    .await;
    wrong.extend(mismatch);

    assert!(
        wrong.is_empty(),
        "round trips changed (update docs/table-design.md with them):\n{}",
        wrong.join("\n")
    );
}
