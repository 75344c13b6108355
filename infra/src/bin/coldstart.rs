//! `make coldstart`: the cold start of every Lambda binary under a local Lambda Runtime API,
//! against a local stack of its own. `COLDSTART_N` starts per function (default 20).

use infra::{coldstart, Stack, StackOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let starts: usize = infra::cli::env_or("COLDSTART_N", 20)?;
    // Without the in-process consumers and schedules: only the measured function uses the
    // emulator.
    let stack = Stack::start(StackOptions { workers: false, ..StackOptions::default() }).await?;
    let rows = coldstart::measure(&stack, starts).await?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    // Other work on the machine shows in the maxima; the load average says how much there was.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    println!(
        "# Cold starts\n\n{} — {cores} cores, load average {load} at the end; {starts} starts per \
         function, release host binaries, local Lambda Runtime API, moto on loopback.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!("{}", coldstart::markdown(&rows));
    Ok(())
}
