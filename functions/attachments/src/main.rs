//! The `attachments` Lambda function: presigned uploads and participant-only downloads.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    let routes = api::functions::serve(api::functions::attachments(), state);
    lambda_http::run(routes).await
}
