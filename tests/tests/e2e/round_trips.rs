//! The hot routes make the AWS round trips docs/table-design.md lists ("Access patterns")
//! and `make bench` measures: a change that adds one (a record read twice, a lost
//! projection field that brings back a Query) fails here, not only in the bench's figures.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{metered_api, World};

/// The calls one request made, by service and operation (`dynamodb GetItem`: 2).
type Trips = BTreeMap<String, usize>;

fn trips(expected: &[(&str, usize)]) -> Trips {
    expected.iter().map(|(call, n)| ((*call).to_owned(), *n)).collect()
}

/// Runs `request` twice on the metered API and answers its body and the calls the second
/// made: the first warms what a function instance keeps (the org's quota limits).
async fn measure(w: &World, user: &str, method: Method, path: &str, body: Option<Value>) -> (Value, Trips) {
    let (_, meter) = metered_api();
    let mut made = Trips::new();
    let mut answer = Value::Null;
    for _ in 0..2 {
        meter.take();
        let (status, got) = w.call(user, method.clone(), path, body.clone()).await;
        assert!(status.is_success(), "{method} {path}: {status} {got}");
        made = Trips::new();
        for call in meter.take() {
            *made.entry(format!("{} {}", call.service, call.operation)).or_default() += 1;
        }
        answer = got;
    }
    (answer, made)
}

#[tokio::test]
async fn the_hot_routes_make_the_round_trips_the_table_design_lists() {
    let mut w = World::new().await;
    w.url = metered_api().0.url.clone();
    let mut wrong = Vec::new();
    let mut check = |route: &str, made: Trips, expected: &[(&str, usize)]| {
        if made != trips(expected) {
            wrong.push(format!("{route}: made {made:?}, expected {expected:?}"));
        }
    };
    const GET: &str = "dynamodb GetItem";
    const QUERY: &str = "dynamodb Query";
    const UPDATE: &str = "dynamodb UpdateItem";
    const PUT: &str = "dynamodb PutItem";
    const TRANSACT: &str = "dynamodb TransactWriteItems";
    const PUBLISH: &str = "sns Publish";

    let new = json!({"topic": "maintenance", "subject": "Leak", "body": "Water under the sink"});
    let (thread, made) = measure(&w, "resident-1", Method::POST, "/v1/threads", Some(new)).await;
    // The caller, `MESSAGING` (may residents start one), `CATEGORIES`, `MESSAGING` again for
    // the answer's read receipts; the two quota counters and the event marked published.
    check("create thread", made, &[(GET, 4), (UPDATE, 3), (TRANSACT, 1), (PUBLISH, 1)]);
    let id = thread["id"].as_str().unwrap().to_owned();
    let first = thread["last_message"]["id"].as_str().unwrap().to_owned();
    // Routed before anyone posts: a membership change meanwhile would make a post read the
    // thread again.
    w.events_done(&id).await;

    let messages = format!("/v1/threads/{id}/messages");
    let reply = json!({"body": "A plumber comes on Thursday."});
    let (_, made) = measure(&w, "admin-1", Method::POST, &messages, Some(reply)).await;
    // The caller and the staff member's signature; Query thread.
    check("post message", made, &[(GET, 2), (QUERY, 1), (UPDATE, 3), (TRANSACT, 1), (PUBLISH, 1)]);
    w.events_done(&id).await;

    let body = "Hi {{resident.first_name|there}}, the plumber comes to unit {{unit}}.";
    let (status, template) = w.post("admin-1", "/v1/templates", json!({"name": "Visit", "body": body})).await;
    assert_eq!(status, StatusCode::CREATED, "{template}");
    let templated = json!({"template_id": template["id"]});
    let (_, made) = measure(&w, "admin-1", Method::POST, &messages, Some(templated)).await;
    // Also the org's and the caller's template at once, and the resident's contact.
    let expected =
        [(GET, 3), ("dynamodb BatchGetItem", 1), (QUERY, 1), (UPDATE, 3), (TRANSACT, 1), (PUBLISH, 1)];
    check("post with template", made, &expected);
    w.events_done(&id).await;

    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let later = json!({"body": "Reminder: the plumber comes today.", "send_at": tomorrow});
    let (_, made) = measure(&w, "admin-1", Method::POST, &messages, Some(later)).await;
    // Query thread and the author's waiting ones (the cap); no quota, no event.
    check("schedule a message", made, &[(GET, 1), (QUERY, 2), (PUT, 1)]);

    let (_, made) = measure(&w, "admin-1", Method::GET, "/v1/threads?folder=unread&limit=25", None).await;
    check("list inbox", made, &[(GET, 1), (QUERY, 1)]);
    let (_, made) = measure(&w, "resident-1", Method::GET, &format!("/v1/threads/{id}"), None).await;
    // `MESSAGING` with the thread: the org's read receipts say whose markers it shows.
    check("open thread", made, &[(GET, 2), (QUERY, 1)]);
    let (_, made) = measure(&w, "resident-1", Method::GET, &format!("{messages}?limit=25"), None).await;
    // Query thread (may the reader see it), then its timeline.
    check("list messages", made, &[(GET, 1), (QUERY, 2)]);
    let read = json!({"message_id": first});
    let (_, made) =
        measure(&w, "resident-1", Method::POST, &format!("/v1/threads/{id}/read"), Some(read)).await;
    // The entry read (it exists and the reader may see it), the marker moved forward.
    check("mark read", made, &[(GET, 2), (QUERY, 1), (UPDATE, 1)]);
    let upload = json!({"file_name": "leak.jpg", "content_type": "image/jpeg", "size_bytes": 180_000});
    let (_, made) = measure(&w, "resident-1", Method::POST, "/v1/attachments", Some(upload)).await;
    // The two upload quota counters and the pending attachment; presigning is local.
    check("presign attachment", made, &[(GET, 1), (UPDATE, 2), (PUT, 1)]);

    assert!(
        wrong.is_empty(),
        "round trips changed (update docs/table-design.md with them):\n{}",
        wrong.join("\n")
    );
}
