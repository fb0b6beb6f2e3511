//! Durable refresh jobs, their workers, and the cron schedule (which only enqueues).
pub mod schedule;
mod worker;

use std::sync::Arc;

use entity::refresh_job;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{broadcast, Notify};

pub use worker::{WorkerPool, WorkerSettings};

use crate::domain::Target;
use crate::store;

/// Why a job was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Startup,
    Mutation,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Startup => "startup",
            Trigger::Mutation => "mutation",
        }
    }
}

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
    pub async fn enqueue(&self, target: &Target, trigger: Trigger) -> Result<(refresh_job::Model, bool), DbErr> {
        self.enqueue_in(target, trigger, None).await
    }

    async fn enqueue_in(
        &self,
        target: &Target,
        trigger: Trigger,
        parent: Option<i64>,
    ) -> Result<(refresh_job::Model, bool), DbErr> {
        let repo = target.repo().map(|r| r.as_str());
        let (job, created) =
            store::jobs::enqueue(&self.db, target.owner().as_str(), repo, &target.key(), trigger.as_str(), parent)
                .await?;
        if created {
            tracing::info!(job_id = job.id, target = %target, trigger = trigger.as_str(), "refresh queued");
            self.wake.notify_one();
            self.changed(job.id);
        }
        Ok((job, created))
    }

    /// Signals that job `id` changed (for subscriptions of this process).
    pub fn changed(&self, id: i64) {
        let _ = self.changes.send(id);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.changes.subscribe()
    }
}
