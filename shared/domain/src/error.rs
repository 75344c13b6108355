//! The one error type of the domain. Each variant maps to exactly one HTTP status in the api crate.

/// What went wrong, in terms a caller can act on. `code` values are stable snake_case strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Well-formed input with a value the rules refuse (HTTP 422).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Absent, or not visible to the caller: the two are indistinguishable on purpose (HTTP 404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but may not do this (HTTP 403).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// The object's current state does not allow it (HTTP 409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
}

impl DomainError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { code, message: message.into() }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden { code, message: message.into() }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }
}
