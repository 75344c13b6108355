//! Webhooks: the endpoints an org's own systems (PMS, CRM, work orders) register, the
//! events they receive, where a delivery may go (no private, loopback, link-local or
//! metadata address: the rule is checked again on the address each delivery connects to),
//! and when a failed delivery is tried again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode, EventId};

/// Endpoints per org: each event fans out to every one of them.
pub const MAX_WEBHOOKS: usize = 10;
pub const MAX_URL_LEN: usize = 2_048;
/// An endpoint failing this long without one success is disabled, and its admin told.
pub const DISABLE_AFTER: chrono::Duration = chrono::Duration::days(3);
/// After a rotation, the old secret still signs (a second signature) this long.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// What an endpoint subscribes to; the `type` of the payload.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum WebhookEvent {
    #[serde(rename = "thread.created")]
    ThreadCreated,
    /// Status, priority or linked record changed.
    #[serde(rename = "thread.updated")]
    ThreadUpdated,
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "participant.added")]
    ParticipantAdded,
    #[serde(rename = "participant.removed")]
    ParticipantRemoved,
    #[serde(rename = "triage.escalated")]
    TriageEscalated,
}

impl WebhookEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ThreadCreated => "thread.created",
            Self::ThreadUpdated => "thread.updated",
            Self::MessageCreated => "message.created",
            Self::ParticipantAdded => "participant.added",
            Self::ParticipantRemoved => "participant.removed",
            Self::TriageEscalated => "triage.escalated",
        }
    }
}

/// The event types an endpoint asked for: at least one, each once.
pub fn parse_events(events: Vec<WebhookEvent>) -> Result<Vec<WebhookEvent>, DomainError> {
    let mut events = events;
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(DomainError::invalid(ErrorCode::InvalidEvents, "events names at least one event type"));
    }
    Ok(events)
}

/// Which addresses deliveries may reach. In AWS only public ones over https; locally the
/// loopback interface over http too, so tests can receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddressPolicy {
    pub allow_loopback: bool,
}

impl AddressPolicy {
    pub fn permits(self, ip: IpAddr) -> bool {
        if is_loopback(ip) {
            return self.allow_loopback;
        }
        is_public(ip)
    }
}

/// The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), if any: checked
/// as that address, so `::ffff:169.254.169.254` is the metadata service.
fn mapped_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // NAT64 well-known prefix 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(embedded(hi, lo)),
        // 6to4 2002::/16 carries the address in its second and third groups.
        [0x2002, hi, lo, ..] => Some(embedded(hi, lo)),
        // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks).
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(embedded(hi, lo)),
        _ => None,
    }
}

fn is_public(ip: IpAddr) -> bool {
    if let Some(v4) = mapped_v4(ip) {
        return is_public_v4(v4);
    }
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local() // 169.254/16: the instance metadata service among them
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments (192.0.0.192 is a metadata address)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local: fd00:ec2::254 is EC2's metadata service
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)) // documentation
}

/// An endpoint's URL: absolute, `https` (or `http` to loopback where the policy allows
/// it), no credentials in it, at most [`MAX_URL_LEN`] characters, and a host that is not a
/// private address. Kept as the `url` crate writes it, which is how the sender reads it: an
/// address spelled in decimal, octal or hex is judged as the address it is. A name's
/// addresses are checked when a delivery connects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str, policy: AddressPolicy) -> Result<Self, DomainError> {
        let bad = |why: &'static str| DomainError::invalid(ErrorCode::InvalidUrl, why);
        // The `url` crate would drop them silently.
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("url must not contain spaces or control characters"));
        }
        let url = url::Url::parse(raw).map_err(|_| bad("url must be an absolute https URL"))?;
        // Written out, a URL can grow (percent-encoding): both spellings count.
        if raw.len().max(url.as_str().len()) > MAX_URL_LEN {
            return Err(bad("url is at most 2048 characters"));
        }
        // `url`, as browsers do, reads `https:x`, `https:/x` and `https:///x` as `https://x/`.
        let spelled_out = raw
            .get(url.scheme().len()..)
            .and_then(|rest| rest.strip_prefix("://"))
            .is_some_and(|rest| !rest.starts_with(['/', '\\']));
        if !spelled_out {
            return Err(bad("url has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("url must not carry credentials"));
        }
        let (ip, name) = match url.host().ok_or_else(|| bad("url has no host"))? {
            url::Host::Ipv4(v4) => (Some(IpAddr::V4(v4)), ""),
            url::Host::Ipv6(v6) => (Some(IpAddr::V6(v6)), ""),
            url::Host::Domain(name) => (None, name.trim_end_matches('.')),
        };
        let loopback = ip.map_or(name == "localhost" || name.ends_with(".localhost"), is_loopback);
        match url.scheme() {
            "https" => {}
            "http" if policy.allow_loopback && loopback => {}
            _ => return Err(bad("url must use https")),
        }
        let forbidden = || {
            DomainError::invalid(
                ErrorCode::ForbiddenAddress,
                "url must reach a public address (no private, loopback, link-local or metadata address)",
            )
        };
        if loopback && !policy.allow_loopback {
            return Err(forbidden());
        }
        if let Some(ip) = ip {
            if !policy.permits(ip) {
                return Err(forbidden());
            }
        } else if name.ends_with(".internal") || name == "metadata" || !name.contains('.') && !loopback {
            // Names only a private resolver answers (EC2's `*.internal`, bare hosts).
            return Err(forbidden());
        }
        Ok(Self(url.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL to show people (the admin's e-mail): without query, fragment or userinfo,
    /// where a token may be.
    pub fn redacted(&self) -> String {
        let cut = self.0.split(['?', '#']).next().unwrap_or_default();
        match url::Url::parse(cut) {
            Ok(mut url) => {
                // Fails only where a URL cannot have credentials: then it has none.
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.into()
            }
            Err(_) => cut.to_owned(),
        }
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback() || mapped_v4(ip).is_some_and(|v4| v4.is_loopback())
}

/// How long after its `attempt`-th failure (1 = the first) a delivery is tried again, before
/// jitter; `None` once the schedule (about 38 hours, at least 30 with jitter) is spent.
pub fn retry_delay(attempt: u32, unit: Duration) -> Option<Duration> {
    // In units of `unit` (30 s in AWS): 30 s, 2 min, 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 6 h,
    // then 8 h three times.
    const STEPS: [u32; 12] = [1, 4, 10, 30, 60, 120, 240, 480, 720, 960, 960, 960];
    let step = *STEPS.get(usize::try_from(attempt).ok()?.checked_sub(1)?)?;
    Some(unit * step)
}

/// Every attempt a delivery gets: the first and one per [`retry_delay`] step.
pub const MAX_ATTEMPTS: u32 = 13;

/// What one attempt's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Network error, timeout, 408, 429 or 5xx: try again later.
    Retry,
    /// Any other answer: the receiver refused it for good.
    Final,
}

impl Verdict {
    /// `None`: no answer (network error or timeout).
    pub fn of(status: Option<u16>) -> Self {
        match status {
            Some(200..=299) => Self::Delivered,
            None | Some(408 | 429 | 500..=599) => Self::Retry,
            Some(_) => Self::Final,
        }
    }
}

/// A delivery's id, the `webhook-id` header: the same on every retry and redelivery, so
/// receivers deduplicate. `msg_{event}`, and `_{n}` after it for the n-th delivery one event
/// makes (a join of several people is one delivery each).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeliveryId(String);

impl DeliveryId {
    pub fn new(event: EventId, part: usize) -> Self {
        match part {
            0 => Self(format!("msg_{event}")),
            n => Self(format!("msg_{event}_{n}")),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let rest = raw.strip_prefix("msg_").ok_or(DomainError::NotFound("delivery"))?;
        let (event, part) = rest.split_once('_').unwrap_or((rest, "0"));
        let part: usize = part.parse().map_err(|_| DomainError::NotFound("delivery"))?;
        let id = Self::new(EventId::parse(event).map_err(|_| DomainError::NotFound("delivery"))?, part);
        // One spelling per id: `_0` and leading zeros are not it.
        if id.0 == raw {
            Ok(id)
        } else {
            Err(DomainError::NotFound("delivery"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DeliveryId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DeliveryId> for String {
    fn from(id: DeliveryId) -> String {
        id.0
    }
}

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An endpoint's signing secret, `whsec_` and the base64 of 32 random bytes: shown once
/// when made, never in logs (`Debug` hides it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SigningSecret(String);

impl SigningSecret {
    pub const PREFIX: &'static str = "whsec_";

    /// A secret of the base64 `key`.
    pub fn from_base64_key(key: &str) -> Self {
        Self(format!("{}{key}", Self::PREFIX))
    }

    /// The whole secret, for the one answer that shows it and for signing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(whsec_…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS: AddressPolicy = AddressPolicy { allow_loopback: false };
    const LOCAL: AddressPolicy = AddressPolicy { allow_loopback: true };

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for url in [
            "https://10.0.0.5/hook",
            "https://172.16.3.4/",
            "https://192.168.1.1:8443/x",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fd00:ec2::254]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[fe80::1]/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://192.0.0.192/",
            "https://metadata.google.internal/",
            "https://intranet/",
            "https://127.0.0.1/",
            "https://localhost/",
        ] {
            let err = WebhookUrl::parse(url, AWS).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ForbiddenAddress, "{url}");
        }
        assert!(WebhookUrl::parse("https://pms.example.com/hooks?x=1", AWS).is_ok());
        assert!(WebhookUrl::parse("https://93.184.216.34/hook", AWS).is_ok());
    }

    #[test]
    fn https_only_except_loopback_where_allowed_and_no_credentials() {
        assert_eq!(
            WebhookUrl::parse("http://pms.example.com/", AWS).unwrap_err().code(),
            ErrorCode::InvalidUrl
        );
        assert_eq!(WebhookUrl::parse("http://127.0.0.1:9/", AWS).unwrap_err().code(), ErrorCode::InvalidUrl);
        assert!(WebhookUrl::parse("http://127.0.0.1:9/hook", LOCAL).is_ok());
        assert!(WebhookUrl::parse("http://[::1]:9/hook", LOCAL).is_ok());
        assert_eq!(
            WebhookUrl::parse("http://pms.example.com/", LOCAL).unwrap_err().code(),
            ErrorCode::InvalidUrl
        );
        assert_eq!(
            WebhookUrl::parse("http://10.1.1.1/", LOCAL).unwrap_err().code(),
            ErrorCode::InvalidUrl,
            "loopback is the only exception locally"
        );
        assert_eq!(
            WebhookUrl::parse("https://169.254.169.254/", LOCAL).unwrap_err().code(),
            ErrorCode::ForbiddenAddress
        );
        for bad in
            ["https://user:pw@pms.example.com/", "ftp://pms.example.com/", "pms.example.com", "https:///x"]
        {
            assert_eq!(WebhookUrl::parse(bad, AWS).unwrap_err().code(), ErrorCode::InvalidUrl, "{bad}");
        }
        let long = format!("https://pms.example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(WebhookUrl::parse(&long, AWS).unwrap_err().code(), ErrorCode::InvalidUrl);
        let encoded = format!("https://pms.example.com/{}", "é".repeat(MAX_URL_LEN / 4));
        assert!(encoded.len() <= MAX_URL_LEN);
        assert_eq!(
            WebhookUrl::parse(&encoded, AWS).unwrap_err().code(),
            ErrorCode::InvalidUrl,
            "%C3%A9 each"
        );
    }

    #[test]
    fn addresses_are_judged_as_the_url_crate_reads_them() {
        for url in [
            "https://169.254.169.254./",
            "https://2852039166/",
            "https://0251.0376.0251.0376/",
            "https://0xa9.0xfe.0xa9.0xfe/",
            "https://0x7f000001/",
            "https://127.1/",
            "https://%31%30.0.0.1/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://[::ffff:169.254.169.254]/",
            "https://localhost./",
            "https://metadata.google.internal./",
        ] {
            let err = WebhookUrl::parse(url, AWS).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ForbiddenAddress, "{url}");
        }
        // Kept as the sender will read it: one spelling of each address and name.
        for (raw, kept) in [
            ("https://1.1.1.1.", "https://1.1.1.1/"),
            ("https://16843009/hook", "https://1.1.1.1/hook"),
            ("HTTPS://PMS.Example.com/Hooks?x=1", "https://pms.example.com/Hooks?x=1"),
        ] {
            assert_eq!(WebhookUrl::parse(raw, AWS).unwrap().as_str(), kept, "{raw}");
        }
        // Spellings `url` forgives but that name no host as written, or hide a character.
        for bad in [
            "https:pms.example.com",
            "https:/pms.example.com",
            "https:\\\\pms.example.com",
            "https://\\pms.example.com",
            "https://pms.exam\tple.com/",
            "https://:pw@pms.example.com/",
            "https://pms.example.com:99999/",
        ] {
            assert_eq!(WebhookUrl::parse(bad, AWS).unwrap_err().code(), ErrorCode::InvalidUrl, "{bad}");
        }
    }

    #[test]
    fn the_url_shown_to_people_has_no_query_or_fragment() {
        let url = WebhookUrl::parse("https://pms.example.com:8443/hooks?token=s3cret#x", AWS).unwrap();
        assert_eq!(url.redacted(), "https://pms.example.com:8443/hooks");
    }

    #[test]
    fn resolved_addresses_are_judged_by_the_same_rule() {
        assert!(!AWS.permits("10.0.0.1".parse().unwrap()));
        assert!(!AWS.permits("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!AWS.permits("64:ff9b::a9fe:a9fe".parse().unwrap()), "NAT64 of 169.254.169.254");
        assert!(!AWS.permits("2002:a9fe:a9fe::".parse().unwrap()), "6to4 of 169.254.169.254");
        assert!(!AWS.permits("127.0.0.1".parse().unwrap()));
        assert!(LOCAL.permits("127.0.0.1".parse().unwrap()));
        assert!(!LOCAL.permits("192.168.0.1".parse().unwrap()));
        assert!(AWS.permits("2606:4700::1111".parse().unwrap()));
        assert!(AWS.permits("1.1.1.1".parse().unwrap()));
    }

    #[test]
    fn delivery_ids_have_one_spelling_and_secrets_stay_out_of_debug() {
        let event = EventId::new_at(1_000);
        for id in [DeliveryId::new(event, 0), DeliveryId::new(event, 3)] {
            assert_eq!(DeliveryId::parse(id.as_str()).unwrap(), id);
        }
        for bad in [format!("msg_{event}_0"), format!("msg_{event}_03"), format!("{event}"), "msg_x".into()] {
            assert!(DeliveryId::parse(&bad).is_err(), "{bad}");
        }
        let secret = SigningSecret::from_base64_key("c2VjcmV0");
        assert!(!format!("{secret:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn retries_span_more_than_a_day_with_the_first_within_a_minute() {
        let unit = Duration::from_secs(30);
        assert!(retry_delay(1, unit).unwrap() <= Duration::from_secs(60));
        let total: Duration = (1..MAX_ATTEMPTS).map(|a| retry_delay(a, unit).unwrap()).sum();
        // Jitter takes at most a fifth off each delay.
        assert!(total.mul_f64(0.8) >= Duration::from_secs(24 * 3600), "{total:?}");
        assert_eq!(retry_delay(MAX_ATTEMPTS, unit), None);
        assert_eq!(retry_delay(0, unit), None);
    }

    #[test]
    fn only_timeouts_rate_limits_and_server_errors_are_retried() {
        assert_eq!(Verdict::of(Some(204)), Verdict::Delivered);
        for retried in [None, Some(408), Some(429), Some(500), Some(503)] {
            assert_eq!(Verdict::of(retried), Verdict::Retry);
        }
        for final_ in [Some(400), Some(401), Some(404), Some(410), Some(301)] {
            assert_eq!(Verdict::of(final_), Verdict::Final);
        }
    }
}
