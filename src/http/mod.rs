//! The axum router: the dashboard and GraphiQL (web UI), /graphql, /api/repos, health, metrics.
mod graphql;
mod health;
mod metrics;
mod rest;
mod ui;

use std::sync::Arc;

use axum::http::{header, HeaderValue, Method};
use axum::Router;
use sea_orm::DatabaseConnection;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use secrecy::SecretString;

use crate::config::Config;
use crate::graphql::{AppSchema, Compiled};
use crate::jobs::JobQueue;
use crate::metrics::Metrics;
use crate::store::reads::Reads;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Where the read model's pages are read (see `store::reads`).
    pub reads: Reads,
    pub schema: AppSchema,
    /// The common query shape, answered without the executor.
    pub compiled: Arc<Compiled>,
    pub queue: JobQueue,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    pub admin_token: Arc<SecretString>,
}

pub fn router(state: AppState) -> Router {
    let cors = cors_layer(state.config.http.cors_origins());
    let metrics = state.metrics.clone();
    let app = Router::new()
        .merge(health::router())
        .merge(graphql::router(state.schema.clone()))
        .merge(rest::router())
        .merge(metrics::router())
        .merge(ui::router())
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::record_latency))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http());
    match cors {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT]),
    )
}
