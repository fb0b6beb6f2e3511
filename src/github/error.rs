//! What can go wrong talking to GitHub, after the retry policy has done what it can.

/// Why one attempt of a request is tried again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryReason {
    #[error("HTTP {0}")]
    Status(u16),
    #[error("HTTP {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("202 Accepted: GitHub is computing the data")]
    Accepted,
    #[error("request failed: {0}")]
    Transport(String),
    #[error("the body is not the expected JSON: {0}")]
    Body(String),
    #[error("rate limited more times than retries allow")]
    RateLimited,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum GitHubError {
    /// A status that cannot succeed on retry (401, 404, 410, 451).
    #[error("GitHub answered {status} for {path}: {message}")]
    Permanent { status: u16, path: String, message: String },
    /// Every retry of one request failed; `last` is the last reason.
    #[error("GitHub request {path} failed after {attempts} attempts: {last}")]
    RetriesExhausted { path: String, attempts: u32, last: RetryReason },
    /// GitHub answered 401 for every configured token.
    #[error("GitHub refused every configured token (401) for {path}")]
    NoUsableToken { path: String },
    /// An answer without the content the endpoint always has (a 204 or 304 where none can be).
    #[error("GitHub answered no content for {path}")]
    NoContent { path: String },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl GitHubError {
    /// The HTTP status of a permanent failure.
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Permanent { status, .. } => Some(*status),
            GitHubError::NoUsableToken { .. } => Some(401),
            _ => None,
        }
    }

    /// GitHub says the repository does not exist (any more): 404 or 410.
    pub fn is_gone(&self) -> bool {
        matches!(self.status(), Some(404 | 410))
    }
}
