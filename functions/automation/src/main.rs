//! The `automation` Lambda function: consumes the automation queue (new threads and
//! messages) with partial batch failures; answers residents outside business hours.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    queue::consumer::serve_each(app::App::from_env(), app::automation::handle).await
}
