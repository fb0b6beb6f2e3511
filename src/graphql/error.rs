//! The one error type of the API: each maps to an `extensions.code`, and internal errors are
//! logged here and answered without internals.
use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

/// Deliberately not `Display`: conversion to a GraphQL error must go through `From` below.
#[derive(Debug, Clone)]
pub enum ApiError {
    BadUserInput(String),
    NotFound(String),
    Unauthenticated(String),
    Internal,
}

impl ApiError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
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
            ApiError::Internal => ("internal error".to_string(), "INTERNAL_SERVER_ERROR"),
        };
        async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
