//! Workers: claim jobs from the database, run them under a renewed lease, record the outcome.
//! This is the one place that decides how much runs at once.
//!
//! A repository job refreshes one repository (at most `CRAWL_CONCURRENCY` at once per process).
//! An account job lists the account and queues one repository job per repository, then follows
//! them to the end: several replicas on one PostgreSQL share an account's repositories.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use entity::enums::RefreshOutcome;
use entity::refresh_job::{self, JobKind, JobStatus};
use entity::repository;
use rand::RngCore;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::archive::{self, ArchiveJobError, ArchiveProgress, Archiving};
use super::retry::patiently;
use super::JobQueue;
use crate::config::Config;
use crate::crawler::{Count, CrawlError, Crawler, Progress, RepoError, RepoOutcome};
use crate::domain::archive::DayRange;
use crate::domain::{OwnerLogin, RepoRef, Target};
use crate::metrics::Metrics;
use crate::store::{
    self,
    jobs::{ClaimScope, JobProgress},
    StoreError,
};

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub lease: Duration,
    pub poll: Duration,
    /// Repository refreshes run at once by this process (`CRAWL_CONCURRENCY`).
    pub repo_slots: usize,
    /// Archive hour files read at once by this process (`ARCHIVE_CONCURRENCY`).
    pub hour_slots: usize,
    /// How long running jobs may finish after shutdown before their leases are released.
    pub shutdown_grace: Duration,
    /// Which jobs this pool takes.
    pub scope: ClaimScope,
    /// Which archive hours this pool takes (None: any).
    pub hour_ranges: Option<Vec<DayRange>>,
}

impl WorkerSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            lease: config.jobs.lease(),
            poll: config.jobs.poll(),
            repo_slots: usize::from(config.jobs.crawl_concurrency),
            hour_slots: config.archive.concurrency(),
            shutdown_grace: config.jobs.shutdown_grace(),
            scope: ClaimScope::All,
            hour_ranges: None,
        }
    }
}

/// A repository refresh this pool finished, for a command that runs jobs in the foreground.
#[derive(Debug, Clone)]
pub struct RepoReport {
    pub repo: RepoRef,
    pub result: Result<RepoOutcome, Arc<RepoError>>,
}

/// Why a job failed. Turned into text only when stored on the job.
#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("{repo}: {source}")]
    Repository { repo: RepoRef, source: Arc<RepoError> },
    #[error(transparent)]
    Listing(#[from] CrawlError),
    /// Repository jobs of an account job that failed: `owner/name: why`, each.
    #[error("{}", .0.join("; "))]
    Children(Vec<String>),
    #[error(transparent)]
    Archive(#[from] ArchiveJobError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl JobError {
    /// The database could not be reached: the job is tried again rather than failed.
    fn is_transient(&self) -> bool {
        match self {
            JobError::Repository { source, .. } => matches!(&**source, RepoError::Store(e) if e.is_unavailable()),
            JobError::Listing(CrawlError::Store(e)) | JobError::Store(e) => e.is_unavailable(),
            JobError::Archive(e) => e.is_transient(),
            JobError::Listing(_) | JobError::Children(_) => false,
        }
    }
}

#[derive(Clone)]
pub struct WorkerPool {
    queue: JobQueue,
    crawler: Crawler,
    archiving: Archiving,
    settings: WorkerSettings,
    metrics: Arc<Metrics>,
    /// Names this process in `lease_owner`.
    worker_id: Arc<str>,
    /// Counts of every job this pool runs, summed.
    totals: Arc<Progress>,
    reports: Option<mpsc::UnboundedSender<RepoReport>>,
}

/// What a job reports while it runs.
struct JobState {
    progress: Progress,
    /// Requests made by earlier attempts of this job.
    base_requests: u64,
    /// Requests made by an account job's repository jobs.
    child_requests: AtomicU64,
    /// An account job's repositories, and how many of their jobs ended.
    children_total: AtomicU64,
    children_done: AtomicU64,
    archive: ArchiveProgress,
}

impl JobState {
    fn snapshot(&self, job: &refresh_job::Model) -> JobProgress {
        let requests =
            self.base_requests + self.progress.requests.requests() + self.child_requests.load(Ordering::Relaxed);
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let mut progress = JobProgress { requests_made: requests as i64, ..JobProgress::default() };
        match job.kind {
            JobKind::Account => {
                progress.repos_total = Some(load(&self.children_total) as i32);
                progress.repos_done = Some(load(&self.children_done) as i32);
            }
            JobKind::Repository => {
                progress.repos_total = Some(1);
                progress.repos_done = Some(self.progress.get(Count::ReposDone) as i32);
            }
            JobKind::Archive => {
                progress.hours_total = Some(load(&self.archive.hours_total) as i32);
                progress.hours_done = Some(load(&self.archive.hours_done) as i32);
                progress.events_imported = Some(load(&self.archive.events) as i64);
            }
        }
        progress
    }
}

/// A repository found empty by its last refresh, and not pushed to since (per the listing).
fn still_empty(repo: &repository::Model) -> bool {
    repo.last_outcome == Some(RefreshOutcome::Empty)
        && matches!((repo.pushed_at, repo.last_refreshed_at), (Some(pushed), Some(refreshed)) if pushed <= refreshed)
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

enum Ended {
    Finished(Result<(), JobError>),
    LeaseLost,
    Released,
}

impl WorkerPool {
    pub fn new(
        queue: JobQueue,
        crawler: Crawler,
        archiving: Archiving,
        settings: WorkerSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "git-collector".into());
        let worker_id: Arc<str> = format!("{host}-{}-{}", std::process::id(), random_hex(6)).into();
        Self { queue, crawler, archiving, settings, metrics, worker_id, totals: Arc::default(), reports: None }
    }

    /// Sends every finished repository refresh to `reports`.
    pub fn with_reports(mut self, reports: mpsc::UnboundedSender<RepoReport>) -> Self {
        self.reports = Some(reports);
        self
    }

    /// Counts of every job this pool ran, summed.
    pub fn totals(&self) -> Arc<Progress> {
        self.totals.clone()
    }

    /// Claims and runs jobs until `shutdown` turns true; then stops claiming, gives running
    /// jobs the grace period, and puts the rest back in the queue.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let repo_slots = Arc::new(Semaphore::new(self.settings.repo_slots.max(1)));
        // Account and archive jobs mostly follow the units they queued (repository jobs, hours),
        // each kind in slots of its own: an archive import never waits for a crawl, nor the
        // other way round.
        let account_slots = Arc::new(Semaphore::new(self.settings.repo_slots.max(1)));
        let archive_slots = Arc::new(Semaphore::new(self.settings.hour_slots.max(1)));
        let hour_slots = Arc::new(Semaphore::new(self.settings.hour_slots.max(1)));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut running = JoinSet::new();
        let db = self.queue.db().clone();
        let mut last_sweep = Instant::now() - self.settings.poll;
        // On PostgreSQL, idle workers wait for notifications (jobs/notify.rs), not the clock.
        let listening = super::notify::Listening::default();
        let listener = tokio::spawn(super::notify::listen(db.clone(), self.queue.clone(), listening.clone()));
        tracing::info!(worker = &*self.worker_id, "job workers started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Polling, the sweep runs once a period; listening, at every wake-up (there are none
            // while idle).
            if listening.get() || last_sweep.elapsed() >= self.settings.poll {
                last_sweep = Instant::now();
                if let Err(err) = store::jobs::fail_abandoned(&db).await {
                    tracing::warn!(error = %err, "cannot check for abandoned jobs");
                }
                if let Err(err) = store::archive::ledger::fail_abandoned(&db).await {
                    tracing::warn!(error = %err, "cannot check for abandoned archive hours");
                }
            }
            // Claim while there are free slots and queued jobs, and no shutdown began (a job
            // released at shutdown must not be claimed again).
            while !*shutdown.borrow() {
                let mut claimed = false;
                if let Ok(permit) = hour_slots.clone().try_acquire_owned() {
                    let lease_until = Utc::now() + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
                    let token = format!("{}/{}", self.worker_id, random_hex(4));
                    let ranges = self.settings.hour_ranges.as_deref();
                    match store::archive::ledger::claim(&db, &token, ranges, lease_until).await {
                        Ok(Some(hour)) => {
                            claimed = true;
                            let pool = self.clone();
                            let stop = stop_rx.clone();
                            running.spawn(async move {
                                let _permit = permit;
                                let db = pool.queue.db().clone();
                                archive::run_hour(
                                    &db,
                                    &pool.archiving,
                                    &pool.metrics,
                                    hour,
                                    token,
                                    pool.settings.lease,
                                    stop,
                                )
                                .await;
                            });
                        }
                        Ok(None) => {}
                        Err(err) => tracing::warn!(error = %err, "cannot claim an archive hour"),
                    }
                }
                for (kind, slots) in [
                    (JobKind::Repository, &repo_slots),
                    (JobKind::Account, &account_slots),
                    (JobKind::Archive, &archive_slots),
                ] {
                    let Ok(permit) = slots.clone().try_acquire_owned() else { continue };
                    let lease_until = Utc::now() + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
                    // A token of its own per claim: a job this process held before (and whose
                    // lease lapsed) is never run twice under one name.
                    let token = format!("{}/{}", self.worker_id, random_hex(4));
                    match store::jobs::claim(&db, &token, kind, &self.settings.scope, lease_until).await {
                        Ok(Some(job)) => {
                            claimed = true;
                            // Account jobs hold no crawl state: they are released as soon as
                            // shutdown starts; the others get the grace period.
                            let stop = match kind {
                                JobKind::Account | JobKind::Archive => shutdown.clone(),
                                JobKind::Repository => stop_rx.clone(),
                            };
                            running.spawn(self.clone().run_job(job, token, permit, stop));
                        }
                        Ok(None) => {}
                        Err(err) => tracing::warn!(error = %err, "cannot claim a job"),
                    }
                }
                if !claimed {
                    break;
                }
            }
            let idle = self.idle_wait(&db, listening.get()).await;
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = self.queue.wake.notified() => {}
                _ = tokio::time::sleep(idle.unwrap_or_default()), if idle.is_some() => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        listener.abort();
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

    /// How long to wait for a wake-up before looking for work again (None: until woken).
    /// Polling, one period. Listening, until the first lease running anywhere expires (its job
    /// may then be taken over, and no notification says so), and never while nothing runs.
    async fn idle_wait(&self, db: &sea_orm::DatabaseConnection, listening: bool) -> Option<std::time::Duration> {
        if !listening {
            return Some(self.settings.poll);
        }
        match store::jobs::next_takeover_at(db).await {
            Ok(None) => None,
            // A moment past the expiry, so that the claim finds it expired.
            Ok(Some(at)) => Some((at - Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(50)),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the next lease expiry: polling");
                Some(self.settings.poll)
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
        let span = tracing::info_span!("job", job_id = job.id, kind = ?job.kind, target = %job.target_key);
        let started = Instant::now();
        let db = self.queue.db().clone();
        let state = JobState {
            progress: Progress::counting_into(&self.totals),
            // Requests of earlier attempts (a worker that died) still count.
            base_requests: job.requests_made.max(0) as u64,
            child_requests: AtomicU64::new(0),
            children_total: AtomicU64::new(0),
            children_done: AtomicU64::new(0),
            archive: ArchiveProgress::default(),
        };
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
                    Err(err) => tracing::warn!(parent: &span, error = %err, "cannot renew a job lease"),
                }
                // Unrenewed for most of a lease: another worker may take it any moment.
                if renewed.elapsed() >= self.settings.lease * 5 / 6 {
                    return;
                }
            }
        };
        let ended = tokio::select! {
            biased;
            result = work => Ended::Finished(result),
            () = heartbeat => Ended::LeaseLost,
            _ = stop.wait_for(|s| *s) => Ended::Released,
        };
        match ended {
            Ended::Finished(Err(err)) if err.is_transient() => {
                // Back in the queue for another try (attempts still count); if even that
                // fails, the lease runs out and the job is taken over all the same.
                match store::jobs::release(&db, job.id, &token, true).await {
                    Ok(_) => {
                        tracing::warn!(parent: &span, error = %err, "database unavailable: job put back in the queue")
                    }
                    Err(e) => tracing::warn!(parent: &span, error = %e, "database unavailable: the lease will run out"),
                }
            }
            Ended::Finished(result) => {
                let (status, error) = match &result {
                    Ok(()) => (JobStatus::Succeeded, None),
                    Err(err) => (JobStatus::Failed, Some(err.to_string())),
                };
                let progress = state.snapshot(&job);
                let finished = patiently("recording the end of a job", self.settings.lease, || {
                    store::jobs::finish(&db, job.id, &token, status, error.clone(), progress)
                })
                .await;
                let took_ms = started.elapsed().as_millis() as u64;
                match finished {
                    Ok(true) => {
                        let label = status.as_str();
                        self.metrics.observe_job(status, started.elapsed());
                        match &error {
                            Some(error) => tracing::warn!(parent: &span, status = label, error, took_ms, "job ended"),
                            None => tracing::info!(parent: &span, status = label, took_ms, "job ended"),
                        }
                    }
                    Ok(false) => tracing::warn!(parent: &span, "job finished after its lease passed to another worker"),
                    Err(err) => tracing::error!(parent: &span, error = %err, "cannot record the end of a job"),
                }
            }
            Ended::LeaseLost => tracing::warn!(parent: &span, "lease lost to another worker: stopped"),
            Ended::Released => match store::jobs::release(&db, job.id, &token, false).await {
                Ok(_) => tracing::info!(parent: &span, "shutting down: job put back in the queue"),
                Err(err) => tracing::error!(parent: &span, error = %err, "cannot release a job"),
            },
        }
        self.queue.changed(job.id);
    }

    /// Runs the job's work.
    async fn execute(&self, job: &refresh_job::Model, state: &JobState) -> Result<(), JobError> {
        match store::jobs::target(job)? {
            Target::Repository(repo) => {
                // Asked for on its own (not as part of its account): kept refreshed on schedule.
                let track = job.parent_id.is_none();
                if track {
                    state.progress.add(Count::ReposTotal, 1);
                }
                let result = self.crawler.refresh_repository(&repo, track, &state.progress).await.map_err(Arc::new);
                if let Some(reports) = &self.reports {
                    let _ = reports.send(RepoReport { repo: repo.clone(), result: result.clone() });
                }
                result.map(|_| ()).map_err(|source| JobError::Repository { repo, source })
            }
            Target::Account(owner) => self.run_account(job, &owner, state).await,
            Target::Archive(range) => {
                let db = self.queue.db();
                let queue = self.queue.clone();
                let pace = archive::Pace { poll: self.settings.poll, patience: self.settings.lease };
                archive::run_job(db, &self.archiving, job, range, &state.archive, pace, move || queue.wake_workers())
                    .await?;
                Ok(())
            }
        }
    }

    /// Lists the account, queues a job per repository (unless this job already finished one,
    /// when it is taken over after a crash), and follows them to the end.
    async fn run_account(
        &self,
        job: &refresh_job::Model,
        owner: &OwnerLogin,
        state: &JobState,
    ) -> Result<(), JobError> {
        let db = self.queue.db();
        let patience = self.settings.lease;
        let repos = self.crawler.list_account(owner, &state.progress).await?;
        state.children_total.store(repos.len() as u64, Ordering::Relaxed);
        self.totals.add(Count::ReposTotal, repos.len() as u64);
        let earlier: HashMap<String, refresh_job::Model> =
            patiently("reading an account's repository jobs", patience, || store::jobs::children(db, job.id))
                .await?
                .into_iter()
                .filter(|c| c.finished_at.is_some())
                .map(|c| (c.target_key.clone(), c))
                .collect();
        let mut followed = Vec::with_capacity(repos.len());
        let mut to_queue = Vec::with_capacity(repos.len());
        let mut settled = 0u64;
        for repo in &repos {
            let target = Target::Repository(store::repositories::reference(repo)?);
            if let Some(done) = earlier.get(&target.key()) {
                followed.push(done.id);
                self.totals.add(Count::ReposDone, 1);
            } else if still_empty(repo) {
                // Nothing was pushed since it was found empty: nothing to ask GitHub.
                settled += 1;
                self.totals.add(Count::ReposDone, 1);
            } else {
                to_queue.push(target);
            }
        }
        let queued = patiently("queueing repository jobs", patience, || {
            store::jobs::enqueue_children(db, &to_queue, job.trigger, job.id)
        })
        .await?;
        followed.extend(queued.iter().map(|child| child.id));
        if !queued.is_empty() {
            self.queue.wake_workers();
        }
        // Follow the repository jobs until every one ended; their real states are the progress.
        let mut changes = self.queue.subscribe();
        loop {
            let children = match store::jobs::by_ids(db, &followed).await {
                Ok(children) => children,
                Err(err) => {
                    // The database is away for a moment: the lease says how long we may wait.
                    tracing::warn!(error = %err, "cannot read the repository jobs of an account job");
                    tokio::time::sleep(self.settings.poll).await;
                    continue;
                }
            };
            let done: Vec<&refresh_job::Model> = children.iter().filter(|c| c.finished_at.is_some()).collect();
            state.children_done.store(settled + done.len() as u64, Ordering::Relaxed);
            state.child_requests.store(children.iter().map(|c| c.requests_made.max(0) as u64).sum(), Ordering::Relaxed);
            if done.len() >= children.len() {
                let failed: Vec<String> = done
                    .iter()
                    .filter(|c| c.status == JobStatus::Failed)
                    .map(|c| {
                        let what = c.error.as_deref().unwrap_or("failed");
                        // A repository job's error already names the repository.
                        match &c.repo {
                            Some(name) if !what.starts_with(&format!("{}/{name}", c.owner)) => {
                                format!("{}/{name}: {what}", c.owner)
                            }
                            _ => what.to_string(),
                        }
                    })
                    .collect();
                return if failed.is_empty() { Ok(()) } else { Err(JobError::Children(failed)) };
            }
            // A child ended in this process, or another replica's did (polled).
            let _ = tokio::time::timeout(self.settings.poll, changes.recv()).await;
        }
    }
}
