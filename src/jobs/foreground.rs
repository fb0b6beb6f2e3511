//! Running jobs in the foreground, as the command line does: the same jobs and the same workers
//! as the server, limited to the jobs asked for and their children, until they end.
use std::future::Future;
use std::sync::Arc;

use entity::refresh_job::{self, JobTrigger};
use tokio::sync::{mpsc, watch};

use super::Services;
use super::{JobQueue, RepoReport, WorkerPool, WorkerSettings};
use crate::crawler::Progress;
use crate::domain::Target;
use crate::store::{self, jobs::ClaimScope, StoreError};

/// Jobs queued for the foreground, with the workers that will run them.
pub struct ForegroundRun {
    queue: JobQueue,
    pool: WorkerPool,
    roots: Vec<i64>,
    reports: mpsc::UnboundedReceiver<RepoReport>,
}

/// How a foreground run ended.
#[derive(Debug)]
pub struct ForegroundReport {
    /// The jobs asked for, as they ended.
    pub jobs: Vec<refresh_job::Model>,
    /// Every repository refresh this process ran, in the order they ended.
    pub repos: Vec<RepoReport>,
    /// Requests, commits and contributors counted by this process's jobs.
    pub totals: Arc<Progress>,
    /// The run was interrupted (SIGINT/SIGTERM) before every job ended.
    pub interrupted: bool,
}

impl ForegroundReport {
    /// Each job that failed, as `target: why`.
    pub fn failures(&self) -> Vec<String> {
        self.jobs
            .iter()
            .filter(|j| j.status == refresh_job::JobStatus::Failed)
            .map(|j| {
                let why = j.error.as_deref().unwrap_or("failed");
                if why.starts_with(&j.target_key) || why.to_lowercase().starts_with(&j.target_key) {
                    why.to_string()
                } else {
                    format!("{}: {why}", j.target_key)
                }
            })
            .collect()
    }
}

impl ForegroundRun {
    /// Queues `targets` (or joins the jobs already queued or running for them).
    pub async fn start(
        services: &Services,
        mut settings: WorkerSettings,
        targets: &[Target],
        trigger: JobTrigger,
    ) -> Result<Self, StoreError> {
        let queue = services.queue.clone();
        let mut roots = Vec::with_capacity(targets.len());
        for target in targets {
            let (job, _) = queue.enqueue(target, trigger).await?;
            if !roots.contains(&job.id) {
                roots.push(job.id);
            }
        }
        settings.scope = ClaimScope::Roots(roots.clone());
        // The archive hours of these jobs' days, whichever job queued them.
        settings.hour_ranges = Some(
            targets
                .iter()
                .filter_map(|t| match t {
                    Target::Archive(range) => Some(*range),
                    _ => None,
                })
                .collect(),
        );
        let (tx, reports) = mpsc::unbounded_channel();
        let pool = services.workers(settings).with_reports(tx);
        Ok(Self { queue, pool, roots, reports })
    }

    /// Counts of this run's jobs, live.
    pub fn totals(&self) -> Arc<Progress> {
        self.pool.totals()
    }

    /// Runs the workers until every job asked for ended, or `interrupt` completes (then
    /// running jobs get the shutdown grace and go back to the queue).
    pub async fn finish(mut self, interrupt: impl Future<Output = ()>) -> Result<ForegroundReport, StoreError> {
        let totals = self.pool.totals();
        let (stop_tx, stop_rx) = watch::channel(false);
        let workers = tokio::spawn(self.pool.run(stop_rx));
        let mut changes = self.queue.subscribe();
        let poll = std::time::Duration::from_millis(200);
        tokio::pin!(interrupt);
        let mut interrupted = false;
        let mut repos = Vec::new();
        loop {
            while let Ok(report) = self.reports.try_recv() {
                repos.push(report);
            }
            let jobs = store::jobs::by_ids(self.queue.db(), &self.roots).await;
            match jobs {
                Ok(jobs) if jobs.iter().all(|j| j.finished_at.is_some()) => break,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "cannot read the jobs being run"),
            }
            tokio::select! {
                () = &mut interrupt => { interrupted = true; break; }
                _ = changes.recv() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
        let _ = stop_tx.send(true);
        let _ = workers.await;
        while let Ok(report) = self.reports.try_recv() {
            repos.push(report);
        }
        let mut jobs = store::jobs::by_ids(self.queue.db(), &self.roots).await?;
        jobs.sort_by_key(|j| self.roots.iter().position(|r| *r == j.id));
        Ok(ForegroundReport { jobs, repos, totals, interrupted })
    }
}
