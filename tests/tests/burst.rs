//! A burst of concurrent writes to one thread, in its own test binary (and so its own
//! emulator): its backlog of queue events must not slow the other end-to-end tests.

#[allow(dead_code)]
#[path = "e2e/support.rs"]
mod support;

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use support::World;

#[tokio::test]
async fn one_hundred_twenty_concurrent_posts_are_all_stored_and_page_back_once_each_in_order() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Busy thread", "first").await;
    let path = format!("/v1/threads/{id}/messages");
    let posts = (0..120).map(|i| {
        let author = if i % 2 == 0 { "resident-1" } else { "admin-1" };
        let (w, path) = (&w, path.clone());
        async move { w.post(author, &path, json!({"body": format!("message {i}")})).await }
    });
    let answers = futures::future::join_all(posts).await;
    let mut acknowledged = HashSet::new();
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        acknowledged.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(acknowledged.len(), 120);

    // Paged by 25; the router's join event for maint-1 is in the timeline too.
    let timeline: Vec<_> =
        w.timeline("admin-1", &id, 25).await.into_iter().filter(|i| i["type"] == "message").collect();
    let ids: Vec<String> = timeline.iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 121, "the first message and 120 replies, each exactly once");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 121);
    assert!(acknowledged.iter().all(|a| ids.contains(a)));
    assert!(ids.windows(2).all(|p| p[0] < p[1]), "oldest first");
    let stamps: Vec<chrono::DateTime<chrono::FixedOffset>> = timeline
        .iter()
        .map(|m| chrono::DateTime::parse_from_rfc3339(m["created_at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(stamps.windows(2).all(|p| p[0] <= p[1]));

    let (_, thread) = w.get("admin-1", &format!("/v1/threads/{id}")).await;
    assert_eq!(
        thread["last_message"]["id"].as_str().unwrap(),
        ids.last().unwrap(),
        "the thread's last message is the newest"
    );

    // The audit chain holds each message once, whoever chained it: the consumer under
    // the burst's events, or this read catching it up.
    let mut entries = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = w.get("admin-1", &format!("/v1/threads/{id}/audit?limit=100{cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        entries.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let chained: Vec<&str> = entries
        .iter()
        .filter(|e| e["action"] == "message_posted")
        .map(|e| e["source_id"].as_str().unwrap())
        .collect();
    assert_eq!(chained.len(), 121, "each message chained once");
    assert_eq!(chained.iter().collect::<HashSet<_>>().len(), 121);
    assert!(ids.iter().all(|id| chained.contains(&id.as_str())));
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry["seq"], i as u64 + 1);
        if i > 0 {
            assert_eq!(entry["prev_hash"], entries[i - 1]["hash"]);
        }
    }
    let (status, export) = w.get("admin-1", &format!("/v1/threads/{id}/export")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, verdict) = w.post("admin-1", "/v1/audit/verify", export).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
}

#[tokio::test]
async fn an_export_past_the_inline_limit_is_handed_over_as_a_download_that_verifies() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Long thread", "first").await;
    let path = format!("/v1/threads/{id}/messages");
    // 5,000 four-byte characters: ~20 KB of JSON per message, 4.4 MB for 220.
    let body = "🏠".repeat(5_000);
    for round in 0..11 {
        let posts = (0..20).map(|i| {
            let author = if (round + i) % 2 == 0 { "resident-1" } else { "admin-1" };
            let (w, path, body) = (&w, path.clone(), body.clone());
            async move { w.post(author, &path, json!({"body": body})).await }
        });
        for (status, answer) in futures::future::join_all(posts).await {
            assert_eq!(status, StatusCode::CREATED, "{answer}");
        }
    }

    let no_redirects =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = no_redirects
        .get(format!("{}/v1/threads/{id}/export", w.url))
        .bearer_auth(w.token("admin-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();

    // The link needs no token: it is the presigned download of the stored copy.
    let download = no_redirects.get(&location).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let bytes = download.bytes().await.unwrap();
    assert!(bytes.len() > 4 * 1024 * 1024, "{} bytes", bytes.len());
    let export: domain::audit::Export = serde_json::from_slice(&bytes).unwrap();
    let messages =
        export.timeline.iter().filter(|i| matches!(i, domain::audit::ExportItem::Message(_))).count();
    assert_eq!(messages, 221, "the first message and 220 replies");
    let verdict = domain::audit::verify_export(&export);
    assert!(verdict.valid, "{:?}", verdict.reason);

    // A smaller one of the same thread (a PDF prints the characters it cannot as ?) is
    // still answered inline.
    let pdf = no_redirects
        .get(format!("{}/v1/threads/{id}/export?format=pdf", w.url))
        .bearer_auth(w.token("admin-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
}
