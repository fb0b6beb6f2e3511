//! The GitHub REST client: typed endpoints, conditional requests, pagination by page number,
//! the token pool, and the retry policy of docs/rules.md §3 (`retry.rs`).
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, IF_NONE_MATCH, USER_AGENT};
use serde::de::DeserializeOwned;
use url::Url;

use super::dto;
use super::endpoint::Endpoint;
use super::error::{GitHubError, RetryReason};
use super::retry::{self, Budget, Step, Timing};
use super::tokens::{Acquired, TokenId, TokenPool};
use crate::config::GitHubConfig;
use crate::domain::{AccountKind, OwnerLogin, RepoRef};
use crate::metrics::Metrics;

/// Longest error body read for its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct GitHubSettings {
    pub api_url: Url,
    pub tokens: Vec<secrecy::SecretString>,
    pub timing: Timing,
    pub timeout: Duration,
}

impl GitHubSettings {
    pub fn from_config(config: &GitHubConfig) -> Self {
        Self {
            api_url: config.api_url.clone(),
            tokens: config.tokens().to_vec(),
            timing: Timing {
                retry_delay: config.retry_delay(),
                max_retries: config.max_retries,
                secondary_min_wait: Duration::from_millis(config.secondary_limit_wait_ms),
            },
            timeout: Duration::from_millis(config.timeout_ms),
        }
    }
}

/// What one refresh's requests did, for its progress and summary; optionally counting into a
/// parent's counters too.
#[derive(Debug, Default)]
pub struct RequestCounters {
    /// HTTP requests sent, retries included.
    requests: AtomicU64,
    not_modified: AtomicU64,
    rate_limit_waits: AtomicU64,
    retries: AtomicU64,
    parent: Option<Arc<RequestCounters>>,
}

impl RequestCounters {
    pub fn counting_into(parent: &Arc<RequestCounters>) -> Self {
        Self { parent: Some(parent.clone()), ..Self::default() }
    }
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn not_modified(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }
    pub fn rate_limit_waits(&self) -> u64 {
        self.rate_limit_waits.load(Ordering::Relaxed)
    }
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
    fn bump(&self, pick: fn(&RequestCounters) -> &AtomicU64) {
        pick(self).fetch_add(1, Ordering::Relaxed);
        if let Some(parent) = &self.parent {
            parent.bump(pick);
        }
    }
}

/// An ETag and the token that received it (GitHub's ETags vary with the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    pub token: TokenId,
    pub etag: String,
}

impl Validator {
    /// The stored form, `token:etag`.
    pub fn to_stored(&self) -> String {
        format!("{}:{}", self.token.as_str(), self.etag)
    }

    pub fn from_stored(value: &str) -> Option<Self> {
        let (token, etag) = value.split_once(':')?;
        Some(Self { token: TokenId::parse(token)?, etag: etag.to_string() })
    }
}

/// The outcome of one successful GET (after retries).
#[derive(Debug)]
pub enum Fetched<T> {
    Ok {
        body: T,
        validator: Option<Validator>,
        /// Another page follows (`Link: rel="next"`).
        has_next: bool,
    },
    /// 304: unchanged since the validator that was sent.
    NotModified,
    /// 204 (no statistics yet) or 409 (an empty repository), where they mean that.
    Empty,
}

struct Shared {
    http: reqwest::Client,
    settings: GitHubSettings,
    tokens: TokenPool,
    metrics: Arc<Metrics>,
}

/// A handle on the client; clones share the HTTP connections and the token pool.
#[derive(Clone)]
pub struct GitHub {
    shared: Arc<Shared>,
    counters: Arc<RequestCounters>,
}

impl GitHub {
    pub fn new(settings: GitHubSettings, metrics: Arc<Metrics>) -> Result<Self, GitHubError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| GitHubError::Client(e.to_string()))?;
        let tokens = TokenPool::new(&settings.tokens, metrics.clone());
        Ok(Self {
            shared: Arc::new(Shared { http, settings, tokens, metrics }),
            counters: Arc::new(RequestCounters::default()),
        })
    }

    /// The same client (same connections and tokens) counting into `counters`.
    pub fn with_counters(&self, counters: Arc<RequestCounters>) -> Self {
        Self { shared: self.shared.clone(), counters }
    }

    /// One page of an account's repositories.
    pub async fn account_repos(
        &self,
        kind: AccountKind,
        owner: &OwnerLogin,
        page: u32,
        validator: Option<&Validator>,
    ) -> Result<Fetched<Vec<dto::Repo>>, GitHubError> {
        self.get(Endpoint::AccountRepos { kind, owner, page }, validator).await
    }

    /// The repository's description (following renames and transfers).
    pub async fn repository(&self, repo: &RepoRef) -> Result<dto::Repo, GitHubError> {
        let endpoint = Endpoint::Repository(repo);
        match self.get(endpoint, None).await? {
            Fetched::Ok { body, .. } => Ok(body),
            Fetched::NotModified | Fetched::Empty => Err(no_content(&endpoint, &self.shared.settings.api_url)),
        }
    }

    /// One page of the history reachable from `sha` (a branch, or a commit to pin pages to).
    pub async fn commits(
        &self,
        repo: &RepoRef,
        sha: Option<&str>,
        page: u32,
        validator: Option<&Validator>,
    ) -> Result<Fetched<Vec<dto::Commit>>, GitHubError> {
        self.get(Endpoint::Commits { repo, sha, page }, validator).await
    }

    /// One page of the commits reachable from `head` and not from `base`.
    pub async fn compare(
        &self,
        repo: &RepoRef,
        base: &str,
        head: &str,
        page: u32,
    ) -> Result<(dto::Comparison, bool), GitHubError> {
        let endpoint = Endpoint::Compare { repo, base, head, page };
        match self.get(endpoint, None).await? {
            Fetched::Ok { body, has_next, .. } => Ok((body, has_next)),
            Fetched::NotModified | Fetched::Empty => Err(no_content(&endpoint, &self.shared.settings.api_url)),
        }
    }

    /// The contributor statistics (at most the top 100 contributors, weekly).
    pub async fn contributor_stats(
        &self,
        repo: &RepoRef,
        validator: Option<&Validator>,
    ) -> Result<Fetched<Vec<dto::ContributorStats>>, GitHubError> {
        self.get(Endpoint::ContributorStats(repo), validator).await
    }

    /// GET an endpoint and parse its JSON body, retrying per the policy. With a validator whose
    /// token is usable, sends `If-None-Match` and returns `NotModified` on 304.
    async fn get<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint<'_>,
        validator: Option<&Validator>,
    ) -> Result<Fetched<T>, GitHubError> {
        let settings = &self.shared.settings;
        let url = endpoint.url(&settings.api_url);
        let path = display_path(&url);
        let mut budget = Budget::new(settings.timing.max_retries);
        loop {
            let lease = match self.shared.tokens.acquire(validator.map(|v| &v.token)) {
                Acquired::Ready(lease) => lease,
                Acquired::AllResting(until) => {
                    tokio::time::sleep_until(until).await;
                    continue;
                }
                Acquired::NoneLeft => return Err(GitHubError::NoUsableToken { path }),
            };
            // An ETag is only good with the token that received it.
            let condition = validator.filter(|v| &v.token == lease.id());
            let mut request = self
                .shared
                .http
                .get(url.clone())
                .header(ACCEPT, "application/vnd.github+json")
                .header(USER_AGENT, concat!("git-collector/", env!("CARGO_PKG_VERSION")))
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(authorization) = lease.authorization() {
                request = request.header(AUTHORIZATION, authorization);
            }
            if let Some(v) = condition {
                request = request.header(IF_NONE_MATCH, v.etag.as_str());
            }
            self.counters.bump(|c| &c.requests);
            let response = match request.send().await {
                Ok(response) => response,
                Err(err) => {
                    self.shared.metrics.github_answer(None);
                    let reason = RetryReason::Transport(transport_error(err));
                    self.retry_after_failure(&path, &mut budget, reason, None).await?;
                    continue;
                }
            };
            let status = response.status();
            self.shared.metrics.github_answer(Some(status.as_u16()));
            let headers = response.headers().clone();
            self.shared.tokens.observe(&lease, retry::remaining(&headers));
            // Error bodies are read for GitHub's message; a 200's body is read below.
            let (message, response) = if status.is_client_error() {
                (Some(error_message(response).await), None)
            } else {
                (None, Some(response))
            };
            let step = classify_response(&endpoint, status, &headers, message.as_deref(), condition, settings, &budget);
            let response_body = match step {
                Step::Body { etag, has_next } => {
                    // This answer got through on the token's last request: rest it until reset.
                    if retry::remaining(&headers) == Some(0) {
                        self.rest(&lease, retry::reset_wait(&headers, &settings.timing));
                    }
                    let validator = etag.map(|etag| Validator { token: lease.id().clone(), etag });
                    Some((validator, has_next))
                }
                Step::NotModified => {
                    self.counters.bump(|c| &c.not_modified);
                    self.shared.metrics.github_not_modified.inc();
                    return Ok(Fetched::NotModified);
                }
                Step::Empty => return Ok(Fetched::Empty),
                Step::Permanent { status } => {
                    let message = message.unwrap_or_default();
                    return Err(GitHubError::Permanent { status, path, message });
                }
                Step::Unauthorized => {
                    if lease.is_anonymous() {
                        let message = message.unwrap_or_default();
                        return Err(GitHubError::Permanent { status: 401, path, message });
                    }
                    self.shared.tokens.revoke(&lease);
                    continue;
                }
                Step::Rest { wait, secondary } => {
                    if secondary {
                        budget.secondary_hits += 1;
                    }
                    budget.rest(&path)?;
                    self.rest(&lease, wait);
                    continue;
                }
                Step::Retry { reason, wait } => {
                    self.retry_after_failure(&path, &mut budget, reason, wait).await?;
                    continue;
                }
            };
            let (Some((validator, has_next)), Some(response)) = (response_body, response) else { continue };
            match response.bytes().await {
                Ok(bytes) => match serde_json::from_slice::<T>(&bytes) {
                    Ok(body) => return Ok(Fetched::Ok { body, validator, has_next }),
                    Err(err) => {
                        self.retry_after_failure(&path, &mut budget, RetryReason::Body(err.to_string()), None).await?
                    }
                },
                Err(err) => {
                    let reason = RetryReason::Transport(format!("reading the body: {}", err.without_url()));
                    self.retry_after_failure(&path, &mut budget, reason, None).await?;
                }
            }
        }
    }

    fn rest(&self, lease: &super::tokens::Lease, wait: Duration) {
        self.counters.bump(|c| &c.rate_limit_waits);
        self.shared.tokens.rest(lease, wait);
    }

    async fn retry_after_failure(
        &self,
        path: &str,
        budget: &mut Budget,
        reason: RetryReason,
        wait: Option<Duration>,
    ) -> Result<(), GitHubError> {
        let reason_text = reason.to_string();
        let wait = budget.retry(path, reason, wait, self.shared.settings.timing.retry_delay)?;
        self.counters.bump(|c| &c.retries);
        self.shared.metrics.github_retries.inc();
        tracing::info!(
            path,
            attempt = budget.attempts(),
            wait_ms = wait.as_millis() as u64,
            reason = reason_text,
            "retrying"
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }
}

fn classify_response(
    endpoint: &Endpoint<'_>,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    message: Option<&str>,
    condition: Option<&Validator>,
    settings: &GitHubSettings,
    budget: &Budget,
) -> Step {
    retry::classify(
        status,
        headers,
        message,
        condition.is_some(),
        endpoint.empty_is_an_answer(),
        &settings.timing,
        budget.secondary_hits,
    )
}

/// A transport error with its causes ("error sending request" alone says little), without the
/// URL.
fn transport_error(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The path and query of a URL, for messages (the host is always the configured one).
fn display_path(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn no_content(endpoint: &Endpoint<'_>, base: &Url) -> GitHubError {
    GitHubError::NoContent { path: display_path(&endpoint.url(base)) }
}

/// GitHub's `message` from an error body, else the status text.
async fn error_message(response: reqwest::Response) -> String {
    let status = response.status();
    let text = response.bytes().await.map(|b| b.slice(..b.len().min(MAX_ERROR_BODY))).unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_are_stored_with_their_token() {
        let v = Validator { token: TokenId::parse("0a1b2c3d").unwrap(), etag: "W/\"abc:def\"".into() };
        assert_eq!(v.to_stored(), "0a1b2c3d:W/\"abc:def\"");
        assert_eq!(Validator::from_stored(&v.to_stored()), Some(v));
        assert_eq!(Validator::from_stored("W/\"legacy\""), None);
    }
}
