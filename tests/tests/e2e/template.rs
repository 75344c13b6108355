use infra::provision::Template;
use store::keys::Index;

#[test]
fn template_declares_exactly_the_routes_the_api_serves() {
    let template = Template::load(&infra::template_path()).unwrap();
    let mut declared = template.http_routes();
    declared.sort();
    let mut served: Vec<(String, String)> =
        api::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    served.sort();
    assert_eq!(declared, served);
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
