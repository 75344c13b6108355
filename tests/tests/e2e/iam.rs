//! Least privilege that works: every AWS call a function's code makes is allowed by that
//! function's policy in template.yaml. The emulator does not enforce IAM, so without this a
//! missing permission shows only once deployed (it did: `BatchGetItem` for the router).

use std::collections::{BTreeMap, BTreeSet};

use app::links::{self, LinkClaim, LinkKey, Purpose};
use domain::{OrgId, UserId};
use infra::meter::Call;
use infra::provision::Template;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{calls, eventually, World};

/// The functions of template.yaml, each with the actions its policies allow.
fn policies() -> BTreeMap<String, Vec<String>> {
    let template = Template::load(&infra::template_path()).unwrap();
    template
        .resources("AWS::Serverless::Function")
        .into_iter()
        .map(|(name, function)| {
            let mut allowed = Vec::new();
            for policy in function["Properties"]["Policies"].as_sequence().into_iter().flatten() {
                for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                    if statement["Effect"] == "Allow" {
                        let actions = statement["Action"].as_sequence().into_iter().flatten();
                        allowed.extend(actions.map(|a| a.as_str().unwrap().to_owned()));
                    }
                }
            }
            (name, allowed)
        })
        .collect()
}

/// The IAM actions a call needs, each as its alternatives (an S3 read of a pinned version
/// is `GetObjectVersion`, of the latest `GetObject`).
fn needed(call: &Call) -> Vec<Vec<String>> {
    let op = call.operation.as_str();
    let one = |action: String| vec![action];
    match call.service.as_str() {
        "dynamodb" if op == "TransactWriteItems" => call
            .transaction_actions
            .iter()
            .map(|a| {
                let action =
                    if a == "ConditionCheck" { "ConditionCheckItem".into() } else { format!("{a}Item") };
                one(format!("dynamodb:{action}"))
            })
            .collect(),
        "s3" => {
            let base = match op {
                "HeadObject" | "GetObject" => "GetObject",
                "DeleteObjects" => "DeleteObject",
                other => other,
            };
            let versioned = base.replace("Object", "ObjectVersion");
            vec![vec![format!("s3:{base}"), format!("s3:{versioned}")]]
        }
        "sesv2" | "ses" => vec![one(format!("ses:{op}"))],
        "cognito identity provider" | "cognitoidentityprovider" | "cognito-idp" => {
            vec![one(format!("cognito-idp:{op}"))]
        }
        service => vec![one(format!("{service}:{op}"))],
    }
}

fn allows(allowed: &[String], action: &str) -> bool {
    allowed
        .iter()
        .any(|a| a == action || a.strip_suffix('*').is_some_and(|prefix| action.starts_with(prefix)))
}

#[tokio::test]
async fn every_aws_call_a_function_makes_is_allowed_by_its_policy() {
    if std::env::var("STACK_URL").is_ok() {
        eprintln!("skipped: a running stack's calls are not metered by this process");
        return;
    }
    let w = World::new().await;
    // Something for every function to do: a thread (threads; router; notifier), an
    // attachment and a reply (attachments; messages), its notification (dispatch), settings,
    // a contact invited (contacts), an invitation link used (invites), an unsubscribe link
    // (links); the scheduled jobs run every few seconds anyway.
    let thread = w.start_thread("resident-1", "maintenance", "Leak", "Water under the sink").await;
    w.routed_to(&thread, "maint-1").await;
    let photo = w.upload("resident-1", "leak.jpg", "image/jpeg", crate::attachments::JPEG).await;
    let (status, _) = w.attach("resident-1", &thread, &[photo.as_str()]).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(w.get("maint-1", &format!("/v1/attachments/{photo}")).await.0, StatusCode::OK);
    let reply = w.reply("maint-1", &thread, "On my way").await;
    let (status, _) =
        w.post("resident-1", &format!("/v1/threads/{thread}/read"), json!({"message_id": reply})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, routing) = w.get("admin-1", "/v1/settings/routing").await;
    let (status, _) = w.call("admin-1", reqwest::Method::PUT, "/v1/settings/routing", Some(routing)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, prefs) = w.get("resident-1", "/v1/me/notification-preferences").await;
    assert_eq!(status, StatusCode::OK);
    w.set_preferences("resident-1", prefs).await;
    let (status, contact) = w
        .post(
            "admin-1",
            "/v1/contacts",
            json!({"kind": "vendor", "name": "Pipe Co", "email": "pipes@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let contact = contact["id"].as_str().unwrap().to_owned();
    let (status, _) = w.post("admin-1", &format!("/v1/contacts/{contact}/invite"), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let unknown_link = json!({"token": "ab".repeat(32), "password": "Long enough 4 sure"});
    let (status, _) = w.post("admin-1", "/v1/invites/accept", unknown_link).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // An unsubscribe link (links), sealed as a delivery would seal it.
    let (status, news) =
        w.post("admin-1", "/v1/categories", json!({"name": "News", "consent": "opt_in"})).await;
    assert_eq!(status, StatusCode::CREATED, "{news}");
    let claim = LinkClaim {
        purpose: Purpose::Unsubscribe,
        org: OrgId::parse(&w.org).unwrap(),
        contact: UserId::parse("resident-1").unwrap(),
        category_id: news["id"].as_str().unwrap().to_owned(),
        campaign: None,
        day: links::day(chrono::Utc::now()),
    };
    let token = LinkKey::new(infra::stack::LOCAL_LINK_KEY).unwrap().seal(&claim);
    let (status, body) = w.public(reqwest::Method::POST, &format!("/v1/unsubscribe/{token}"), Some("")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    w.delivered("resident-1", &reply).await;
    // The reply indexed (indexer) and found (search).
    eventually(30, "the reply found", || async {
        let (_, page) = w.get("resident-1", "/v1/search?q=my+way").await;
        (page["items"][0]["message_id"] == reply.as_str()).then_some(())
    })
    .await;

    let policies = policies();
    let mut seen: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    eventually(30, "every function's calls recorded (the jobs run every 3 s)", || {
        for call in calls().take() {
            if let Some(function) = call.function {
                seen.entry(function)
                    .or_default()
                    .extend(needed(&call).into_iter().map(|alternatives| alternatives.join(" | ")));
            }
        }
        // WebFunction is allowed nothing and calls nothing (a call it made is refused below).
        let all = policies.keys().filter(|f| *f != "WebFunction").all(|f| seen.contains_key(f.as_str()));
        async move { all.then_some(()) }
    })
    .await;
    let mut refused = Vec::new();
    for (function, needs) in &seen {
        let allowed = policies.get(*function).unwrap_or_else(|| panic!("{function} is not in template.yaml"));
        for need in needs {
            if !need.split(" | ").any(|action| allows(allowed, action)) {
                refused.push(format!("{function} calls {need}"));
            }
        }
    }
    assert!(refused.is_empty(), "calls their policy does not allow: {refused:#?}");
}
