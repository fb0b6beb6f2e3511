//! The one configuration of the service: every setting is an environment variable and a flag
//! of the same meaning (contract §2); `.env` is read by `main` before parsing.
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use url::Url;

use crate::domain::OwnerLogin;

/// Default database: an SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://git-collector.db?mode=rwc";

#[derive(Debug, Parser)]
#[command(
    name = "git-collector",
    version,
    about = "Counts first-time contributors of GitHub repositories, month by month, and serves them over GraphQL.",
    long_about = "Counts first-time contributors of GitHub repositories, month by month, and serves \
them over GraphQL.\n\nWith no verb, `git-collector` is `git-collector serve`. Every option is also \
an environment variable (shown in brackets); a `.env` file in the working directory is read if present."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Migrate the database, start the scheduler and serve HTTP (the default verb)
    Serve,
    /// Crawl once in the foreground with progress, then exit; with no target, crawl GITHUB_OWNERS
    /// and the repositories added with refreshRepo
    Crawl {
        /// Accounts (`OWNER`) or repositories (`OWNER/REPO`) to crawl
        #[arg(value_name = "OWNER | OWNER/REPO")]
        targets: Vec<String>,
    },
    /// Apply the database migrations and exit
    Migrate,
    /// Print the GraphQL schema (SDL) and exit
    Schema,
}

/// Where contributions are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// Every commit of the default branch: exact
    Commits,
    /// `/stats/contributors`: cheap, but only the top 100 contributors, week precision
    Stats,
}

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// An empty value (`GITHUB_TOKEN=` in `.env`) means unset; see the accessors on `Config`.
fn parse_secret(value: &str) -> Result<Secret, String> {
    Ok(Secret::new(value.trim()))
}

/// Comma-separated account logins; an empty value is an empty list.
fn parse_owners(value: &str) -> Result<Vec<OwnerLogin>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| OwnerLogin::parse(v).map_err(|e| e.to_string()))
        .collect()
}

/// Comma-separated origins or `*`; an empty value is an empty list (no cross-origin access).
fn parse_origins(value: &str) -> Result<Vec<String>, String> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(parse_origin).collect()
}

fn parse_api_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".into());
    }
    Ok(url)
}

fn parse_schedule(value: &str) -> Result<String, String> {
    crate::jobs::schedule::parse_cron(value).map(|_| value.trim().to_string()).map_err(|e| e.to_string())
}

fn parse_origin(value: &str) -> Result<String, String> {
    if value == "*" {
        return Ok(value.to_string());
    }
    let url = Url::parse(value).map_err(|e| format!("`{value}` is not an origin: {e}"))?;
    match url.origin() {
        url::Origin::Tuple(..) => Ok(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => Err(format!("`{value}` is not an origin")),
    }
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database: SQLite (embedded default) or `postgres://…`
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub database_url: String,

    /// HTTP listen address
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080", global = true)]
    pub bind_addr: SocketAddr,

    /// GitHub REST base URL
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com", value_parser = parse_api_url, global = true)]
    pub github_api_url: Url,

    /// Token for GitHub (60 requests/hour without, 5,000 with); never logged
    #[arg(long, env = "GITHUB_TOKEN", value_parser = parse_secret, hide_env_values = true, global = true)]
    pub github_token: Option<Secret>,

    /// Comma-separated accounts (organizations or users) crawled on schedule
    #[arg(long, env = "GITHUB_OWNERS", default_value = "facebook", value_parser = parse_owners, global = true)]
    pub github_owners: std::vec::Vec<OwnerLogin>,

    /// Where contributions come from: `commits` (exact) or `stats` (cheap, top 100, week precision)
    #[arg(long, env = "GITHUB_SOURCE", value_enum, default_value = "commits", global = true)]
    pub github_source: Source,

    /// Hours an account's repository list is reused before it is listed again
    #[arg(long, env = "REPO_CACHE_TTL_HOURS", default_value_t = 24, global = true)]
    pub repo_cache_ttl_hours: u64,

    /// Cron expression (seconds first, UTC) of the scheduled crawl
    #[arg(long, env = "CRAWL_SCHEDULE", default_value = "0 0 0 * * *", value_parser = parse_schedule, global = true)]
    pub crawl_schedule: String,

    /// Crawl once at start-up when the data is older than the schedule period
    #[arg(long, env = "CRAWL_ON_START", default_value_t = true, action = ArgAction::Set, global = true)]
    pub crawl_on_start: bool,

    /// Repositories crawled at the same time
    #[arg(long, env = "CRAWL_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256), global = true)]
    pub crawl_concurrency: u16,

    /// Delay before retrying a 202 (and base of the backoff of other retries), in milliseconds
    #[arg(long, env = "GITHUB_RETRY_DELAY_MS", default_value_t = 30_000, global = true)]
    pub github_retry_delay_ms: u64,

    /// Retries of one request before it fails
    #[arg(long, env = "GITHUB_MAX_RETRIES", default_value_t = 20, global = true)]
    pub github_max_retries: u32,

    /// Shortest wait after a secondary rate limit that gives no `retry-after`, in milliseconds
    #[arg(long, env = "GITHUB_SECONDARY_LIMIT_WAIT_MS", default_value_t = 60_000, global = true)]
    pub github_secondary_limit_wait_ms: u64,

    /// Timeout of one GitHub request, in milliseconds
    #[arg(long, env = "GITHUB_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub github_timeout_ms: u64,

    /// Bearer token for mutations; when unset a random one is generated and logged once at start-up
    #[arg(long, env = "ADMIN_TOKEN", value_parser = parse_secret, hide_env_values = true, global = true)]
    pub admin_token: Option<Secret>,

    /// Comma-separated origins (or `*`) allowed to call the API from a browser
    #[arg(long, env = "CORS_ALLOW_ORIGINS", value_parser = parse_origins, global = true)]
    pub cors_allow_origins: Option<std::vec::Vec<String>>,

    /// Seconds a running refresh job holds its lease without renewing it before another worker may take it over
    #[arg(long, env = "JOB_LEASE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..), global = true)]
    pub job_lease_secs: u64,

    /// Seconds running jobs may take to finish at shutdown before they are put back in the queue
    #[arg(long, env = "JOB_SHUTDOWN_GRACE_SECS", default_value_t = 30, global = true)]
    pub job_shutdown_grace_secs: u64,

    /// How often idle workers look for queued jobs, in milliseconds
    #[arg(long, env = "JOB_POLL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub job_poll_ms: u64,
}

impl Config {
    /// The GitHub token, unless unset or empty.
    pub fn github_token(&self) -> Option<&Secret> {
        self.github_token.as_ref().filter(|s| !s.expose().is_empty())
    }

    /// The configured admin token, unless unset or empty.
    pub fn admin_token(&self) -> Option<&Secret> {
        self.admin_token.as_ref().filter(|s| !s.expose().is_empty())
    }

    pub fn github_retry_delay(&self) -> Duration {
        Duration::from_millis(self.github_retry_delay_ms)
    }

    pub fn repo_cache_ttl(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::try_from(self.repo_cache_ttl_hours).unwrap_or(i64::MAX / 3_600_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn secrets_are_redacted() {
        let secret = Secret::new("ghp_supersecret");
        assert_eq!(format!("{secret:?} {secret}"), "[redacted] [redacted]");
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(Cli::try_parse_from(["git-collector", "--crawl-schedule", "every day"]).is_err());
        assert!(Cli::try_parse_from(["git-collector", "--github-owners", "bad owner"]).is_err());
        assert!(Cli::try_parse_from(["git-collector", "--crawl-concurrency", "0"]).is_err());
        assert!(Cli::try_parse_from(["git-collector", "--github-api-url", "ftp://x"]).is_err());
        let ok = Cli::try_parse_from(["git-collector", "--github-owners", "rust-lang,tokio-rs", "crawl"]).unwrap();
        assert_eq!(ok.config.github_owners.len(), 2);
        let empty = Cli::try_parse_from(["git-collector", "--github-owners", "", "--github-token", ""]).unwrap();
        assert!(empty.config.github_owners.is_empty());
        assert!(empty.config.github_token().is_none());
    }
}
