//! The GitHub REST client: authentication, conditional requests, `Link` pagination and the
//! retry policy of contract §3. Every delay comes from `GitHubSettings`.
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, ETAG, IF_NONE_MATCH, LINK, RETRY_AFTER, USER_AGENT};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::error::GitHubError;
use super::link::next_link;
use crate::config::{Config, Secret};

/// Longest backoff between two retries of a failing request.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longest wait for a primary rate limit reset (GitHub's window is one hour).
const MAX_RESET_WAIT: Duration = Duration::from_secs(3_700);

#[derive(Debug, Clone)]
pub struct GitHubSettings {
    pub api_url: Url,
    pub token: Option<Secret>,
    /// Delay before retrying a 202, and base of the exponential backoff of other retries.
    pub retry_delay: Duration,
    pub max_retries: u32,
    /// Shortest wait after a secondary rate limit that says nothing of how long to wait.
    pub secondary_min_wait: Duration,
    pub timeout: Duration,
}

impl GitHubSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            api_url: config.github_api_url.clone(),
            token: config.github_token().cloned(),
            retry_delay: config.github_retry_delay(),
            max_retries: config.github_max_retries,
            secondary_min_wait: Duration::from_millis(config.github_secondary_limit_wait_ms),
            timeout: Duration::from_millis(config.github_timeout_ms),
        }
    }
}

/// Counts of what the client did; one set per crawl plus one for the whole process.
#[derive(Debug, Default)]
pub struct RequestCounters {
    /// HTTP requests sent, retries included.
    pub requests: AtomicU64,
    pub not_modified: AtomicU64,
    pub rate_limit_waits: AtomicU64,
    pub retries: AtomicU64,
    /// Responses by status class: 2xx, 3xx, 4xx, 5xx, and transport errors.
    pub by_status: [AtomicU64; 5],
    /// `x-ratelimit-remaining` of the last response (-1: never seen).
    pub rate_limit_remaining: AtomicI64,
}

impl RequestCounters {
    pub fn new() -> Self {
        let c = Self::default();
        c.rate_limit_remaining.store(-1, Ordering::Relaxed);
        c
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
}

/// The outcome of one successful GET (after retries).
#[derive(Debug)]
pub enum Fetched<T> {
    Ok {
        body: T,
        etag: Option<String>,
        next: Option<String>,
    },
    /// 304: unchanged since the ETag that was sent.
    NotModified,
    /// 204 (no content yet) or 409 (an empty repository): only from `get_or_empty`.
    Empty,
}

struct Shared {
    http: reqwest::Client,
    settings: GitHubSettings,
    /// No request leaves before this instant: a rate limit makes every concurrent crawl wait.
    paused_until: Mutex<Option<Instant>>,
    global: Arc<RequestCounters>,
}

#[derive(Clone)]
pub struct GitHub {
    shared: Arc<Shared>,
    counters: Arc<RequestCounters>,
}

enum Attempt<T> {
    Done(Result<Fetched<T>, GitHubError>),
    /// Retryable failure: the reason, and how long to wait if not the default backoff.
    Retry(String, Option<Duration>),
    /// Rate limited: wait (every crawl does), without spending a retry.
    RateLimited(Duration),
}

impl GitHub {
    pub fn new(settings: GitHubSettings) -> Result<Self, GitHubError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| GitHubError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            shared: Arc::new(Shared {
                http,
                settings,
                paused_until: Mutex::new(None),
                global: Arc::new(RequestCounters::new()),
            }),
            counters: Arc::new(RequestCounters::new()),
        })
    }

    /// The same client (same rate-limit gate) counting into `counters` as well.
    pub fn with_counters(&self, counters: Arc<RequestCounters>) -> Self {
        Self { shared: self.shared.clone(), counters }
    }

    /// Counters of this handle (one crawl).
    pub fn counters(&self) -> &Arc<RequestCounters> {
        &self.counters
    }

    /// Counters of the whole process.
    pub fn global_counters(&self) -> &Arc<RequestCounters> {
        &self.shared.global
    }

    /// Absolute URL of an API path such as `/orgs/x/repos?per_page=100`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.shared.settings.api_url.as_str().trim_end_matches('/'), path)
    }

    fn count(&self, pick: impl Fn(&RequestCounters) -> &AtomicU64) {
        pick(&self.counters).fetch_add(1, Ordering::Relaxed);
        pick(&self.shared.global).fetch_add(1, Ordering::Relaxed);
    }

    /// GET `url` and parse the JSON body as `T`, retrying per contract §3. With `etag`, sends
    /// `If-None-Match` and returns `NotModified` on 304. A 204 or 409 is retried like any other
    /// unexpected status (see `get_or_empty`).
    pub async fn get<T: DeserializeOwned>(&self, url: &str, etag: Option<&str>) -> Result<Fetched<T>, GitHubError> {
        self.fetch(url, etag, false).await
    }

    /// Like `get`, for the endpoints where 204 or 409 means "nothing yet" (`/commits` of an
    /// empty repository, statistics of one without commits): those return `Empty`.
    pub async fn get_or_empty<T: DeserializeOwned>(
        &self,
        url: &str,
        etag: Option<&str>,
    ) -> Result<Fetched<T>, GitHubError> {
        self.fetch(url, etag, true).await
    }

    async fn fetch<T: DeserializeOwned>(
        &self,
        url: &str,
        etag: Option<&str>,
        empty_ok: bool,
    ) -> Result<Fetched<T>, GitHubError> {
        let parsed = Url::parse(url).map_err(|e| GitHubError::Invalid(format!("bad URL {url}: {e}")))?;
        let path = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_string(),
        };
        let settings = &self.shared.settings;
        // The token only goes to the configured API host, whatever a Link header says.
        let send_token = parsed.origin() == settings.api_url.origin();
        let mut failures = 0u32;
        let mut rate_limited = 0u32;
        let mut secondary_hits = 0u32;
        loop {
            self.wait_for_rate_limit().await;
            let mut request = self
                .shared
                .http
                .get(parsed.clone())
                .header(ACCEPT, "application/vnd.github+json")
                .header(USER_AGENT, concat!("git-collector/", env!("CARGO_PKG_VERSION")))
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let (true, Some(token)) = (send_token, &settings.token) {
                request = request.header(AUTHORIZATION, format!("Bearer {}", token.expose()));
            }
            if let Some(etag) = etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            self.count(|c| &c.requests);
            let attempt = match request.send().await {
                Ok(response) => self.read(response, &path, etag.is_some(), empty_ok, &mut secondary_hits).await,
                Err(err) => {
                    self.count(|c| &c.by_status[4]);
                    Attempt::Retry(format!("request failed: {}", err.without_url()), None)
                }
            };
            match attempt {
                Attempt::Done(result) => return result,
                Attempt::RateLimited(wait) => {
                    rate_limited += 1;
                    if rate_limited > settings.max_retries.max(1) * 4 {
                        return Err(GitHubError::RetriesExhausted {
                            path,
                            attempts: failures + rate_limited,
                            last: "still rate limited".into(),
                        });
                    }
                    self.count(|c| &c.rate_limit_waits);
                    tracing::warn!(path, wait_ms = wait.as_millis() as u64, "GitHub rate limit: every crawl waits");
                    self.pause_for(wait).await;
                }
                Attempt::Retry(reason, wait) => {
                    failures += 1;
                    if failures > settings.max_retries {
                        return Err(GitHubError::RetriesExhausted { path, attempts: failures, last: reason });
                    }
                    self.count(|c| &c.retries);
                    let wait = wait.unwrap_or_else(|| backoff(settings.retry_delay, failures));
                    tracing::info!(path, attempt = failures, wait_ms = wait.as_millis() as u64, reason, "retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn read<T: DeserializeOwned>(
        &self,
        response: reqwest::Response,
        path: &str,
        conditional: bool,
        empty_ok: bool,
        secondary_hits: &mut u32,
    ) -> Attempt<T> {
        let status = response.status();
        let class = usize::from(status.as_u16() / 100).clamp(2, 5) - 2;
        self.count(|c| &c.by_status[class]);
        let headers = response.headers().clone();
        let remaining = header_i64(&headers, "x-ratelimit-remaining");
        if let Some(remaining) = remaining {
            self.counters.rate_limit_remaining.store(remaining, Ordering::Relaxed);
            self.shared.global.rate_limit_remaining.store(remaining, Ordering::Relaxed);
        }
        let settings = &self.shared.settings;
        match status {
            StatusCode::OK => {
                let etag = headers.get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
                let next = headers.get(LINK).and_then(|v| v.to_str().ok()).and_then(next_link);
                let body = response.bytes().await;
                // Out of budget but this one got through: hold the next requests until reset.
                if remaining == Some(0) {
                    self.hold_until(Instant::now() + reset_wait(&headers, settings.retry_delay)).await;
                }
                match body {
                    Ok(bytes) => match serde_json::from_slice::<T>(&bytes) {
                        Ok(body) => Attempt::Done(Ok(Fetched::Ok { body, etag, next })),
                        Err(err) => Attempt::Retry(format!("the body is not the expected JSON: {err}"), None),
                    },
                    Err(err) => Attempt::Retry(format!("reading the body failed: {}", err.without_url()), None),
                }
            }
            StatusCode::NOT_MODIFIED if conditional => {
                self.count(|c| &c.not_modified);
                Attempt::Done(Ok(Fetched::NotModified))
            }
            StatusCode::NO_CONTENT | StatusCode::CONFLICT if empty_ok => Attempt::Done(Ok(Fetched::Empty)),
            StatusCode::ACCEPTED => {
                Attempt::Retry("202 Accepted: GitHub is computing the data".into(), Some(settings.retry_delay))
            }
            StatusCode::UNAUTHORIZED
            | StatusCode::NOT_FOUND
            | StatusCode::GONE
            | StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS => {
                let message = error_message(response).await;
                Attempt::Done(Err(GitHubError::Permanent { status: status.as_u16(), path: path.to_string(), message }))
            }
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
                let retry_after = header_i64(&headers, RETRY_AFTER.as_str());
                if remaining == Some(0) && retry_after.is_none() {
                    return Attempt::RateLimited(reset_wait(&headers, settings.retry_delay));
                }
                let message = error_message(response).await;
                if retry_after.is_some() || message.to_ascii_lowercase().contains("secondary rate limit") {
                    *secondary_hits += 1;
                    let wait = match retry_after {
                        Some(secs) => Duration::from_secs(secs.max(0) as u64),
                        None => {
                            let doubled = settings.secondary_min_wait.saturating_mul(1 << (*secondary_hits - 1).min(6));
                            doubled.min(MAX_BACKOFF.max(settings.secondary_min_wait))
                        }
                    };
                    return Attempt::RateLimited(wait);
                }
                Attempt::Retry(format!("HTTP {}: {message}", status.as_u16()), None)
            }
            other => {
                let retry_after =
                    header_i64(&headers, RETRY_AFTER.as_str()).map(|s| Duration::from_secs(s.max(0) as u64));
                Attempt::Retry(format!("HTTP {}", other.as_u16()), retry_after)
            }
        }
    }

    async fn wait_for_rate_limit(&self) {
        let until = *self.shared.paused_until.lock().await;
        if let Some(until) = until {
            if until > Instant::now() {
                tokio::time::sleep_until(until).await;
            }
        }
    }

    /// Holds every request of the process until `until` (or longer if already held longer).
    async fn hold_until(&self, until: Instant) {
        let mut paused = self.shared.paused_until.lock().await;
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// Holds every request of the process for `wait`, this one included.
    async fn pause_for(&self, wait: Duration) {
        self.hold_until(Instant::now() + wait).await;
        self.wait_for_rate_limit().await;
    }
}

fn header_i64(headers: &HeaderMap, name: &str) -> Option<i64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Time until `x-ratelimit-reset` (Unix seconds); `fallback` when the header is missing or past.
fn reset_wait(headers: &HeaderMap, fallback: Duration) -> Duration {
    let Some(reset) = header_i64(headers, "x-ratelimit-reset") else { return fallback };
    let now_ms = chrono::Utc::now().timestamp_millis();
    let wait_ms = reset.saturating_mul(1000).saturating_sub(now_ms);
    if wait_ms <= 0 {
        fallback
    } else {
        Duration::from_millis(wait_ms as u64).min(MAX_RESET_WAIT)
    }
}

/// Exponential backoff from `base`: base, 2·base, 4·base… capped at five minutes.
fn backoff(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(1u32 << failures.saturating_sub(1).min(16)).min(MAX_BACKOFF.max(base))
}

/// GitHub's `message` from an error body, else the status text.
async fn error_message(response: reqwest::Response) -> String {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 2), base * 2);
        assert_eq!(backoff(base, 4), base * 8);
        assert_eq!(backoff(Duration::from_secs(30), 20), MAX_BACKOFF);
    }
}
