//! What the command-line tools (`make dev`, `bench`, `load`, `chaos`, `coldstart`,
//! `schema`) share: logging set-up and numbers from the environment.

use std::str::FromStr;

/// Logs to stderr at `RUST_LOG`, or at `default` (`off`, `warn`, `info`…) when it is unset.
pub fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// The variable `name` parsed as a `T`, `default` when unset; a value that does not parse
/// is an error that names the variable (a typo must not silently measure something else).
pub fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("{name}={v:?} is not a valid {}", kind::<T>())),
    }
}

fn kind<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    if name.starts_with('u') || name.starts_with('i') {
        "number"
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_the_environment_default_or_refuse_garbage() {
        std::env::set_var("CLI_TEST_SET", " 42 ");
        std::env::set_var("CLI_TEST_BAD", "4x2");
        assert_eq!(env_or("CLI_TEST_SET", 7u16).unwrap(), 42);
        assert_eq!(env_or("CLI_TEST_UNSET", 7u16).unwrap(), 7);
        let err = env_or("CLI_TEST_BAD", 7usize).unwrap_err().to_string();
        assert!(err.contains("CLI_TEST_BAD") && err.contains("number"), "{err}");
    }
}
