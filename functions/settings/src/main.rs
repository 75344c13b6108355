//! The `settings` Lambda function: organization settings (routing, retention, notification
//! defaults), personal ones (notification preferences, signature) and saved replies, behind
//! API Gateway.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    let routes = api::settings::router(state.clone())
        .merge(api::me::router(state.clone()))
        .merge(api::templates::router(state.clone()))
        .merge(api::categories::router(state));
    lambda_http::run(routes).await
}
