//! Creates in the emulator the tables that template.yaml declares, read from the template
//! itself so that local and cloud cannot drift. Physical names are the logical ids.

use anyhow::{bail, Context};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use serde_yaml::Value;

/// The parsed template (SAM/CloudFormation short-form tags are kept as tagged values).
pub struct Template(Value);

impl Template {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Self(serde_yaml::from_str(&text).context("parsing template.yaml")?))
    }

    /// `(logical id, resource)` for every resource of `kind`.
    pub fn resources(&self, kind: &str) -> Vec<(String, &Value)> {
        let Some(resources) = self.0.get("Resources").and_then(Value::as_mapping) else {
            return vec![];
        };
        resources
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
            .filter_map(|(id, r)| Some((id.as_str()?.to_owned(), r)))
            .collect()
    }

    /// Every `(METHOD, path)` of the HttpApi events of every function.
    pub fn http_routes(&self) -> Vec<(String, String)> {
        self.http_routes_by_function().into_iter().map(|(method, path, _)| (method, path)).collect()
    }

    /// The HTTP API routes that need no token (`Auth: Authorizer: NONE`), as `(method, path)`.
    pub fn public_http_routes(&self) -> Vec<(String, String)> {
        self.http_events()
            .filter(|(_, props)| {
                props.get("Auth").and_then(|a| a.get("Authorizer")).and_then(Value::as_str) == Some("NONE")
            })
            .filter_map(|(_, props)| route(&props))
            .collect()
    }

    /// Every HTTP API route as `(method, path, function)`, the function by logical id.
    pub fn http_routes_by_function(&self) -> Vec<(String, String, String)> {
        self.http_events()
            .filter_map(|(function, props)| route(&props).map(|(m, p)| (m, p, function)))
            .collect()
    }

    /// The binary a function runs (`Metadata.BuildProperties.Binary`), by logical id.
    pub fn function_binary(&self, function: &str) -> Option<String> {
        let resource = self.0.get("Resources")?.get(function)?;
        let binary = resource.get("Metadata")?.get("BuildProperties")?.get("Binary")?;
        binary.as_str().map(str::to_owned)
    }

    /// Each `HttpApi` event of a function, as `(function, event properties)`.
    fn http_events(&self) -> impl Iterator<Item = (String, Value)> + '_ {
        self.resources("AWS::Serverless::Function").into_iter().flat_map(|(name, function)| {
            let events = function.get("Properties").and_then(|p| p.get("Events")).and_then(Value::as_mapping);
            let http = events
                .into_iter()
                .flat_map(|e| e.values())
                .filter(|e| e.get("Type").and_then(Value::as_str) == Some("HttpApi"))
                .filter_map(|e| e.get("Properties").cloned());
            http.map(move |props| (name.clone(), props)).collect::<Vec<_>>()
        })
    }
}

/// An event's `(METHOD, path)`.
fn route(props: &Value) -> Option<(String, String)> {
    let method = props.get("Method").and_then(Value::as_str)?;
    let path = props.get("Path").and_then(Value::as_str)?;
    Some((method.to_uppercase(), path.to_owned()))
}

/// Creates every DynamoDB table of the template that does not exist yet.
pub async fn create_tables(
    client: &aws_sdk_dynamodb::Client,
    template: &Template,
) -> anyhow::Result<Vec<String>> {
    let existing = client.list_tables().send().await.context("listing tables")?.table_names().to_vec();
    let mut names = Vec::new();
    for (name, resource) in template.resources("AWS::DynamoDB::Table") {
        names.push(name.clone());
        if existing.contains(&name) {
            continue;
        }
        let props = resource.get("Properties").context("table without Properties")?;
        let mut req = client
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_schema(props.get("KeySchema"))?))
            .set_attribute_definitions(Some(attribute_definitions(props)?));
        for gsi in props.get("GlobalSecondaryIndexes").and_then(Value::as_sequence).into_iter().flatten() {
            let index_name = gsi.get("IndexName").and_then(Value::as_str).context("GSI without IndexName")?;
            let projection =
                match gsi.get("Projection").and_then(|p| p.get("ProjectionType")).and_then(Value::as_str) {
                    Some("KEYS_ONLY") => ProjectionType::KeysOnly,
                    Some("INCLUDE") => ProjectionType::Include,
                    _ => ProjectionType::All,
                };
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index_name)
                    .set_key_schema(Some(key_schema(gsi.get("KeySchema"))?))
                    .projection(Projection::builder().projection_type(projection).build())
                    .build()?,
            );
        }
        req.send().await.with_context(|| format!("creating table {name}"))?;
    }
    Ok(names)
}

fn key_schema(schema: Option<&Value>) -> anyhow::Result<Vec<KeySchemaElement>> {
    let Some(elements) = schema.and_then(Value::as_sequence) else {
        bail!("KeySchema missing");
    };
    elements
        .iter()
        .map(|e| {
            let name = e.get("AttributeName").and_then(Value::as_str).context("AttributeName")?;
            let key_type = match e.get("KeyType").and_then(Value::as_str) {
                Some("HASH") => KeyType::Hash,
                Some("RANGE") => KeyType::Range,
                other => bail!("unknown KeyType {other:?}"),
            };
            Ok(KeySchemaElement::builder().attribute_name(name).key_type(key_type).build()?)
        })
        .collect()
}

fn attribute_definitions(props: &Value) -> anyhow::Result<Vec<AttributeDefinition>> {
    let defs =
        props.get("AttributeDefinitions").and_then(Value::as_sequence).context("AttributeDefinitions")?;
    defs.iter()
        .map(|d| {
            let name = d.get("AttributeName").and_then(Value::as_str).context("AttributeName")?;
            let kind = match d.get("AttributeType").and_then(Value::as_str) {
                Some("S") => ScalarAttributeType::S,
                Some("N") => ScalarAttributeType::N,
                Some("B") => ScalarAttributeType::B,
                other => bail!("unknown AttributeType {other:?}"),
            };
            Ok(AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build()?)
        })
        .collect()
}

/// Creates every SQS queue of the template (dead-letter queues first, so redrive policies
/// can name them) and returns each queue's URL by logical id.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    template: &Template,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut queues: Vec<(String, &Value)> = template.resources("AWS::SQS::Queue");
    // Queues without a redrive policy (the dead-letter queues) first.
    queues.sort_by_key(|(_, q)| q.get("Properties").and_then(|p| p.get("RedrivePolicy")).is_some());
    let mut urls = std::collections::HashMap::new();
    let mut arns = std::collections::HashMap::new();
    for (name, queue) in queues {
        let props = queue.get("Properties");
        let fifo = props.and_then(|p| p.get("FifoQueue")).and_then(Value::as_bool).unwrap_or(false);
        let physical = if fifo { format!("{name}.fifo") } else { name.clone() };
        let mut req = client.create_queue().queue_name(&physical);
        if fifo {
            req = req.attributes(A::FifoQueue, "true");
        }
        for (attr, key) in [
            (A::VisibilityTimeout, "VisibilityTimeout"),
            (A::MessageRetentionPeriod, "MessageRetentionPeriod"),
        ] {
            if let Some(v) = props.and_then(|p| p.get(key)).and_then(scalar) {
                req = req.attributes(attr, v);
            }
        }
        if let Some(redrive) = props.and_then(|p| p.get("RedrivePolicy")) {
            let target = redrive
                .get("deadLetterTargetArn")
                .and_then(get_att_arn)
                .context("deadLetterTargetArn must be !GetAtt <Queue>.Arn")?;
            let arn =
                arns.get(&target).with_context(|| format!("{name}: unknown dead-letter queue {target}"))?;
            let max = redrive.get("maxReceiveCount").and_then(scalar).unwrap_or_else(|| "5".into());
            let policy = serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": max });
            req = req.attributes(A::RedrivePolicy, policy.to_string());
        }
        let url = req
            .send()
            .await
            .with_context(|| format!("creating queue {name}"))?
            .queue_url()
            .unwrap_or_default()
            .to_owned();
        let attrs = client.get_queue_attributes().queue_url(&url).attribute_names(A::QueueArn).send().await?;
        if let Some(arn) = attrs.attributes().and_then(|a| a.get(&A::QueueArn)) {
            arns.insert(name.clone(), arn.clone());
        }
        urls.insert(name, url);
    }
    Ok(urls)
}

/// Creates every SNS topic of the template and each of its subscriptions of an SQS queue
/// (filter policy, its scope and raw delivery as declared); returns each topic's ARN by
/// logical id. The queues are made first ([`create_queues`]).
pub async fn create_topics(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    template: &Template,
    queue_urls: &std::collections::HashMap<String, String>,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut topics = std::collections::HashMap::new();
    for (name, _) in template.resources("AWS::SNS::Topic") {
        let out =
            sns.create_topic().name(&name).send().await.with_context(|| format!("creating topic {name}"))?;
        topics.insert(name, out.topic_arn().unwrap_or_default().to_owned());
    }
    for (name, subscription) in template.resources("AWS::SNS::Subscription") {
        let props = &subscription["Properties"];
        anyhow::ensure!(
            props["Protocol"].as_str() == Some("sqs"),
            "{name}: only sqs subscriptions are made locally"
        );
        let topic = reference(&props["TopicArn"])
            .and_then(|t| topics.get(t))
            .with_context(|| format!("{name}: TopicArn must be !Ref <Topic>"))?;
        let queue = get_att_arn(&props["Endpoint"])
            .and_then(|q| queue_urls.get(&q))
            .with_context(|| format!("{name}: Endpoint must be !GetAtt <Queue>.Arn"))?;
        let attrs = sqs.get_queue_attributes().queue_url(queue).attribute_names(A::QueueArn).send().await?;
        let queue_arn =
            attrs.attributes().and_then(|a| a.get(&A::QueueArn)).context("a queue without ARN")?;
        let mut req = sns.subscribe().topic_arn(topic).protocol("sqs").endpoint(queue_arn);
        if let Some(raw) = props.get("RawMessageDelivery").and_then(scalar_or_bool) {
            req = req.attributes("RawMessageDelivery", raw);
        }
        if let Some(policy) = props.get("FilterPolicy") {
            req = req.attributes("FilterPolicy", serde_json::to_string(policy)?);
        }
        if let Some(scope) = props.get("FilterPolicyScope").and_then(scalar) {
            req = req.attributes("FilterPolicyScope", scope);
        }
        req.send().await.with_context(|| format!("subscribing {name}"))?;
    }
    Ok(topics)
}

fn scalar_or_bool(v: &Value) -> Option<String> {
    v.as_bool().map(|b| b.to_string()).or_else(|| scalar(v))
}

/// A number or string scalar as text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The logical id in `!GetAtt X.Arn` (short form) or `{"Fn::GetAtt": [X, Arn]}`.
fn get_att_arn(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "GetAtt" || t.tag == "!GetAtt" => {
            t.value.as_str().and_then(|s| s.strip_suffix(".Arn")).map(str::to_owned)
        }
        Value::Mapping(m) => {
            let args = m.get("Fn::GetAtt")?.as_sequence()?;
            (args.get(1)?.as_str()? == "Arn").then(|| args.first()?.as_str().map(str::to_owned))?
        }
        _ => None,
    }
}

/// Creates the template's S3 buckets (named by their logical id in lower case) and KMS keys
/// (by logical id: the ARN the emulator assigns). Returns `(buckets, key ARNs)` by logical id.
pub async fn create_buckets_and_keys(
    s3: &aws_sdk_s3::Client,
    kms: &aws_sdk_kms::Client,
    template: &Template,
) -> anyhow::Result<(std::collections::HashMap<String, String>, std::collections::HashMap<String, String>)> {
    let mut keys = std::collections::HashMap::new();
    for (name, resource) in template.resources("AWS::KMS::Key") {
        let props = &resource["Properties"];
        // Signing keys as in AWS (KeySpec, KeyUsage); the rest are symmetric.
        let spec = props["KeySpec"].as_str().map(aws_sdk_kms::types::KeySpec::from);
        let usage = props["KeyUsage"].as_str().map(aws_sdk_kms::types::KeyUsageType::from);
        let key = kms
            .create_key()
            .description(format!("local {name}"))
            .set_key_spec(spec)
            .set_key_usage(usage)
            .send()
            .await
            .context("creating a KMS key")?;
        let arn = key.key_metadata().and_then(|m| m.arn()).context("a key without ARN")?.to_owned();
        keys.insert(name, arn);
    }
    let mut buckets = std::collections::HashMap::new();
    for (name, resource) in template.resources("AWS::S3::Bucket") {
        let bucket = name.to_lowercase();
        let locked = resource["Properties"]["ObjectLockEnabled"].as_bool() == Some(true);
        match s3.create_bucket().bucket(&bucket).object_lock_enabled_for_bucket(locked).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
            Err(e) => return Err(e).with_context(|| format!("creating bucket {bucket}")),
        }
        // Set once: a second stack on the same emulator finds it set (and objects kept).
        let rule_set = match s3.get_object_lock_configuration().bucket(&bucket).send().await {
            Ok(out) => out.object_lock_configuration().and_then(|c| c.rule()).is_some(),
            Err(_) => false,
        };
        if locked && !rule_set {
            // Compliance mode as in AWS; a day here (years there), so the emulator's
            // objects stay disposable.
            let rule = aws_sdk_s3::types::ObjectLockRule::builder()
                .default_retention(
                    aws_sdk_s3::types::DefaultRetention::builder()
                        .mode(aws_sdk_s3::types::ObjectLockRetentionMode::Compliance)
                        .days(1)
                        .build(),
                )
                .build();
            let config = aws_sdk_s3::types::ObjectLockConfiguration::builder()
                .object_lock_enabled(aws_sdk_s3::types::ObjectLockEnabled::Enabled)
                .rule(rule)
                .build();
            s3.put_object_lock_configuration()
                .bucket(&bucket)
                .object_lock_configuration(config)
                .send()
                .await
                .with_context(|| format!("locking {bucket}"))?;
        }
        // Versioning as in AWS: attachments pin the version whose bytes were checked.
        let versioned =
            resource["Properties"]["VersioningConfiguration"]["Status"].as_str() == Some("Enabled");
        if versioned {
            let config = aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build();
            s3.put_bucket_versioning()
                .bucket(&bucket)
                .versioning_configuration(config)
                .send()
                .await
                .with_context(|| format!("enabling versioning on {bucket}"))?;
        }
        buckets.insert(name, bucket);
    }
    Ok((buckets, keys))
}

/// A user pool the emulator made for the template, and its app clients by logical id.
#[derive(Debug, Clone)]
pub struct UserPool {
    pub id: String,
    pub clients: std::collections::HashMap<String, String>,
}

/// The logical id in `!Ref X` (short form) or `{"Ref": X}`.
fn reference(v: &Value) -> Option<&str> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" || t.tag == "!Ref" => t.value.as_str(),
        Value::Mapping(m) => m.get("Ref")?.as_str(),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence).into_iter().flatten().filter_map(scalar).collect()
}

/// Creates the template's Cognito user pools (user name attributes, password policy and
/// custom attributes as declared) and their app clients; a pool of the same name that
/// exists already (a second API on the same emulator) is reused.
pub async fn create_user_pools(
    client: &aws_sdk_cognitoidentityprovider::Client,
    template: &Template,
) -> anyhow::Result<std::collections::HashMap<String, UserPool>> {
    use aws_sdk_cognitoidentityprovider::types::{
        AttributeDataType, ExplicitAuthFlowsType, PasswordPolicyType, SchemaAttributeType,
        StringAttributeConstraintsType, UserPoolPolicyType, UsernameAttributeType, UsernameConfigurationType,
    };
    let existing = client.list_user_pools().max_results(60).send().await.context("listing user pools")?;
    let mut pools = std::collections::HashMap::new();
    for (name, pool) in template.resources("AWS::Cognito::UserPool") {
        if let Some(found) = existing.user_pools().iter().find(|p| p.name() == Some(name.as_str())) {
            let id = found.id().context("a user pool without id")?.to_owned();
            let listed = client.list_user_pool_clients().user_pool_id(&id).max_results(60).send().await?;
            let clients = listed
                .user_pool_clients()
                .iter()
                .filter_map(|c| Some((c.client_name()?.to_owned(), c.client_id()?.to_owned())))
                .collect();
            pools.insert(name, UserPool { id, clients });
            continue;
        }
        let props = pool.get("Properties");
        let mut req = client.create_user_pool().pool_name(&name);
        for attr in strings(props.and_then(|p| p.get("UsernameAttributes"))) {
            req = req.username_attributes(UsernameAttributeType::from(attr.as_str()));
        }
        let case_sensitive = props
            .and_then(|p| p.get("UsernameConfiguration"))
            .and_then(|c| c.get("CaseSensitive"))
            .and_then(Value::as_bool);
        if let Some(case_sensitive) = case_sensitive {
            let config = UsernameConfigurationType::builder().case_sensitive(case_sensitive).build()?;
            req = req.username_configuration(config);
        }
        if let Some(policy) = props.and_then(|p| p.get("Policies")).and_then(|p| p.get("PasswordPolicy")) {
            let flag = |k: &str| policy.get(k).and_then(Value::as_bool);
            let min = policy.get("MinimumLength").and_then(scalar).and_then(|m| m.parse().ok());
            let policy = PasswordPolicyType::builder()
                .set_minimum_length(min)
                .set_require_lowercase(flag("RequireLowercase"))
                .set_require_uppercase(flag("RequireUppercase"))
                .set_require_numbers(flag("RequireNumbers"))
                .set_require_symbols(flag("RequireSymbols"))
                .build();
            req = req.policies(UserPoolPolicyType::builder().password_policy(policy).build());
        }
        for attr in props.and_then(|p| p.get("Schema")).and_then(Value::as_sequence).into_iter().flatten() {
            let text = |k: &str| attr.get(k).and_then(scalar);
            let constraints = attr.get("StringAttributeConstraints").map(|c| {
                StringAttributeConstraintsType::builder()
                    .set_min_length(c.get("MinLength").and_then(scalar))
                    .set_max_length(c.get("MaxLength").and_then(scalar))
                    .build()
            });
            req = req.schema(
                SchemaAttributeType::builder()
                    .set_name(text("Name"))
                    .set_attribute_data_type(
                        text("AttributeDataType").map(|t| AttributeDataType::from(t.as_str())),
                    )
                    .set_mutable(attr.get("Mutable").and_then(Value::as_bool))
                    .set_string_attribute_constraints(constraints)
                    .build(),
            );
        }
        let created = req.send().await.with_context(|| format!("creating user pool {name}"))?;
        let id = created.user_pool().and_then(|p| p.id()).context("a user pool without id")?.to_owned();
        pools.insert(name, UserPool { id, clients: Default::default() });
    }
    for (name, app) in template.resources("AWS::Cognito::UserPoolClient") {
        let props = app.get("Properties");
        let pool_name = props.and_then(|p| p.get("UserPoolId")).and_then(reference);
        let Some(pool) = pool_name.and_then(|p| pools.get_mut(p)) else {
            bail!("{name}: UserPoolId must be !Ref to a user pool of the template");
        };
        if pool.clients.contains_key(&name) {
            continue;
        }
        let mut req = client.create_user_pool_client().user_pool_id(&pool.id).client_name(&name);
        for flow in strings(props.and_then(|p| p.get("ExplicitAuthFlows"))) {
            req = req.explicit_auth_flows(ExplicitAuthFlowsType::from(flow.as_str()));
        }
        req = req
            .set_read_attributes(Some(strings(props.and_then(|p| p.get("ReadAttributes")))))
            .set_write_attributes(Some(strings(props.and_then(|p| p.get("WriteAttributes")))));
        let created = req.send().await.with_context(|| format!("creating user pool client {name}"))?;
        let id = created.user_pool_client().and_then(|c| c.client_id()).context("a client without id")?;
        pool.clients.insert(name, id.to_owned());
    }
    Ok(pools)
}
