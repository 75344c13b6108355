//! The `links` Lambda function: `/v1/consent/{token}` and `/v1/unsubscribe/{token}`, used
//! without signing in (the signed token is the credential). It can read a contact's
//! consents and append to their ledger, and nothing else.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    let routes = api::functions::serve(api::functions::links(), state);
    lambda_http::run(routes).await
}
