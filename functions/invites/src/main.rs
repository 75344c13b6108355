//! The `invites` Lambda function: `POST /v1/invites/accept`, the one route without a JWT.
//! It is the only function allowed to set a sign-in password, and it serves nothing else.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    let routes = api::functions::serve(api::functions::invites(), state);
    lambda_http::run(routes).await
}
