//! What can go wrong talking to GitHub, after the retry policy has done what it can.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GitHubError {
    /// A status that cannot succeed on retry (401, 404, 410, 451).
    #[error("GitHub answered {status} for {path}: {message}")]
    Permanent { status: u16, path: String, message: String },
    /// Every retry of one request failed; `last` is the last reason.
    #[error("GitHub request {path} failed after {attempts} attempts: {last}")]
    RetriesExhausted { path: String, attempts: u32, last: String },
    /// The request could not even be built (a bad URL from configuration or a Link header).
    #[error("invalid GitHub request: {0}")]
    Invalid(String),
}

impl GitHubError {
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Permanent { status, .. } => Some(*status),
            _ => None,
        }
    }
}
