//! The local stack: starts the AWS emulator, creates what template.yaml declares, seeds the
//! demo data and serves every router behind a dev gateway that verifies HS256 tokens the
//! way API Gateway's JWT authorizer verifies Cognito's. Used by `make dev` and the tests.

pub mod audit_bench;
pub mod campaign_crash;
pub mod cli;
pub mod coldstart;
pub mod cost;
pub mod cpu;
pub mod emulator;
pub mod gateway;
pub mod load;
pub mod local_web;
pub mod local_workers;
pub mod meter;
pub mod portfolio;
pub mod provision;
pub mod proxy;
pub mod section;
pub mod seed;
pub mod sink;
pub mod stack;
pub mod targets;
pub mod token;
pub mod triage_bench;
pub mod webhook_bench;
pub mod webhook_sink;

pub use stack::{Stack, StackOptions};

/// The repository's template.yaml (the single source of truth for resources and routes).
pub fn template_path() -> std::path::PathBuf {
    std::env::var_os("TEMPLATE_PATH")
        .map(Into::into)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
}
