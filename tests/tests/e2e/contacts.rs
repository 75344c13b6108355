use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, eventually, World};

impl World {
    pub(crate) async fn create_contact(&self, body: Value) -> Value {
        let (status, contact) = self.post("admin-1", "/v1/contacts", body).await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
        contact
    }

    async fn contact_names(&self, user: &str, query: &str) -> Vec<String> {
        let (status, page) = self.get(user, &format!("/v1/contacts{query}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
    }

    pub(crate) async fn contact_action(
        &self,
        user: &str,
        id: &str,
        action: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.post(user, &format!("/v1/contacts/{id}/{action}"), body).await
    }

    async fn patch_contact(&self, id: &str, body: Value) -> (StatusCode, Value) {
        self.call("admin-1", Method::PATCH, &format!("/v1/contacts/{id}"), Some(body)).await
    }
}

#[tokio::test]
async fn contacts_are_found_by_name_prefix_unit_and_property_and_staff_start_threads_with_them() {
    let w = World::new().await;
    let jose = w
        .create_contact(json!({"kind": "owner", "name": "José Ébert", "email": "jose@example.com", "property_id": "prop-2", "unit": "7B"}))
        .await;
    w.create_contact(json!({"kind": "vendor", "name": "Plomberie Ouellet", "phone": "+15145550199"})).await;
    assert_eq!(jose["role"], "resident");
    assert_eq!(w.contact_names("bookkeeper-1", "?q=jo").await, ["José Ébert"]);
    assert_eq!(
        w.contact_names("bookkeeper-1", "?q=EBE").await,
        ["José Ébert"],
        "any word, case and accents folded"
    );
    assert_eq!(w.contact_names("bookkeeper-1", "?q=%C3%A9b").await, ["José Ébert"]);
    assert_eq!(w.contact_names("bookkeeper-1", "?property_id=prop-2&unit=7B").await, ["José Ébert"]);
    assert_eq!(w.contact_names("bookkeeper-1", "?property_id=prop-1&unit=101").await, ["Rita Resident"]);
    assert_eq!(w.contact_names("bookkeeper-1", "?property_id=prop-2").await, ["José Ébert"]);
    assert_eq!(w.contact_names("bookkeeper-1", "?kind=vendor").await, ["Plomberie Ouellet"]);
    assert!(w.contact_names("bookkeeper-1", "?q=zz").await.is_empty());

    let id = jose["id"].as_str().unwrap();
    let (status, thread) = w
        .post(
            "bookkeeper-1",
            "/v1/threads",
            json!({"topic": "billing", "subject": "Fees", "body": "Your fees", "resident_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{thread}");
    assert_eq!(thread["resident"]["name"], "José Ébert");

    let (status, patched) = w
        .call(
            "admin-1",
            Method::PATCH,
            &format!("/v1/contacts/{id}"),
            Some(json!({"name": "José Ébert-Núñez"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(w.contact_names("bookkeeper-1", "?q=nun").await, ["José Ébert-Núñez"]);
}

#[tokio::test]
async fn a_patch_clears_the_details_given_as_null_and_a_resident_keeps_their_unit() {
    let w = World::new().await;
    let staff = w
        .create_contact(
            json!({"kind": "staff", "name": "Sam Gardien", "phone": "+15145550142", "property_id": "prop-2"}),
        )
        .await;
    let id = staff["id"].as_str().unwrap();
    assert_eq!(w.contact_names("admin-1", "?property_id=prop-2").await, ["Sam Gardien"]);
    // Moved away, and no phone any more: both cleared, the rest kept.
    let (status, cleared) = w.patch_contact(id, json!({"phone": null, "property_id": null})).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    let (_, stored) = w.get("admin-1", &format!("/v1/contacts/{id}")).await;
    assert_eq!((&stored["phone"], &stored["property_id"]), (&Value::Null, &Value::Null), "{stored}");
    assert_eq!(stored["name"], "Sam Gardien");
    assert!(w.contact_names("admin-1", "?property_id=prop-2").await.is_empty(), "off the property's list");
    assert_eq!(w.contact_names("admin-1", "?q=gardien").await, ["Sam Gardien"]);

    // A resident keeps a property and a unit: refused, and nothing of the patch stored.
    let (_, before) = w.get("admin-1", "/v1/contacts/resident-1").await;
    let (status, refused) =
        w.patch_contact("resident-1", json!({"unit": null, "phone": "+15145550143"})).await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unit_required"),
        "{refused}"
    );
    let (_, after) = w.get("admin-1", "/v1/contacts/resident-1").await;
    assert_eq!(after, before);
    assert_eq!(after["unit"], "101");
}

#[tokio::test]
async fn a_new_e_mail_address_drops_the_channels_chosen_under_the_old_and_admins_cannot_change_their_own() {
    let w = World::new().await;
    let (org, user) = (domain::OrgId::parse(&w.org).unwrap(), domain::UserId::parse("resident-2").unwrap());
    w.set_preferences("resident-2", json!({"channels": [{"channel": "sms", "address": w.phone(8)}]})).await;
    assert!(w.store.get_preferences(&org, &user).await.unwrap().is_some());

    // The same mailbox in other capitals is a correction, not a new address.
    let (_, resident) = w.get("admin-1", "/v1/contacts/resident-2").await;
    let shouted = resident["email"].as_str().unwrap().to_uppercase();
    let (status, corrected) = w.patch_contact("resident-2", json!({ "email": shouted })).await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    assert_eq!(corrected["email"], shouted);
    assert!(w.store.get_preferences(&org, &user).await.unwrap().is_some(), "the same person's choice");

    let (status, changed) = w.patch_contact("resident-2", json!({"email": "reza@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["email"], "reza@example.com");
    assert!(w.store.get_preferences(&org, &user).await.unwrap().is_none(), "chosen by whoever signed in");

    let (_, before) = w.get("admin-1", "/v1/contacts/admin-1").await;
    for email in [json!(null), json!("avery@example.com")] {
        let (status, refused) = w.patch_contact("admin-1", json!({ "email": email })).await;
        assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "cannot_change_own_email"));
    }
    let (status, renamed) = w.patch_contact("admin-1", json!({"name": "Avery A. Admin"})).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["email"], before["email"], "their own name, not their address");
    let capitals = before["email"].as_str().unwrap().to_uppercase();
    let (status, own) = w.patch_contact("admin-1", json!({ "email": capitals })).await;
    assert_eq!(status, StatusCode::OK, "their own address in other capitals: {own}");
    let (status, _) = w.get("admin-1", "/v1/me").await;
    assert_eq!(status, StatusCode::OK, "still signed in");
}

#[tokio::test]
async fn a_sign_in_whose_address_changed_meanwhile_cannot_write_its_channels_back() {
    let w = World::new().await;
    let (org, user) = (domain::OrgId::parse(&w.org).unwrap(), domain::UserId::parse("resident-2").unwrap());
    let app = crate::housekeeping::app_on(&w.store, &w.url).await;
    let channels = |n: u8| -> domain::notify::NotificationPreferences {
        serde_json::from_value(json!({"channels": [{"channel": "sms", "address": w.phone(n)}]})).unwrap()
    };
    // The caller as a request read it, then an admin renames them before it saves: saved.
    let read = w.store.get_user(&org, &user).await.unwrap().unwrap();
    assert_eq!(w.patch_contact("resident-2", json!({"name": "Reza Resident"})).await.0, StatusCode::OK);
    app::settings::set_preferences(&app, &read, channels(8)).await.unwrap();
    assert!(w.store.get_preferences(&org, &user).await.unwrap().is_some());

    // Read again, then their address changes (dropping what they chose) before it saves.
    let read = w.store.get_user_now(&org, &user).await.unwrap().unwrap();
    assert_eq!(w.patch_contact("resident-2", json!({"email": "reza@example.com"})).await.0, StatusCode::OK);
    assert!(app::settings::set_preferences(&app, &read, channels(9)).await.is_err());
    assert!(w.store.get_preferences(&org, &user).await.unwrap().is_none(), "not written back");
}

#[tokio::test]
async fn the_staff_are_found_among_hundreds_of_residents_whose_names_sort_first() {
    let w = World::new().await;
    let org = domain::OrgId::parse(&w.org).unwrap();
    // 300 residents named before every staff member ("Aaron …" < "Avery Admin").
    let residents = (0..300).map(|i| {
        let id = format!("aaron-{i:03}");
        infra::seed::user(
            &org,
            &id,
            domain::Role::Resident,
            &format!("Aaron {i:03}"),
            Some("9"),
            Some("prop-9"),
        )
    });
    futures::future::try_join_all(residents.map(|u| {
        let store = &w.store;
        async move { store.put_user(&u).await }
    }))
    .await
    .unwrap();
    assert_eq!(w.contact_names("admin-1", "?limit=5").await[0], "Aaron 000", "the residents sort first");

    // One page of staff, as the web client's staff directory asks for it.
    let (status, page) = w.get("admin-1", "/v1/contacts?kind=staff&limit=10").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Avery Admin", "Billie Books", "Max Maintenance", "Sam Security"]);
}

#[tokio::test]
async fn a_lock_needs_a_reason_blocks_writes_but_not_reads_and_unlock_restores_writes() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hello", "Hi").await;
    let (status, body) = w.contact_action("admin-1", "resident-1", "lock", json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "reason_required"));
    let (status, locked) =
        w.contact_action("admin-1", "resident-1", "lock", json!({"reason": "Unpaid rent since March"})).await;
    assert_eq!(status, StatusCode::OK, "{locked}");
    assert_eq!(locked["lock"]["reason"], "Unpaid rent since March");
    assert_eq!(locked["lock"]["by"], "admin-1");

    let (status, body) =
        w.post("resident-1", &format!("/v1/threads/{id}/messages"), json!({"body": "hello?"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_locked"));
    assert_eq!(w.get("resident-1", &format!("/v1/threads/{id}")).await.0, StatusCode::OK, "reads still work");

    let (status, _) = w.contact_action("admin-1", "resident-1", "unlock", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        w.post("resident-1", &format!("/v1/threads/{id}/messages"), json!({"body": "back"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, trail) = w.get("admin-1", "/v1/contacts/resident-1/audit").await;
    let actions: Vec<(&str, &str)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor_id"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("locked", "admin-1"), ("unlocked", "admin-1")]);
}

#[tokio::test]
async fn archived_contacts_leave_the_list_keep_their_history_and_cannot_be_messaged_anew() {
    let w = World::new().await;
    let id = w.start_thread("resident-2", "general", "Old question", "Hello").await;
    let (status, body) = w.contact_action("admin-1", "resident-2", "archive", json!({})).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "outstanding_items"),
        "an unresolved thread"
    );
    assert_eq!(
        w.patch("admin-1", &format!("/v1/threads/{id}"), json!({"status": "resolved"})).await.0,
        StatusCode::OK
    );
    let (status, archived) = w.contact_action("admin-1", "resident-2", "archive", json!({})).await;
    assert_eq!((status, archived["state"].as_str()), (StatusCode::OK, Some("archived")), "{archived}");

    assert!(!w.contact_names("admin-1", "").await.contains(&"Reza Resident".to_owned()));
    assert!(w.contact_names("admin-1", "?include_archived=true").await.contains(&"Reza Resident".to_owned()));
    let (status, body) = w
        .post(
            "admin-1",
            "/v1/threads",
            json!({"topic": "general", "subject": "x", "body": "y", "resident_id": "resident-2"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "resident_archived"));
    let (status, _) =
        w.post("resident-2", &format!("/v1/threads/{id}/messages"), json!({"body": "One more thing"})).await;
    assert_eq!(status, StatusCode::CREATED, "an archived resident can still message staff");
    assert_eq!(w.messages("admin-1", &id).await.len(), 2, "staff read it");

    let (status, _) = w.contact_action("admin-1", "resident-2", "unarchive", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(w.contact_names("admin-1", "").await.contains(&"Reza Resident".to_owned()));
}

/// An archived admin can do nothing, not even undo it: an admin's own account is never
/// archived by themself, now or on a date, and they keep working.
#[tokio::test]
async fn admins_cannot_archive_or_lock_their_own_account() {
    let w = World::new().await;
    for body in [json!({}), json!({"at": "2099-01-01T00:00:00Z"})] {
        let (status, refused) = w.contact_action("admin-1", "admin-1", "archive", body).await;
        assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "cannot_archive_self"));
    }
    let (status, refused) = w.contact_action("admin-1", "admin-1", "lock", json!({"reason": "test"})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "cannot_lock_self"));
    let (status, me) = w.get("admin-1", "/v1/contacts/admin-1").await;
    assert_eq!(
        (status, me["state"].as_str(), &me["archive_at"]),
        (StatusCode::OK, Some("active"), &Value::Null)
    );
    let (status, trail) = w.get("admin-1", "/v1/contacts/admin-1/audit").await;
    assert_eq!(
        (status, trail["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0)),
        "nothing recorded"
    );
}

#[tokio::test]
async fn a_future_dated_archive_happens_when_due() {
    let w = World::new().await;
    let contact = w
        .create_contact(
            json!({"kind": "resident", "name": "Leaving Soon", "property_id": "prop-1", "unit": "103"}),
        )
        .await;
    let id = contact["id"].as_str().unwrap().to_owned();
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let (status, scheduled) = w.contact_action("admin-1", &id, "archive", json!({"at": at})).await;
    assert_eq!((status, scheduled["state"].as_str()), (StatusCode::OK, Some("active")), "{scheduled}");
    assert!(scheduled["archive_at"].is_string());
    eventually(45, "the scheduled archive", || async {
        let (_, c) = w.get("admin-1", &format!("/v1/contacts/{id}")).await;
        (c["state"] == "archived").then_some(())
    })
    .await;
    let (_, trail) = w.get("admin-1", &format!("/v1/contacts/{id}/audit")).await;
    let actions: Vec<&str> =
        trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["archive_scheduled", "archived"]);
}

#[tokio::test]
async fn residents_cannot_manage_contacts_and_another_orgs_contacts_are_404() {
    let w = World::new().await;
    let (status, body) = w.post("resident-1", "/v1/contacts", json!({"kind": "vendor", "name": "X"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "admin_only"));
    for (action, body) in [("lock", json!({"reason": "x"})), ("archive", json!({}))] {
        let (status, _) = w.contact_action("resident-1", "resident-2", action, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
    }
    let (status, _) = w.contact_action("maint-1", "resident-2", "lock", json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "staff read contacts; only admins change them");
    assert_eq!(w.get("resident-1", "/v1/contacts").await.0, StatusCode::FORBIDDEN);
    assert_eq!(w.get("resident-1", "/v1/contacts/resident-2").await.0, StatusCode::NOT_FOUND);
    assert_eq!(w.get("resident-1", "/v1/contacts/resident-1").await.0, StatusCode::OK, "one's own record");
    for path in ["/v1/contacts/resident-b", "/v1/contacts/admin-b/audit"] {
        assert_eq!(w.get("admin-1", path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = w.contact_action("admin-1", "resident-b", "lock", json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!w.contact_names("admin-1", "?q=bo").await.iter().any(|n| n == "Bo Resident"));
}

/// The emulator's user pool and app client, found by the names template.yaml gives them.
pub async fn directory(w: &World) -> (aws_sdk_cognitoidentityprovider::Client, String, String) {
    let sdk = infra::stack::sdk_config(&crate::support::stack().endpoint).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let pools = cognito.list_user_pools().max_results(60).send().await.unwrap();
    let pool = pools.user_pools().iter().find(|p| p.name() == Some("UserPool")).expect("the user pool");
    let pool_id = pool.id().unwrap().to_owned();
    let clients = cognito.list_user_pool_clients().user_pool_id(&pool_id).send().await.unwrap();
    let client_id = clients.user_pool_clients()[0].client_id().unwrap().to_owned();
    let _ = w;
    (cognito, pool_id, client_id)
}

#[tokio::test]
async fn an_invitation_creates_the_sign_in_user_and_its_link_works_once() {
    let w = World::new().await;
    let email = format!("new-{}@example.com", w.org);
    let contact = w.create_contact(json!({"kind": "resident", "name": "New Tenant", "email": email, "property_id": "prop-1", "unit": "104"})).await;
    let id = contact["id"].as_str().unwrap().to_owned();
    let (status, body) = w.contact_action("maint-1", &id, "invite", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = w.contact_action("admin-1", &id, "invite", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    // The Cognito user exists, named by the e-mail, carrying our id and org.
    let (cognito, pool_id, client_id) = directory(&w).await;
    let user = cognito.admin_get_user().user_pool_id(&pool_id).username(&email).send().await.unwrap();
    let attr = |name: &str| {
        user.user_attributes().iter().find(|a| a.name() == name).and_then(|a| a.value()).map(str::to_owned)
    };
    assert_eq!(attr("custom:user_id").as_deref(), Some(id.as_str()));
    assert_eq!(attr("custom:org_id").as_deref(), Some(w.org.as_str()));

    let url = format!("{}/dev/outbox?user_id={id}&org_id={}", w.url, w.org);
    let outbox: Value = w.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (outbox["items"][0]["channel"].as_str(), outbox["items"][0]["to"].as_str()),
        (Some("email"), Some(email.as_str()))
    );
    let logged = outbox["items"][0]["body"].as_str().unwrap();
    assert!(logged.contains("token=[redacted]"), "the delivery log keeps no usable link: {logged}");
    let token = crate::support::invite_token(&email).await;
    assert!(!logged.contains(&token));

    let accept = |token: String, password: &str| {
        let http = w.http.clone();
        let url = format!("{}/v1/invites/accept", w.url);
        let body = json!({"token": token, "password": password});
        async move { crate::support::read(http.post(url).json(&body).send().await.unwrap()).await }
    };
    let (status, weak) = accept(token.clone(), "password").await;
    assert_eq!((status, error_code(&weak)), (StatusCode::UNPROCESSABLE_ENTITY, "weak_password"));
    // The admin corrects the address's capitals meanwhile: the same mailbox, the same link.
    let (status, corrected) = w.patch_contact(&id, json!({"email": email.to_uppercase()})).await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    let password = "Long enough 4 sure";
    let (status, accepted) = accept(token.clone(), password).await;
    assert_eq!(status, StatusCode::OK, "a weak password does not use up the link: {accepted}");
    assert_eq!(
        (accepted["user_id"].as_str(), accepted["org_id"].as_str(), accepted["login"].as_str()),
        (Some(id.as_str()), Some(w.org.as_str()), Some(email.as_str()))
    );
    let (status, again) = accept(token, password).await;
    assert_eq!((status, error_code(&again)), (StatusCode::CONFLICT, "invite_invalid"), "single use");
    let (status, _) = accept("f".repeat(64), password).await;
    assert_eq!(status, StatusCode::CONFLICT, "a forged token");

    // Signing in gives an ID token whose claims name our contact, not Cognito's sub.
    let auth = cognito
        .admin_initiate_auth()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", &email)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .expect("the password set through the invitation signs in");
    let id_token = auth.authentication_result().and_then(|r| r.id_token()).unwrap();
    use base64::Engine as _;
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
            .unwrap();
    assert_eq!(claims["custom:user_id"], id.as_str());
    assert_ne!(claims["sub"], id.as_str(), "Cognito assigns its own sub");
    // The same claims, as the authorizer hands them over after verifying the token.
    let mut presented = claims.clone();
    presented["exp"] = json!(chrono::Utc::now().timestamp() + 300);
    let bearer = infra::token::sign(infra::token::DEFAULT_SECRET, &presented);
    let me = w.http.get(format!("{}/v1/contacts/{id}", w.url)).bearer_auth(bearer).send().await.unwrap();
    let (status, me) = crate::support::read(me).await;
    assert_eq!((status, me["id"].as_str()), (StatusCode::OK, Some(id.as_str())), "one's own record: {me}");

    let (_, trail) = w.get("admin-1", &format!("/v1/contacts/{id}/audit")).await;
    assert_eq!(trail["items"][0]["action"], "invited");
}

#[tokio::test]
async fn an_address_that_already_signs_in_for_someone_else_is_not_invited_again() {
    let w = World::new().await;
    let email = format!("shared-{}@example.com", w.org);
    let first = w.create_contact(json!({"kind": "vendor", "name": "First Vendor", "email": email})).await;
    let second = w.create_contact(json!({"kind": "vendor", "name": "Second Vendor", "email": email})).await;
    let (status, body) =
        w.contact_action("admin-1", first["id"].as_str().unwrap(), "invite", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) =
        w.contact_action("admin-1", first["id"].as_str().unwrap(), "invite", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "inviting the same person again is fine: {body}");
    let (status, body) =
        w.contact_action("admin-1", second["id"].as_str().unwrap(), "invite", json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "email_in_use"), "{body}");
}
