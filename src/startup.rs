//! Building the service from its configuration and running it until a shutdown signal.
use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use rand::RngCore;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::config::{Config, Secret};
use crate::graphql;
use crate::http::{self, AppState};
use crate::store::db;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    port: u16,
}

impl Application {
    /// Connects and migrates the database, then binds `BIND_ADDR` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = db::connect(&config.database_url).await?;
        db::migrate(&db).await?;
        let admin_token = match config.admin_token() {
            Some(token) => token.clone(),
            None => {
                let token = generate_token();
                tracing::warn!(
                    admin_token = token.expose(),
                    "ADMIN_TOKEN is not set: generated one for this run (set ADMIN_TOKEN to keep it stable)"
                );
                token
            }
        };
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind_addr))?;
        let port = listener.local_addr()?.port();
        let schema = graphql::build_schema(Some(db.clone()));
        let state = AppState { db, schema, config: Arc::new(config), admin_token: Arc::new(admin_token) };
        Ok(Self { listener, state, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let address = self.listener.local_addr()?;
        tracing::info!(%address, "serving: GraphiQL at http://{address}/graphql");
        let app = http::router(self.state);
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await.context("HTTP server failed")
    }
}

fn generate_token() -> Secret {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(hex::encode(bytes))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: finishing requests in flight");
}
