//! `/metrics` (OpenMetrics text, which Prometheus scrapes) and the middleware timing requests.
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use entity::refresh_job::JobStatus;
use sea_orm::Iterable;

use super::AppState;
use crate::metrics::{Metrics, StatusLabel};
use crate::store;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

/// Times each request under its route pattern (never the raw path: no unbounded labels).
pub async fn record_latency(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.observe_http(&route, started.elapsed());
    response
}

async fn render(State(state): State<AppState>) -> Response {
    match store::jobs::count_by_status(&state.db).await {
        Ok(counts) => {
            for status in JobStatus::iter() {
                let n = counts.iter().find(|(s, _)| *s == status).map(|(_, n)| *n).unwrap_or(0);
                state.metrics.jobs.get_or_create(&StatusLabel { status: status.as_str().to_string() }).set(n);
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "metrics: cannot count jobs");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
        }
    }
    ([(header::CONTENT_TYPE, OPENMETRICS)], state.metrics.render()).into_response()
}
