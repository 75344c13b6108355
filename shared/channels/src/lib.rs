//! Outbound channels behind one interface: e-mail through SES, and SMS (Twilio-style),
//! WhatsApp (Cloud API), push (FCM HTTP v1) and Telegram (Bot API) through their providers'
//! HTTP APIs. Each base URL and credential comes from configuration, so the local stack
//! points them at its recording sink. A 5xx, 429 or network error is transient (retried);
//! any other refusal is permanent (the next channel is tried). Every attempt ends by the
//! caller's deadline, so a provider that stalls cannot hold a function past its timeout.

pub mod fit;
pub mod inbound;

use std::fmt;
use std::time::Duration;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use domain::notify::Channel;
use serde_json::json;

/// No honest recipient gets this many paid notifications an hour: the digest window
/// (60 s) keeps even a busy one to about one a minute. (Lower caps hold the busiest staff
/// of `make load`, whose 2 s window sends them dozens of digests in its 30 s.)
pub const DEFAULT_PAID_PER_HOUR: u32 = 60;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("transient: {0}")]
    Transient(String),
    #[error("permanent: {0}")]
    Permanent(String),
    /// Not tried: too little time was left before the deadline.
    #[error("no time left to try")]
    OutOfTime,
}

/// What one notification says, to whom.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    /// Sent as the `Idempotency-Key` header where providers honour one.
    pub idempotency_key: &'a str,
    /// The one-click unsubscribe URL of a message that needs consent: e-mail carries it as
    /// `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058); the text carries it too.
    pub unsubscribe: Option<&'a str>,
}

#[derive(Clone)]
pub struct HttpProvider {
    pub base_url: String,
    /// Provider-specific: account id, phone-number id, project id.
    pub account: String,
    pub token: String,
    /// The sender (SMS).
    pub from: String,
}

/// Without the token: configuration gets logged.
impl fmt::Debug for HttpProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProvider")
            .field("base_url", &self.base_url)
            .field("account", &self.account)
            .field("token", &"[redacted]")
            .field("from", &self.from)
            .finish()
    }
}

/// Every configured channel. A channel without configuration refuses permanently.
#[derive(Debug, Clone)]
pub struct Providers {
    http: reqwest::Client,
    ses: Option<(aws_sdk_sesv2::Client, String)>,
    sms: Option<HttpProvider>,
    whatsapp: Option<HttpProvider>,
    push: Option<HttpProvider>,
    telegram: Option<HttpProvider>,
    /// Sends per recipient and hour on paid channels (SMS, WhatsApp), see the notifier's `paid` module.
    paid_per_hour: u32,
}

const ATTEMPTS: u32 = 3;
/// The longest one provider request may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// An attempt with less time than this left is not started.
const MIN_ATTEMPT: Duration = Duration::from_millis(500);

impl Providers {
    pub fn new(
        ses: Option<(aws_sdk_sesv2::Client, String)>,
        sms: Option<HttpProvider>,
        whatsapp: Option<HttpProvider>,
        push: Option<HttpProvider>,
        telegram: Option<HttpProvider>,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        Self { http, ses, sms, whatsapp, push, telegram, paid_per_hour: DEFAULT_PAID_PER_HOUR }
    }

    /// The cap on paid sends per recipient and hour (`NOTIFY_PAID_PER_HOUR`).
    pub fn with_paid_per_hour(mut self, per_hour: u32) -> Self {
        self.paid_per_hour = per_hour;
        self
    }

    /// The SMS account's token, which also signs the provider's webhooks to us.
    pub fn sms_token(&self) -> Option<&str> {
        self.sms.as_ref().map(|p| p.token.as_str()).filter(|t| !t.is_empty())
    }

    pub fn paid_per_hour(&self) -> u32 {
        self.paid_per_hour
    }

    /// Sends, retrying transient failures with backoff, with the time one request and its
    /// retries may take.
    pub async fn send(&self, channel: Channel, out: &Outgoing<'_>) -> Result<(), SendError> {
        let deadline = tokio::time::Instant::now() + ATTEMPT_TIMEOUT * ATTEMPTS + Duration::from_secs(1);
        self.send_within(channel, out, deadline).await
    }

    /// Sends, retrying transient failures with backoff; every attempt ends by `deadline`
    /// (one cut short is transient: the provider may or may not have it, and the
    /// idempotency key covers a retry).
    pub async fn send_within(
        &self,
        channel: Channel,
        out: &Outgoing<'_>,
        deadline: tokio::time::Instant,
    ) -> Result<(), SendError> {
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left < MIN_ATTEMPT {
                return Err(SendError::OutOfTime);
            }
            let limit = left.min(ATTEMPT_TIMEOUT);
            let result = tokio::time::timeout(limit, self.send_once(channel, out, limit))
                .await
                .unwrap_or_else(|_| Err(SendError::Transient(format!("no answer within {limit:?}"))));
            match result {
                Err(SendError::Transient(e)) if attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    tracing::warn!(?channel, attempt, error = %e, "transient provider failure; retrying");
                    let pause = Duration::from_millis(100 << attempt);
                    if deadline.saturating_duration_since(tokio::time::Instant::now()) < pause + MIN_ATTEMPT {
                        return Err(SendError::Transient(e));
                    }
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    async fn send_once(
        &self,
        channel: Channel,
        out: &Outgoing<'_>,
        limit: Duration,
    ) -> Result<(), SendError> {
        let missing = || SendError::Permanent(format!("{channel:?} is not configured"));
        match channel {
            Channel::Email => {
                let (ses, from) = self.ses.as_ref().ok_or_else(missing)?;
                send_email(ses, from, out).await
            }
            Channel::Sms => {
                let p = self.sms.as_ref().ok_or_else(missing)?;
                let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", p.base_url, p.account);
                let form = [("To", out.to), ("From", p.from.as_str()), ("Body", out.text)];
                self.finish(
                    self.http.post(url).basic_auth(&p.account, Some(&p.token)).form(&form),
                    out,
                    limit,
                )
                .await
            }
            Channel::Whatsapp => {
                let p = self.whatsapp.as_ref().ok_or_else(missing)?;
                let url = format!("{}/v21.0/{}/messages", p.base_url, p.account);
                let body = json!({"messaging_product": "whatsapp", "to": out.to, "type": "text", "text": {"body": out.text}});
                self.finish(self.http.post(url).bearer_auth(&p.token).json(&body), out, limit).await
            }
            Channel::Push => {
                let p = self.push.as_ref().ok_or_else(missing)?;
                let url = format!("{}/v1/projects/{}/messages:send", p.base_url, p.account);
                let body = json!({"message": {"token": out.to, "notification": {"title": out.title, "body": out.text}}});
                self.finish(self.http.post(url).bearer_auth(&p.token).json(&body), out, limit).await
            }
            Channel::Telegram => {
                let p = self.telegram.as_ref().ok_or_else(missing)?;
                let url = format!("{}/bot{}/sendMessage", p.base_url, p.token);
                let body = json!({"chat_id": out.to, "text": out.text});
                self.finish(self.http.post(url).json(&body), out, limit).await
            }
        }
    }

    async fn finish(
        &self,
        req: reqwest::RequestBuilder,
        out: &Outgoing<'_>,
        limit: Duration,
    ) -> Result<(), SendError> {
        // Without the URL: Telegram's carries the bot token.
        let resp = req
            .header("Idempotency-Key", out.idempotency_key)
            .timeout(limit)
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("provider unreachable: {}", e.without_url())))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(SendError::Transient(format!("provider answered {status}")))
        } else {
            Err(SendError::Permanent(format!("provider refused with {status}")))
        }
    }
}

async fn send_email(ses: &aws_sdk_sesv2::Client, from: &str, out: &Outgoing<'_>) -> Result<(), SendError> {
    send_email_with(ses, from, out, true).await.map_err(|e| match e {
        OnceError::Refused(e) => SendError::Permanent(e),
        OnceError::NotTaken(e) | OnceError::Unknown(e) => SendError::Transient(e),
    })
}

/// How a single e-mail attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum OnceError {
    /// SES refused the message (rejected, unverified sender): nothing went.
    #[error("refused: {0}")]
    Refused(String),
    /// SES did not take it (throttled, sending paused, the request never built): nothing
    /// went; it may be tried again later.
    #[error("not taken: {0}")]
    NotTaken(String),
    /// No answer: it may or may not have gone.
    #[error("unknown: {0}")]
    Unknown(String),
}

impl Providers {
    /// Sends an e-mail in one attempt, without the SDK's retries either, for what must not
    /// go twice (SES has no idempotency key): the error says whether it may have gone.
    pub async fn send_email_once(&self, out: &Outgoing<'_>, limit: Duration) -> Result<(), OnceError> {
        let (ses, from) =
            self.ses.as_ref().ok_or_else(|| OnceError::NotTaken("e-mail is not configured".into()))?;
        tokio::time::timeout(limit, send_email_with(ses, from, out, false))
            .await
            .unwrap_or_else(|_| Err(OnceError::Unknown(format!("no answer within {limit:?}"))))
    }
}

async fn send_email_with(
    ses: &aws_sdk_sesv2::Client,
    from: &str,
    out: &Outgoing<'_>,
    sdk_retries: bool,
) -> Result<(), OnceError> {
    let content = |text: &str| Content::builder().data(text).charset("UTF-8").build();
    let subject = content(out.title).map_err(|e| OnceError::Refused(e.to_string()))?;
    let text = content(out.text).map_err(|e| OnceError::Refused(e.to_string()))?;
    let mut message = Message::builder().subject(subject).body(Body::builder().text(text).build());
    if let Some(url) = out.unsubscribe {
        let header = |name: &str, value: String| {
            MessageHeader::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| OnceError::Refused(e.to_string()))
        };
        message = message
            .headers(header("List-Unsubscribe", format!("<{url}>"))?)
            .headers(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into())?);
    }
    let request = ses
        .send_email()
        .from_email_address(from)
        .destination(Destination::builder().to_addresses(out.to).build())
        .content(EmailContent::builder().simple(message.build()).build());
    let result = if sdk_retries {
        request.send().await
    } else {
        let once = aws_sdk_sesv2::config::Builder::default()
            .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled());
        request.customize().config_override(once).send().await
    };
    let Err(e) = result else { return Ok(()) };
    use aws_sdk_sesv2::error::SdkError;
    use aws_sdk_sesv2::operation::send_email::SendEmailError as E;
    let what = format!("SES: {e:?}");
    Err(match &e {
        SdkError::ServiceError(service) => match service.err() {
            E::MessageRejected(_) | E::BadRequestException(_) | E::MailFromDomainNotVerifiedException(_) => {
                OnceError::Refused(what)
            }
            E::TooManyRequestsException(_)
            | E::LimitExceededException(_)
            | E::SendingPausedException(_)
            | E::AccountSuspendedException(_) => OnceError::NotTaken(what),
            _ => OnceError::Unknown(what),
        },
        SdkError::ConstructionFailure(_) => OnceError::NotTaken(what),
        _ => OnceError::Unknown(what),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456:very-secret-bot-token";

    fn telegram(base_url: String) -> HttpProvider {
        HttpProvider { base_url, account: "acct".into(), token: TOKEN.into(), from: String::new() }
    }

    #[test]
    fn the_configuration_never_shows_a_token() {
        let shown =
            format!("{:?}", Providers::new(None, None, None, None, Some(telegram("https://t".into()))));
        assert!(shown.contains("https://t") && shown.contains("[redacted]"), "{shown}");
        assert!(!shown.contains(TOKEN));
    }

    #[tokio::test]
    async fn a_provider_error_never_carries_the_token_in_its_url() {
        // A port nothing listens on: the request fails with reqwest's error.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let providers = Providers::new(None, None, None, None, Some(telegram(format!("http://{closed}"))));
        let out = Outgoing { to: "42", title: "t", text: "hello", idempotency_key: "k", unsubscribe: None };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        match providers.send_within(Channel::Telegram, &out, deadline).await {
            Err(SendError::Transient(e)) => {
                assert!(e.contains("provider unreachable"), "{e}");
                assert!(!e.contains(TOKEN), "{e}");
            }
            other => panic!("expected a transient failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn no_attempt_starts_once_the_deadline_is_near() {
        let providers = Providers::new(None, None, None, None, Some(telegram("http://127.0.0.1:9".into())));
        let out = Outgoing { to: "42", title: "t", text: "hello", idempotency_key: "k", unsubscribe: None };
        let soon = tokio::time::Instant::now() + Duration::from_millis(100);
        assert!(matches!(
            providers.send_within(Channel::Telegram, &out, soon).await,
            Err(SendError::OutOfTime)
        ));
    }
}
