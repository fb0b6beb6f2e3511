//! Waking idle workers on PostgreSQL: a connection LISTENs on the channel the queue's triggers
//! notify (migration `m20261204_000003_queue_notifications`) whenever a job or an archive hour
//! becomes claimable, and each notification wakes this process's workers. While it listens,
//! idle workers issue no statement at all; while it cannot (the connection is lost, or the
//! database is SQLite), they poll every `JOB_POLL_MS`.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use super::JobQueue;

/// The channel the triggers notify.
pub const CHANNEL: &str = "git_collector_queue";
/// Wait before listening again after the connection was lost.
const RECONNECT: Duration = Duration::from_secs(1);

/// Whether notifications reach this process now.
#[derive(Clone, Default)]
pub struct Listening(Arc<AtomicBool>);

impl Listening {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self, on: bool) {
        self.0.store(on, Ordering::SeqCst);
    }
}

/// Listens until the task is dropped (PostgreSQL only; on SQLite it returns at once).
pub async fn listen(db: DatabaseConnection, queue: JobQueue, listening: Listening) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(err) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %err, "cannot listen for queued jobs: polling");
                } else {
                    listening.set(true);
                    // Whatever was queued before listening began is looked for once.
                    queue.wake_workers();
                    // `try_recv` answers None when the connection is lost (notifications sent
                    // meanwhile are gone): back to polling until listening again.
                    while let Ok(Some(_)) = listener.try_recv().await {
                        queue.wake_workers();
                    }
                    tracing::warn!("lost the connection that listens for queued jobs: polling");
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot listen for queued jobs: polling"),
        }
        listening.set(false);
        queue.wake_workers();
        tokio::time::sleep(RECONNECT).await;
    }
}
