//! The `search` Lambda function: `GET /v1/search`, behind API Gateway. Its instance keeps
//! a copy of each org's index it searched in `/tmp`, refreshed when the table names a
//! newer version.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    let routes = api::functions::serve(api::functions::search(), state);
    lambda_http::run(routes).await
}
