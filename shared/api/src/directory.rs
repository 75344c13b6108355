//! The sign-in directory (the Cognito user pool). An invitation creates the contact's
//! Cognito user; accepting it sets the password. The user carries our contact id as the
//! immutable `custom:user_id` attribute, which its ID tokens present as a claim, so a
//! request needs no lookup from Cognito's own `sub` to our id.

use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use aws_sdk_cognitoidentityprovider::Client;
use domain::{DomainError, OrgId, UserId};

use crate::error::ApiError;

/// The claim that carries our user id in Cognito's ID tokens.
pub const USER_ID_CLAIM: &str = "custom:user_id";
pub const ORG_ID_CLAIM: &str = "custom:org_id";

#[derive(Clone, Debug)]
pub struct Directory {
    client: Client,
    pool_id: String,
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder().name(name).value(value).build().expect("name is set")
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    tracing::warn!(error = %aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&e), "directory call failed");
    ApiError::Store(store::StoreError::Unavailable(Box::new(e)))
}

impl Directory {
    pub fn new(client: Client, pool_id: impl Into<String>) -> Self {
        Self { client, pool_id: pool_id.into() }
    }

    /// From `USER_POOL_ID`; `None` where no pool is configured.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Option<Self> {
        let pool_id = std::env::var("USER_POOL_ID").ok().filter(|p| !p.is_empty())?;
        Some(Self::new(Client::new(sdk), pool_id))
    }

    /// Creates the sign-in user for `user_id` with `email` as its user name, without
    /// Cognito's own welcome e-mail (our invitation is the message). Idempotent: an
    /// existing user of the same contact is kept; one that belongs to another contact is
    /// a 409.
    pub async fn ensure_user(&self, org: &OrgId, user_id: &UserId, email: &str) -> Result<(), ApiError> {
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .message_action(MessageActionType::Suppress)
            .user_attributes(attribute("email", email))
            .user_attributes(attribute("email_verified", "true"))
            .user_attributes(attribute(ORG_ID_CLAIM, org.as_str()))
            .user_attributes(attribute(USER_ID_CLAIM, user_id.as_str()))
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_username_exists_exception()) => {
                let existing = self
                    .client
                    .admin_get_user()
                    .user_pool_id(&self.pool_id)
                    .username(email)
                    .send()
                    .await
                    .map_err(unavailable)?;
                let owner = existing
                    .user_attributes()
                    .iter()
                    .find(|a| a.name() == USER_ID_CLAIM)
                    .and_then(|a| a.value());
                if owner == Some(user_id.as_str()) {
                    Ok(())
                } else {
                    Err(DomainError::conflict(
                        "email_in_use",
                        "another account already signs in with this e-mail address",
                    )
                    .into())
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Sets the user's permanent password (the invitation's last step).
    pub async fn set_password(&self, email: &str, password: &Password) -> Result<(), ApiError> {
        let out = self
            .client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(email)
            .password(&password.0)
            .permanent(true)
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_invalid_password_exception()) => {
                Err(Password::weak())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// A password that meets the pool's policy (template.yaml: at least 12 characters with a
/// lower-case letter, an upper-case letter and a digit), checked before Cognito sees it.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    fn weak() -> ApiError {
        DomainError::invalid(
            "weak_password",
            format!(
                "the password needs {}–{} characters with a lower-case letter, an upper-case letter and a digit",
                Self::MIN_CHARS,
                Self::MAX_CHARS
            ),
        )
        .into()
    }

    pub fn parse(raw: String) -> Result<Self, ApiError> {
        let chars = raw.chars().count();
        let strong = (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars)
            && raw.chars().any(|c| c.is_ascii_lowercase())
            && raw.chars().any(|c| c.is_ascii_uppercase())
            && raw.chars().any(|c| c.is_ascii_digit());
        if strong {
            Ok(Self(raw))
        } else {
            Err(Self::weak())
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn passwords_follow_the_pool_policy() {
        for weak in ["Short1a", "alllowercase123", "ALLUPPERCASE123", "NoDigitsAtAllHere", ""] {
            assert!(Password::parse(weak.into()).is_err(), "{weak} was accepted");
        }
        assert!(Password::parse("Correct horse 42".into()).is_ok());
        assert!(Password::parse(format!("Aa1{}", "x".repeat(300))).is_err(), "over the length bound");
    }
}
