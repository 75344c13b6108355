//! `make search-rebuild ORG=demo`: builds an org's search index again from the table of
//! the running local stack (`make dev`), as the indexer function does in AWS when invoked
//! with `{"rebuild": "<org>"}`.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let org = std::env::args().nth(1).unwrap_or_else(|| "demo".to_owned());
    let org = domain::OrgId::parse(&org).map_err(|e| anyhow::anyhow!("{e}"))?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".to_owned());
    let sdk = infra::stack::sdk_config(&endpoint).await;
    let store = store::Store::new(aws_sdk_dynamodb::Client::new(&sdk), "AppTable");
    let s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let dir = std::env::temp_dir().join(format!("search-rebuild-{}", std::process::id()));
    let engine = search::Engine::new(s3, infra::stack::SEARCH_BUCKET.to_lowercase(), &dir);
    let indexed = app::search::rebuild(&store, &engine, &org)
        .await
        .with_context(|| format!("rebuilding the index of {org} (is `make dev` running?)"))?;
    println!("{org}: {indexed} messages indexed");
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
