//! The `contacts` Lambda function: the organization's contacts behind API Gateway.
//! (Accepting an invitation, the public route, is the `invites` function's.)

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    let routes = api::functions::serve(api::functions::contacts(), state);
    lambda_http::run(routes).await
}
