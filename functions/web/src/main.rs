//! The `web` Lambda function: the web client's files at `/` (embedded at build time) and
//! `/config.json`, which tells it how to sign in (Cognito's hosted UI of this stack).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = web::ClientConfig::from_env()?;
    lambda_http::run(web::router(web::Files::Embedded(web::embedded()), config)).await
}
