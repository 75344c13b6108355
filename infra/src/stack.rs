//! Starting the whole local stack in-process: emulator, tables and queues from
//! template.yaml, seed, HTTP server, and the queue consumers and schedules that AWS would
//! run (the emulator fires none of them).

use std::collections::HashMap;

use anyhow::Context;
use app::dispatch::Notifier;
use app::App;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use channels::{HttpProvider, Providers};
use directory::Directory;
use files::Files;
use queue::Events;
use store::Store;

use crate::cpu::CpuMeter;
use crate::emulator::Emulator;
use crate::meter::CallMeter;
use crate::provision::{
    create_buckets_and_keys, create_queues, create_tables, create_topics, create_user_pools, Template,
    UserPool,
};
use crate::sink::{self, Sink};
use crate::{gateway, local_web, local_workers, seed, template_path, token};

pub const ROUTING_QUEUE: &str = "RoutingQueue";
pub const ROUTING_DLQ: &str = "RoutingDeadLetterQueue";
pub const NOTIFICATION_QUEUE: &str = "NotificationQueue";
pub const AUTOMATION_QUEUE: &str = "AutomationQueue";
pub const TRIAGE_QUEUE: &str = "TriageQueue";
pub const WEBHOOK_QUEUE: &str = "WebhookQueue";
pub const AUDIT_QUEUE: &str = "AuditQueue";
pub const AUDIT_SIGNING_KEY: &str = "AuditSigningKey";
pub const AUDIT_BUCKET: &str = "AuditCheckpointBucket";
/// Locally a moved chain head is sealed a second after it moved (10 minutes in AWS).
pub const LOCAL_SEAL_AFTER: chrono::Duration = chrono::Duration::seconds(1);
pub const ATTACHMENTS_BUCKET: &str = "AttachmentsBucket";
pub const ATTACHMENTS_KEY: &str = "AttachmentsKey";
pub const SEARCH_BUCKET: &str = "SearchIndexBucket";
pub const SEARCH_QUEUE: &str = "SearchQueue";
pub const USER_POOL: &str = "UserPool";
pub const EVENTS_TOPIC: &str = "EventsTopic";
/// As template.yaml's MAX_ATTACHMENT_BYTES.
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

pub struct StackOptions {
    /// HTTP port of the API (0: any free port).
    pub port: u16,
    /// Port for the emulator when we start it (0: any free port).
    pub emulator_port: u16,
    pub seed: bool,
    /// Records every AWS call (DynamoDB, S3, SQS, SNS, SES) the API and the workers make
    /// (benchmarks).
    pub meter: Option<CallMeter>,
    /// Records the CPU time of every HTTP request (benchmarks).
    pub cpu_meter: Option<CpuMeter>,
    /// Where events are published; `None`: the emulator. Tests point it at a port that
    /// never answers to play an outage of the events topic.
    pub relay_endpoint: Option<String>,
    /// Run the queue consumers and scheduled jobs in this process from the start
    /// (otherwise `Stack::start_workers` does, when asked).
    pub workers: bool,
    /// Use this running emulator instead of starting one (a second API on the same data).
    pub emulator_endpoint: Option<String>,
    /// Bounds on this stack's AWS calls (`app::aws_timeouts()`, as deployed); `None`:
    /// unbounded, since the emulator serves one request at a time and is slow under bursts.
    pub aws_timeouts: Option<aws_config::timeout::TimeoutConfig>,
    /// How long the functions keep an org's settings (routing, business hours, triage,
    /// categories, webhook endpoints): [`LOCAL_SETTINGS_TTL`], or `app::SETTINGS_TTL` as
    /// deployed (the bench, counting reads as AWS makes them).
    pub settings_ttl: std::time::Duration,
}

/// Locally the caches of routing, business hours, triage, categories and webhook endpoints
/// keep a value a second, so a change shows within a second also to another stack on the
/// same data or after a write straight to the table (a minute in AWS; the messaging and
/// quota caches keep theirs a minute locally too).
pub const LOCAL_SETTINGS_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            port: 0,
            emulator_port: 0,
            seed: true,
            meter: None,
            cpu_meter: None,
            relay_endpoint: None,
            workers: true,
            emulator_endpoint: None,
            aws_timeouts: None,
            settings_ttl: LOCAL_SETTINGS_TTL,
        }
    }
}

pub struct Stack {
    pub url: String,
    pub sdk: SdkConfig,
    pub store: Store,
    pub queue_urls: HashMap<String, String>,
    /// Each SNS topic's ARN by logical id.
    pub topic_arns: HashMap<String, String>,
    /// The emulator's Cognito user pool (invitations create users in it).
    pub user_pool: UserPool,
    pub emulator: Emulator,
    /// The use cases' adapters, as the stack's functions have them.
    pub app: App,
    idle_workers: Option<IdleWorkers>,
}

/// The consumers and schedules of a stack started without them.
struct IdleWorkers {
    app: App,
    notifier: Notifier,
    sqs: aws_sdk_sqs::Client,
    queues: local_workers::Queues,
}

/// SDK configuration pointing at the emulator, with the emulator's dummy credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "local-stack"))
        .load()
        .await
}

/// Messages in a queue, waiting or in flight (being handled, or hidden until a retry).
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<u64> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .with_context(|| format!("reading the depth of {url}"))?;
    Ok(attrs.attributes().into_iter().flat_map(|a| a.values()).filter_map(|v| v.parse::<u64>().ok()).sum())
}

impl Stack {
    pub async fn start(opts: StackOptions) -> anyhow::Result<Self> {
        let emulator = match opts.emulator_endpoint {
            Some(endpoint) => Emulator::existing(endpoint),
            None => Emulator::start(opts.emulator_port)?,
        };
        let mut sdk = sdk_config(&emulator.endpoint).await;
        if let Some(timeouts) = opts.aws_timeouts.clone() {
            sdk = sdk.into_builder().timeout_config(timeouts).build();
        }
        let meter = opts.meter.clone();
        let mut dynamodb_config = aws_sdk_dynamodb::config::Builder::from(&sdk);
        let mut sqs_config = aws_sdk_sqs::config::Builder::from(&sdk);
        // Path-style addressing: the emulator has no per-bucket host names.
        let mut s3_config = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true);
        if let Some(meter) = &meter {
            dynamodb_config = dynamodb_config.interceptor(meter.clone());
            sqs_config = sqs_config.interceptor(meter.clone());
            s3_config = s3_config.interceptor(meter.clone());
        }
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(dynamodb_config.build());
        let sqs = aws_sdk_sqs::Client::from_conf(sqs_config.build());
        let template = Template::load(&template_path())?;
        let tables = create_tables(&dynamodb, &template).await?;
        let table = tables.first().context("template.yaml declares no DynamoDB table")?.clone();
        let queue_urls = create_queues(&sqs, &template).await?;
        let sns = aws_sdk_sns::Client::new(&sdk);
        let topic_arns = create_topics(&sns, &sqs, &template, &queue_urls).await?;
        let events_topic =
            topic_arns.get(EVENTS_TOPIC).cloned().context("template.yaml declares no EventsTopic")?;
        let url_of = |name: &str| {
            queue_urls.get(name).cloned().with_context(|| format!("template.yaml declares no {name}"))
        };
        let queues = local_workers::Queues {
            routing: url_of(ROUTING_QUEUE)?,
            automation: url_of(AUTOMATION_QUEUE)?,
            triage: url_of(TRIAGE_QUEUE)?,
            webhooks: url_of(WEBHOOK_QUEUE)?,
            audit: url_of(AUDIT_QUEUE)?,
            search: url_of(SEARCH_QUEUE)?,
            notification: url_of(NOTIFICATION_QUEUE)?,
        };

        let store = Store::new(dynamodb, table);
        let s3 = aws_sdk_s3::Client::from_conf(s3_config.build());
        let kms = aws_sdk_kms::Client::new(&sdk);
        let (buckets, keys) = create_buckets_and_keys(&s3, &kms, &template).await?;
        let bucket =
            buckets.get(ATTACHMENTS_BUCKET).context("template.yaml declares no AttachmentsBucket")?;
        let key = keys.get(ATTACHMENTS_KEY).context("template.yaml declares no AttachmentsKey")?;
        let search_bucket =
            buckets.get(SEARCH_BUCKET).context("template.yaml declares no SearchIndexBucket")?;
        // Each stack its own local copies (several stacks run at once in the tests).
        let search_dir = std::env::temp_dir().join(format!("search-{}", ulid::Ulid::new()));
        let search = search::Engine::new(s3.clone(), search_bucket, search_dir);
        let mut kms_config = aws_sdk_kms::config::Builder::from(&sdk);
        if let Some(meter) = &meter {
            kms_config = kms_config.interceptor(meter.clone());
        }
        let sealing = app::audit::checkpoint::Sealing {
            checkpoints: checkpoints::Checkpoints::new(
                aws_sdk_kms::Client::from_conf(kms_config.build()),
                s3.clone(),
                keys.get(AUDIT_SIGNING_KEY).context("template.yaml declares no AuditSigningKey")?.clone(),
                buckets.get(AUDIT_BUCKET).context("template.yaml declares no AuditCheckpointBucket")?.clone(),
            ),
            after: LOCAL_SEAL_AFTER,
        };
        let files = Files::new(s3, bucket, key, MAX_ATTACHMENT_BYTES);
        let mut cognito_config = aws_sdk_cognitoidentityprovider::config::Builder::from(&sdk);
        if let Some(meter) = &meter {
            cognito_config = cognito_config.interceptor(meter.clone());
        }
        let cognito = aws_sdk_cognitoidentityprovider::Client::from_conf(cognito_config.build());
        let user_pool = create_user_pools(&cognito, &template)
            .await?
            .remove(USER_POOL)
            .context("template.yaml declares no UserPool")?;
        let directory = Directory::new(cognito, &user_pool.id);
        if opts.seed {
            seed::seed_demo(&store).await.context("seeding the demo data")?;
        }
        let relay_sdk = match &opts.relay_endpoint {
            Some(endpoint) => sdk_config(endpoint).await,
            None => sdk.clone(),
        };
        let mut relay_config = app::relay_sns_config(&relay_sdk).to_builder();
        if let Some(meter) = &meter {
            relay_config = relay_config.interceptor(meter.clone());
        }
        let events = Events::new(aws_sdk_sns::Client::from_conf(relay_config.build()), events_topic);

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{}", opts.port))?;
        let url = format!("http://{}", listener.local_addr()?);
        let providers = local_providers(&sdk, &url, meter.as_ref()).await?;
        let notifier = Notifier {
            store: store.clone(),
            providers: providers.clone(),
            app_url: url.clone(),
            digest_window: LOCAL_DIGEST_WINDOW,
            categories: app::dispatch::CategoryCache::with_ttl(opts.settings_ttl),
            links: Some(app::links::LinkKey::new(LOCAL_LINK_KEY).expect("the local link key is long enough")),
        };
        let app = App {
            store: store.clone(),
            events,
            files,
            providers,
            app_url: url.clone(),
            directory: Some(directory),
            quotas: app::QuotaCache::default(),
            hours: app::HoursCache::with_ttl(opts.settings_ttl),
            triage: app::triage::TriageCache::with_ttl(opts.settings_ttl),
            routing: app::router::RoutingCache::with_ttl(opts.settings_ttl),
            messaging: app::settings::MessagingCache::default(),
            webhooks: local_webhooks(&sqs, &queues.webhooks, opts.settings_ttl)?,
            sealing: Some(sealing),
            search,
            links: Some(app::links::LinkKey::new(LOCAL_LINK_KEY).expect("the local link key is long enough")),
        };
        let idle_workers = IdleWorkers { app: app.clone(), notifier, sqs, queues };
        let stack_app = app.clone();
        let mut routes = gateway::as_functions(gateway::app(app, token::secret()), &template)
            .merge(sink::router(Sink::default(), store.clone()))
            .merge(local_web::router(local_web::dist_dir(), token::secret(), &emulator.endpoint));
        if let Some(cpu) = opts.cpu_meter {
            routes = routes.layer(axum::middleware::from_fn_with_state(cpu, CpuMeter::layer));
        }
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, routes).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        let mut stack = Self {
            url,
            sdk,
            store,
            queue_urls,
            topic_arns,
            user_pool,
            emulator,
            app: stack_app,
            idle_workers: Some(idle_workers),
        };
        if opts.workers {
            stack.start_workers();
        }
        Ok(stack)
    }

    /// Starts the queue consumers and schedules (once; later calls do nothing).
    pub fn start_workers(&mut self) {
        if let Some(w) = self.idle_workers.take() {
            local_workers::spawn(w.app, w.notifier, w.sqs, w.queues);
        }
    }
}

/// Webhooks as the local stack runs them: deliveries may reach loopback over http (so tests
/// receive them) and retries come 30 times sooner (the first after about a second, not 30 s).
pub const LOCAL_WEBHOOK_RETRY_UNIT: std::time::Duration = std::time::Duration::from_secs(1);

fn local_webhooks(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    settings_ttl: std::time::Duration,
) -> anyhow::Result<app::webhooks::Webhooks> {
    let policy = domain::webhook::AddressPolicy { allow_loopback: true };
    let webhooks = app::webhooks::Webhooks::new(policy, LOCAL_WEBHOOK_RETRY_UNIT, settings_ttl)
        .map_err(anyhow::Error::msg)?;
    Ok(webhooks.with_later(queue::Later::new(sqs.clone(), queue)))
}

/// The key the local stack signs consent and unsubscribe links with (in AWS, a SecureString
/// parameter; see template.yaml's `LINK_KEY_PARAMETER`).
pub const LOCAL_LINK_KEY: &str = "local-only link key: never used outside the local stack";
/// Campaign sends per second locally (14 in AWS by default: SES's rate).
pub const LOCAL_CAMPAIGN_RATE: u32 = 200;

/// The sender of local e-mail, registered with the emulator's SES.
pub const EMAIL_FROM: &str = "notifications@resident-messaging.example.com";
/// Locally, notifications to one recipient within this window become one digest.
pub const LOCAL_DIGEST_WINDOW: std::time::Duration = std::time::Duration::from_secs(2);

/// The channels as the local stack runs them: e-mail through the emulator's SES, every other
/// channel through the recording sink at `{url}/dev/sink/{channel}`.
pub async fn local_providers(
    sdk: &SdkConfig,
    url: &str,
    meter: Option<&CallMeter>,
) -> anyhow::Result<Providers> {
    let mut ses_config = aws_sdk_sesv2::config::Builder::from(sdk);
    if let Some(meter) = meter {
        ses_config = ses_config.interceptor(meter.clone());
    }
    let ses = aws_sdk_sesv2::Client::from_conf(ses_config.build());
    ses.create_email_identity()
        .email_identity(EMAIL_FROM)
        .send()
        .await
        .context("registering the SES sender")?;
    let provider = |channel: &str| HttpProvider {
        base_url: format!("{url}/dev/sink/{channel}"),
        account: "local".into(),
        token: "local-token".into(),
        from: "+15550000000".into(),
    };
    Ok(Providers::new(
        Some((ses, EMAIL_FROM.to_owned())),
        Some(provider("sms")),
        Some(provider("whatsapp")),
        Some(provider("push")),
        Some(provider("telegram")),
    ))
}
