//! The one error type of the API: each maps to an `extensions.code`, and internal errors are
//! logged here and answered without internals.
use async_graphql::ErrorExtensions;

use crate::store::StoreError;

/// The code of an answer that failed because the database cannot be reached.
pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";

/// Deliberately not `Display`: conversion to a GraphQL error must go through `From` below.
#[derive(Debug, Clone)]
pub enum ApiError {
    BadUserInput(String),
    NotFound(String),
    Unauthenticated(String),
    /// The database is not answering; the client may retry later.
    Unavailable,
    Internal,
}

impl ApiError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            tracing::warn!(error = %err, "the database is unavailable");
            return ApiError::Unavailable;
        }
        tracing::error!(error = %err, "database error while answering a request");
        ApiError::Internal
    }
}

impl From<crate::domain::NameError> for ApiError {
    fn from(err: crate::domain::NameError) -> Self {
        ApiError::BadUserInput(err.to_string())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let (message, code) = match err {
            ApiError::BadUserInput(m) => (m, "BAD_USER_INPUT"),
            ApiError::NotFound(m) => (m, "NOT_FOUND"),
            ApiError::Unauthenticated(m) => (m, "UNAUTHENTICATED"),
            ApiError::Unavailable => ("the database is unavailable; try again later".to_string(), SERVICE_UNAVAILABLE),
            ApiError::Internal => ("internal error".to_string(), "INTERNAL_SERVER_ERROR"),
        };
        async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
