//! The sign-in directory (the Cognito user pool). An invitation creates the contact's
//! Cognito user; accepting it sets the password; archiving staff disables it. The user
//! carries our contact id and org as the immutable `custom:user_id` and `custom:org_id`
//! attributes, which its ID tokens present as claims, so a request needs no lookup from
//! Cognito's own `sub` to our id.

use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType, UserStatusType};
use aws_sdk_cognitoidentityprovider::Client;
use domain::{DomainError, ErrorCode, OrgId, UserId};

/// The claim that carries our user id in Cognito's ID tokens.
pub const USER_ID_CLAIM: &str = "custom:user_id";
pub const ORG_ID_CLAIM: &str = "custom:org_id";

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A refusal the caller should see (e-mail in use, weak password).
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("sign-in directory unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> DirectoryError {
    tracing::warn!(error = %DisplayErrorContext(&e), "directory call failed");
    DirectoryError::Unavailable(Box::new(e))
}

/// Where a sign-in user stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// Created by an invitation; no password of its own yet.
    Invited,
    /// Has set a password (or was made some other way): it signs in already.
    Active,
}

#[derive(Clone, Debug)]
pub struct Directory {
    client: Client,
    pool_id: String,
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder().name(name).value(value).build().expect("name is set")
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

    /// The user name of the sign-in user for `email`. Cognito is told user names are not
    /// case-sensitive (template.yaml); lower-casing them here makes that hold everywhere
    /// (the emulator ignores the setting), so `Rita@x.com` and `rita@x.com` are one account.
    pub fn login_for(email: &str) -> String {
        domain::contact::mailbox(email)
    }

    /// Creates the sign-in user of contact `user_id` of `org` named `login` (see
    /// [`Self::login_for`]), without Cognito's own welcome e-mail (our invitation is the
    /// message), and returns how it stands. Idempotent: an existing user of the same contact
    /// (same org and id) is kept; one that belongs to anyone else is a 409.
    pub async fn ensure_user(
        &self,
        org: &OrgId,
        user_id: &UserId,
        login: &str,
    ) -> Result<SignIn, DirectoryError> {
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(login)
            .message_action(MessageActionType::Suppress)
            .user_attributes(attribute("email", login))
            .user_attributes(attribute("email_verified", "true"))
            .user_attributes(attribute(ORG_ID_CLAIM, org.as_str()))
            .user_attributes(attribute(USER_ID_CLAIM, user_id.as_str()))
            .send()
            .await;
        match created {
            Ok(_) => Ok(SignIn::Invited),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_username_exists_exception()) => {
                self.owned_sign_in(org, user_id, login).await?.ok_or_else(|| {
                    DomainError::conflict(
                        ErrorCode::EmailInUse,
                        "another account already signs in with this e-mail address",
                    )
                    .into()
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// How the user `login` stands, if it exists and is the sign-in of contact `user_id`
    /// of `org` (both attributes compared); `None` otherwise.
    pub async fn owned_sign_in(
        &self,
        org: &OrgId,
        user_id: &UserId,
        login: &str,
    ) -> Result<Option<SignIn>, DirectoryError> {
        let out = self.client.admin_get_user().user_pool_id(&self.pool_id).username(login).send().await;
        let user = match out {
            Ok(user) => user,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_user_not_found_exception()) => {
                return Ok(None)
            }
            Err(e) => return Err(unavailable(e)),
        };
        let claim =
            |name: &str| user.user_attributes().iter().find(|a| a.name() == name).and_then(|a| a.value());
        let owned =
            claim(USER_ID_CLAIM) == Some(user_id.as_str()) && claim(ORG_ID_CLAIM) == Some(org.as_str());
        Ok(owned.then(|| sign_in(user.user_status())))
    }

    /// Deletes the user `login` if it is contact `user_id`'s of `org` (an e-mail change: the
    /// old address's sign-in, whoever holds it, ends with its refresh tokens).
    pub async fn delete_owned(
        &self,
        org: &OrgId,
        user_id: &UserId,
        login: &str,
    ) -> Result<(), DirectoryError> {
        if self.owned_sign_in(org, user_id, login).await?.is_none() {
            return Ok(());
        }
        let out = self.client.admin_delete_user().user_pool_id(&self.pool_id).username(login).send().await;
        unless_no_user(out.map(drop))
    }

    /// Sets the user's permanent password (the invitation's last step).
    pub async fn set_password(&self, login: &str, password: &Password) -> Result<(), DirectoryError> {
        let out = self
            .client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(login)
            .password(&password.0)
            .permanent(true)
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_invalid_password_exception()) => {
                Err(Password::weak().into())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Lets the user sign in again, or stops them (archived staff). A contact that was never
    /// invited has no user: nothing to do.
    pub async fn set_enabled(&self, login: &str, enabled: bool) -> Result<(), DirectoryError> {
        if enabled {
            let out =
                self.client.admin_enable_user().user_pool_id(&self.pool_id).username(login).send().await;
            unless_no_user(out.map(drop))
        } else {
            let out =
                self.client.admin_disable_user().user_pool_id(&self.pool_id).username(login).send().await;
            unless_no_user(out.map(drop))
        }
    }
}

/// A call's outcome, where a user that does not exist means there is nothing to do.
fn unless_no_user<E, R>(result: Result<(), SdkError<E, R>>) -> Result<(), DirectoryError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some("UserNotFoundException") => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

/// Only a user still waiting for its first password is "invited"; any other status means
/// someone already signs in with it (or can reset it through Cognito's own flow).
fn sign_in(status: Option<&UserStatusType>) -> SignIn {
    match status {
        Some(UserStatusType::ForceChangePassword) => SignIn::Invited,
        _ => SignIn::Active,
    }
}

/// A password that meets the pool's policy (template.yaml: at least 12 characters with a
/// lower-case letter, an upper-case letter and a digit), checked before Cognito sees it.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    fn weak() -> DomainError {
        DomainError::invalid(
            ErrorCode::WeakPassword,
            format!(
                "the password needs {}–{} characters with a lower-case letter, an upper-case letter and a digit",
                Self::MIN_CHARS,
                Self::MAX_CHARS
            ),
        )
    }

    pub fn parse(raw: String) -> Result<Self, DomainError> {
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
