//! Local HS256 tokens with the claims Cognito puts in its tokens (`sub`, `custom:org_id`).

use std::collections::HashMap;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;

pub const DEFAULT_SECRET: &str = "dev-secret";

pub fn secret() -> String {
    std::env::var("DEV_JWT_SECRET").unwrap_or_else(|_| DEFAULT_SECRET.to_owned())
}

/// An hour's token for `user` of the seeded demo org, signed with the default secret (the
/// benchmarks' callers).
pub fn demo(user: &str) -> String {
    mint(DEFAULT_SECRET, user, "demo", 3600)
}

/// A token for `user` of `org`, valid for `ttl_secs` (negative: already expired).
pub fn mint(secret: &str, user: &str, org: &str, ttl_secs: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "sub": user,
        "custom:org_id": org,
        "iat": now,
        "exp": now + ttl_secs,
        "token_use": "id",
    });
    sign(secret, &claims)
}

/// Signs any claims (tests use it to present the claims of a Cognito ID token, as API
/// Gateway's authorizer would after verifying it).
pub fn sign(secret: &str, claims: &Value) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes()))
        .expect("HS256 signing cannot fail")
}

/// Verifies signature and expiry (required) and returns the claims as strings, as API
/// Gateway's JWT authorizer hands them to the function.
pub fn verify(secret: &str, token: &str) -> Option<HashMap<String, String>> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.leeway = 0;
    // Local tokens name no audience; API Gateway checks Cognito's against the app client.
    validation.validate_aud = false;
    let data =
        decode::<HashMap<String, Value>>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
            .ok()?;
    Some(
        data.claims
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_and_carries_the_org() {
        let claims = verify("s", &mint("s", "resident-1", "demo", 60)).unwrap();
        assert_eq!(claims["sub"], "resident-1");
        assert_eq!(claims["custom:org_id"], "demo");
    }

    #[test]
    fn expired_and_forged_tokens_are_refused() {
        assert!(verify("s", &mint("s", "u", "o", -5)).is_none());
        assert!(verify("s", &mint("other", "u", "o", 60)).is_none());
        assert!(verify("s", "not.a.token").is_none());
    }
}
