//! Inbox filters: property, assignee (`me` too), priority, each on top of folder and topic,
//! with full pages however the matching rows are spread.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{error_code, World};

impl World {
    /// Every id of a filtered inbox, page after page, with each page's size.
    async fn all_pages(&self, user: &str, query: &str) -> (Vec<String>, Vec<usize>) {
        let (mut ids, mut sizes) = (Vec::new(), Vec::new());
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/threads{query}&cursor={c}"),
                None => format!("/v1/threads{query}"),
            };
            let (status, page) = self.get(user, &path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let items = page["items"].as_array().unwrap();
            sizes.push(items.len());
            ids.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return (ids, sizes),
            }
        }
    }
}

#[tokio::test]
async fn the_inbox_filters_by_property_assignee_and_priority_in_full_pages() {
    let w = World::new().await;
    let elsewhere = w
        .create_contact(json!({"kind": "resident", "name": "Lou Ng", "property_id": "prop-2", "unit": "201"}))
        .await;
    let lou = elsewhere["id"].as_str().unwrap();
    // Interleaved: prop-1 and prop-2 threads, newest last.
    let mut prop1 = Vec::new();
    let mut prop2 = Vec::new();
    for i in 0..3 {
        prop1.push(w.start_thread("resident-1", "maintenance", &format!("Tap {i}"), "Drips").await);
        prop2.push(w.start_thread(lou, "maintenance", &format!("Door {i}"), "Sticks").await);
    }
    let billing = w.start_thread("resident-2", "billing", "Invoice", "Twice charged").await;
    prop1.push(billing.clone());
    for t in prop1.iter().chain(&prop2) {
        w.events_done(t).await;
    }
    let (status, _) =
        w.patch("admin-1", &format!("/v1/threads/{billing}"), json!({"priority": "urgent"})).await;
    assert_eq!(status, StatusCode::OK);
    let newest_first = |ids: &[String]| ids.iter().rev().cloned().collect::<Vec<_>>();
    let only_billing = vec![billing.clone()];

    // Property: full pages of two, though the rows of the other property sit between.
    let (ids, sizes) = w.all_pages("admin-1", "?property_id=prop-2&limit=2").await;
    assert_eq!(ids, newest_first(&prop2));
    assert_eq!(sizes, [2, 1], "never short while more match");
    let (ids, _) = w.all_pages("admin-1", "?property_id=prop-1&limit=10").await;
    assert_eq!(ids, newest_first(&prop1));
    let (ids, _) = w.all_pages("admin-1", "?property_id=prop-9&limit=10").await;
    assert!(ids.is_empty());

    // Priority, alone and with a folder and a topic.
    assert_eq!(w.all_pages("admin-1", "?priority=urgent&limit=5").await.0, only_billing);
    assert_eq!(
        w.all_pages("admin-1", "?priority=urgent&folder=unread&topic=billing&limit=5").await.0,
        only_billing
    );
    assert!(w.all_pages("admin-1", "?priority=urgent&topic=maintenance&limit=5").await.0.is_empty());

    // Assignee: a staff member's threads for an admin; `me` for anyone.
    let maintenance: Vec<String> =
        newest_first(&[prop1[..3].to_vec(), prop2.clone()].concat()).into_iter().collect::<Vec<_>>();
    let (mut mine, _) = w.all_pages("admin-1", "?assignee=maint-1&limit=3").await;
    let mut expected = maintenance.clone();
    mine.sort();
    expected.sort();
    assert_eq!(mine, expected);
    assert_eq!(w.all_pages("admin-1", "?assignee=bookkeeper-1&limit=5").await.0, only_billing);
    assert_eq!(
        w.all_pages("admin-1", "?assignee=maint-1&property_id=prop-2&limit=5").await.0,
        newest_first(&prop2)
    );
    assert!(w.all_pages("admin-1", "?assignee=me&limit=5").await.0.is_empty(), "the admin is in none");
    assert_eq!(w.all_pages("bookkeeper-1", "?assignee=me&priority=urgent&limit=5").await.0, only_billing);
    assert_eq!(w.all_pages("bookkeeper-1", "?assignee=bookkeeper-1&limit=5").await.0, only_billing);

    // Refused: another's threads for non-admins, malformed values.
    for (user, query, expected, code) in [
        ("maint-1", "?assignee=bookkeeper-1", StatusCode::FORBIDDEN, "admin_only"),
        ("admin-1", "?priority=high", StatusCode::UNPROCESSABLE_ENTITY, "invalid_priority"),
        ("admin-1", "?assignee=not%20an%20id", StatusCode::UNPROCESSABLE_ENTITY, "invalid_user_id"),
        (
            "admin-1",
            &format!("?property_id={}", "p".repeat(65)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
        ),
    ] {
        let (status, body) = w.get(user, &format!("/v1/threads{query}")).await;
        assert_eq!((status, error_code(&body)), (expected, code), "{query}");
    }
    // Residents filter their own threads; another org sees none of these.
    assert_eq!(w.all_pages("resident-2", "?priority=urgent&limit=5").await.0, only_billing);
    assert!(w.all_pages("resident-1", "?priority=urgent&limit=5").await.0.is_empty());
    assert!(w.all_pages("admin-b", "?property_id=prop-1&limit=5").await.0.is_empty());
}

#[tokio::test]
async fn a_residents_active_folder_lists_every_thread_but_the_archived_in_full_pages() {
    let w = World::new().await;
    let (mut active, mut archived) = (Vec::new(), Vec::new());
    // Interleaved, so the archived rows sit between the active ones.
    for i in 0..3 {
        active.push(w.start_thread("resident-1", "maintenance", &format!("Tap {i}"), "Drips").await);
        archived.push(w.start_thread("resident-1", "billing", &format!("Old invoice {i}"), "Paid").await);
    }
    for t in active.iter().chain(&archived) {
        w.events_done(t).await;
    }
    for (thread, status) in archived.iter().map(|t| (t, "archived")).chain([(&active[0], "resolved")]) {
        let (code, body) =
            w.patch("admin-1", &format!("/v1/threads/{thread}"), json!({ "status": status })).await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };

    // Unread, open and resolved are active: full pages of two, the archived ones left out.
    let (ids, sizes) = w.all_pages("resident-1", "?folder=active&limit=2").await;
    assert_eq!(sorted(ids), sorted(active.clone()));
    assert_eq!(sizes, [2, 1], "never short while more match");
    let (ids, _) = w.all_pages("resident-1", "?folder=archived&limit=5").await;
    assert_eq!(sorted(ids), sorted(archived.clone()));
    // With another filter, and for staff as for residents; never another org's.
    assert_eq!(
        w.all_pages("resident-1", "?folder=active&topic=billing&limit=5").await.0,
        Vec::<String>::new()
    );
    let (ids, _) = w.all_pages("admin-1", "?folder=active&limit=10").await;
    assert_eq!(sorted(ids), sorted(active.clone()));
    let elsewhere = w.start_thread("resident-b", "maintenance", "Other org", "Drips").await;
    assert_eq!(w.all_pages("admin-b", "?folder=active&limit=10").await.0, vec![elsewhere.clone()]);
    let (ids, _) = w.all_pages("admin-1", "?folder=active&limit=10").await;
    assert!(!ids.contains(&elsewhere), "another org's thread listed");

    let (status, body) = w.get("resident-1", "/v1/threads?folder=closed").await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_folder"));
}
