//! The process's metrics, registered once with help text and served by `/metrics` in the
//! OpenMetrics text format (which Prometheus scrapes).
use std::time::Duration;

use entity::archive_hour::HourStatus;
use entity::refresh_job::JobStatus;
use sea_orm::ActiveEnum;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Seconds: from a millisecond to half an hour.
const BUCKETS: [f64; 16] =
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabel {
    pub operation: String,
}

/// A GitHub token by its position in GITHUB_TOKEN (never the token), or `anonymous`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabel {
    pub token: String,
}

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub jobs: Family<StatusLabel, Gauge>,
    pub job_seconds: Family<StatusLabel, Histogram, fn() -> Histogram>,
    pub github_requests: Family<StatusLabel, Counter>,
    pub github_not_modified: Counter,
    pub github_retries: Counter,
    pub github_rate_limit_waits: Counter,
    pub github_rate_limit_remaining: Family<TokenLabel, Gauge>,
    pub github_tokens_revoked: Counter,
    pub archive_hours: Family<StatusLabel, Counter>,
    pub archive_events: Counter,
    pub archive_bytes: Counter,
    pub http_seconds: Family<RouteLabel, Histogram, fn() -> Histogram>,
    pub graphql_seconds: Family<OperationLabel, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("git_collector");
        let jobs = Family::<StatusLabel, Gauge>::default();
        registry.register("jobs", "Refresh jobs in the database, by status", jobs.clone());
        let job_seconds = Family::<StatusLabel, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register(
            "job_duration_seconds",
            "Time from claim to end of the jobs this process ran, by final status",
            job_seconds.clone(),
        );
        let github_requests = Family::<StatusLabel, Counter>::default();
        registry.register(
            "github_requests",
            "HTTP requests sent to GitHub (retries included), by status class of the answer or `error`",
            github_requests.clone(),
        );
        let github_not_modified = Counter::default();
        registry.register(
            "github_not_modified",
            "Conditional GitHub requests answered 304 (free of rate limit)",
            github_not_modified.clone(),
        );
        let github_retries = Counter::default();
        registry.register("github_retries", "GitHub requests retried after a failure", github_retries.clone());
        let github_rate_limit_waits = Counter::default();
        registry.register(
            "github_rate_limit_waits",
            "Times a GitHub rate limit paused a token",
            github_rate_limit_waits.clone(),
        );
        let github_rate_limit_remaining = Family::<TokenLabel, Gauge>::default();
        registry.register(
            "github_rate_limit_remaining",
            "Requests left in the current rate-limit window, per token (by its position in GITHUB_TOKEN)",
            github_rate_limit_remaining.clone(),
        );
        let github_tokens_revoked = Counter::default();
        registry.register(
            "github_tokens_revoked",
            "GitHub tokens taken out of the pool because GitHub answered 401 for them",
            github_tokens_revoked.clone(),
        );
        let archive_hours = Family::<StatusLabel, Counter>::default();
        registry.register(
            "archive_hours",
            "GH Archive hour files this process settled: imported, missing (404), or failed",
            archive_hours.clone(),
        );
        let archive_events = Counter::default();
        registry.register("archive_events", "GH Archive events counted by this process", archive_events.clone());
        let archive_bytes = Counter::default();
        registry.register(
            "archive_bytes",
            "Compressed bytes of GH Archive files read by this process",
            archive_bytes.clone(),
        );
        let http_seconds = Family::<RouteLabel, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests served, by route pattern",
            http_seconds.clone(),
        );
        let graphql_seconds = Family::<OperationLabel, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register(
            "graphql_request_duration_seconds",
            "GraphQL requests executed, by operation type",
            graphql_seconds.clone(),
        );
        Self {
            registry,
            jobs,
            job_seconds,
            github_requests,
            github_not_modified,
            github_retries,
            github_rate_limit_waits,
            github_rate_limit_remaining,
            github_tokens_revoked,
            archive_hours,
            archive_events,
            archive_bytes,
            http_seconds,
            graphql_seconds,
        }
    }
}

impl Metrics {
    /// The registry in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn observe_job(&self, status: JobStatus, took: Duration) {
        self.job_seconds
            .get_or_create(&StatusLabel { status: status.as_str().to_string() })
            .observe(took.as_secs_f64());
    }

    pub fn observe_http(&self, route: &str, took: Duration) {
        self.http_seconds.get_or_create(&RouteLabel { route: route.to_string() }).observe(took.as_secs_f64());
    }

    pub fn observe_graphql(&self, operation: &str, took: Duration) {
        self.graphql_seconds
            .get_or_create(&OperationLabel { operation: operation.to_string() })
            .observe(took.as_secs_f64());
    }

    /// Counts one answer from GitHub by its status class (`None`: no answer).
    pub fn github_answer(&self, status: Option<u16>) {
        let class = match status {
            Some(s @ 200..=599) => format!("{}xx", s / 100),
            Some(_) | None => "error".to_string(),
        };
        self.github_requests.get_or_create(&StatusLabel { status: class }).inc();
    }

    /// An archive hour settled (`imported`, `missing`, `failed`) with its events and bytes.
    pub fn archive_hour(&self, status: HourStatus, events: u64, bytes: u64) {
        self.archive_hours.get_or_create(&StatusLabel { status: status.to_value() }).inc();
        self.archive_events.inc_by(events);
        self.archive_bytes.inc_by(bytes);
    }

    pub fn github_remaining(&self, token: &str, remaining: i64) {
        self.github_rate_limit_remaining.get_or_create(&TokenLabel { token: token.to_string() }).set(remaining);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_help_and_histograms_are_cumulative() {
        let m = Metrics::default();
        m.observe_job(JobStatus::Succeeded, Duration::from_millis(30));
        m.observe_job(JobStatus::Succeeded, Duration::from_secs(3));
        m.github_answer(Some(304));
        m.github_remaining("0", 4999);
        let out = m.render();
        assert!(
            out.contains("git_collector_job_duration_seconds_bucket{le=\"0.05\",status=\"SUCCEEDED\"} 1")
                || out.contains("git_collector_job_duration_seconds_bucket{status=\"SUCCEEDED\",le=\"0.05\"} 1"),
            "{out}"
        );
        assert!(out.contains("git_collector_job_duration_seconds_count{status=\"SUCCEEDED\"} 2"), "{out}");
        assert!(out.contains("git_collector_github_requests_total{status=\"3xx\"} 1"), "{out}");
        assert!(out.contains("git_collector_github_rate_limit_remaining{token=\"0\"} 4999"), "{out}");
        let types = out.lines().filter(|l| l.starts_with("# TYPE")).count();
        let helps = out.lines().filter(|l| l.starts_with("# HELP")).count();
        assert_eq!(types, helps, "every metric has help text:\n{out}");
        assert!(types >= 7, "{out}");
    }
}
