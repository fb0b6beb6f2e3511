//! HTTP to GitHub only: the client, its DTOs, the retry policy, errors. No database.
mod client;
pub mod dto;
mod error;
mod link;

pub use client::{Fetched, GitHub, GitHubSettings, RequestCounters};
pub use error::GitHubError;
