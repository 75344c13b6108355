//! One HTTP attempt of a delivery, signed as Standard Webhooks describe: `webhook-id`,
//! `webhook-timestamp` and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
//! `{id}.{timestamp}.{body}` under each secret that signs, space-separated). The address
//! rule is applied to the address the connection is made to: names are resolved by a
//! resolver that drops forbidden addresses, literal addresses are checked before, and
//! redirects are not followed, so a receiver cannot point a delivery inside the network.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use domain::webhook::{AddressPolicy, SigningSecret};
use hmac::{Hmac, Mac};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::Sha256;

/// One attempt's whole time, connection included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an error text kept in the log.
const MAX_ERROR_LEN: usize = 200;
/// A `Retry-After` longer than this is taken as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The receiver's status; `None` when none came (refused, timed out, forbidden).
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The receiver's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
}

/// The HTTP client of deliveries.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    policy: AddressPolicy,
}

impl Sender {
    pub fn new(policy: AddressPolicy) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver { policy }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent("resident-messaging-webhooks/1")
            .build()
            .map_err(|e| format!("building the webhook client: {e}"))?;
        Ok(Self { client, policy })
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Posts `body` to `url` as delivery `id`, signed with `secrets` at `now`.
    pub async fn post(
        &self,
        url: &str,
        id: &str,
        body: &str,
        secrets: &[&SigningSecret],
        now: DateTime<Utc>,
    ) -> Answer {
        let failed = |why: String| Answer { status: None, error: Some(why), retry_after: None };
        let Ok(parsed) = reqwest::Url::parse(url) else { return failed("the URL does not parse".into()) };
        // Literal addresses never reach the resolver.
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if literal.is_some_and(|ip| !self.policy.permits(ip)) {
            return failed("the address is not allowed".into());
        }
        let timestamp = now.timestamp().to_string();
        let sent = self
            .client
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", &timestamp)
            .header("webhook-signature", signature(secrets, id, &timestamp, body))
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(resp) => Answer {
                status: Some(resp.status().as_u16()),
                error: None,
                retry_after: resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, now)),
            },
            Err(e) => failed(describe(e)),
        }
    }
}

/// The `webhook-signature` header: one `v1,` signature per secret.
pub fn signature(secrets: &[&SigningSecret], id: &str, timestamp: &str, body: &str) -> String {
    let signed = format!("{id}.{timestamp}.{body}");
    secrets
        .iter()
        .filter_map(|secret| {
            let key = STANDARD.decode(secret.expose().strip_prefix(SigningSecret::PREFIX)?).ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(signed.as_bytes());
            Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `Retry-After` as seconds or an HTTP date, bounded.
fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let wait = match value.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            (DateTime::parse_from_rfc2822(value.trim()).ok()?.with_timezone(&Utc) - now).to_std().ok()?
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// What went wrong, without the URL (it may carry a token in its query).
fn describe(e: reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        let mut source = std::error::Error::source(&e);
        let mut text = "could not connect".to_owned();
        while let Some(s) = source {
            if s.to_string().contains(FORBIDDEN) {
                text = FORBIDDEN.to_owned();
            }
            source = s.source();
        }
        text
    } else {
        e.without_url().to_string()
    };
    what.chars().take(MAX_ERROR_LEN).collect()
}

const FORBIDDEN: &str = "the name resolves to no allowed address";

/// The system resolver, keeping only the addresses the policy permits.
struct CheckedResolver {
    policy: AddressPolicy,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| policy.permits(a.ip())).collect();
            if allowed.is_empty() {
                return Err(FORBIDDEN.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The example of the Standard Webhooks specification.
        let secret = SigningSecret::from_base64_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = r#"{"test": 2432232314}"#;
        let header = signature(&[&secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body);
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn both_secrets_sign_during_a_rotation() {
        let a = SigningSecret::from_base64_key(&STANDARD.encode([1u8; 32]));
        let b = SigningSecret::from_base64_key(&STANDARD.encode([2u8; 32]));
        let header = signature(&[&a, &b], "msg_x", "1", "{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], signature(&[&a], "msg_x", "1", "{}"));
        assert_eq!(parts[1], signature(&[&b], "msg_x", "1", "{}"));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Sat, 05 Dec 2026 10:01:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(retry_after("999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
    }

    #[tokio::test]
    async fn names_that_resolve_to_forbidden_addresses_are_not_connected_to() {
        let sender = Sender::new(AddressPolicy { allow_loopback: false }).unwrap();
        let secret = SigningSecret::from_base64_key(&STANDARD.encode([1u8; 32]));
        // `localhost` resolves to loopback, which deliveries in AWS may not reach.
        let answer = sender.post("https://localhost:9/", "msg_x", "{}", &[&secret], Utc::now()).await;
        assert_eq!(answer.status, None);
        assert_eq!(answer.error.as_deref(), Some(FORBIDDEN));
        let answer = sender.post("https://169.254.169.254/", "msg_x", "{}", &[&secret], Utc::now()).await;
        assert_eq!(answer.error.as_deref(), Some("the address is not allowed"));
    }
}
