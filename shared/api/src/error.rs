//! The one mapping from errors to HTTP answers: `{"error":{"code","message"}}`.
//! A 5xx reveals nothing; its error chain is logged once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{DomainError, ErrorCode};
use store::StoreError;

use crate::doc::{ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// What a use case refused or failed with.
    #[error(transparent)]
    App(#[from] app::Error),
    /// Malformed request: bad JSON, a bad query parameter or header.
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    #[error("{0}")]
    Unauthorized(&'static str),
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }

    /// The status, the code and the message of the answer.
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        use app::Error as A;
        use DomainError as D;
        match self {
            Self::App(A::Domain(D::Invalid { code, message })) => {
                (StatusCode::UNPROCESSABLE_ENTITY, *code, message.clone())
            }
            Self::App(A::Domain(D::NotFound(what))) => {
                (StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("{what} not found"))
            }
            Self::App(A::Domain(D::Forbidden { code, message })) => {
                (StatusCode::FORBIDDEN, *code, message.clone())
            }
            Self::App(A::Domain(D::Conflict { code, message })) => {
                (StatusCode::CONFLICT, *code, message.clone())
            }
            Self::App(A::Store(StoreError::BadCursor)) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCursor,
                "cursor is not valid for this list".into(),
            ),
            Self::App(A::Store(StoreError::Contention)) => (
                StatusCode::CONFLICT,
                ErrorCode::ConcurrentUpdate,
                "too many simultaneous changes to this thread; retry".into(),
            ),
            Self::App(A::Store(StoreError::Unavailable(_)))
            | Self::App(A::Files(_))
            | Self::App(A::Directory(_))
            | Self::App(A::Mail(_))
            | Self::App(A::Search(_))
            | Self::App(A::Random(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "the service is briefly unavailable; retry shortly".into(),
            ),
            Self::App(A::Store(StoreError::Corrupt(_))) | Self::App(A::Unconfigured(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error".into())
            }
            Self::BadRequest { code, message } => (StatusCode::BAD_REQUEST, *code, message.clone()),
            Self::Unauthorized(message) => {
                (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, (*message).into())
            }
            Self::App(A::RateLimited { kind, retry_after_secs }) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!("too many {}s for now; retry in {retry_after_secs} s", kind.as_str()),
            ),
            Self::App(A::MovedOn { .. }) => (
                StatusCode::CONFLICT,
                ErrorCode::ThreadMovedOn,
                "someone wrote in this thread since the message you saw; read what is new first".into(),
            ),
            Self::App(A::PayloadTooLarge { what, limit_bytes }) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("{what} is larger than {limit_bytes} bytes"),
            ),
        }
    }
}

/// What `?` turns into an answer, through the use cases' error.
macro_rules! through_app_error {
    ($($from:ty),*) => {$(
        impl From<$from> for ApiError {
            fn from(e: $from) -> Self {
                Self::App(e.into())
            }
        }
    )*};
}
through_app_error!(DomainError, StoreError, files::FilesError, directory::DirectoryError);

/// Renders the error body; also used for errors raised outside handlers (the gateway).
pub fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    answer(status, code, message, None)
}

fn answer(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
    newer: Option<Vec<store::MessageRecord>>,
) -> Response {
    let body = ErrorBody { error: ErrorDetail { code: code.as_str(), message: message.to_owned(), newer } };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use app::Error as A;
        let (status, code, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = ?anyhow_chain(&self), "request failed");
        }
        let newer = match &self {
            Self::App(A::MovedOn { newer }) => Some(newer.clone()),
            _ => None,
        };
        let mut response = answer(status, code, &message, newer);
        if let Self::App(A::RateLimited { retry_after_secs, .. }) = &self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after_secs));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was not read: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        }
        response
    }
}

fn anyhow_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
