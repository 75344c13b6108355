//! The `settings` Lambda function: organization settings (topic routing) and personal ones
//! (notification preferences) behind API Gateway.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    lambda_http::run(api::settings::router(state.clone()).merge(api::me::router(state))).await
}
