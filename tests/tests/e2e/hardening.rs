//! The holes a review found (issue 13), each shown through the API: what a caller who may
//! not do something gets, and that nothing was stored or shown.

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::attachments::{EXE, PNG};
use crate::support::{error_code, invite_token, read, World};

#[tokio::test]
async fn residents_cannot_set_priority_or_a_linked_record_on_a_new_thread() {
    let w = World::new().await;
    let link = json!({"kind": "invoice", "id": "INV-1"});
    for extra in
        [json!({"priority": "urgent"}), json!({"priority": "normal"}), json!({"linked_record": link})]
    {
        let mut body = json!({"topic": "maintenance", "subject": "Leak", "body": "Water"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, answer) = w.post("resident-1", "/v1/threads", body.clone()).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, "staff_only"), "{body}");
    }
    assert_eq!(w.stored_thread_items().await, 0, "nothing stored");
    let id = w.start_thread("resident-1", "maintenance", "Leak", "Water").await;
    let (status, answer) =
        w.patch("resident-1", &format!("/v1/threads/{id}"), json!({"priority": "urgent"})).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, "staff_only"));
    // Staff still set both when they start a thread.
    let (status, thread) = w
        .post(
            "bookkeeper-1",
            "/v1/threads",
            json!({"topic": "billing", "subject": "Balance", "body": "See invoice", "resident_id": "resident-1",
                   "priority": "urgent", "linked_record": link}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{thread}");
    assert_eq!(
        (thread["priority"].as_str(), thread["linked_record"]["id"].as_str()),
        (Some("urgent"), Some("INV-1"))
    );
}

#[tokio::test]
async fn one_line_texts_with_a_line_break_are_refused_and_nothing_is_stored() {
    let w = World::new().await;
    let injected = "Leak\r\nBcc: everyone@example.com";
    let (status, answer) = w
        .post("resident-1", "/v1/threads", json!({"topic": "general", "subject": injected, "body": "x"}))
        .await;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_characters"));
    assert_eq!(w.stored_thread_items().await, 0);

    let (status, answer) =
        w.post("admin-1", "/v1/contacts", json!({"kind": "vendor", "name": "Plombier\nInc"})).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_characters"));
    let (status, answer) =
        w.patch("admin-1", "/v1/contacts/resident-1", json!({"name": "Rita\rResident"})).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_characters"));
    let (_, me) = w.get("resident-1", "/v1/contacts/resident-1").await;
    assert_eq!(me["name"], "Rita Resident", "unchanged");
    let (status, answer) = w
        .post(
            "admin-1",
            "/v1/contacts",
            json!({"kind": "resident", "name": "Unit trick", "property_id": "p#1", "unit": "2"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_characters"),
        "# splits index keys"
    );

    let (status, answer) = w.new_upload("resident-1", "photo\r\n.png", "image/png", 10).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_characters"));

    let id = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    let (status, answer) = w
        .patch(
            "admin-1",
            &format!("/v1/threads/{id}"),
            json!({"linked_record": {"kind": "lease", "id": "L-1", "label": "a\nb"}}),
        )
        .await;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"));
    assert!(answer["error"]["message"].as_str().unwrap().contains("line breaks"), "{answer}");
    let (status, answer) = w
        .call(
            "admin-1",
            reqwest::Method::PUT,
            "/v1/settings/routing",
            Some(json!({"routes": {"general": {"team": "desk"}}, "teams": {"desk": {"name": "Front\ndesk", "members": ["admin-1"]}}})),
        )
        .await;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_routing"));
}

#[tokio::test]
async fn an_internal_notes_attachment_is_404_for_residents_and_downloads_stay_the_checked_bytes() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Leak", "Water").await;
    w.routed_to(&thread, "maint-1").await;
    let (status, upload) = w.new_upload("maint-1", "meter.png", "image/png", PNG.len()).await;
    assert_eq!(status, StatusCode::CREATED, "{upload}");
    w.put_bytes(&upload, PNG).await;
    let note_file = upload["id"].as_str().unwrap().to_owned();
    let (status, note) = w
        .post(
            "maint-1",
            &format!("/v1/threads/{thread}/messages"),
            json!({"body": "meter photo, between us", "internal": true, "attachment_ids": [note_file]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    let (status, answer) = w.get("resident-1", &format!("/v1/attachments/{note_file}")).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, meta) = w.get("admin-1", &format!("/v1/attachments/{note_file}")).await;
    assert_eq!(status, StatusCode::OK, "staff see it: {meta}");

    // The upload URL is still valid after the message took the file: bytes sent through
    // it again are never what anyone downloads.
    w.put_bytes(&upload, &[EXE, &PNG[EXE.len()..]].concat()).await;
    let (_, meta) = w.get("maint-1", &format!("/v1/attachments/{note_file}")).await;
    let url = meta["download_url"].as_str().unwrap();
    let served = w.http.get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&served[..], PNG, "the version checked when it was attached");
}

/// Posts `body` as `user` and returns the message's id.
async fn say(w: &World, user: &str, thread: &str, body: &str) -> String {
    let (status, msg) = w.post(user, &format!("/v1/threads/{thread}/messages"), json!({"body": body})).await;
    assert_eq!(status, StatusCode::CREATED, "{msg}");
    msg["id"].as_str().unwrap().to_owned()
}

/// Posts an internal note as `user` and returns its id.
async fn internal_note(w: &World, user: &str, thread: &str, body: &str) -> String {
    let path = format!("/v1/threads/{thread}/messages");
    let (status, note) = w.post(user, &path, json!({"body": body, "internal": true})).await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    note["id"].as_str().unwrap().to_owned()
}

/// A participant's read marker as `reader` sees it in the thread.
async fn marker(w: &World, reader: &str, thread: &str, of: &str) -> Value {
    let (status, t) = w.get(reader, &format!("/v1/threads/{thread}")).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let p = t["participants"].as_array().unwrap().iter().find(|p| p["user_id"] == of).cloned();
    p.unwrap_or_else(|| panic!("{of} not in {t}"))["last_read_message_id"].clone()
}

#[tokio::test]
async fn residents_never_see_a_read_marker_that_points_at_an_internal_note() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "maintenance", "Leak", "Water").await;
    w.routed_to(&thread, "maint-1").await;
    let reply = say(&w, "maint-1", &thread, "On our way").await;
    let note = internal_note(&w, "maint-1", &thread, "2nd leak").await;
    assert_eq!(marker(&w, "admin-1", &thread, "maint-1").await, note.as_str(), "staff see the marker");
    assert_eq!(
        marker(&w, "resident-1", &thread, "maint-1").await,
        reply.as_str(),
        "the last public message up to it"
    );

    // A newer public message, then the staff member marks the older note read: residents
    // see the public message before the note, found by reading the timeline backwards.
    let later = say(&w, "resident-1", &thread, "Thanks").await;
    let second = internal_note(&w, "admin-1", &thread, "noted").await;
    let (status, _) =
        w.post("bookkeeper-1", &format!("/v1/threads/{thread}/read"), json!({"message_id": note})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a participant");
    let (status, _) = w
        .post("admin-1", &format!("/v1/threads/{thread}/participants"), json!({"user_id": "security-1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) =
        w.post("security-1", &format!("/v1/threads/{thread}/read"), json!({"message_id": note})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(marker(&w, "resident-1", &thread, "security-1").await, reply.as_str());
    assert_eq!(marker(&w, "maint-1", &thread, "security-1").await, note.as_str());
    let (status, _) =
        w.post("security-1", &format!("/v1/threads/{thread}/read"), json!({"message_id": second})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(marker(&w, "resident-1", &thread, "security-1").await, later.as_str());
}

/// Signs `login` in with `password` through the emulator's user pool: its ID token.
async fn id_token(w: &World, login: &str, password: &str) -> Option<String> {
    let (cognito, pool_id, client_id) = crate::contacts::directory(w).await;
    let auth = cognito
        .admin_initiate_auth()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", login)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .ok()?;
    auth.authentication_result().and_then(|r| r.id_token()).map(str::to_owned)
}

async fn signs_in(w: &World, login: &str, password: &str) -> bool {
    id_token(w, login, password).await.is_some()
}

async fn accept(w: &World, token: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"token": token, "password": password});
    read(w.http.post(format!("{}/v1/invites/accept", w.url)).json(&body).send().await.unwrap()).await
}

#[tokio::test]
async fn archived_staff_are_refused_everywhere_and_stop_signing_in_and_locked_staff_read_only_their_profile()
{
    let w = World::new().await;
    let login = format!("maint-1@{}.example.com", w.org);
    let (status, body) = w.contact_action("admin-1", "maint-1", "invite", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let password = "Maintenance 2026";
    let (status, body) = accept(&w, &invite_token(&login).await, password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(signs_in(&w, &login, password).await);

    let (status, body) =
        w.contact_action("admin-1", "maint-1", "lock", json!({"reason": "investigation"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for path in ["/v1/threads", "/v1/contacts", "/v1/contacts/resident-1", "/v1/settings/routing"] {
        let (status, body) = w.get("maint-1", path).await;
        assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_locked"), "{path}");
    }
    assert_eq!(w.get("maint-1", "/v1/contacts/maint-1").await.0, StatusCode::OK, "their own profile");
    assert_eq!(w.get("maint-1", "/v1/me/notification-preferences").await.0, StatusCode::OK);
    let (status, _) = w.contact_action("admin-1", "maint-1", "unlock", json!({})).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = w.contact_action("admin-1", "maint-1", "archive", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for path in ["/v1/threads", "/v1/contacts/maint-1", "/v1/me/notification-preferences"] {
        let (status, body) = w.get("maint-1", path).await;
        assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_archived"), "{path}");
    }
    let (status, body) = w
        .post(
            "maint-1",
            "/v1/threads",
            json!({"topic": "general", "subject": "x", "body": "y", "resident_id": "resident-1"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_archived"));
    assert!(!signs_in(&w, &login, password).await, "the Cognito user is disabled");

    let (status, _) = w.contact_action("admin-1", "maint-1", "unarchive", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(signs_in(&w, &login, password).await, "enabled again");
    assert_eq!(w.get("maint-1", "/v1/threads").await.0, StatusCode::OK);

    // Archived residents keep reading and writing to staff, and signing in.
    let thread = w.start_thread("resident-2", "general", "Moving out", "Last day Friday").await;
    w.patch("admin-1", &format!("/v1/threads/{thread}"), json!({"status": "resolved"})).await;
    let (status, body) = w.contact_action("admin-1", "resident-2", "archive", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(w.get("resident-2", &format!("/v1/threads/{thread}")).await.0, StatusCode::OK);
    let (status, _) =
        w.post("resident-2", &format!("/v1/threads/{thread}/messages"), json!({"body": "Deposit?"})).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn only_the_newest_invitation_link_works_and_never_for_an_account_that_signs_in() {
    let w = World::new().await;
    let wrong = format!("typo-{}@example.com", w.org);
    let right = format!("right-{}@example.com", w.org);
    let (status, contact) = w
        .post("admin-1", "/v1/contacts", json!({"kind": "resident", "name": "Nora New", "email": wrong, "property_id": "prop-1", "unit": "105"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let id = contact["id"].as_str().unwrap().to_owned();
    assert_eq!(w.contact_action("admin-1", &id, "invite", json!({})).await.0, StatusCode::ACCEPTED);
    let to_wrong_person = invite_token(&wrong).await;
    assert_eq!(to_wrong_person.len(), 64, "256 bits as hex");

    // The admin corrects the address and invites again: the first link is dead.
    let (status, _) = w.patch("admin-1", &format!("/v1/contacts/{id}"), json!({"email": right})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = accept(&w, &to_wrong_person, "Stolen account 1").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "invite_invalid"),
        "an e-mail change revokes it"
    );
    assert_eq!(w.contact_action("admin-1", &id, "invite", json!({})).await.0, StatusCode::ACCEPTED);
    let first = invite_token(&right).await;
    assert_eq!(w.contact_action("admin-1", &id, "invite", json!({})).await.0, StatusCode::ACCEPTED);
    let second = invite_token(&right).await;
    assert_ne!(first, second);
    let (status, body) = accept(&w, &first, "Older link 2026").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "invite_invalid"),
        "a new invitation revokes it"
    );
    assert!(!signs_in(&w, &right, "Older link 2026").await);
    let (status, body) = accept(&w, &second, "Newest link 2026").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(signs_in(&w, &right, "Newest link 2026").await);

    // Addresses differ only in case: one sign-in, so another contact cannot take it.
    let (_, other) = w
        .post(
            "admin-1",
            "/v1/contacts",
            json!({"kind": "vendor", "name": "Same Person", "email": right.to_uppercase()}),
        )
        .await;
    let (status, body) =
        w.contact_action("admin-1", other["id"].as_str().unwrap(), "invite", json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "email_in_use"), "{body}");

    // Once the account signs in, no invitation sets its password again.
    let (status, body) = w.contact_action("admin-1", &id, "invite", json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "already_active"));
    assert!(signs_in(&w, &right, "Newest link 2026").await, "the password stands");
}

#[tokio::test]
async fn a_team_of_a_hundred_routes_and_its_conversation_takes_posts_and_changes() {
    let w = World::new().await;
    let org = domain::OrgId::parse(&w.org).unwrap();
    let members: Vec<String> = (0..100).map(|i| format!("crew-{i:03}")).collect();
    let crew: Vec<domain::User> = members
        .iter()
        .map(|id| {
            let mut u = infra::seed::demo_users(&org).remove(2); // maint-1, as a template
            u.id = domain::UserId::parse(id.as_str()).unwrap();
            u.name = format!("Crew {id}");
            u.email = Some(format!("{id}@{}.example.com", w.org));
            u
        })
        .collect();
    infra::seed::seed_users(&w.store, &crew).await.unwrap();
    let routing = json!({"routes": {"maintenance": {"team": "crew"}}, "teams": {"crew": {"name": "Crew", "members": members}}});
    let (status, body) = w.call("admin-1", reqwest::Method::PUT, "/v1/settings/routing", Some(routing)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let thread = w.start_thread("resident-1", "maintenance", "Flood", "Water in the hall").await;
    let last = members.last().unwrap().clone();
    w.routed_to(&thread, &last).await;
    let everyone = w.participants(&thread).await;
    assert_eq!(everyone.len(), 101, "the resident and the whole team");

    // 101 rows move with a message (more than one transaction holds)...
    let reply = say(&w, "crew-000", &thread, "On it").await;
    let (_, inbox) = w.get(&last, "/v1/threads").await;
    assert_eq!(
        inbox["items"][0]["last_message"]["id"],
        reply.as_str(),
        "the last member's row moved too: {inbox}"
    );
    let (_, inbox) = w.get("resident-1", "/v1/threads").await;
    assert_eq!(inbox["items"][0]["last_message"]["id"], reply.as_str());
    // ...and with a status change.
    let (status, body) =
        w.patch("admin-1", &format!("/v1/threads/{thread}"), json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(w.thread_ids(&last, "?folder=resolved").await, vec![thread.clone()]);

    // The conversation is not unbounded: joining a full one is refused.
    let extra: Vec<domain::User> = (0..49)
        .map(|i| {
            let mut u = infra::seed::demo_users(&org).remove(2);
            u.id = domain::UserId::parse(format!("extra-{i:02}")).unwrap();
            u
        })
        .collect();
    infra::seed::seed_users(&w.store, &extra).await.unwrap();
    for u in &extra {
        let (status, body) = w
            .post("admin-1", &format!("/v1/threads/{thread}/participants"), json!({"user_id": u.id.as_str()}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = w
        .post("admin-1", &format!("/v1/threads/{thread}/participants"), json!({"user_id": "security-1"}))
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "too_many_participants"));
}

/// Posts as `user` and returns the status, the `Retry-After` header and the body.
async fn post_with_headers(
    w: &World,
    user: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Option<u32>, Value) {
    let resp =
        w.http.post(format!("{}{path}", w.url)).bearer_auth(w.token(user)).json(&body).send().await.unwrap();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let (status, body) = read(resp).await;
    (status, retry, body)
}

#[tokio::test]
async fn write_quotas_answer_429_with_retry_after_per_user_and_per_org_and_store_nothing() {
    let w = World::new().await;
    let org = domain::OrgId::parse(&w.org).unwrap();
    let mut quotas = domain::quota::Quotas::default();
    quotas.thread.per_user = 2;
    quotas.thread.per_org = 3;
    quotas.message.per_user = 3;
    quotas.upload.per_user = 1;
    quotas.invitation.per_subject = Some(2);
    // What operations do for one org (defaults are far higher).
    w.store.put_quotas(&org, &quotas).await.unwrap();

    let new_thread = json!({"topic": "general", "subject": "Hello", "body": "Hi"});
    let first = w.start_thread("resident-1", "general", "One", "1").await;
    w.start_thread("resident-1", "general", "Two", "2").await;
    let (status, retry, body) = post_with_headers(&w, "resident-1", "/v1/threads", new_thread.clone()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert!(retry.is_some_and(|s| (1..=3600).contains(&s)), "Retry-After: {retry:?}");
    assert_eq!(w.thread_ids("admin-1", "").await.len(), 2, "nothing stored");
    // Another resident has their own count, until the org's is spent.
    w.start_thread("resident-2", "general", "Three", "3").await;
    let (status, _, body) = post_with_headers(&w, "resident-2", "/v1/threads", new_thread).await;
    assert_eq!((status, error_code(&body)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "the org's 3");
    // Refused by the org's counter, after resident-2's was counted: that count is given back.
    let (window, _) = domain::quota::window(chrono::Utc::now().timestamp(), quotas.thread.window_secs);
    let user = store::keys::QuotaScope::User(domain::UserId::parse("resident-2").unwrap());
    let counter = w
        .store
        .client()
        .get_item()
        .table_name(w.store.table())
        .key("pk", AttributeValue::S(store::keys::quota_pk(&org, &user)))
        .key("sk", AttributeValue::S(store::keys::quota_sk(domain::quota::QuotaKind::Thread, window)))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let count = counter.item().and_then(|i| i.get("count")).and_then(|n| n.as_n().ok()).cloned();
    assert_eq!(count.as_deref(), Some("1"), "resident-2 started one thread");

    let post = format!("/v1/threads/{first}/messages");
    let keyed = |i: u32| {
        w.http
            .post(format!("{}{post}", w.url))
            .bearer_auth(w.token("resident-1"))
            .header("Idempotency-Key", format!("m{i}"))
            .json(&json!({"body": format!("m{i}")}))
            .send()
    };
    let mut ids = Vec::new();
    for i in 0..3 {
        let (status, body) = read(keyed(i).await.unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].clone());
    }
    // A client retrying after a lost answer gets its first answer, not a 429.
    let (status, again) = read(keyed(2).await.unwrap()).await;
    assert_eq!((status, &again["id"]), (StatusCode::CREATED, &ids[2]), "{again}");
    let (status, retry, body) =
        post_with_headers(&w, "resident-1", &post, json!({"body": "one too many"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert!(retry.is_some());
    assert!(!w.messages("admin-1", &first).await.iter().any(|m| m["body"] == "one too many"));

    let upload = json!({"file_name": "a.png", "content_type": "image/png", "size_bytes": 100});
    assert_eq!(
        post_with_headers(&w, "resident-1", "/v1/attachments", upload.clone()).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        post_with_headers(&w, "resident-1", "/v1/attachments", upload).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );

    // One contact is invited at most twice a day, however many invitations the admin has.
    for _ in 0..2 {
        assert_eq!(
            w.contact_action("admin-1", "resident-2", "invite", json!({})).await.0,
            StatusCode::ACCEPTED
        );
    }
    let (status, body) = w.contact_action("admin-1", "resident-2", "invite", json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert_eq!(w.contact_action("admin-1", "resident-1", "invite", json!({})).await.0, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn refused_writes_and_replayed_answers_use_no_quota() {
    let w = World::new().await;
    let org = domain::OrgId::parse(&w.org).unwrap();
    let mut quotas = domain::quota::Quotas::default();
    quotas.thread.per_user = 2;
    quotas.message.per_user = 2;
    quotas.invitation.per_subject = Some(1);
    w.store.put_quotas(&org, &quotas).await.unwrap();

    // A thread created once and replayed thrice counts once: a second thread still fits.
    let create = |key: &'static str| {
        w.http
            .post(format!("{}/v1/threads", w.url))
            .bearer_auth(w.token("resident-1"))
            .header("Idempotency-Key", key)
            .json(&json!({"topic": "general", "subject": key, "body": "Hi"}))
            .send()
    };
    let (status, first) = read(create("t1").await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    for _ in 0..3 {
        let (status, again) = read(create("t1").await.unwrap()).await;
        assert_eq!((status, &again["id"]), (StatusCode::CREATED, &first["id"]), "{again}");
    }
    assert_eq!(read(create("t2").await.unwrap()).await.0, StatusCode::CREATED);
    let (status, body) = read(create("t3").await.unwrap()).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "counting goes on"
    );

    // Posts refused for their attachment (after they were counted) give the count back.
    let thread = first["id"].as_str().unwrap();
    let post = format!("/v1/threads/{thread}/messages");
    let theirs = w.upload("resident-2", "theirs.png", "image/png", PNG).await;
    for _ in 0..3 {
        let (status, body) = w.attach("resident-1", thread, &[&theirs]).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_attachment"));
    }
    for i in 0..2 {
        let (status, body) = w.post("resident-1", &post, json!({"body": format!("ok {i}")})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = w.post("resident-1", &post, json!({"body": "third"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));

    // An invitation refused because the address signs in for someone else is not counted
    // against the contact: refused again as email_in_use, never 429.
    let email = format!("quota-{}@example.com", w.org);
    let contact = |name: &'static str| {
        w.post("admin-1", "/v1/contacts", json!({"kind": "vendor", "name": name, "email": email}))
    };
    let (_, holder) = contact("Holder").await;
    let holder = holder["id"].as_str().unwrap().to_owned();
    assert_eq!(w.contact_action("admin-1", &holder, "invite", json!({})).await.0, StatusCode::ACCEPTED);
    let (_, other) = contact("Other").await;
    let other = other["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let (status, body) = w.contact_action("admin-1", &other, "invite", json!({})).await;
        assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "email_in_use"), "{body}");
    }
}

#[tokio::test]
async fn a_replayed_creation_still_checks_that_the_caller_may_see_the_thread() {
    let w = World::new().await;
    let body =
        json!({"topic": "billing", "subject": "Balance", "body": "See invoice", "resident_id": "resident-1"});
    let create = || {
        w.http
            .post(format!("{}/v1/threads", w.url))
            .bearer_auth(w.token("bookkeeper-1"))
            .header("Idempotency-Key", "balance-1")
            .json(&body)
            .send()
    };
    let (status, first) = read(create().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let id = first["id"].as_str().unwrap();
    let (status, replay) = read(create().await.unwrap()).await;
    assert_eq!(
        (status, replay["id"].as_str()),
        (StatusCode::CREATED, Some(id)),
        "a retry answers the same thread"
    );
    // Once routed (billing goes to the bookkeeper, in already), the bookkeeper leaves the
    // thread; the same key no longer shows it to them.
    w.events_done(id).await;
    let (status, _) = w
        .call(
            "bookkeeper-1",
            reqwest::Method::DELETE,
            &format!("/v1/threads/{id}/participants/bookkeeper-1"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, replay) = read(create().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "first {id}: {replay}");
    assert_eq!(error_code(&replay), "not_found");
}

#[tokio::test]
async fn a_locked_resident_reads_but_leaves_no_read_receipt() {
    let w = World::new().await;
    let thread = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    let reply = say(&w, "admin-1", &thread, "Hello Rita").await;
    let (status, _) =
        w.contact_action("admin-1", "resident-1", "lock", json!({"reason": "collections"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.get("resident-1", &format!("/v1/threads/{thread}/messages")).await.0, StatusCode::OK);
    let (status, body) =
        w.post("resident-1", &format!("/v1/threads/{thread}/read"), json!({"message_id": reply})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_locked"));
    assert_ne!(marker(&w, "admin-1", &thread, "resident-1").await, reply.as_str(), "the marker did not move");
}

/// A bearer token with the claims of `login`'s Cognito ID token, as the authorizer hands
/// them over after verifying it.
async fn cognito_bearer(w: &World, login: &str, password: &str) -> String {
    use base64::Engine as _;
    let id_token = id_token(w, login, password).await.expect("signs in");
    let payload = id_token.split('.').nth(1).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
            .unwrap();
    claims["exp"] = json!(chrono::Utc::now().timestamp() + 300);
    infra::token::sign(infra::token::DEFAULT_SECRET, &claims)
}

#[tokio::test]
async fn correcting_an_address_ends_the_sign_in_made_with_the_old_one() {
    let w = World::new().await;
    let wrong = format!("Typo-{}@Example.com", w.org);
    let right = format!("nora-{}@example.com", w.org);
    let (_, contact) = w
        .post("admin-1", "/v1/contacts", json!({"kind": "resident", "name": "Nora New", "email": wrong, "property_id": "prop-1", "unit": "105"}))
        .await;
    let id = contact["id"].as_str().unwrap().to_owned();
    assert_eq!(w.contact_action("admin-1", &id, "invite", json!({})).await.0, StatusCode::ACCEPTED);
    // Whoever reads the mistyped mailbox accepts first; the user name is the address in lower case.
    let (status, accepted) = accept(&w, &invite_token(&wrong).await, "Not Nora 2026").await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let old_login = wrong.to_lowercase();
    assert_eq!(accepted["login"], old_login.as_str());
    let stranger = cognito_bearer(&w, &old_login, "Not Nora 2026").await;
    let mine = format!("{}/v1/contacts/{id}", w.url);
    assert_eq!(w.http.get(&mine).bearer_auth(&stranger).send().await.unwrap().status(), StatusCode::OK);

    let (status, _) = w.patch("admin-1", &format!("/v1/contacts/{id}"), json!({"email": right})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = read(w.http.get(&mine).bearer_auth(&stranger).send().await.unwrap()).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized"),
        "their token no longer opens it"
    );
    assert!(!signs_in(&w, &old_login, "Not Nora 2026").await, "their sign-in is gone");

    assert_eq!(w.contact_action("admin-1", &id, "invite", json!({})).await.0, StatusCode::ACCEPTED);
    let (status, _) = accept(&w, &invite_token(&right).await, "Really Nora 2026").await;
    assert_eq!(status, StatusCode::OK);
    let nora = cognito_bearer(&w, &right, "Really Nora 2026").await;
    assert_eq!(w.http.get(&mine).bearer_auth(&nora).send().await.unwrap().status(), StatusCode::OK);
}
