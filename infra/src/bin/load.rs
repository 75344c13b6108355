//! `make load`: concurrent residents and staff against the local stack for `LOAD_SECS`
//! (default 30) with `LOAD_CONCURRENCY` users (default 16); then checks that every
//! acknowledged message is stored exactly once, in order, and notified exactly once.
//! Exits non-zero on FAIL.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Quiet unless RUST_LOG asks: the report says what matters (the API logs every 5xx).
    infra::cli::init_tracing("off");
    let passed = infra::load::run(infra::load::Config::from_env(30, false)?).await?;
    std::process::exit(if passed { 0 } else { 1 });
}
