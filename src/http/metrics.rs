//! `/metrics` in the Prometheus text format, and the middleware timing every request.
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;
use crate::metrics::{Metrics, HTTP_SECONDS};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

/// Times each request under its route pattern (never the raw path: no unbounded labels).
pub async fn record_latency(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.observe(HTTP_SECONDS, &route, started.elapsed());
    response
}

async fn render(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    let _ = writeln!(out, "# HELP git_collector_jobs Refresh jobs by status.\n# TYPE git_collector_jobs gauge");
    match store::jobs::count_by_status(&state.db).await {
        Ok(counts) => {
            for status in [store::jobs::QUEUED, store::jobs::RUNNING, store::jobs::SUCCEEDED, store::jobs::FAILED] {
                let n = counts.iter().find(|(s, _)| s == status).map(|(_, n)| *n).unwrap_or(0);
                let _ = writeln!(out, "git_collector_jobs{{status=\"{status}\"}} {n}");
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "metrics: cannot count jobs");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
        }
    }
    let g = &state.github;
    let _ = writeln!(out, "# HELP git_collector_github_requests_total GitHub requests by status class.");
    let _ = writeln!(out, "# TYPE git_collector_github_requests_total counter");
    for (i, class) in ["2xx", "3xx", "4xx", "5xx", "error"].iter().enumerate() {
        let _ = writeln!(
            out,
            "git_collector_github_requests_total{{status=\"{class}\"}} {}",
            g.by_status[i].load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(out, "# TYPE git_collector_github_not_modified_total counter");
    let _ = writeln!(out, "git_collector_github_not_modified_total {}", g.not_modified());
    let _ = writeln!(out, "# TYPE git_collector_github_retries_total counter");
    let _ = writeln!(out, "git_collector_github_retries_total {}", g.retries());
    let _ = writeln!(out, "# TYPE git_collector_github_rate_limit_waits_total counter");
    let _ = writeln!(out, "git_collector_github_rate_limit_waits_total {}", g.rate_limit_waits());
    let remaining = g.rate_limit_remaining.load(Ordering::Relaxed);
    if remaining >= 0 {
        let _ = writeln!(out, "# TYPE git_collector_github_rate_limit_remaining gauge");
        let _ = writeln!(out, "git_collector_github_rate_limit_remaining {remaining}");
    }
    state.metrics.render(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
