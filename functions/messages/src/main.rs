//! The `messages` Lambda function: the messages routes of the HTTP API behind API Gateway.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::init_tracing();
    let state = api::AppState::from_env().await?;
    lambda_http::run(api::messages::router(state)).await
}
