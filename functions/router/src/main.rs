//! The `router` Lambda function: consumes the routing queue with partial batch failures.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    queue::consumer::serve_each(app::App::from_env(), app::router::handle).await
}
