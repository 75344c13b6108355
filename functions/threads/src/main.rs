//! The `threads` Lambda function: the threads routes of the HTTP API behind API Gateway.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    let routes = api::functions::serve(api::functions::threads(), state);
    lambda_http::run(routes).await
}
