//! Who is calling. API Gateway's JWT authorizer (or the local dev gateway, which builds the
//! same request context) has verified the token; we read its claims and load the user's
//! record, so role, scope and account state are always current. [`Actor`] may act on the
//! organization's data; [`Myself`] may only read their own profile (a locked staff member).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use domain::{policy, DomainError, ErrorCode, OrgId, User, UserId};
use lambda_http::request::RequestContext;

use crate::{ApiError, AppState};
use directory::{ORG_ID_CLAIM, USER_ID_CLAIM};

/// The authenticated caller, as stored.
#[derive(Debug, Clone)]
pub struct Actor(pub User);

impl std::ops::Deref for Actor {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0
    }
}

/// A request context carrying verified JWT claims, as API Gateway's HTTP API builds it.
pub fn claims_context(claims: HashMap<String, String>) -> RequestContext {
    let ctx = serde_json::json!({
        "http": { "method": "GET" },
        "authorizer": { "jwt": { "claims": claims, "scopes": null } },
    });
    // The shape is fixed by aws_lambda_events; a failure here is a programming error.
    RequestContext::ApiGatewayV2(serde_json::from_value(ctx).expect("valid request context"))
}

fn claims(parts: &Parts) -> Option<&HashMap<String, String>> {
    match parts.extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => Some(&ctx.authorizer.as_ref()?.jwt.as_ref()?.claims),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// A caller who may be refused everything but their own profile: archived staff never get
/// here, locked staff do (check [`policy::ensure_can_act`] before showing anything else).
#[derive(Debug, Clone)]
pub struct Myself(pub User);

impl FromRequestParts<AppState> for Myself {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = caller(parts, state).await?;
        policy::ensure_can_sign_in(&user)?;
        Ok(Self(user))
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = caller(parts, state).await?;
        policy::ensure_can_act(&user)?;
        Ok(Self(user))
    }
}

async fn caller(parts: &Parts, state: &AppState) -> Result<User, ApiError> {
    let claims = claims(parts).ok_or(ApiError::Unauthorized("missing or invalid token"))?;
    // Cognito users made by an invitation carry our id as `custom:user_id` (their
    // `sub` is Cognito's own); other tokens name the user in `sub`.
    let user_id =
        claims.get(USER_ID_CLAIM).or_else(|| claims.get("sub")).and_then(|s| UserId::parse(s.as_str()).ok());
    let org_id = claims.get(ORG_ID_CLAIM).and_then(|s| OrgId::parse(s.as_str()).ok());
    let (Some(user_id), Some(org_id)) = (user_id, org_id) else {
        return Err(ApiError::Unauthorized("token lacks a user id (custom:user_id or sub) or custom:org_id"));
    };
    let user = state.store.get_user(&org_id, &user_id).await?.ok_or_else(|| {
        DomainError::forbidden(ErrorCode::UnknownUser, "this account is not set up in the organization")
    })?;
    // A Cognito token names the address it was issued for: once the contact's e-mail
    // changed, a sign-in made for the old one no longer opens the account.
    if let Some(claimed) = claims.get("email") {
        let current = user.email.as_deref().map(directory::Directory::login_for);
        if current != Some(directory::Directory::login_for(claimed)) {
            return Err(ApiError::Unauthorized("this sign-in is for an address the account no longer has"));
        }
    }
    Ok(user)
}
