//! Links that need no sign-in: a consent request's accept/decline link and the unsubscribe
//! link of every delivery in a category that needs consent. The token is its claim (which
//! org, contact and category, what for, when issued; ids only, nothing personal) and an
//! HMAC-SHA256 of it under the link key: a forged or altered token fails the check and is
//! answered 404. Valid [`VALID_DAYS`] after issue (CASL asks for at least 60).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use domain::{CampaignId, DomainError, OrgId, UserId};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const VALID_DAYS: i64 = 120;
/// The shortest key accepted (bytes).
const MIN_KEY_BYTES: usize = 32;
/// Longer tokens are refused before any work.
pub const MAX_TOKEN_CHARS: usize = 512;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// Accept or decline a consent request.
    #[serde(rename = "c")]
    Consent,
    /// Withdraw consent to a category.
    #[serde(rename = "u")]
    Unsubscribe,
}

/// What a token says (short field names: it travels in every link).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaim {
    #[serde(rename = "p")]
    pub purpose: Purpose,
    #[serde(rename = "o")]
    pub org: OrgId,
    #[serde(rename = "u")]
    pub contact: UserId,
    #[serde(rename = "c")]
    pub category_id: String,
    /// The consent request's campaign, whose wording the ledger records as evidence.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignId>,
    /// Issued on this day (days since 1970-01-01, UTC).
    #[serde(rename = "d")]
    pub day: i64,
}

/// The secret links are signed with (`LINK_KEY`, or the SecureString `LINK_KEY_PARAMETER`).
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkKey([redacted])")
    }
}

impl LinkKey {
    pub fn new(secret: &str) -> Result<Self, String> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(format!("the link key must be at least {MIN_KEY_BYTES} bytes"));
        }
        Ok(Self(secret.as_bytes().to_vec()))
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(payload);
        mac
    }

    /// The token of `claim`.
    pub fn seal(&self, claim: &LinkClaim) -> String {
        let payload = serde_json::to_vec(claim).unwrap_or_default();
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The claim of a token this key sealed for `purpose`, not expired at `now`; anything
    /// else is "not found" (a forged link learns nothing).
    pub fn open(&self, token: &str, purpose: Purpose, now: DateTime<Utc>) -> Result<LinkClaim, DomainError> {
        let gone = || DomainError::NotFound("link");
        if token.len() > MAX_TOKEN_CHARS {
            return Err(gone());
        }
        let (payload, tag) = token.split_once('.').ok_or_else(gone)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| gone())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| gone())?;
        // Constant-time comparison.
        self.mac(&payload).verify_slice(&tag).map_err(|_| gone())?;
        let claim: LinkClaim = serde_json::from_slice(&payload).map_err(|_| gone())?;
        let age = day(now) - claim.day;
        if claim.purpose != purpose || !(0..=VALID_DAYS).contains(&age) {
            return Err(gone());
        }
        Ok(claim)
    }
}

/// Days since 1970-01-01 (UTC).
pub fn day(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(86_400)
}

/// The public address of a link: `{app_url}/v1/{consent|unsubscribe}/{token}`.
pub fn url(app_url: &str, purpose: Purpose, token: &str) -> String {
    let path = match purpose {
        Purpose::Consent => "consent",
        Purpose::Unsubscribe => "unsubscribe",
    };
    format!("{}/v1/{path}/{token}", app_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LinkKey {
        LinkKey::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    fn claim(purpose: Purpose, day: i64) -> LinkClaim {
        LinkClaim {
            purpose,
            org: OrgId::parse("acme").unwrap(),
            contact: UserId::parse("u-1").unwrap(),
            category_id: "cat-1".into(),
            campaign: None,
            day,
        }
    }

    #[test]
    fn a_sealed_claim_opens_for_its_purpose_until_it_expires() {
        let now = Utc::now();
        let c = claim(Purpose::Unsubscribe, day(now));
        let token = key().seal(&c);
        assert_eq!(key().open(&token, Purpose::Unsubscribe, now).unwrap(), c);
        assert!(key().open(&token, Purpose::Consent, now).is_err(), "another purpose");
        let later = now + chrono::Duration::days(VALID_DAYS);
        assert!(key().open(&token, Purpose::Unsubscribe, later).is_ok(), "valid {VALID_DAYS} days");
        let expired = now + chrono::Duration::days(VALID_DAYS + 1);
        assert!(key().open(&token, Purpose::Unsubscribe, expired).is_err());
    }

    #[test]
    fn a_forged_or_altered_token_does_not_open() {
        let now = Utc::now();
        let token = key().seal(&claim(Purpose::Unsubscribe, day(now)));
        let other = LinkKey::new("another key, quite long enough 0123").unwrap();
        assert!(other.open(&token, Purpose::Unsubscribe, now).is_err(), "another key");
        let (payload, tag) = token.split_once('.').unwrap();
        let mut altered = claim(Purpose::Unsubscribe, day(now));
        altered.contact = UserId::parse("u-2").unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&altered).unwrap()));
        assert!(key().open(&forged, Purpose::Unsubscribe, now).is_err(), "payload changed");
        assert!(key().open(payload, Purpose::Unsubscribe, now).is_err(), "no tag");
        assert!(key().open("x.y", Purpose::Unsubscribe, now).is_err());
        assert!(key().open(&"a".repeat(600), Purpose::Unsubscribe, now).is_err());
        assert!(LinkKey::new("short").is_err());
    }
}
