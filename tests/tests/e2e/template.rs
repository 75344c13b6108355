use infra::provision::Template;
use store::keys::Index;

#[test]
fn template_declares_exactly_the_routes_the_api_serves() {
    let template = Template::load(&infra::template_path()).unwrap();
    let mut declared = template.http_routes();
    declared.sort();
    let web_routes: Vec<(String, String)> =
        web::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let mut served = [api::route_list(), web_routes.clone()].concat();
    served.sort();
    assert_eq!(declared, served);
    // API Gateway's authorizer and the description agree on what needs no token (the web
    // client's files and its sign-in configuration never do).
    let mut public = template.public_http_routes();
    public.sort();
    let described: Vec<_> = api::route_list().into_iter().filter(|(m, p)| api::is_public(m, p)).collect();
    let mut open = [described, web_routes].concat();
    open.sort();
    assert_eq!(public, open);
}

#[test]
fn each_function_serves_exactly_the_routes_template_yaml_gives_it() {
    let template = Template::load(&infra::template_path()).unwrap();
    let mut by_binary: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for (method, path, function) in template.http_routes_by_function() {
        let binary =
            template.function_binary(&function).unwrap_or_else(|| panic!("{function} names no binary"));
        by_binary.entry(binary).or_default().push((method, path));
    }
    let binaries: Vec<&str> = by_binary.keys().map(String::as_str).collect();
    let mut serving = [api::functions::HTTP_FUNCTIONS.as_slice(), &["web"]].concat();
    serving.sort();
    assert_eq!(binaries, serving, "the functions with HTTP routes");
    for (binary, mut declared) in by_binary {
        declared.sort();
        let mut routes = match binary.as_str() {
            "web" => web::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect(),
            api_function => api::functions::route_list(api_function),
        };
        routes.sort();
        assert_eq!(declared, routes, "{binary}");
    }
    // And each HTTP function's `main` serves its own routes (it names them, so that its
    // binary links only those handlers).
    for binary in api::functions::HTTP_FUNCTIONS {
        let main = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../functions/{binary}/src/main.rs"));
        let source = std::fs::read_to_string(&main).unwrap();
        assert!(source.contains(&format!("api::functions::serve(api::functions::{binary}(), ")), "{binary}");
    }
}

#[test]
fn template_declares_the_table_with_the_indexes_the_store_queries() {
    let template = Template::load(&infra::template_path()).unwrap();
    let tables = template.resources("AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1);
    let props = &tables[0].1["Properties"];
    // Each index with the key attributes the store writes, in the store's order.
    let indexes: Vec<[&str; 3]> = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|g| {
            let key = |kind: &str| {
                let schema = g["KeySchema"].as_sequence().unwrap().iter();
                schema
                    .filter(|k| k["KeyType"] == kind)
                    .map(|k| k["AttributeName"].as_str().unwrap())
                    .next()
                    .unwrap()
            };
            [g["IndexName"].as_str().unwrap(), key("HASH"), key("RANGE")]
        })
        .collect();
    let store_indexes = Index::ALL.map(|index| [index.name(), index.pk(), index.sk()]);
    assert_eq!(indexes, store_indexes);
    assert_eq!(props["TimeToLiveSpecification"]["AttributeName"].as_str(), Some("expires_at"));
}

/// The actions a function's policies allow, as `service:Action` strings.
fn actions(function: &serde_yaml::Value) -> Vec<String> {
    let mut out = Vec::new();
    for policy in function["Properties"]["Policies"].as_sequence().into_iter().flatten() {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            for action in statement["Action"].as_sequence().into_iter().flatten() {
                out.push(action.as_str().unwrap().to_owned());
            }
        }
    }
    out
}

#[test]
fn only_the_function_of_the_public_invite_route_sets_passwords_and_it_serves_nothing_else() {
    let template = Template::load(&infra::template_path()).unwrap();
    let functions = template.resources("AWS::Serverless::Function");
    let setters: Vec<&str> = functions
        .iter()
        .filter(|(_, f)| actions(f).iter().any(|a| a == "cognito-idp:AdminSetUserPassword"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(setters, ["InvitesFunction"]);
    let (_, invites) = functions.iter().find(|(name, _)| name == "InvitesFunction").unwrap();
    let events = invites["Properties"]["Events"].as_mapping().unwrap();
    assert_eq!(events.len(), 1);
    let accept = &events.values().next().unwrap()["Properties"];
    assert_eq!(
        (accept["Method"].as_str(), accept["Path"].as_str()),
        (Some("POST"), Some("/v1/invites/accept"))
    );
}

#[test]
fn sign_in_identities_cannot_be_changed_and_user_names_ignore_case() {
    let template = Template::load(&infra::template_path()).unwrap();
    let pools = template.resources("AWS::Cognito::UserPool");
    let props = &pools[0].1["Properties"];
    assert_eq!(props["UsernameConfiguration"]["CaseSensitive"].as_bool(), Some(false));
    for attr in props["Schema"].as_sequence().unwrap() {
        assert_eq!(
            attr["Mutable"].as_bool(),
            Some(false),
            "custom:{} must be immutable",
            attr["Name"].as_str().unwrap()
        );
    }
    let clients = template.resources("AWS::Cognito::UserPoolClient");
    let writable: Vec<&str> = clients[0].1["Properties"]["WriteAttributes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(!writable.iter().any(|a| a.starts_with("custom:")), "{writable:?}");
}

/// The logical id a `!GetAtt X.Arn`, `!GetAtt X.QueueName` or `!Ref X` names.
fn names(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::Tagged(t) => {
            let text = t.value.as_str()?;
            Some(text.split('.').next().unwrap_or(text).to_owned())
        }
        _ => None,
    }
}

#[test]
fn every_event_kind_reaches_a_consumer_queue_with_its_dead_letter_queue_and_alarm() {
    use domain::events::OutboxKind;
    let template = Template::load(&infra::template_path()).unwrap();
    let id = domain::MessageId::new_at(1);
    let kinds = [
        OutboxKind::ThreadCreated {
            topic: domain::Topic::parse("general").unwrap(),
            first_message_id: id,
            notice: None,
            author_state: None,
        },
        OutboxKind::MessagePosted {
            message_id: id,
            author_id: domain::UserId::parse("u").unwrap(),
            internal: false,
            reopened: false,
            author_role: None,
            notice: None,
            answers: None,
            author_state: None,
        },
        OutboxKind::ThreadRouted { first_message_id: id, notice: None },
        OutboxKind::ParticipantsChanged { added: vec![], removed: vec![] },
        OutboxKind::Escalated {
            level: 1,
            escalation: domain::triage::Escalation::Emergency,
            message_id: id,
            paged: vec![],
        },
        OutboxKind::ThreadChanged { status: domain::ThreadStatus::Resolved, changed: vec![] },
    ]
    .map(|k| k.name().to_owned());
    let subscriptions = template.resources("AWS::SNS::Subscription");
    let mut subscribed: Vec<String> = Vec::new();
    for (name, sub) in &subscriptions {
        let props = &sub["Properties"];
        assert_eq!(names(&props["TopicArn"]).as_deref(), Some("EventsTopic"), "{name}");
        assert_eq!(props["RawMessageDelivery"].as_bool(), Some(true), "{name}: the body is the event");
        let filter: Vec<String> = props["FilterPolicy"]["kind"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name} filters on kind"))
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        assert!(
            filter.iter().all(|k| kinds.contains(k)),
            "{name} filters on a kind no one publishes: {filter:?}"
        );
        subscribed.extend(filter);

        // Its queue: a dead-letter queue, an alarm on it, and a function consuming it.
        let queue = names(&props["Endpoint"]).unwrap();
        let queues = template.resources("AWS::SQS::Queue");
        let (_, q) = queues.iter().find(|(n, _)| *n == queue).unwrap_or_else(|| panic!("{name}: no {queue}"));
        let dlq = names(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
            .unwrap_or_else(|| panic!("{queue} has no dead-letter queue"));
        let alarmed = template.resources("AWS::CloudWatch::Alarm").iter().any(|(_, a)| {
            a["Properties"]["Dimensions"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|d| names(&d["Value"]).as_deref() == Some(dlq.as_str()))
        });
        assert!(alarmed, "no alarm watches {dlq}");
        let consumed = template.resources("AWS::Serverless::Function").iter().any(|(_, f)| {
            f["Properties"]["Events"].as_mapping().into_iter().flatten().any(|(_, e)| {
                e["Type"] == "SQS" && names(&e["Properties"]["Queue"]).as_deref() == Some(queue.as_str())
            })
        });
        assert!(consumed, "no function consumes {queue}");
    }
    subscribed.sort();
    subscribed.dedup();
    let mut published = kinds.to_vec();
    published.sort();
    assert_eq!(subscribed, published, "every event kind has a consumer");
}
