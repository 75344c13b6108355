//! Search: words of bodies, subjects and residents' names (folded, the last a prefix),
//! filters alone, paging, and never past what the caller may see.

use domain::{OrgId, UserId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, eventually, World};

/// `GET /v1/search?{query}` as `user`.
async fn search(w: &World, user: &str, query: &str) -> (StatusCode, Value) {
    w.get(user, &format!("/v1/search?{query}")).await
}

/// The message ids `user` finds with `query`, newest first.
async fn found(w: &World, user: &str, query: &str) -> Vec<String> {
    let (status, page) = search(w, user, query).await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page["items"].as_array().unwrap().iter().map(|i| i["message_id"].as_str().unwrap().to_owned()).collect()
}

/// Waits until `user` finds exactly `ids` with `query`.
async fn finds(w: &World, user: &str, query: &str, ids: &[&str]) {
    let want: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    eventually(30, &format!("{user} finds {ids:?} with {query}"), || async {
        (found(w, user, query).await == want).then_some(())
    })
    .await
}

fn enc(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn first_message(w: &World, user: &str, thread: &str) -> String {
    w.messages(user, thread).await[0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_word_of_the_body_the_subject_or_the_residents_name_finds_the_message() {
    let w = World::new().await;
    let thread = w
        .start_thread(
            "resident-1",
            "maintenance",
            "Fuite d'eau",
            "Il y a une fuite sous l'évier de la cuisine.",
        )
        .await;
    let msg = first_message(&w, "resident-1", &thread).await;
    // New messages are searchable within seconds.
    finds(&w, "resident-1", "q=EVIER", &[&msg]).await;

    let (_, page) = search(&w, "resident-1", &format!("q={}", enc("Évier"))).await;
    let hit = &page["items"][0];
    assert_eq!(hit["thread_id"], thread.as_str());
    assert_eq!(hit["subject"], "Fuite d'eau");
    assert_eq!(hit["author_id"], "resident-1");
    assert!(hit["snippet"].as_str().unwrap().contains("l'évier"), "{hit}");
    assert!(hit["at"].is_string());
    assert_eq!(
        hit["resident"],
        json!({"id": "resident-1", "name": "Rita Resident", "unit": "101", "property_id": "prop-1"})
    );
    assert_eq!(page["next_cursor"], Value::Null);

    for (q, why) in [
        ("fuite", "a word of the subject and the body"),
        ("d'EAU", "a word of the subject only"),
        ("rita", "the resident's name"),
        ("Fuite cuisine", "every word, in any field"),
        ("cuis", "the last word as a prefix"),
        ("rita CUISINE évi", "name, body and a prefix together"),
    ] {
        assert_eq!(found(&w, "resident-1", &format!("q={}", enc(q))).await, vec![msg.clone()], "{why}: {q}");
    }
    for (q, why) in [
        ("fuite garage", "every word must match"),
        ("cuis ", "a finished word is not a prefix"),
        ("uisine", "a prefix is the start of a word"),
    ] {
        assert!(found(&w, "resident-1", &format!("q={}", enc(q))).await.is_empty(), "{why}: {q}");
    }
}

#[tokio::test]
async fn internal_notes_other_residents_threads_and_other_orgs_never_show() {
    let w = World::new().await;
    let mine = w.start_thread("resident-1", "maintenance", "Leak", "Water under the plumbing").await;
    w.routed_to(&mine, "maint-1").await;
    let asked = first_message(&w, "resident-1", &mine).await;
    let (status, note) = w
        .post(
            "maint-1",
            &format!("/v1/threads/{mine}/messages"),
            json!({"body": "plumbing quote 900$", "internal": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    let note = note["id"].as_str().unwrap().to_owned();
    let theirs = w.start_thread("resident-2", "general", "Noise", "Loud plumbing at night").await;
    let other = first_message(&w, "resident-2", &theirs).await;
    let far = w.start_thread("resident-b", "general", "Pipes", "The plumbing of building B").await;
    let far_msg = first_message(&w, "resident-b", &far).await;

    // The org's admin sees all three of the org, the note included: everything is indexed.
    finds(&w, "admin-1", "q=plumbing", &[&other, &note, &asked]).await;
    // The thread's staff sees its note, not the thread they are not in.
    finds(&w, "maint-1", "q=plumbing", &[&note, &asked]).await;
    // Residents: their own threads, never internal notes.
    assert_eq!(found(&w, "resident-1", "q=plumbing").await, vec![asked.clone()]);
    assert_eq!(found(&w, "resident-1", "q=quote").await, Vec::<String>::new());
    assert_eq!(found(&w, "resident-2", "q=plumbing").await, vec![other.clone()]);
    // Staff in none of them find nothing.
    assert_eq!(found(&w, "security-1", "q=plumbing").await, Vec::<String>::new());
    // The other org finds its own, only.
    finds(&w, "admin-b", "q=plumbing", &[&far_msg]).await;
    assert_eq!(found(&w, "resident-b", "q=plumbing").await, [far_msg]);
}

#[tokio::test]
async fn joining_a_thread_makes_it_searchable_and_leaving_hides_it() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Balcony", "The balcony railing is loose").await;
    w.routed_to(&thread, "maint-1").await;
    let msg = first_message(&w, "resident-1", &thread).await;
    finds(&w, "maint-1", "q=railing", &[&msg]).await;
    assert!(found(&w, "security-1", "q=railing").await.is_empty());

    let (status, body) = w
        .post("maint-1", &format!("/v1/threads/{thread}/participants"), json!({"user_id": "security-1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    finds(&w, "security-1", "q=railing", &[&msg]).await;

    let (status, body) = w
        .call("admin-1", Method::DELETE, &format!("/v1/threads/{thread}/participants/security-1"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    finds(&w, "security-1", "q=railing", &[]).await;
    // Not only hidden by the check against the table: the index itself no longer lists them.
    let (org, reader) = (OrgId::parse(&w.org).unwrap(), engine().await);
    let as_security = search::Access { member: Some(UserId::parse("security-1").unwrap()), internal: true };
    let q = search::IndexQuery { text: Some("railing".into()), limit: 10, ..Default::default() };
    eventually(30, "the leave indexed", || async {
        let version = w.store.get_search_index(&org, true).await.unwrap().unwrap();
        reader.search(&org, &version, &q, &as_security).await.unwrap().is_empty().then_some(())
    })
    .await;
    let as_maint = search::Access { member: Some(UserId::parse("maint-1").unwrap()), ..as_security };
    let version = w.store.get_search_index(&org, true).await.unwrap().unwrap();
    assert_eq!(
        reader.search(&org, &version, &q, &as_maint).await.unwrap().len(),
        1,
        "the thread is still indexed"
    );
}

#[tokio::test]
async fn filters_alone_narrow_by_resident_unit_property_topic_and_date_and_pages_follow() {
    let w = World::new().await;
    let org = OrgId::parse(&w.org).unwrap();
    // A resident of another property.
    let mut elsewhere =
        infra::seed::demo_users(&org).into_iter().find(|u| u.id.as_str() == "resident-2").unwrap();
    elsewhere.id = UserId::parse("resident-9").unwrap();
    elsewhere.name = "Noor Nine".into();
    elsewhere.unit = Some("101".into());
    elsewhere.property_id = Some("prop-9".into());
    w.store.put_user(&elsewhere).await.unwrap();

    let a = w.start_thread("resident-1", "maintenance", "Heater", "No heat").await;
    let a = first_message(&w, "resident-1", &a).await;
    let b = w.start_thread("resident-2", "billing", "Invoice", "Wrong amount").await;
    let b = first_message(&w, "resident-2", &b).await;
    let c = w.start_thread("resident-9", "maintenance", "Door", "Door stuck").await;
    let c = first_message(&w, "resident-9", &c).await;
    finds(&w, "admin-1", "property_id=prop-1", &[&b, &a]).await;
    // The third thread may be indexed by a later batch than the first two.
    finds(&w, "admin-1", "property_id=prop-9", &[&c]).await;

    assert_eq!(found(&w, "admin-1", "unit=101").await, [c.clone(), a.clone()]);
    assert_eq!(found(&w, "admin-1", "unit=101&property_id=prop-1").await, vec![a.clone()]);
    assert_eq!(found(&w, "admin-1", "resident_id=resident-2").await, vec![b.clone()]);
    assert_eq!(found(&w, "admin-1", "topic=MAINTENANCE").await, [c.clone(), a.clone()]);
    let today = chrono::Utc::now().date_naive();
    assert_eq!(found(&w, "admin-1", &format!("from={today}")).await, [c.clone(), b.clone(), a.clone()]);
    assert!(found(&w, "admin-1", &format!("to={}", today.pred_opt().unwrap())).await.is_empty());
    let (_, page) = search(&w, "admin-1", "property_id=prop-1").await;
    let at_b = page["items"][0]["at"].as_str().unwrap().to_owned();
    assert_eq!(
        found(&w, "admin-1", &format!("property_id=prop-1&to={}", enc(&at_b))).await,
        [b.clone(), a.clone()]
    );
    assert_eq!(found(&w, "admin-1", &format!("from={}", enc(&at_b))).await, [c.clone(), b.clone()]);

    // Pages of one, each message once, newest first.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = search(&w, "admin-1", &format!("from={today}&limit=1{cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(
            page["items"].as_array().unwrap().iter().map(|i| i["message_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, [c, b, a]);
}

#[tokio::test]
async fn a_search_without_words_or_filters_or_with_bad_ones_is_refused() {
    let w = World::new().await;
    for (query, code) in [
        ("", "invalid_query"),
        ("q=%20%20", "invalid_query"),
        ("q=%3F%21", "invalid_query"),
        (&format!("q={}", "a".repeat(201)) as &str, "invalid_query"),
        ("q=a+b+c+d+e+f+g+h+i+j+k", "invalid_query"),
        ("from=yesterday", "invalid_query"),
        ("to=%2B275760-09-13T00:00:00Z", "invalid_query"),
        ("from=1969-12-31", "invalid_query"),
        ("from=2026-02-01&to=2026-01-01", "invalid_query"),
        (&format!("unit={}", "u".repeat(65)) as &str, "invalid_query"),
        ("topic=no%20such%20topic", "invalid_topic"),
        ("q=x&limit=0", "invalid_limit"),
    ] {
        let (status, body) = search(&w, "admin-1", query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(error_code(&body), code, "{query}: {body}");
    }
    let (status, body) = search(&w, "admin-1", "q=x&cursor=not-a-cursor").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "invalid_cursor");
    let (status, _) =
        w.http.get(format!("{}/v1/search?q=x", w.url)).send().await.map(|r| (r.status(), ())).unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A writer of the stack's index bucket, as the indexer's.
async fn engine() -> search::Engine {
    let sdk = infra::stack::sdk_config(&crate::support::stack().endpoint).await;
    let s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let dir = std::env::temp_dir().join(format!("search-test-{}", ulid::Ulid::new()));
    search::Engine::new(s3, infra::stack::SEARCH_BUCKET.to_lowercase(), dir)
}

#[tokio::test]
async fn a_lost_index_is_rebuilt_from_the_table() {
    let w = World::new().await;
    let org = OrgId::parse(&w.org).unwrap();
    let first = w.start_thread("resident-1", "maintenance", "Window", "The window will not close").await;
    w.routed_to(&first, "maint-1").await;
    let asked = first_message(&w, "resident-1", &first).await;
    let (status, note) = w
        .post(
            "maint-1",
            &format!("/v1/threads/{first}/messages"),
            json!({"body": "window glass on order", "internal": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    let note = note["id"].as_str().unwrap().to_owned();
    let second = w.start_thread("resident-2", "general", "Lobby", "The lobby window is cracked").await;
    let cracked = first_message(&w, "resident-2", &second).await;
    finds(&w, "admin-1", "q=window", &[&cracked, &note, &asked]).await;

    // The index is lost: an empty version is recorded in its place.
    let engine = engine().await;
    let base = w.store.get_search_index(&org, true).await.unwrap().unwrap();
    let empty = engine.replace(&org, Some(&base), vec![]).await.unwrap();
    assert!(w.store.put_search_index(&org, &empty, Some(&base)).await.unwrap());
    assert!(found(&w, "admin-1", "q=window").await.is_empty());

    assert_eq!(app::search::rebuild(&w.store, &engine, &org).await.unwrap(), 3, "every message of the org");
    assert_eq!(found(&w, "admin-1", "q=window").await, [cracked.clone(), note, asked.clone()]);
    assert_eq!(found(&w, "resident-1", "q=window").await, [asked], "rebuilt with the same rights");
    // What the consumer indexes afterwards goes on top of the rebuilt version.
    let later = w.reply("maint-1", &first, "New window next week").await;
    finds(&w, "admin-1", "q=window+next", &[&later]).await;
}

#[tokio::test]
async fn a_message_gone_from_the_table_is_never_answered_even_while_indexed() {
    let w = World::new().await;
    let org = OrgId::parse(&w.org).unwrap();
    let thread = w.start_thread("resident-1", "general", "Mailbox", "My mailbox key is bent").await;
    w.routed_to(&thread, "admin-1").await;
    let first = first_message(&w, "resident-1", &thread).await;
    let erased = w.reply("admin-1", &thread, "A new mailbox key is ready").await;
    finds(&w, "resident-1", "q=mailbox+key", &[&erased, &first]).await;

    // Erased from the table (as a retention or erasure job would), still in the index.
    let id = |s: &str| domain::ThreadId::parse(s).unwrap();
    let key = |sk: String| {
        [
            (
                store::keys::PK.to_owned(),
                aws_sdk_dynamodb::types::AttributeValue::S(store::keys::thread_pk(&org, &id(&thread))),
            ),
            (store::keys::SK.to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(sk)),
        ]
        .into_iter()
        .collect()
    };
    let message = domain::MessageId::parse(&erased).unwrap();
    w.store
        .client()
        .delete_item()
        .table_name(w.store.table())
        .set_key(Some(key(store::keys::timeline_sk(message))))
        .send()
        .await
        .unwrap();
    assert_eq!(found(&w, "resident-1", "q=mailbox+key").await, vec![first.clone()]);
    assert_eq!(found(&w, "admin-1", "q=ready").await, Vec::<String>::new());
}

fn doc(thread: domain::ThreadId, body: &str) -> search::SearchDoc {
    search::SearchDoc {
        message_id: domain::MessageId::new_at(chrono::Utc::now().timestamp_millis() as u64),
        thread_id: thread,
        internal: false,
        subject: "Race".into(),
        body: body.into(),
        resident_id: UserId::parse("resident-1").unwrap(),
        resident_name: "Rita Resident".into(),
        unit: None,
        property_id: None,
        topic: "general".into(),
        members: vec![],
    }
}

#[tokio::test]
async fn two_writers_racing_from_one_version_leave_the_recorded_one_intact() {
    let w = World::new().await;
    let org = OrgId::parse(&w.org).unwrap();
    let (a, b, reader) = (engine().await, engine().await, engine().await);
    let thread = domain::ThreadId::new_at(1);
    let (one, two) = (doc(thread, "first apple"), doc(thread, "second apple"));
    let v1 = a
        .write(
            &org,
            None,
            vec![
                search::IndexOp::Upsert(Box::new(one.clone())),
                search::IndexOp::Upsert(Box::new(two.clone())),
            ],
        )
        .await
        .unwrap();
    assert!(w.store.put_search_index(&org, &v1, None).await.unwrap());

    // Both delete from the same segment at the same operation number: Tantivy names their
    // deletion files alike.
    let won = a.write(&org, Some(&v1), vec![search::IndexOp::RemoveMessage(one.message_id)]).await.unwrap();
    let lost = b.write(&org, Some(&v1), vec![search::IndexOp::RemoveMessage(two.message_id)]).await.unwrap();
    assert!(w.store.put_search_index(&org, &won, Some(&v1)).await.unwrap());
    assert!(!w.store.put_search_index(&org, &lost, Some(&v1)).await.unwrap(), "the second writer lost");

    let everyone = search::Access { member: None, internal: true };
    let q = search::IndexQuery { text: Some("apple".into()), limit: 10, ..Default::default() };
    let recorded = w.store.get_search_index(&org, true).await.unwrap().unwrap();
    let hits = reader.search(&org, &recorded, &q, &everyone).await.unwrap();
    let ids: Vec<_> = hits.iter().map(|h| h.message_id).collect();
    assert_eq!(ids, [two.message_id], "the recorded version, as its writer wrote it");

    // The loser applies its change again on the recorded version: it takes effect.
    b.discard(&org, &lost, Some(&v1)).await.unwrap();
    let again =
        b.write(&org, Some(&recorded), vec![search::IndexOp::RemoveMessage(two.message_id)]).await.unwrap();
    assert!(w.store.put_search_index(&org, &again, Some(&recorded)).await.unwrap());
    let hits = reader.search(&org, &again, &q, &everyone).await.unwrap();
    assert!(hits.is_empty(), "both removals in the index: {hits:?}");
}
