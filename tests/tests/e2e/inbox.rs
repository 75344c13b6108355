//! Inbox filters: property, assignee (`me` too), priority, each on top of folder and topic,
//! with full pages however the matching rows are spread.

use reqwest::StatusCode;
use serde_json::{json, Value};

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

/// Rewrites the row `sk` of `thread` (its summary at `summary`) as releases before stop 44
/// stored it: the default category named, the activity key ending in the thread id, and
/// for a participant who has read nothing, a null marker.
async fn as_before_stop_44(w: &World, thread: &str, sk: &str, summary: &[&str], unread: bool) {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    use store::keys::{self, Index};

    let (org, id) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(thread).unwrap());
    let key = [(keys::PK, Av::S(keys::thread_pk(&org, &id))), (keys::SK, Av::S(sk.to_owned()))];
    let (db, table) = (w.store.client(), w.store.table());
    let mut read = db.get_item().table_name(table).consistent_read(true);
    let mut update = db.update_item().table_name(table);
    for (name, value) in key {
        (read, update) = (read.key(name, value.clone()), update.key(name, value));
    }
    let item = read.send().await.unwrap().item.expect("the row");
    let sort = item[Index::Gsi1.sk()].as_s().unwrap();
    let path: Vec<String> = (0..summary.len()).map(|i| format!("#s{i}")).collect();
    let mut set = format!("#k1 = :sort, #k2 = :sort, {}.#c = :service", path.join("."));
    for (name, field) in path.iter().zip(summary) {
        update = update.expression_attribute_names(name, *field);
    }
    if unread {
        set.push_str(", #d.#r = :null");
        update = update
            .expression_attribute_names("#d", "data")
            .expression_attribute_names("#r", "last_read_id")
            .expression_attribute_values(":null", Av::Null(true));
    }
    update
        .update_expression(format!("SET {set}"))
        .expression_attribute_names("#k1", Index::Gsi1.sk())
        .expression_attribute_names("#k2", Index::Gsi2.sk())
        .expression_attribute_names("#c", "category_id")
        .expression_attribute_values(":sort", Av::S(format!("{sort}#{thread}")))
        .expression_attribute_values(":service", Av::S("service".into()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn rows_stored_before_stop_44_are_listed_in_order_filtered_by_category_and_marked_read() {
    let w = World::new().await;
    let old = w.start_thread("resident-1", "maintenance", "Tap", "Drips").await;
    let new = w.start_thread("resident-1", "maintenance", "Door", "Sticks").await;
    for t in [&old, &new] {
        w.routed_to(t, "maint-1").await;
        w.events_done(t).await;
    }
    as_before_stop_44(&w, &old, store::keys::META_SK, &["data", "summary"], false).await;
    let maint = domain::UserId::parse("maint-1").unwrap();
    as_before_stop_44(&w, &old, &store::keys::participant_sk(&maint), &["summary"], true).await;

    // By time, whatever the key's form; the default category, named or not.
    for user in ["admin-1", "maint-1"] {
        assert_eq!(w.thread_ids(user, "").await, [new.clone(), old.clone()], "{user}");
        assert_eq!(w.thread_ids(user, "?category_id=service").await, [new.clone(), old.clone()], "{user}");
    }
    // A null marker is "nothing read": marked, then only forward.
    let marker = || async {
        let (_, t) = w.get("admin-1", &format!("/v1/threads/{old}")).await;
        let p = t["participants"].as_array().unwrap().iter().find(|p| p["user_id"] == "maint-1").cloned();
        p.unwrap()["last_read_message_id"].clone()
    };
    assert_eq!(marker().await, Value::Null);
    let first = w.messages("maint-1", &old).await[0]["id"].as_str().unwrap().to_owned();
    let read = |id: String| {
        let w = &w;
        let old = old.clone();
        async move { w.post("maint-1", &format!("/v1/threads/{old}/read"), json!({ "message_id": id })).await.0 }
    };
    assert!(read(first.clone()).await.is_success());
    assert_eq!(marker().await, json!(first));
    let reply = w.reply("resident-1", &old, "Still drips").await;
    assert_eq!(w.thread_ids("maint-1", "").await, [old.clone(), new.clone()], "moved by the reply");
    assert!(read(reply.clone()).await.is_success());
    assert!(read(first).await.is_success());
    assert_eq!(marker().await, json!(reply), "never back");
}
