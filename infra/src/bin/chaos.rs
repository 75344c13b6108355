//! `make chaos`: the load of `make load` (default 40 s) while the API's way to AWS is cut
//! twice for `CHAOS_OUTAGE_SECS` (default 5): first the whole emulator, then SQS only.
//! Reports what the API answered during each outage and checks that nothing acknowledged
//! was lost or duplicated. Exits non-zero on FAIL.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Quiet unless RUST_LOG asks: the report says what matters (the API logs every 5xx).
    infra::cli::init_tracing("off");
    let passed = infra::load::run(infra::load::Config::from_env(40, true)?).await?;
    std::process::exit(if passed { 0 } else { 1 });
}
