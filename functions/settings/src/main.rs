//! The `settings` Lambda function: organization settings (routing, retention, notification
//! defaults, categories), personal ones (notification preferences, signature, consents),
//! saved replies and campaigns, behind API Gateway.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    let routes = api::functions::serve(api::functions::settings(), state);
    lambda_http::run(routes).await
}
