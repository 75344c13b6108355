//! The `indexer` Lambda function: consumes the search queue (new threads, messages,
//! membership changes) a batch at a time, one index write per org, with partial batch
//! failures. Invoked directly with `{"rebuild": "<org id>"}`, it builds that org's index
//! again from the table.

// The handler's future (a batch's index write, or a rebuild) nests deeper than the
// compiler's default layout limit.
#![recursion_limit = "256"]

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(untagged)]
enum Invocation {
    Rebuild { rebuild: String },
    Queue(SqsEvent),
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = app::App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Invocation>| async move {
        match event.payload {
            Invocation::Queue(batch) => {
                let response =
                    queue::batch::process_together(batch, |events| app::search::index(app, events)).await?;
                Ok::<Value, Error>(serde_json::to_value(response)?)
            }
            Invocation::Rebuild { rebuild } => {
                let org = domain::OrgId::parse(&rebuild)?;
                let indexed = app::search::rebuild(&app.store, &app.search, &org)
                    .await
                    .map_err(|e| Error::from(e.to_string()))?;
                Ok(json!({ "org": rebuild, "indexed": indexed }))
            }
        }
    }))
    .await
}
