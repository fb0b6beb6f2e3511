//! Durable jobs: the queue, the workers that run them (and own every concurrency limit), the
//! schedule (which only enqueues), and running jobs in the foreground for the command line.
pub mod archive;
pub mod foreground;
mod notify;
mod retry;
pub mod schedule;
mod services;
mod worker;

use std::sync::Arc;

use entity::refresh_job::{self, JobTrigger};
use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, Notify};

pub use services::Services;
pub use worker::{RepoReport, WorkerPool, WorkerSettings};

use crate::domain::Target;
use crate::store::{self, StoreError};

/// The handle to the job queue: enqueue, wake the workers, hear of job changes.
#[derive(Clone)]
pub struct JobQueue {
    db: DatabaseConnection,
    wake: Arc<Notify>,
    changes: broadcast::Sender<i64>,
}

impl JobQueue {
    pub fn new(db: DatabaseConnection) -> Self {
        let (changes, _) = broadcast::channel(1024);
        Self { db, wake: Arc::new(Notify::new()), changes }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Queues a refresh of `target`, or returns the one already queued or running for it.
    pub async fn enqueue(
        &self,
        target: &Target,
        trigger: JobTrigger,
    ) -> Result<(refresh_job::Model, bool), StoreError> {
        self.enqueue_in(target, trigger, None).await
    }

    async fn enqueue_in(
        &self,
        target: &Target,
        trigger: JobTrigger,
        parent: Option<i64>,
    ) -> Result<(refresh_job::Model, bool), StoreError> {
        let (job, created) = store::jobs::enqueue(&self.db, target, trigger, parent).await?;
        if created {
            tracing::info!(job_id = job.id, target = %target, trigger = trigger.as_str(), "job queued");
            self.wake.notify_one();
            self.changed(job.id);
        }
        Ok((job, created))
    }

    /// Wakes the idle workers of this process: jobs were queued.
    pub fn wake_workers(&self) {
        self.wake.notify_waiters();
        self.wake.notify_one();
    }

    /// Signals that job `id` changed (for subscriptions of this process).
    pub fn changed(&self, id: i64) {
        let _ = self.changes.send(id);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.changes.subscribe()
    }
}
