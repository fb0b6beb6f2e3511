//! Workers: claim jobs from the database, run them under a renewed lease, record the outcome.
//!
//! A repository job refreshes one repository (at most `CRAWL_CONCURRENCY` at once). An account
//! job lists the account and queues one repository job per repository, then follows them to
//! the end: several replicas on one PostgreSQL share an account's repositories.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use entity::refresh_job;
use rand::RngCore;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::{JobQueue, Trigger};
use crate::config::Config;
use crate::crawler::{Crawler, Progress};
use crate::domain::{OwnerLogin, RepoName, Target};
use crate::metrics::{Metrics, JOB_SECONDS};
use crate::store::{
    self,
    jobs::{JobKind, JobProgress},
};

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub lease: Duration,
    pub poll: Duration,
    pub repo_slots: usize,
    /// How long running jobs may finish after shutdown before their leases are released.
    pub shutdown_grace: Duration,
}

impl WorkerSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            lease: Duration::from_secs(config.job_lease_secs),
            poll: Duration::from_millis(config.job_poll_ms),
            repo_slots: usize::from(config.crawl_concurrency),
            shutdown_grace: Duration::from_secs(config.job_shutdown_grace_secs),
        }
    }
}

#[derive(Clone)]
pub struct WorkerPool {
    queue: JobQueue,
    crawler: Crawler,
    settings: WorkerSettings,
    metrics: Arc<Metrics>,
    /// Names this process in `lease_owner`.
    worker_id: Arc<str>,
}

/// What a job reports while it runs.
#[derive(Default)]
struct JobState {
    progress: Arc<Progress>,
    /// Requests made by earlier attempts of this job.
    base_requests: u64,
    /// Requests made by an account job's repository jobs.
    child_requests: AtomicU64,
}

impl JobState {
    fn snapshot(&self, job: &refresh_job::Model) -> JobProgress {
        let p = &self.progress;
        let total = Progress::get(&p.repos_total);
        JobProgress {
            repos_total: (job.repo.is_none() || total > 0).then_some(total as i32),
            repos_done: (job.repo.is_none() || total > 0).then_some(Progress::get(&p.repos_done) as i32),
            requests_made: (self.base_requests + p.requests.requests() + self.child_requests.load(Ordering::Relaxed))
                as i64,
        }
    }
}

fn claim_suffix() -> String {
    let mut bytes = [0u8; 4];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

enum Ended {
    Finished(&'static str, Option<String>),
    LeaseLost,
    Released,
}

impl WorkerPool {
    pub fn new(queue: JobQueue, crawler: Crawler, settings: WorkerSettings, metrics: Arc<Metrics>) -> Self {
        let mut bytes = [0u8; 6];
        rand::rng().fill_bytes(&mut bytes);
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "git-collector".into());
        let worker_id: Arc<str> = format!("{host}-{}-{}", std::process::id(), hex::encode(bytes)).into();
        Self { queue, crawler, settings, metrics, worker_id }
    }

    /// Claims and runs jobs until `shutdown` turns true; then stops claiming, gives running
    /// jobs the grace period, and puts the rest back in the queue.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let repo_slots = Arc::new(Semaphore::new(self.settings.repo_slots.max(1)));
        let account_slots = Arc::new(Semaphore::new(self.settings.repo_slots.max(1)));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut running = JoinSet::new();
        let db = self.queue.db().clone();
        let mut last_sweep = Instant::now() - self.settings.poll;
        tracing::info!(worker = &*self.worker_id, "job workers started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            if last_sweep.elapsed() >= self.settings.poll {
                last_sweep = Instant::now();
                if let Err(err) = store::jobs::fail_abandoned(&db).await {
                    tracing::warn!(error = %err, "cannot check for abandoned jobs");
                }
            }
            // Claim while there are free slots and queued jobs.
            loop {
                let mut claimed = false;
                for (kind, slots) in [(JobKind::Repository, &repo_slots), (JobKind::Account, &account_slots)] {
                    let Ok(permit) = slots.clone().try_acquire_owned() else { continue };
                    let lease_until = Utc::now() + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
                    // A token of its own per claim: a job this process held before (and whose
                    // lease lapsed) is never run twice under one name.
                    let token = format!("{}/{}", self.worker_id, claim_suffix());
                    match store::jobs::claim(&db, &token, kind, lease_until).await {
                        Ok(Some(job)) => {
                            claimed = true;
                            let pool = self.clone();
                            // Account jobs hold no crawl state: they are released as soon as
                            // shutdown starts; repository jobs get the grace period.
                            let stop = match kind {
                                JobKind::Account => shutdown.clone(),
                                JobKind::Repository => stop_rx.clone(),
                            };
                            running.spawn(pool.run_job(job, token, permit, stop));
                        }
                        Ok(None) => {}
                        Err(err) => tracing::warn!(error = %err, "cannot claim a job"),
                    }
                }
                if !claimed {
                    break;
                }
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = self.queue.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.poll) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        tracing::info!(running = running.len(), "workers stopping: no new jobs are claimed");
        let grace = tokio::time::sleep(self.settings.shutdown_grace);
        tokio::pin!(grace);
        while !running.is_empty() {
            tokio::select! {
                _ = &mut grace => {
                    let _ = stop_tx.send(true);
                    while running.join_next().await.is_some() {}
                }
                _ = running.join_next() => {}
            }
        }
    }

    async fn run_job(
        self,
        job: refresh_job::Model,
        token: String,
        _permit: OwnedSemaphorePermit,
        mut stop: watch::Receiver<bool>,
    ) {
        let span =
            tracing::info_span!("job", job_id = job.id, owner = %job.owner, repo = job.repo.as_deref().unwrap_or(""));
        let _enter = span.enter();
        drop(_enter);
        let started = Instant::now();
        let db = self.queue.db().clone();
        // Requests of earlier attempts (a worker that died) still count.
        let state = Arc::new(JobState { base_requests: job.requests_made.max(0) as u64, ..JobState::default() });
        self.queue.changed(job.id);
        tracing::info!(parent: &span, attempt = job.attempts, "job started");
        let work = self.execute(&job, &state);
        let heartbeat = async {
            let mut renewed = Instant::now();
            loop {
                tokio::time::sleep(self.settings.lease / 3).await;
                let lease_until = Utc::now() + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
                match store::jobs::heartbeat(&db, job.id, &token, lease_until, state.snapshot(&job)).await {
                    Ok(true) => {
                        renewed = Instant::now();
                        self.queue.changed(job.id);
                    }
                    Ok(false) => return,
                    Err(err) => tracing::warn!(error = %err, "cannot renew a job lease"),
                }
                // Unrenewed for most of a lease: another worker may take it any moment.
                if renewed.elapsed() >= self.settings.lease * 5 / 6 {
                    return;
                }
            }
        };
        let ended = tokio::select! {
            biased;
            (status, error) = work => Ended::Finished(status, error),
            () = heartbeat => Ended::LeaseLost,
            _ = stop.wait_for(|s| *s) => Ended::Released,
        };
        match ended {
            Ended::Finished(status, error) => {
                match store::jobs::finish(&db, job.id, &token, status, error.clone(), state.snapshot(&job)).await {
                    Ok(true) => {
                        self.metrics.observe(JOB_SECONDS, status, started.elapsed());
                        match &error {
                            Some(error) => tracing::warn!(parent: &span, status, error, "job ended"),
                            None => {
                                tracing::info!(parent: &span, status, took_ms = started.elapsed().as_millis() as u64, "job ended")
                            }
                        }
                    }
                    Ok(false) => tracing::warn!(parent: &span, "job finished after its lease passed to another worker"),
                    Err(err) => tracing::error!(parent: &span, error = %err, "cannot record the end of a job"),
                }
            }
            Ended::LeaseLost => tracing::warn!(parent: &span, "lease lost to another worker: stopped"),
            Ended::Released => match store::jobs::release(&db, job.id, &token).await {
                Ok(_) => tracing::info!(parent: &span, "shutting down: job put back in the queue"),
                Err(err) => tracing::error!(parent: &span, error = %err, "cannot release a job"),
            },
        }
        self.queue.changed(job.id);
    }

    /// Runs the job's work; returns its final status and error.
    async fn execute(&self, job: &refresh_job::Model, state: &JobState) -> (&'static str, Option<String>) {
        let Ok(owner) = OwnerLogin::parse(&job.owner) else {
            return (store::jobs::FAILED, Some(format!("`{}` is not a valid account name", job.owner)));
        };
        let result = match &job.repo {
            Some(name) => match RepoName::parse(name) {
                Ok(name) => {
                    let track = job.parent_id.is_none();
                    match self.crawler.refresh_repository(&owner, &name, track, &state.progress).await {
                        Ok(report) => report.failure().map_or(Ok(()), Err),
                        Err(err) => Err(err.to_string()),
                    }
                }
                Err(err) => Err(err.to_string()),
            },
            None => self.run_account(job, &owner, state).await,
        };
        match result {
            Ok(()) => (store::jobs::SUCCEEDED, None),
            Err(error) => (store::jobs::FAILED, Some(error)),
        }
    }

    /// Lists the account, queues a job per repository (unless this job already finished one,
    /// when it is taken over after a crash), and follows them to the end.
    async fn run_account(&self, job: &refresh_job::Model, owner: &OwnerLogin, state: &JobState) -> Result<(), String> {
        let db = self.queue.db();
        let repos = self.crawler.list_account(owner, &state.progress).await.map_err(|e| e.to_string())?;
        state.progress.repos_total.store(repos.len() as u64, Ordering::Relaxed);
        let earlier: HashMap<String, refresh_job::Model> = store::jobs::children(db, job.id)
            .await
            .map_err(|e| format!("database error: {e}"))?
            .into_iter()
            .filter(|c| c.finished_at.is_some())
            .map(|c| (c.target_key.clone(), c))
            .collect();
        let trigger = match job.trigger.as_str() {
            "schedule" => Trigger::Schedule,
            "startup" => Trigger::Startup,
            _ => Trigger::Mutation,
        };
        let mut followed = Vec::with_capacity(repos.len());
        for repo in &repos {
            let (Ok(o), Ok(n)) = (OwnerLogin::parse(&repo.owner), RepoName::parse(&repo.name)) else { continue };
            let target = Target::Repo(o, n);
            if let Some(done) = earlier.get(&target.key()) {
                followed.push(done.id);
                continue;
            }
            let (child, _) = self
                .queue
                .enqueue_in(&target, trigger, Some(job.id))
                .await
                .map_err(|e| format!("database error: {e}"))?;
            followed.push(child.id);
        }
        // Follow the repository jobs until every one ended.
        loop {
            let children = store::jobs::by_ids(db, &followed).await.map_err(|e| format!("database error: {e}"))?;
            let done: Vec<&refresh_job::Model> = children.iter().filter(|c| c.finished_at.is_some()).collect();
            state.progress.repos_done.store(done.len() as u64, Ordering::Relaxed);
            state.child_requests.store(children.iter().map(|c| c.requests_made.max(0) as u64).sum(), Ordering::Relaxed);
            if done.len() >= children.len() {
                let failed: Vec<String> = done
                    .iter()
                    .filter(|c| c.status == store::jobs::FAILED)
                    .map(|c| {
                        format!(
                            "{}/{}: {}",
                            c.owner,
                            c.repo.as_deref().unwrap_or(""),
                            c.error.as_deref().unwrap_or("failed")
                        )
                    })
                    .collect();
                return if failed.is_empty() { Ok(()) } else { Err(failed.join("; ")) };
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }
}
