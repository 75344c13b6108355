//! Campaigns and the public consent and unsubscribe links: a consent request e-mailed to the
//! undecided residents of an audience and answered through its link, never asked twice; a
//! message campaign that skips those without consent and the archived; cancelling; forged
//! and altered links; one-click unsubscribe.

use app::links::{self, LinkClaim, LinkKey, Purpose};
use domain::{OrgId, UserId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, eventually, read, sent_mail, sent_mails, World};

impl World {
    async fn category(&self, name: &str, consent: &str) -> String {
        let (status, c) =
            self.post("admin-1", "/v1/categories", json!({"name": name, "consent": consent})).await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        c["id"].as_str().unwrap().to_owned()
    }

    async fn new_resident(&self, name: &str, unit: &str, email: Option<&str>) -> String {
        let mut body = json!({"kind": "resident", "name": name, "property_id": "prop-1", "unit": unit});
        if let Some(email) = email {
            body["email"] = json!(email);
        }
        let (status, c) = self.post("admin-1", "/v1/contacts", body).await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        c["id"].as_str().unwrap().to_owned()
    }

    /// Creates a campaign and waits until the schedule finished it.
    async fn run_campaign(&self, body: Value) -> Value {
        let (status, created) = self.post("admin-1", "/v1/campaigns", body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let path = format!("/v1/campaigns/{}", created["id"].as_str().unwrap());
        eventually(20, "the campaign finishes", || async {
            let (_, c) = self.get("admin-1", &path).await;
            (c["status"] == "done").then_some(c)
        })
        .await
    }

    pub(crate) async fn public(
        &self,
        method: Method,
        path: &str,
        body: Option<&'static str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            req = req.header("content-type", "application/x-www-form-urlencoded").body(body);
        }
        read(req.send().await.unwrap()).await
    }

    async fn ledger(&self, contact: &str) -> Vec<Value> {
        let (status, ledger) = self.get("admin-1", &format!("/v1/contacts/{contact}/consents")).await;
        assert_eq!(status, StatusCode::OK, "{ledger}");
        ledger["history"].as_array().unwrap().clone()
    }

    async fn start_with(&self, resident: &str, category: &str) -> StatusCode {
        let body = json!({"topic": "general", "subject": "News", "body": "Hello", "resident_id": resident, "category_id": category});
        self.post("admin-1", "/v1/threads", body).await.0
    }
}

fn counts(c: &Value) -> [u64; 7] {
    let n = |k: &str| c["counts"][k].as_u64().unwrap_or_else(|| panic!("no count {k}: {c}"));
    [
        n("targeted"),
        n("sent"),
        n("skipped_no_consent"),
        n("skipped_archived"),
        n("skipped_no_address"),
        n("skipped_decided"),
        n("failed"),
    ]
}

/// The path of the consent link in the newest e-mail to `to`.
async fn consent_link(to: &str) -> String {
    let mail = sent_mail(to).await;
    let text = mail.last().unwrap_or_else(|| panic!("no e-mail to {to}"));
    let at = text.find("/v1/consent/").unwrap_or_else(|| panic!("no consent link in {text}"));
    text[at..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_consent_request_asks_each_undecided_resident_once_and_the_answer_is_the_ledgers() {
    let w = World::new().await;
    let offers = w.category("Offers", "request").await;
    let news = w.category("News", "opt_in").await;
    let no_mail = w.new_resident("Nia Nomail", "103", None).await;
    let dana_mail = format!("dana@{}.example.com", w.org);
    let dana = w.new_resident("Dana Decided", "104", Some(&dana_mail)).await;
    let una_mail = format!("una@{}.example.com", w.org);
    w.new_resident("Una Unanswered", "105", Some(&una_mail)).await;
    let evidence = json!({"category_id": offers, "subscribed": false, "evidence": "Said no at the front desk, 2026-12-05"});
    assert_eq!(
        w.post("admin-1", &format!("/v1/contacts/{dana}/consents"), evidence).await.0,
        StatusCode::CREATED
    );
    let (status, archived) = w.contact_action("admin-1", "resident-2", "archive", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{archived}");

    // Only for request categories, only by facility admins.
    let asked = |category: &str| json!({"kind": "consent_request", "category_id": category, "audience": {"property_ids": ["prop-1"]}, "sender_name": "Acme Residences"});
    let (status, refused) = w.post("admin-1", "/v1/campaigns", asked(&news)).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_category"));
    let (status, refused) = w.post("maint-1", "/v1/campaigns", asked(&offers)).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "admin_only"));
    let (status, refused) = w.post("resident-1", "/v1/campaigns", asked(&offers)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    let done = w.run_campaign(asked(&offers)).await;
    // resident-1 and Una asked; resident-2 archived; Nia has no e-mail; Dana decided.
    assert_eq!(counts(&done), [5, 2, 0, 1, 1, 1, 0], "{done}");
    assert_eq!(sent_mail(&una_mail).await.len(), 1);
    let rita = format!("resident-1@{}.example.com", w.org);
    let mail = sent_mails(&rita).await;
    let request = mail.last().unwrap()["body"].as_str().unwrap();
    assert!(request.contains("Offers") && request.contains("Acme Residences"), "{request}");
    assert!(request.contains("withdraw"), "says how to withdraw: {request}");
    let headers = &mail.last().unwrap()["headers"];
    assert_eq!(headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click", "{headers}");
    assert!(headers["List-Unsubscribe"].as_str().unwrap().contains("/v1/unsubscribe/"), "{headers}");
    assert!(sent_mail(&dana_mail).await.is_empty(), "the decided are not asked");
    assert_eq!(w.start_with("resident-1", &offers).await, StatusCode::CONFLICT, "not yet consenting");

    // The link names the category, needs no sign-in, and records an express decision.
    let link = consent_link(&rita).await;
    let (status, shown) = w.public(Method::GET, &link, None).await;
    assert_eq!((status, shown["category"]["name"].as_str()), (StatusCode::OK, Some("Offers")), "{shown}");
    assert_eq!(shown["subscribed"], false);
    let answer =
        |decision: &str| w.http.post(format!("{}{link}", w.url)).json(&json!({"decision": decision})).send();
    let (status, accepted) = read(answer("accept").await.unwrap()).await;
    assert_eq!((status, accepted["subscribed"].as_bool()), (StatusCode::OK, Some(true)), "{accepted}");
    assert_eq!(w.start_with("resident-1", &offers).await, StatusCode::CREATED, "consenting now");
    let ledger = w.ledger("resident-1").await;
    let entry = ledger.last().unwrap();
    assert_eq!(
        (entry["source"].as_str(), entry["basis"].as_str()),
        (Some("consent_request"), Some("express"))
    );
    let proof = entry["evidence"].as_str().unwrap();
    assert!(
        proof.contains(&rita) && proof.contains("accepted") && proof.contains("asks for your consent"),
        "{proof}"
    );

    // Declining through the same link, from its page in a browser, withdraws it again.
    let html =
        |req: reqwest::RequestBuilder| req.header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    let page = html(w.http.get(format!("{}{link}", w.url))).send().await.unwrap();
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Offers") && page.contains("value=\"decline\"") && page.contains("lang=\"fr\""),
        "{page}"
    );
    let posted =
        html(w.http.post(format!("{}{link}", w.url))).form(&[("decision", "decline")]).send().await.unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    assert!(posted.text().await.unwrap().contains("will not receive"));
    assert_eq!(w.start_with("resident-1", &offers).await, StatusCode::CONFLICT);
    assert_eq!(w.ledger("resident-1").await.last().unwrap()["subscribed"], false);

    // A forged or altered token is 404 and changes nothing.
    let ledger_before = w.ledger("resident-1").await.len();
    let mut altered = link.clone().into_bytes();
    let i = "/v1/consent/".len() + 5;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    for path in [altered.as_str(), "/v1/consent/forged.token", "/v1/consent/x"] {
        let (status, body) = w.public(Method::GET, path, None).await;
        assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"), "{path}");
        let resp = w.http.post(format!("{}{path}", w.url)).json(&json!({"decision": "accept"})).send().await;
        assert_eq!(resp.unwrap().status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(w.ledger("resident-1").await.len(), ledger_before, "nothing recorded");
    let wrong_use = link.replace("/v1/consent/", "/v1/unsubscribe/");
    assert_eq!(
        w.public(Method::POST, &wrong_use, Some("")).await.0,
        StatusCode::NOT_FOUND,
        "a consent link does not unsubscribe"
    );

    // A second request asks nobody again: not those who decided, nor Una, who never answered.
    let mails = sent_mail(&rita).await.len();
    let again = w.run_campaign(asked(&offers)).await;
    assert_eq!(counts(&again), [5, 0, 0, 1, 1, 3, 0], "{again}");
    assert_eq!(sent_mail(&rita).await.len(), mails, "resident-1 not asked twice");
    assert_eq!(sent_mail(&una_mail).await.len(), 1, "Una not asked twice");

    // Another org sees none of it.
    let id = done["id"].as_str().unwrap();
    assert_eq!(w.get("admin-b", &format!("/v1/campaigns/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(w.get("admin-b", "/v1/campaigns").await.1["items"], json!([]));
    let (_, listed) = w.get("admin-1", "/v1/campaigns").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    assert!(sent_mails(&format!("{no_mail}@{}.example.com", w.org)).await.is_empty());
}

#[tokio::test]
async fn a_message_campaign_starts_a_conversation_with_each_consenting_resident_only() {
    let w = World::new().await;
    let surveys = w.category("Surveys", "opt_out").await;
    let path = format!("/v1/me/consents/{surveys}");
    let (status, set) = w.call("resident-1", Method::PUT, &path, Some(json!({"subscribed": true}))).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    w.new_resident("Nia Nomail", "103", None).await;
    assert_eq!(w.contact_action("admin-1", "resident-2", "archive", json!({})).await.0, StatusCode::OK);

    let campaign = |subject: Option<&str>| {
        let mut body = json!({"kind": "message", "category_id": surveys, "audience": {"property_ids": ["prop-1"], "units": ["101", "102", "103"]}, "body": "How did we do this year?"});
        if let Some(subject) = subject {
            body["subject"] = json!(subject);
        }
        body
    };
    let (status, refused) = w.post("admin-1", "/v1/campaigns", campaign(None)).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "empty_field"));

    let done = w.run_campaign(campaign(Some("Yearly survey"))).await;
    // resident-1 consents; resident-2 is archived; Nia never opted in.
    assert_eq!(counts(&done), [3, 1, 1, 1, 0, 0, 0], "{done}");
    let (_, inbox) = w.get("resident-1", "/v1/threads").await;
    let subjects: Vec<&str> =
        inbox["items"].as_array().unwrap().iter().filter_map(|t| t["subject"].as_str()).collect();
    assert_eq!(subjects.iter().filter(|s| **s == "Yearly survey").count(), 1, "one conversation: {inbox}");
    let survey = inbox["items"].as_array().unwrap().iter().find(|t| t["subject"] == "Yearly survey").unwrap();
    assert_eq!(survey["category_id"].as_str(), Some(surveys.as_str()), "{survey}");

    // Done: nothing left to cancel.
    let id = done["id"].as_str().unwrap();
    let (status, refused) = w.post("admin-1", &format!("/v1/campaigns/{id}/cancel"), json!({})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "invalid_transition"));
}

#[tokio::test]
async fn a_campaign_created_again_with_its_idempotency_key_is_made_once() {
    let w = World::new().await;
    let offers = w.category("Offers", "request").await;
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let create = |body: Value, key: &str| {
        w.http
            .request(Method::POST, format!("{}/v1/campaigns", w.url))
            .bearer_auth(w.token("admin-1"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let body = json!({"kind": "consent_request", "category_id": offers, "audience": {"property_ids": ["prop-1"]}, "send_at": later.to_rfc3339()});
    let (s1, first) = read(create(body.clone(), "campaign-1").await.unwrap()).await;
    assert_eq!(s1, StatusCode::CREATED, "{first}");
    // The answer was lost; the admin presses Create again.
    let (s2, again) = read(create(body.clone(), "campaign-1").await.unwrap()).await;
    assert_eq!((s2, &again["id"]), (StatusCode::CREATED, &first["id"]), "{again}");
    let mut other = body.clone();
    other["audience"]["units"] = json!(["101"]);
    let (s3, reused) = read(create(other, "campaign-1").await.unwrap()).await;
    assert_eq!((s3, error_code(&reused)), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"));
    let (_, listed) = w.get("admin-1", "/v1/campaigns").await;
    let ids: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [first["id"].as_str().unwrap()], "one campaign made");
    let (s4, fresh) = read(create(body.clone(), "campaign-2").await.unwrap()).await;
    assert_eq!(s4, StatusCode::CREATED);
    assert_ne!(fresh["id"], first["id"], "a new key makes a new campaign");
    // Five active: a replay still answers its campaign; a new one is refused.
    for n in 3..=5 {
        let (status, made) = read(create(body.clone(), &format!("campaign-{n}")).await.unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
    }
    let (s5, replay) = read(create(body.clone(), "campaign-1").await.unwrap()).await;
    assert_eq!((s5, &replay["id"]), (StatusCode::CREATED, &first["id"]), "{replay}");
    let (s6, refused) = read(create(body, "campaign-6").await.unwrap()).await;
    assert_eq!((s6, error_code(&refused)), (StatusCode::CONFLICT, "too_many_campaigns"));
}

#[tokio::test]
async fn a_cancelled_campaign_sends_nothing() {
    let w = World::new().await;
    let offers = w.category("Offers", "request").await;
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let body = json!({"kind": "consent_request", "category_id": offers, "audience": {"property_ids": ["prop-1"]}, "send_at": later.to_rfc3339()});
    let (status, created) = w.post("admin-1", "/v1/campaigns", body).await;
    assert_eq!((status, created["status"].as_str()), (StatusCode::CREATED, Some("scheduled")), "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        w.post("maint-1", &format!("/v1/campaigns/{id}/cancel"), json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        w.post("admin-b", &format!("/v1/campaigns/{id}/cancel"), json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, cancelled) = w.post("admin-1", &format!("/v1/campaigns/{id}/cancel"), json!({})).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("cancelled")), "{cancelled}");
    let (status, again) = w.post("admin-1", &format!("/v1/campaigns/{id}/cancel"), json!({})).await;
    assert_eq!((status, again["status"].as_str()), (StatusCode::OK, Some("cancelled")));

    // Its send time moved to the past: a campaign created after it runs to the end; it stays
    // as it was.
    let (org, campaign) = (OrgId::parse(&w.org).unwrap(), domain::CampaignId::parse(id).unwrap());
    let record = w.store.get_campaign(&org, &campaign).await.unwrap().unwrap();
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let moved = store::CampaignRecord { start_at: past, rev: record.rev + 1, ..record };
    assert!(w.store.replace_campaign(&moved).await.unwrap());
    let survey = w.category("Survey requests", "request").await;
    let other =
        json!({"kind": "consent_request", "category_id": survey, "audience": {"property_ids": ["prop-1"]}});
    let done = w.run_campaign(other).await;
    assert_eq!(counts(&done)[1], 2, "the later campaign asked resident-1 and resident-2: {done}");
    let (_, shown) = w.get("admin-1", &format!("/v1/campaigns/{id}")).await;
    assert_eq!((shown["status"].as_str(), counts(&shown)), (Some("cancelled"), [0; 7]), "{shown}");
    let rita = sent_mail(&format!("resident-1@{}.example.com", w.org)).await;
    assert_eq!(rita.len(), 1, "only the later campaign's request: {rita:?}");
    assert!(rita[0].contains("Survey requests"));
}

#[tokio::test]
async fn deliveries_that_need_consent_carry_a_one_click_unsubscribe_that_works_at_once() {
    let w = World::new().await;
    let news = w.category("News", "opt_in").await;
    let rita = format!("resident-1@{}.example.com", w.org);
    let started = json!({"topic": "general", "subject": "Pool", "body": "The pool reopens Monday", "resident_id": "resident-1", "category_id": news});
    let (status, thread) = w.post("admin-1", "/v1/threads", started).await;
    assert_eq!(status, StatusCode::CREATED, "{thread}");
    let thread = thread["id"].as_str().unwrap().to_owned();
    let delivered = |text: &'static str, to: String| async move {
        eventually(20, "the notification e-mail", || async {
            sent_mails(&to).await.into_iter().find(|m| m["body"].as_str().unwrap_or_default().contains(text))
        })
        .await
    };
    let mail = delivered("The pool reopens Monday", rita.clone()).await;
    let header =
        mail["headers"]["List-Unsubscribe"].as_str().unwrap_or_else(|| panic!("no List-Unsubscribe: {mail}"));
    assert_eq!(mail["headers"]["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    let url = header.trim_start_matches('<').trim_end_matches('>');
    assert!(mail["body"].as_str().unwrap().contains(url), "the text carries the link too: {mail}");
    let path = &url[url.find("/v1/unsubscribe/").unwrap()..];

    // A transactional message carries none.
    w.start_with("resident-1", "service").await;
    let service = delivered("Hello", rita.clone()).await;
    assert!(service["headers"].get("List-Unsubscribe").is_none(), "{service}");
    assert!(!service["body"].as_str().unwrap().contains("/v1/unsubscribe/"), "{service}");

    let (status, shown) = w.public(Method::GET, path, None).await;
    assert_eq!(
        (status, shown["category"]["name"].as_str(), shown["subscribed"].as_bool()),
        (StatusCode::OK, Some("News"), Some(true))
    );
    // In a browser: a page with the button, the category's name escaped; opening it changes nothing.
    let renamed =
        w.patch("admin-1", &format!("/v1/categories/{news}"), json!({"name": "News <i>& more</i>"})).await;
    assert_eq!(renamed.0, StatusCode::OK, "{}", renamed.1);
    let page = w.http.get(format!("{}{path}", w.url)).header("accept", "text/html").send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("News &lt;i&gt;&amp; more&lt;/i&gt;") && !page.contains("<i>"), "{page}");
    assert!(page.contains("List-Unsubscribe") && page.contains("<form method=\"post\">"), "{page}");
    assert_eq!(w.start_with("resident-1", &news).await, StatusCode::CREATED, "still subscribed");

    // RFC 8058's one-click POST (here multipart, as the RFC's example): effective at once.
    let multipart =
        "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
    let resp = w
        .http
        .post(format!("{}{path}", w.url))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(multipart)
        .send()
        .await
        .unwrap();
    let (status, done) = read(resp).await;
    assert_eq!((status, done["subscribed"].as_bool()), (StatusCode::OK, Some(false)), "{done}");
    assert_eq!(w.start_with("resident-1", &news).await, StatusCode::CONFLICT);
    let ledger = w.ledger("resident-1").await;
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(
        (ledger[0]["source"].as_str(), ledger[0]["subscribed"].as_bool()),
        (Some("unsubscribe"), Some(false))
    );
    // Again: still 200, nothing more in the ledger.
    assert_eq!(w.public(Method::POST, path, Some("List-Unsubscribe=One-Click")).await.0, StatusCode::OK);
    assert_eq!(w.ledger("resident-1").await.len(), 1);
    assert_eq!(w.start_with("resident-2", &news).await, StatusCode::CREATED, "only the link's contact");

    // The conversation staff started goes on for staff; the resident is no longer notified.
    let joined =
        w.post("admin-1", &format!("/v1/threads/{thread}/participants"), json!({"user_id": "maint-1"})).await;
    assert_eq!(joined.0, StatusCode::CREATED, "{}", joined.1);
    let reply = json!({"body": "Towels are provided"});
    assert_eq!(
        w.post("admin-1", &format!("/v1/threads/{thread}/messages"), reply).await.0,
        StatusCode::CREATED
    );
    delivered("Towels are provided", format!("maint-1@{}.example.com", w.org)).await;
    let org = OrgId::parse(&w.org).unwrap();
    let pending = w.pending("resident-1", 50).await;
    assert!(pending.iter().all(|p| p.preview != "Towels are provided"), "{pending:?}");
    assert!(sent_mail(&rita).await.iter().all(|m| !m.contains("Towels")));

    // Another key, another purpose, or a changed claim: 404.
    let token = &path["/v1/unsubscribe/".len()..];
    let key = LinkKey::new(infra::stack::LOCAL_LINK_KEY).unwrap();
    let claim = |contact: &str, purpose| LinkClaim {
        purpose,
        org: org.clone(),
        contact: UserId::parse(contact).unwrap(),
        category_id: news.clone(),
        campaign: None,
        day: links::day(chrono::Utc::now()),
    };
    let other_key = LinkKey::new("some other key of at least thirty-two bytes").unwrap();
    let forged = other_key.seal(&claim("resident-2", Purpose::Unsubscribe));
    let consent = key.seal(&claim("resident-2", Purpose::Consent));
    let (payload, tag) = token.split_once('.').unwrap();
    let mut bytes = payload.as_bytes().to_vec();
    bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
    let altered = format!("{}.{tag}", String::from_utf8(bytes).unwrap());
    for bad in [forged, consent, altered] {
        let (status, body) = w.public(Method::POST, &format!("/v1/unsubscribe/{bad}"), Some("")).await;
        assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"), "{bad}");
    }
    assert_eq!(w.start_with("resident-2", &news).await, StatusCode::CREATED, "resident-2 still subscribed");
    // A browser opening a dead link is told so on a page.
    let dead = w
        .http
        .get(format!("{}/v1/unsubscribe/x.y", w.url))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(dead.status(), StatusCode::NOT_FOUND);
    assert_eq!(dead.headers()["cache-control"], "no-store");
    assert!(dead.text().await.unwrap().contains("no longer valid"));
}

#[tokio::test]
async fn a_campaign_whose_runs_are_killed_mid_send_emails_nobody_twice() {
    // A stack of its own, without schedules: the harness runs the campaign schedule itself,
    // killing runs at random points, and nothing else takes the campaign over.
    let opts = infra::stack::StackOptions { seed: false, workers: false, ..Default::default() };
    let own = infra::stack::Stack::start(opts).await.unwrap();
    let report = infra::campaign_crash::run(&own.app, &own.emulator.endpoint, 300, 200).await.unwrap();
    eprintln!("{}", report.summary());
    assert!(report.kills > 0, "runs were killed mid-way: {report:?}");
    assert!(report.passed(), "{report:?}");
}

#[tokio::test]
async fn a_stop_reply_to_a_text_withdraws_its_categories_at_once() {
    let w = World::new().await;
    let news = w.category("News", "opt_in").await;
    let phone = "+15145550142";
    let prefs = json!({"channels": [{"channel": "sms", "address": phone}]});
    let (status, body) =
        w.call("resident-1", Method::PUT, "/v1/me/notification-preferences", Some(prefs)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let started = json!({"topic": "general", "subject": "Pool", "body": "The pool reopens Monday", "resident_id": "resident-1", "category_id": news});
    assert_eq!(w.post("admin-1", "/v1/threads", started).await.0, StatusCode::CREATED);
    let outbox = format!("{}/dev/outbox?user_id=resident-1&org_id={}", w.url, w.org);
    let text = eventually(20, "the text", || async {
        let page: Value = w.http.get(&outbox).send().await.unwrap().json().await.unwrap();
        page["items"].as_array().unwrap().first().and_then(|d| d["body"].as_str().map(str::to_owned))
    })
    .await;
    assert!(text.contains("/v1/unsubscribe/") && text.ends_with("Or reply STOP."), "{text}");

    // The provider's webhook, signed with the account's token (the local sink's).
    let url = format!("{}/v1/webhooks/sms", w.url);
    let reply = |body: &str, token: &str| {
        let params = vec![
            ("From".to_owned(), phone.to_owned()),
            ("To".to_owned(), "+15145559999".to_owned()),
            ("Body".to_owned(), body.to_owned()),
        ];
        let signature = channels::inbound::signature(token, &url, &params);
        w.http.post(&url).header("x-twilio-signature", signature).form(&params).send()
    };
    // Forged: 403, nothing changes.
    let (status, refused) = read(reply("STOP", "not-the-token").await.unwrap()).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "invalid_signature"));
    assert_eq!(w.start_with("resident-1", &news).await, StatusCode::CREATED);
    // Another reply is not a STOP.
    assert_eq!(reply("Thanks!", "local-token").await.unwrap().status(), StatusCode::OK);
    assert_eq!(w.start_with("resident-1", &news).await, StatusCode::CREATED);
    assert!(w.ledger("resident-1").await.is_empty());

    let resp = reply("Arrêt", "local-token").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("<Response>"), "an empty TwiML answer");
    assert_eq!(w.start_with("resident-1", &news).await, StatusCode::CONFLICT, "withdrawn at once");
    let ledger = w.ledger("resident-1").await;
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(
        (ledger[0]["source"].as_str(), ledger[0]["subscribed"].as_bool()),
        (Some("unsubscribe"), Some(false))
    );
    assert!(ledger[0]["evidence"].as_str().unwrap().contains(phone));
    assert_eq!(w.start_with("resident-2", &news).await, StatusCode::CREATED, "only the texted contact");
}
