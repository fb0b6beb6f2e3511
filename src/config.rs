//! The one configuration of the service: every setting is an environment variable and a flag
//! of the same meaning (docs/rules.md §6); `.env` is read by `main` before parsing. Settings are
//! grouped by what they configure; each group is parsed into typed values here, once.
use std::net::SocketAddr;
use std::time::Duration;

use chrono::NaiveDate;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::domain::{OwnerLogin, Schedule};

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
    /// GH Archive: import hour files of all public GitHub activity
    Archive {
        #[command(subcommand)]
        command: ArchiveCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum ArchiveCommand {
    /// Import every hour of the days FROM to TO (UTC, inclusive; TO defaults to FROM) in the
    /// foreground with progress, then exit
    Import {
        /// First day, YYYY-MM-DD (2015-01-01 or later)
        from: NaiveDate,
        /// Last day, YYYY-MM-DD
        to: Option<NaiveDate>,
    },
}

/// Where contributions are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// Every commit of the default branch: exact
    Commits,
    /// `/stats/contributors`: cheap, but only the top 100 contributors, week precision
    Stats,
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured only when standard error is a terminal
    Text,
    /// One JSON object per line, for log shippers
    Json,
}

/// Every setting, in groups.
#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten, next_help_heading = "Database")]
    pub database: DatabaseConfig,
    #[command(flatten, next_help_heading = "HTTP")]
    pub http: HttpConfig,
    #[command(flatten, next_help_heading = "GitHub")]
    pub github: GitHubConfig,
    #[command(flatten, next_help_heading = "Jobs")]
    pub jobs: JobsConfig,
    #[command(flatten, next_help_heading = "GH Archive")]
    pub archive: ArchiveConfig,
    #[command(flatten, next_help_heading = "Logs")]
    pub log: LogConfig,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Database: SQLite (embedded default) or `postgres://…`
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub url: String,
}

#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// HTTP listen address
    #[arg(long = "bind-addr", env = "BIND_ADDR", default_value = "127.0.0.1:8080", global = true)]
    pub bind_addr: SocketAddr,

    /// Bearer token for mutations; when unset a random one is generated and logged once at start-up
    #[arg(long = "admin-token", env = "ADMIN_TOKEN", value_parser = parse_secret, hide_env_values = true, global = true)]
    admin_token: Option<SecretString>,

    /// Comma-separated origins (or `*`) allowed to call the API from a browser
    #[arg(long = "cors-allow-origins", env = "CORS_ALLOW_ORIGINS", value_parser = parse_origins, global = true)]
    pub cors_allow_origins: Option<Origins>,
}

impl HttpConfig {
    /// The configured admin token, unless unset or empty.
    pub fn admin_token(&self) -> Option<&SecretString> {
        self.admin_token.as_ref().filter(|s| !s.expose_secret().is_empty())
    }

    /// Cross-origin access: the allowed origins (empty: none).
    pub fn cors_origins(&self) -> &[String] {
        self.cors_allow_origins.as_ref().map(|o| o.0.as_slice()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Args)]
pub struct GitHubConfig {
    /// GitHub REST base URL
    #[arg(long = "github-api-url", env = "GITHUB_API_URL", default_value = "https://api.github.com", value_parser = parse_api_url, global = true)]
    pub api_url: Url,

    /// Token for GitHub (60 requests/hour without, 5,000 with); several, comma-separated, are
    /// used as a pool, each with its own rate limit. Never logged
    #[arg(long = "github-token", env = "GITHUB_TOKEN", value_parser = parse_tokens, hide_env_values = true, global = true)]
    tokens: Option<Tokens>,

    /// Comma-separated accounts (organizations or users) crawled on schedule
    #[arg(long = "github-owners", env = "GITHUB_OWNERS", default_value = "facebook", value_parser = parse_owners, global = true)]
    pub owners: Owners,

    /// Where contributions come from: `commits` (exact) or `stats` (cheap, top 100, week precision)
    #[arg(long = "github-source", env = "GITHUB_SOURCE", value_enum, default_value = "commits", global = true)]
    pub source: Source,

    /// Hours an account's repository list is reused before it is listed again
    #[arg(long = "repo-cache-ttl-hours", env = "REPO_CACHE_TTL_HOURS", default_value_t = 24, global = true)]
    pub repo_cache_ttl_hours: u64,

    /// Delay before retrying a 202 (and base of the backoff of other retries), in milliseconds
    #[arg(long = "github-retry-delay-ms", env = "GITHUB_RETRY_DELAY_MS", default_value_t = 30_000, global = true)]
    pub retry_delay_ms: u64,

    /// Retries of one request before it fails
    #[arg(long = "github-max-retries", env = "GITHUB_MAX_RETRIES", default_value_t = 20, global = true)]
    pub max_retries: u32,

    /// Shortest wait after a secondary rate limit that gives no `retry-after`, in milliseconds
    #[arg(
        long = "github-secondary-limit-wait-ms",
        env = "GITHUB_SECONDARY_LIMIT_WAIT_MS",
        default_value_t = 60_000,
        global = true
    )]
    pub secondary_limit_wait_ms: u64,

    /// Timeout of one GitHub request, in milliseconds
    #[arg(long = "github-timeout-ms", env = "GITHUB_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub timeout_ms: u64,
}

impl GitHubConfig {
    /// The configured tokens (none when unset or empty).
    pub fn tokens(&self) -> &[SecretString] {
        self.tokens.as_ref().map(|t| t.0.as_slice()).unwrap_or_default()
    }

    pub fn retry_delay(&self) -> Duration {
        Duration::from_millis(self.retry_delay_ms)
    }

    pub fn repo_cache_ttl(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::try_from(self.repo_cache_ttl_hours).unwrap_or(i64::MAX / 3_600_000))
    }
}

#[derive(Debug, Clone, Args)]
pub struct JobsConfig {
    /// Cron expression (seconds first, UTC) of the scheduled crawl
    #[arg(long = "crawl-schedule", env = "CRAWL_SCHEDULE", default_value = "0 0 0 * * *", global = true)]
    pub crawl_schedule: Schedule,

    /// Crawl once at start-up when the data is older than the schedule period
    #[arg(long = "crawl-on-start", env = "CRAWL_ON_START", default_value_t = true, action = ArgAction::Set, global = true)]
    pub crawl_on_start: bool,

    /// Repositories crawled at the same time by this process
    #[arg(long = "crawl-concurrency", env = "CRAWL_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256), global = true)]
    pub crawl_concurrency: u16,

    /// Seconds a running job holds its lease without renewing it (renewed every third of it)
    /// before another worker may take the job over
    #[arg(long = "job-lease-secs", env = "JOB_LEASE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..), global = true)]
    pub lease_secs: u64,

    /// Seconds running jobs may take to finish at shutdown before they are put back in the queue
    #[arg(long = "job-shutdown-grace-secs", env = "JOB_SHUTDOWN_GRACE_SECS", default_value_t = 30, global = true)]
    pub shutdown_grace_secs: u64,

    /// How often idle workers look for queued jobs when no notification can reach them, in
    /// milliseconds
    #[arg(long = "job-poll-ms", env = "JOB_POLL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub poll_ms: u64,
}

impl JobsConfig {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }
    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

#[derive(Debug, Clone, Args)]
pub struct ArchiveConfig {
    /// Base URL of the GH Archive hour files; `file:///path` reads a local mirror
    #[arg(id = "archive-url", long = "archive-url", env = "ARCHIVE_URL", default_value = "https://data.gharchive.org", value_parser = parse_archive_url, global = true)]
    pub url: Url,

    /// First day (YYYY-MM-DD) the schedule imports; unset, there is no scheduled import
    #[arg(id = "archive-from", long = "archive-from", env = "ARCHIVE_FROM", value_parser = parse_archive_from, global = true)]
    pub from: Option<NaiveDate>,

    /// Cron expression (seconds first, UTC) of the scheduled import
    #[arg(
        id = "archive-schedule",
        long = "archive-schedule",
        env = "ARCHIVE_SCHEDULE",
        default_value = "0 15 * * * *",
        global = true
    )]
    pub schedule: Schedule,

    /// Hour files imported at the same time by this process (0: one per CPU core)
    #[arg(id = "archive-concurrency", long = "archive-concurrency", env = "ARCHIVE_CONCURRENCY", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=64), global = true)]
    pub concurrency: u16,

    /// Tries of one hour file (a cut connection, a truncated file) before its job fails
    #[arg(id = "archive-tries", long = "archive-tries", env = "ARCHIVE_TRIES", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub tries: u32,

    /// Wait after a failed try of an hour file, in milliseconds (doubling with each)
    #[arg(
        id = "archive-retry-delay-ms",
        long = "archive-retry-delay-ms",
        env = "ARCHIVE_RETRY_DELAY_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub retry_delay_ms: u64,

    /// Timeout of connecting to the archive and of each read, in milliseconds
    #[arg(id = "archive-timeout-ms", long = "archive-timeout-ms", env = "ARCHIVE_TIMEOUT_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub timeout_ms: u64,
}

impl ArchiveConfig {
    /// Hour files imported at once: the setting, or the number of CPU cores.
    pub fn concurrency(&self) -> usize {
        match self.concurrency {
            0 => std::thread::available_parallelism().map(usize::from).unwrap_or(2),
            n => usize::from(n),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct LogConfig {
    /// Log format on standard error: `text` or `json`. The level is set with RUST_LOG (default `info`)
    #[arg(long = "log-format", env = "LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub format: LogFormat,
}

/// Accounts tracked on schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owners(pub Vec<OwnerLogin>);

/// Origins allowed to call the API from a browser (`*` for any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins(pub Vec<String>);

/// The GitHub token pool.
#[derive(Clone)]
pub struct Tokens(pub Vec<SecretString>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{} redacted token(s)]", self.0.len())
    }
}

/// An empty value (`ADMIN_TOKEN=` in `.env`) means unset; see the accessors.
fn parse_secret(value: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(value.trim().to_string()))
}

/// Comma-separated tokens; empty entries are ignored and an empty value is no token. It never
/// fails: clap would echo the value in its error.
fn parse_tokens(value: &str) -> Result<Tokens, String> {
    Ok(Tokens(
        value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| SecretString::from(t.to_string())).collect(),
    ))
}

/// Comma-separated account logins. An empty value is an empty list; a value that names no
/// account (`,,`) is refused rather than silently tracking nobody.
fn parse_owners(value: &str) -> Result<Owners, String> {
    if value.trim().is_empty() {
        return Ok(Owners(Vec::new()));
    }
    let owners: Vec<OwnerLogin> = value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| OwnerLogin::parse(v).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    if owners.is_empty() {
        return Err(format!("`{value}` names no account; leave it empty to track none"));
    }
    Ok(Owners(owners))
}

/// Comma-separated origins or `*`; an empty value is an empty list (no cross-origin access).
fn parse_origins(value: &str) -> Result<Origins, String> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(parse_origin).collect::<Result<_, _>>().map(Origins)
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

fn parse_archive_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        "file" if url.to_file_path().is_ok() => Ok(url),
        _ => Err("must be an http://, https:// or file:///path URL".into()),
    }
}

/// An empty value means unset.
fn parse_archive_from(value: &str) -> Result<NaiveDate, String> {
    let day = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{value}` is not a date YYYY-MM-DD"))?;
    if day < crate::domain::archive::ARCHIVE_START {
        return Err("the archive is read from 2015-01-01 on".into());
    }
    Ok(day)
}

fn parse_api_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("git-collector").chain(args.iter().copied()))
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn tokens_are_redacted() {
        let cli = parse(&["--github-token", "ghp_one, ,ghp_two,"]).unwrap();
        let shown = format!("{:?}", cli.config);
        assert!(!shown.contains("ghp_"), "{shown}");
        assert_eq!(cli.config.github.tokens().len(), 2);
    }

    #[test]
    fn bad_values_are_rejected() {
        for bad in [
            &["--crawl-schedule", "every day"][..],
            &["--github-owners", "bad owner"],
            &["--github-owners", ",,"],
            &["--crawl-concurrency", "0"],
            &["--github-api-url", "ftp://x"],
            &["--log-format", "xml"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let ok = parse(&["--github-owners", "rust-lang, tokio-rs,", "crawl"]).unwrap();
        assert_eq!(ok.config.github.owners.0.len(), 2);
        let empty = parse(&["--github-owners", "", "--github-token", "", "--admin-token", " "]).unwrap();
        assert!(empty.config.github.owners.0.is_empty());
        assert!(empty.config.github.tokens().is_empty());
        assert!(empty.config.http.admin_token().is_none());
    }
}
