//! The retry policy of docs/rules.md §3, one rule at a time: what an answer means
//! ([`classify`]), how long a rate limit rests a token ([`primary_limit`], [`secondary_limit`]),
//! how long to wait before another try ([`retry_after`], [`backoff`]), and how many tries a
//! request gets ([`Budget`]).
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, ETAG, LINK, RETRY_AFTER};
use reqwest::StatusCode;

use super::error::{GitHubError, RetryReason};
use super::link::has_next;

/// Longest backoff between two retries of a failing request.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longest wait for a primary rate limit reset (GitHub's window is one hour).
pub const MAX_RESET_WAIT: Duration = Duration::from_secs(3_700);

/// The timing settings of the policy.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Delay before retrying a 202, and base of the exponential backoff of other retries.
    pub retry_delay: Duration,
    pub max_retries: u32,
    /// Shortest wait after a secondary rate limit that says nothing of how long to wait.
    pub secondary_min_wait: Duration,
}

/// What one answer means for the request.
#[derive(Debug)]
pub enum Step {
    /// 200: the body, its ETag, and whether another page follows.
    Body { etag: Option<String>, has_next: bool },
    /// 304: unchanged since the ETag that was sent.
    NotModified,
    /// 204 or 409 where they mean "nothing yet".
    Empty,
    /// 404, 410, 451: cannot succeed.
    Permanent { status: u16 },
    /// 401: the token is refused (or the resource needs one).
    Unauthorized,
    /// Try again, after `wait` when the answer said how long.
    Retry { reason: RetryReason, wait: Option<Duration> },
    /// The token is rate limited for `wait`; the request goes on with another (or waits).
    /// `secondary`: a secondary limit, whose wait doubles with each hit.
    Rest { wait: Duration, secondary: bool },
}

/// Reads what an answer's status and headers mean. `message` is GitHub's error message, read
/// from the body only for statuses whose meaning depends on it.
pub fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    message: Option<&str>,
    conditional: bool,
    empty_is_an_answer: bool,
    timing: &Timing,
    secondary_hits: u32,
) -> Step {
    match status {
        StatusCode::OK => Step::Body {
            etag: headers.get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_string),
            has_next: headers.get(LINK).and_then(|v| v.to_str().ok()).is_some_and(has_next),
        },
        StatusCode::NOT_MODIFIED if conditional => Step::NotModified,
        StatusCode::NO_CONTENT | StatusCode::CONFLICT if empty_is_an_answer => Step::Empty,
        StatusCode::ACCEPTED => Step::Retry { reason: RetryReason::Accepted, wait: Some(timing.retry_delay) },
        StatusCode::UNAUTHORIZED => Step::Unauthorized,
        StatusCode::NOT_FOUND | StatusCode::GONE | StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS => {
            Step::Permanent { status: status.as_u16() }
        }
        StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
            if let Some(wait) = primary_limit(headers, timing) {
                return Step::Rest { wait, secondary: false };
            }
            if let Some(wait) = secondary_limit(headers, message, timing, secondary_hits) {
                return Step::Rest { wait, secondary: true };
            }
            let reason =
                RetryReason::Refused { status: status.as_u16(), message: message.unwrap_or("forbidden").to_string() };
            Step::Retry { reason, wait: None }
        }
        other => Step::Retry { reason: RetryReason::Status(other.as_u16()), wait: retry_after(headers, Utc::now()) },
    }
}

/// Primary limit exhausted (`x-ratelimit-remaining: 0` and no `retry-after`): rest until
/// `x-ratelimit-reset`.
pub fn primary_limit(headers: &HeaderMap, timing: &Timing) -> Option<Duration> {
    (remaining(headers) == Some(0) && headers.get(RETRY_AFTER).is_none()).then(|| reset_wait(headers, timing))
}

/// Secondary limit (`retry-after`, or GitHub's "secondary rate limit" message): rest as told,
/// else at least the configured minute, doubling with each hit of the same request.
pub fn secondary_limit(headers: &HeaderMap, message: Option<&str>, timing: &Timing, hits: u32) -> Option<Duration> {
    if let Some(wait) = retry_after(headers, Utc::now()) {
        return Some(wait);
    }
    let secondary = message.is_some_and(|m| m.to_ascii_lowercase().contains("secondary rate limit"));
    secondary.then(|| {
        let doubled = timing.secondary_min_wait.saturating_mul(1 << hits.min(6));
        doubled.min(MAX_BACKOFF.max(timing.secondary_min_wait))
    })
}

/// `retry-after` as delta-seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        // Capped like a date: a garbled header must not park a token for days.
        return Some(Duration::from_secs(secs).min(MAX_RESET_WAIT));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO).min(MAX_RESET_WAIT))
}

/// `x-ratelimit-remaining`.
pub fn remaining(headers: &HeaderMap) -> Option<i64> {
    headers.get("x-ratelimit-remaining")?.to_str().ok()?.trim().parse().ok()
}

/// Time until `x-ratelimit-reset` (Unix seconds); the retry delay when missing or past.
pub fn reset_wait(headers: &HeaderMap, timing: &Timing) -> Duration {
    let reset =
        headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    let Some(reset) = reset else { return timing.retry_delay };
    let wait_ms = reset.saturating_mul(1000).saturating_sub(Utc::now().timestamp_millis());
    if wait_ms <= 0 {
        timing.retry_delay
    } else {
        Duration::from_millis(wait_ms as u64).min(MAX_RESET_WAIT)
    }
}

/// Exponential backoff from `base`: base, 2·base, 4·base… capped at five minutes.
pub fn backoff(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(1u32 << failures.saturating_sub(1).min(16)).min(MAX_BACKOFF.max(base))
}

/// How many tries one request has left: `max_retries` failures, and (so that a token pool
/// that never recovers cannot hold a crawl forever) four times as many rate-limit rests.
#[derive(Debug)]
pub struct Budget {
    max_retries: u32,
    failures: u32,
    rests: u32,
    /// Secondary rate limits met by this request, for their doubling wait.
    pub secondary_hits: u32,
}

impl Budget {
    pub fn new(max_retries: u32) -> Self {
        Self { max_retries, failures: 0, rests: 0, secondary_hits: 0 }
    }

    pub fn attempts(&self) -> u32 {
        self.failures + self.rests
    }

    /// Spends a retry on `reason`: the wait before the next try, or the error when none is left.
    pub fn retry(
        &mut self,
        path: &str,
        reason: RetryReason,
        wait: Option<Duration>,
        base: Duration,
    ) -> Result<Duration, GitHubError> {
        self.failures += 1;
        if self.failures > self.max_retries {
            return Err(GitHubError::RetriesExhausted {
                path: path.to_string(),
                attempts: self.failures,
                last: reason,
            });
        }
        Ok(wait.unwrap_or_else(|| backoff(base, self.failures)))
    }

    /// Spends a rate-limit rest.
    pub fn rest(&mut self, path: &str) -> Result<(), GitHubError> {
        self.rests += 1;
        if self.rests > self.max_retries.max(1) * 4 {
            return Err(GitHubError::RetriesExhausted {
                path: path.to_string(),
                attempts: self.attempts(),
                last: RetryReason::RateLimited,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn timing() -> Timing {
        Timing { retry_delay: Duration::from_millis(100), max_retries: 3, secondary_min_wait: Duration::from_secs(60) }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 2), base * 2);
        assert_eq!(backoff(base, 4), base * 8);
        assert_eq!(backoff(Duration::from_secs(30), 20), MAX_BACKOFF);
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(retry_after(&headers(&[("retry-after", "120")]), now), Some(Duration::from_secs(120)));
        let date = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(retry_after(&date, now), Some(Duration::from_secs(60)));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]);
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        let huge = headers(&[("retry-after", "99999999")]);
        assert_eq!(retry_after(&huge, now), Some(MAX_RESET_WAIT));
    }

    #[test]
    fn rate_limits_rest_the_token() {
        let t = timing();
        let reset = (Utc::now().timestamp() + 30).to_string();
        let primary = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset)]);
        match classify(StatusCode::FORBIDDEN, &primary, Some("API rate limit exceeded"), false, false, &t, 0) {
            Step::Rest { wait, secondary: false } => {
                assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30))
            }
            other => panic!("{other:?}"),
        }
        let secondary = headers(&[("x-ratelimit-remaining", "40")]);
        let message = Some("You have exceeded a secondary rate limit");
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &secondary, message, false, false, &t, 0),
            Step::Rest { wait, secondary: true } if wait == Duration::from_secs(60)
        ));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, &secondary, message, false, false, &t, 2),
            Step::Rest { wait, secondary: true } if wait == Duration::from_secs(240)
        ));
        // A plain 403 is retried with backoff.
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &secondary, Some("nope"), false, false, &t, 0),
            Step::Retry { reason: RetryReason::Refused { status: 403, .. }, wait: None }
        ));
    }

    #[test]
    fn statuses() {
        let t = timing();
        let h = HeaderMap::new();
        let c = |s: u16, conditional, empty| {
            classify(StatusCode::from_u16(s).unwrap(), &h, None, conditional, empty, &t, 0)
        };
        assert!(matches!(c(304, true, false), Step::NotModified));
        assert!(matches!(c(304, false, false), Step::Retry { .. }), "a 304 nobody asked for");
        assert!(matches!(c(409, false, true), Step::Empty));
        assert!(matches!(c(409, false, false), Step::Retry { reason: RetryReason::Status(409), .. }));
        assert!(matches!(c(202, false, true), Step::Retry { reason: RetryReason::Accepted, wait: Some(_) }));
        assert!(matches!(c(401, false, false), Step::Unauthorized));
        assert!(matches!(c(451, false, false), Step::Permanent { status: 451 }));
        assert!(matches!(c(502, false, false), Step::Retry { reason: RetryReason::Status(502), wait: None }));
    }

    #[test]
    fn the_budget_ends_a_request() {
        let mut b = Budget::new(2);
        let base = Duration::from_millis(10);
        assert_eq!(b.retry("/x", RetryReason::Status(500), None, base).unwrap(), base);
        assert_eq!(b.retry("/x", RetryReason::Status(500), None, base).unwrap(), base * 2);
        let err = b.retry("/x", RetryReason::Status(502), None, base).unwrap_err();
        assert!(err.to_string().contains("502") && err.to_string().contains("3 attempts"), "{err}");
    }
}
