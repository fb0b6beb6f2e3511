//! Building the service from its configuration and running it until a shutdown signal.
use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use rand::RngCore;
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::graphql;
use crate::http::{self, AppState};
use crate::jobs::{schedule, Services, WorkerPool, WorkerSettings};
use crate::store::reads::Reads;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    workers: WorkerPool,
    port: u16,
}

impl Application {
    /// Connects and migrates the database, then binds `BIND_ADDR` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let services = Services::connect(&config).await?;
        let admin_token = match config.http.admin_token() {
            Some(token) => token.clone(),
            None => {
                let token = generate_token();
                tracing::warn!(
                    admin_token = token.expose_secret(),
                    "ADMIN_TOKEN is not set: generated one for this run (set ADMIN_TOKEN to keep it stable)"
                );
                token
            }
        };
        let listener = TcpListener::bind(config.http.bind_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.http.bind_addr))?;
        let port = listener.local_addr()?.port();
        let workers = services.workers(WorkerSettings::from_config(&config));
        let Services { db, queue, metrics, .. } = services;
        let schema = graphql::build_schema(Some(queue.clone()));
        let state = AppState {
            reads: Reads::of(&db),
            db,
            schema,
            compiled: Arc::default(),
            queue,
            metrics,
            config: Arc::new(config),
            admin_token: Arc::new(admin_token),
        };
        Ok(Self { listener, state, workers, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// Runs the workers and the schedule and serves HTTP until `shutdown` completes; then lets
    /// requests in flight finish, stops claiming jobs, and lets running jobs finish or puts
    /// them back in the queue. Dropping this future instead (a kill) stops everything at once:
    /// leases then expire and other workers take the jobs over.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let address = self.listener.local_addr()?;
        let config = self.state.config.clone();
        let queue = self.state.queue.clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        // Owned here: aborted with this future.
        let mut background = tokio::task::JoinSet::new();
        background.spawn(self.workers.run(stop_rx.clone()));
        // The signal stops claiming at once, while the HTTP server drains.
        let signal = stop_tx.clone();
        let forward = background.spawn(async move {
            shutdown.await;
            let _ = signal.send(true);
        });
        {
            let (config, queue) = (config.clone(), queue.clone());
            let mut stop = stop_rx.clone();
            background.spawn(async move {
                let schedules = schedule::schedules(&config);
                schedule::run(&config, &queue, schedules, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            });
        }
        if config.jobs.crawl_on_start {
            match schedule::crawl_on_start(&config, &queue).await {
                Ok(0) => tracing::info!("data is fresh: no start-up crawl"),
                Ok(n) => tracing::info!(targets = n, "start-up crawl queued"),
                Err(err) => tracing::error!(error = %err, "cannot queue the start-up crawl"),
            }
        }
        tracing::info!(%address, "serving: dashboard at http://{address}/, GraphiQL at http://{address}/graphql");
        let app = http::router(self.state);
        let mut http_stop = stop_rx;
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.wait_for(|stop| *stop).await;
            })
            .await
            .context("HTTP server failed");
        // However the server stopped, the workers and the schedule stop too.
        let _ = stop_tx.send(true);
        forward.abort();
        while background.join_next().await.is_some() {}
        tracing::info!("stopped");
        served
    }
}

fn generate_token() -> SecretString {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(hex::encode(bytes))
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
