//! `make dev`: the whole system on this machine, until Ctrl-C.

use infra::{Stack, StackOptions};

fn env_port(name: &str, default: u16) -> anyhow::Result<u16> {
    std::env::var(name)
        .map_or(Ok(default), |v| v.parse().map_err(|_| anyhow::anyhow!("{name} must be a port number")))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let stack = Stack::start(StackOptions {
        port: env_port("PORT", 3000)?,
        emulator_port: env_port("EMULATOR_PORT", 4566)?,
        ..StackOptions::default()
    })
    .await?;
    println!(
        "\nResident messaging is running.\n  API:      {url}  (GET {url}/health, {url}/openapi.json)\n  Emulator: {emu}\n\n\
         Get a token:  make token USER=resident-1   (also admin-1, bookkeeper-1, maint-1, security-1, resident-2, admin-b, resident-b)\n\
         Try it:\n  TOKEN=$(make -s token USER=resident-1)\n  curl -s -X POST {url}/v1/threads -H \"Authorization: Bearer $TOKEN\" \\\n    \
         -H 'content-type: application/json' -d '{{\"topic\":\"maintenance\",\"subject\":\"Leak\",\"body\":\"Water under the sink\"}}'\n\n\
         Ctrl-C stops everything.",
        url = stack.url,
        emu = stack.emulator.endpoint,
    );
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    drop(stack);
    Ok(())
}
