//! Configuration read once per cold start, and the clients built from it. Shared by every
//! function: `AWS_ENDPOINT_URL` (read by the SDK) is all that differs locally.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use queue::Events;
use store::Store;

use crate::dispatch::Notifier;
use crate::{App, HoursCache, QuotaCache};
use channels::{HttpProvider, Providers};

/// Typed configuration from the environment; a missing variable is named in the error.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub events_topic_arn: String,
    pub attachments_bucket: String,
    pub attachments_key_id: String,
    pub max_attachment_bytes: u64,
    pub search_bucket: String,
    /// Where the search indexes are copied on local disk.
    pub search_cache_dir: String,
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let var =
            |name: &str| std::env::var(name).map_err(|_| format!("missing environment variable {name}"));
        Ok(Self {
            table_name: var("TABLE_NAME")?,
            events_topic_arn: var("EVENTS_TOPIC_ARN")?,
            attachments_bucket: var("ATTACHMENTS_BUCKET")?,
            attachments_key_id: var("ATTACHMENTS_KEY_ID")?,
            max_attachment_bytes: var("MAX_ATTACHMENT_BYTES")?
                .parse()
                .map_err(|_| "MAX_ATTACHMENT_BYTES must be a number of bytes".to_owned())?,
            search_bucket: var("SEARCH_BUCKET")?,
            search_cache_dir: var("SEARCH_CACHE_DIR").unwrap_or_else(|_| "/tmp/search".to_owned()),
        })
    }
}

/// Bounds on every AWS call of the functions. Without them a call on a connection that
/// stalls (AWS unreachable, packets dropped) waits until Lambda kills the function at its
/// timeout (10 s) and API Gateway answers with its own error instead of our 503
/// `unavailable`; with them the call fails in seconds, and the error becomes that 503. A
/// retried attempt is safe: the SDK gives each transaction an idempotency token.
pub fn aws_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(6))
        .build()
}

/// The standard AWS environment, with [`aws_timeouts`].
pub async fn aws_from_env() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(aws_timeouts()).load().await
}

impl App {
    /// Builds the SDK clients once, from the standard AWS environment.
    pub async fn from_env() -> Result<Self, String> {
        let config = Config::from_env()?;
        let aws = aws_from_env().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let sns = aws_sdk_sns::Client::from_conf(relay_sns_config(&aws));
        let s3 = aws_sdk_s3::Client::new(&aws);
        Ok(Self {
            store: Store::new(dynamodb, config.table_name),
            events: Events::new(sns, config.events_topic_arn),
            search: ::search::Engine::new(s3.clone(), config.search_bucket, config.search_cache_dir),
            files: files::Files::new(
                s3,
                config.attachments_bucket,
                config.attachments_key_id,
                config.max_attachment_bytes,
            ),
            providers: providers_from_env(&aws).await?,
            app_url: app_url(),
            directory: directory::Directory::from_env(&aws),
            quotas: QuotaCache::default(),
            hours: HoursCache::default(),
            triage: crate::triage::TriageCache::default(),
            routing: crate::router::RoutingCache::default(),
            messaging: crate::settings::MessagingCache::default(),
            webhooks: crate::webhooks::Webhooks::from_env(&aws)?,
            links: link_key().await?,
            sealing: crate::audit::checkpoint::Sealing::from_env(&aws),
        })
    }
}

/// The SNS client for publishing events: an event that cannot be published quickly stays
/// in the outbox for the repair job, so an outage costs a request little time.
pub fn relay_sns_config(aws: &aws_config::SdkConfig) -> aws_sdk_sns::Config {
    aws_sdk_sns::config::Builder::from(aws)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .build()
}

/// The notifier and dispatcher, from the environment: `APP_URL` (links),
/// `NOTIFY_DIGEST_SECS` (default 60), `EMAIL_FROM` (SES sender; no e-mail without it), and
/// for each HTTP channel `{SMS,WHATSAPP,PUSH,TELEGRAM}_BASE_URL` with `_ACCOUNT`, `_TOKEN`
/// or else the SecureString under `PROVIDER_SECRETS_PREFIX` (and `SMS_FROM`); a channel
/// without a base URL is off; `NOTIFY_PAID_PER_HOUR` (default
/// [`channels::DEFAULT_PAID_PER_HOUR`]) caps SMS and WhatsApp sends per recipient and hour.
pub async fn notifier_from_env() -> Result<Notifier, String> {
    let config = Config::from_env()?;
    let aws = aws_from_env().await;
    let opt = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let number = |name: &str, default: u32| match opt(name) {
        None => Ok(default),
        Some(v) => v.parse::<u32>().map_err(|_| format!("{name} must be a whole number")),
    };
    let digest_secs = number("NOTIFY_DIGEST_SECS", 60)?;
    let paid_per_hour = number("NOTIFY_PAID_PER_HOUR", channels::DEFAULT_PAID_PER_HOUR)?;
    let providers = providers_from_env(&aws).await?;
    Ok(Notifier {
        store: Store::new(aws_sdk_dynamodb::Client::new(&aws), config.table_name),
        providers: providers.with_paid_per_hour(paid_per_hour),
        app_url: app_url(),
        digest_window: Duration::from_secs(digest_secs.into()),
        categories: crate::dispatch::CategoryCache::default(),
        links: link_key().await?,
    })
}

/// The key links are signed with: `LINK_KEY`, or (in AWS) the SecureString parameter named
/// by `LINK_KEY_PARAMETER`, read once at cold start; `None` where neither is set.
pub async fn link_key() -> Result<Option<crate::links::LinkKey>, String> {
    let opt = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let secret = match (opt("LINK_KEY"), opt("LINK_KEY_PARAMETER")) {
        (Some(secret), _) => secret,
        (None, Some(name)) => {
            let session = opt("AWS_SESSION_TOKEN").unwrap_or_default();
            let endpoint = crate::secrets::extension_endpoint();
            crate::secrets::read_parameter(&reqwest::Client::new(), &endpoint, &session, &name).await?
        }
        (None, None) => return Ok(None),
    };
    crate::links::LinkKey::new(&secret).map(Some)
}

/// The sends per second a campaign run keeps to (`CAMPAIGN_SEND_RATE`, default 14: SES's
/// usual maximum send rate out of the sandbox).
pub fn campaign_send_rate() -> Result<u32, String> {
    match std::env::var("CAMPAIGN_SEND_RATE").ok().filter(|v| !v.is_empty()) {
        None => Ok(14),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|r| *r > 0)
            .ok_or_else(|| "CAMPAIGN_SEND_RATE must be a positive whole number".into()),
    }
}

/// Where the public links (consent, unsubscribe) point: the API's public URL (`LINKS_URL`),
/// else `app_url` (a web app that serves the API on its origin, and the local stack).
pub fn links_url(app_url: &str) -> String {
    std::env::var("LINKS_URL").ok().filter(|v| !v.is_empty()).unwrap_or_else(|| app_url.to_owned())
}

/// The URL the SMS provider posts replies to, as it signs them: `SMS_WEBHOOK_URL` (a
/// custom domain), else `{links_url}/v1/webhooks/sms`.
pub fn sms_webhook_url(app_url: &str) -> String {
    std::env::var("SMS_WEBHOOK_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("{}/v1/webhooks/sms", links_url(app_url).trim_end_matches('/')))
}

/// Where links in notifications and invitations point (`APP_URL`).
pub fn app_url() -> String {
    std::env::var("APP_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "https://app.example.com".into())
}

/// The HTTP channels, by the prefix of their variables.
const HTTP_CHANNELS: [&str; 4] = ["SMS", "WHATSAPP", "PUSH", "TELEGRAM"];

/// Tokens of the channels that are on but have no `{PREFIX}_TOKEN` variable, read once at
/// cold start from the SecureString parameters `{PROVIDER_SECRETS_PREFIX}/{channel}-token`
/// (see [`crate::secrets`]). Without `PROVIDER_SECRETS_PREFIX` (the local stack), none.
async fn secret_tokens() -> Result<std::collections::HashMap<String, String>, String> {
    let opt = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut tokens = std::collections::HashMap::new();
    let Some(path) = opt("PROVIDER_SECRETS_PREFIX") else { return Ok(tokens) };
    let session = opt("AWS_SESSION_TOKEN").unwrap_or_default();
    let (http, endpoint) = (reqwest::Client::new(), crate::secrets::extension_endpoint());
    for prefix in HTTP_CHANNELS {
        if opt(&format!("{prefix}_BASE_URL")).is_none() || opt(&format!("{prefix}_TOKEN")).is_some() {
            continue;
        }
        let name = format!("{path}/{}-token", prefix.to_lowercase());
        tokens.insert(
            prefix.to_owned(),
            crate::secrets::read_parameter(&http, &endpoint, &session, &name).await?,
        );
    }
    Ok(tokens)
}

/// The outbound channels configured in the environment, each token from `{PREFIX}_TOKEN` or
/// else its SecureString parameter (see [`secret_tokens`]).
async fn providers_from_env(aws: &aws_config::SdkConfig) -> Result<Providers, String> {
    let tokens = secret_tokens().await?;
    Ok(providers_with(aws, |prefix| {
        std::env::var(format!("{prefix}_TOKEN"))
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| tokens.get(prefix).cloned())
    }))
}

/// The outbound channels configured in the environment, with each channel's token from `token`.
fn providers_with(aws: &aws_config::SdkConfig, token: impl Fn(&str) -> Option<String>) -> Providers {
    let opt = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let provider = |prefix: &str| {
        opt(&format!("{prefix}_BASE_URL")).map(|base_url| HttpProvider {
            base_url,
            account: opt(&format!("{prefix}_ACCOUNT")).unwrap_or_default(),
            token: token(prefix).unwrap_or_default(),
            from: opt(&format!("{prefix}_FROM")).unwrap_or_default(),
        })
    };
    let ses = opt("EMAIL_FROM").map(|from| (aws_sdk_sesv2::Client::new(aws), from));
    Providers::new(ses, provider("SMS"), provider("WHATSAPP"), provider("PUSH"), provider("TELEGRAM"))
}
