//! `make dev`: the whole system on this machine, until Ctrl-C.

use infra::cli::{env_or, init_tracing};
use infra::{Stack, StackOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing("info");
    let stack = Stack::start(StackOptions {
        port: env_or("PORT", 3000)?,
        emulator_port: env_or("EMULATOR_PORT", 4566)?,
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
