//! End-to-end tests live in `tests/`; see `tests/support` for the harness.
