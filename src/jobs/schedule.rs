//! The schedules (cron, seconds first, UTC): one loop sleeps until the next firing of any of
//! them, and a firing only enqueues. Each firing is recorded once, so that replicas that fire
//! together enqueue once.
use std::future::Future;

use chrono::{DateTime, Utc};
use entity::refresh_job::JobTrigger;
use sea_orm::DatabaseConnection;

use super::JobQueue;
use crate::config::Config;
use crate::domain::archive::DayRange;
use crate::domain::{Schedule, Target};
use crate::store::{self, StoreError};

pub use entity::schedule_firing::ScheduleTask as Task;

/// The schedules of `config`: the crawl, and the archive import when ARCHIVE_FROM is set.
pub fn schedules(config: &Config) -> Vec<(Schedule, Task)> {
    let mut schedules = vec![(config.jobs.crawl_schedule.clone(), Task::Crawl)];
    if config.archive.from.is_some() {
        schedules.push((config.archive.schedule.clone(), Task::Archive));
    }
    schedules
}

/// Runs the schedules until `shutdown` completes.
pub async fn run(
    config: &Config,
    queue: &JobQueue,
    schedules: Vec<(Schedule, Task)>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut after = Utc::now();
    loop {
        let Some(at) = schedules.iter().filter_map(|(s, _)| s.next_after(after)).min() else {
            tracing::warn!("no schedule fires again");
            return;
        };
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(wait) => {}
        }
        // Every task due at this instant fires, each once.
        for (schedule, task) in &schedules {
            if schedule.next_after(after) == Some(at) {
                if let Err(err) = fire(config, queue, *task, at).await {
                    tracing::error!(error = %err, task = ?task, "the schedule could not queue its jobs");
                }
            }
        }
        after = at;
    }
}

/// One firing of `task` at `at`: the first replica to record the firing enqueues.
pub async fn fire(config: &Config, queue: &JobQueue, task: Task, at: DateTime<Utc>) -> Result<usize, StoreError> {
    if !store::jobs::record_firing(queue.db(), task, at).await? {
        return Ok(0);
    }
    let targets = match task {
        Task::Crawl => scheduled_targets(config, queue.db()).await?,
        Task::Archive => archive_target(config, queue.db(), at).await?.into_iter().collect(),
    };
    for target in &targets {
        queue.enqueue(target, JobTrigger::Schedule).await?;
    }
    tracing::info!(%at, ?task, jobs = targets.len(), "scheduled jobs queued");
    Ok(targets.len())
}

/// What the crawl schedule refreshes: every account of GITHUB_OWNERS, and every repository
/// added with refreshRepo whose account is not among them.
pub async fn scheduled_targets(config: &Config, db: &DatabaseConnection) -> Result<Vec<Target>, StoreError> {
    let owners = &config.github.owners.0;
    let mut targets: Vec<Target> = owners.iter().cloned().map(Target::Account).collect();
    let keys: Vec<String> = owners.iter().map(|o| o.key()).collect();
    for repo in store::repositories::tracked(db).await? {
        if keys.contains(&repo.owner_key) {
            continue; // refreshed with its account
        }
        targets.push(Target::Repository(store::repositories::reference(&repo)?));
    }
    Ok(targets)
}

/// The days the archive schedule imports at `now`: from the first day since ARCHIVE_FROM with an
/// hour not imported yet (or from two days ago, where the archive may still publish hours it
/// lacked) to today. Only complete hours are imported, and imported hours never again.
pub async fn archive_target(
    config: &Config,
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Option<Target>, StoreError> {
    let Some(from) = config.archive.from else { return Ok(None) };
    let unsettled = store::archive::ledger::first_unsettled_day(db, from).await?;
    let recheck = (now - chrono::Duration::hours(48)).date_naive();
    let today = now.date_naive();
    let start = unsettled.min(recheck).max(from).min(today);
    Ok(DayRange::new(start, today.max(start)).ok().map(Target::Archive))
}

/// CRAWL_ON_START: queues a refresh of each scheduled target whose last success is older than
/// the schedule period (or that never succeeded).
pub async fn crawl_on_start(config: &Config, queue: &JobQueue) -> Result<usize, StoreError> {
    let now = Utc::now();
    let period = config.jobs.crawl_schedule.period(now).unwrap_or_else(|| chrono::Duration::days(1));
    let mut queued = 0;
    for target in scheduled_targets(config, queue.db()).await? {
        let fresh = store::jobs::last_success(queue.db(), &target).await?.is_some_and(|at| now - at < period);
        if !fresh {
            queue.enqueue(&target, JobTrigger::Startup).await?;
            queued += 1;
        }
    }
    Ok(queued)
}
