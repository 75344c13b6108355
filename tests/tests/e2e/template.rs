use infra::provision::Template;

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
    let indexes: Vec<&str> = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|g| g["IndexName"].as_str().unwrap())
        .collect();
    assert_eq!(indexes, ["gsi1", "gsi2", "gsi3", "gsi4"]);
    assert_eq!(props["TimeToLiveSpecification"]["AttributeName"].as_str(), Some("expires_at"));
}
