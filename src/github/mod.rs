//! HTTP to GitHub only: the client and its typed endpoints, DTOs, the token pool, the retry
//! policy, errors. No database.
mod client;
pub mod dto;
mod endpoint;
mod error;
mod link;
mod retry;
mod tokens;

pub use client::{Fetched, GitHub, GitHubSettings, RequestCounters, Validator};
pub use endpoint::PER_PAGE;
pub use error::{GitHubError, RetryReason};
pub use tokens::TokenId;
