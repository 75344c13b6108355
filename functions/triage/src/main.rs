//! The `triage` Lambda function: consumes the triage queue (new threads and messages) with
//! partial batch failures; classifies residents' messages, escalates emergencies, asks the
//! one missing detail.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    queue::consumer::serve_each(app::App::from_env(), app::triage::handle).await
}
