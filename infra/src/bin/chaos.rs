//! `make chaos`: the load of `make load` (default 40 s) while the API's way to AWS is cut
//! twice for `CHAOS_OUTAGE_SECS` (default 5): first the whole emulator, then SQS only.
//! Reports what the API answered during each outage and checks that nothing acknowledged
//! was lost or duplicated. Then a consent-request campaign to `CHAOS_CAMPAIGN_RECIPIENTS`
//! (default 10,000) residents whose runs are killed at random points: nobody e-mailed twice,
//! everyone met once. Exits non-zero on FAIL.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Quiet unless RUST_LOG asks: the report says what matters (the API logs every 5xx).
    infra::cli::init_tracing("off");
    let passed = infra::load::run(infra::load::Config::from_env(40, true)?).await?;
    let recipients = infra::cli::env_or("CHAOS_CAMPAIGN_RECIPIENTS", 10_000usize)?;
    let opts = infra::stack::StackOptions { seed: false, workers: false, ..Default::default() };
    let stack = infra::stack::Stack::start(opts).await?;
    let rate = infra::stack::LOCAL_CAMPAIGN_RATE;
    let report = infra::campaign_crash::run(&stack.app, &stack.emulator.endpoint, recipients, rate).await?;
    let verdict = if report.passed() { "PASS" } else { "FAIL" };
    println!("campaign killed mid-run: {verdict}: {}", report.summary());
    std::process::exit(if passed && report.passed() { 0 } else { 1 });
}
