//! The crawl schedule: a cron expression, seconds first, in UTC. It only enqueues.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use sea_orm::{DatabaseConnection, DbErr};
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use super::{JobQueue, Trigger};
use crate::config::Config;
use crate::domain::{OwnerLogin, RepoName, Target};
use crate::store;

#[derive(Debug, thiserror::Error)]
#[error("`{expression}` is not a cron expression with seconds (e.g. `0 0 0 * * *`): {reason}")]
pub struct ScheduleError {
    expression: String,
    reason: String,
}

pub fn parse_cron(expression: &str) -> Result<Cron, ScheduleError> {
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expression.trim())
        .map_err(|e| ScheduleError { expression: expression.to_string(), reason: e.to_string() })
}

/// The most recent firing at or before `now`, if the schedule fired within a year.
pub fn previous_tick(cron: &Cron, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    use chrono::SubsecRound;
    cron.find_previous_occurrence(&now.trunc_subsecs(0), true).ok()
}

/// The time between two firings around `now` (a day for the default schedule).
pub fn period(cron: &Cron, now: DateTime<Utc>) -> Option<chrono::Duration> {
    let next = cron.find_next_occurrence(&now, false).ok()?;
    let after = cron.find_next_occurrence(&next, false).ok()?;
    Some(after - next)
}

/// What the schedule refreshes: every account of GITHUB_OWNERS, and every repository added
/// with refreshRepo whose account is not among them.
pub async fn scheduled_targets(config: &Config, db: &DatabaseConnection) -> Result<Vec<Target>, DbErr> {
    let mut targets: Vec<Target> = config.github_owners.iter().cloned().map(Target::Owner).collect();
    let owners: Vec<String> = config.github_owners.iter().map(|o| o.key()).collect();
    for repo in store::repositories::tracked(db).await? {
        if owners.contains(&repo.owner_key) {
            continue; // refreshed with its account
        }
        if let (Ok(owner), Ok(name)) = (OwnerLogin::parse(&repo.owner), RepoName::parse(&repo.name)) {
            targets.push(Target::Repo(owner, name));
        }
    }
    Ok(targets)
}

/// One firing of the schedule at `tick`: the first replica to record the tick enqueues.
pub async fn tick(config: &Config, queue: &JobQueue, tick: DateTime<Utc>) -> Result<usize, DbErr> {
    if !store::jobs::record_tick(queue.db(), tick).await? {
        return Ok(0);
    }
    let targets = scheduled_targets(config, queue.db()).await?;
    for target in &targets {
        queue.enqueue(target, Trigger::Schedule).await?;
    }
    tracing::info!(%tick, targets = targets.len(), "scheduled crawl queued");
    Ok(targets.len())
}

/// CRAWL_ON_START: queues a refresh of each scheduled target whose last success is older than
/// the schedule period (or that never succeeded).
pub async fn crawl_on_start(config: &Config, queue: &JobQueue) -> Result<usize, DbErr> {
    let now = Utc::now();
    let period = parse_cron(&config.crawl_schedule)
        .ok()
        .and_then(|cron| period(&cron, now))
        .unwrap_or_else(|| chrono::Duration::days(1));
    let mut queued = 0;
    for target in scheduled_targets(config, queue.db()).await? {
        let fresh = store::jobs::last_success(queue.db(), &target.key()).await?.is_some_and(|at| now - at < period);
        if !fresh {
            queue.enqueue(&target, Trigger::Startup).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Starts the cron schedule; it only enqueues.
pub async fn start(config: Arc<Config>, queue: JobQueue) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let cron = parse_cron(&config.crawl_schedule).map_err(|_| JobSchedulerError::ParseSchedule)?;
    let expression = config.crawl_schedule.clone();
    let job = Job::new_async(expression.as_str(), move |_, _| {
        let (config, queue, cron) = (config.clone(), queue.clone(), cron.clone());
        Box::pin(async move {
            // The scheduled instant, the same on every replica.
            let Some(at) = previous_tick(&cron, Utc::now()) else { return };
            if let Err(err) = tick(&config, &queue, at).await {
                tracing::error!(error = %err, "the scheduled crawl could not be queued");
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    Ok(scheduler)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_is_daily_at_midnight() {
        let cron = parse_cron("0 0 0 * * *").unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-21T16:00:00Z").unwrap().with_timezone(&Utc);
        let prev = previous_tick(&cron, now).unwrap();
        assert_eq!(prev.to_rfc3339(), "2026-11-21T00:00:00+00:00");
    }

    #[test]
    fn bad_expressions_are_rejected() {
        assert!(parse_cron("every day").is_err());
        assert!(parse_cron("0 0 * * *").is_err(), "five fields lack the seconds");
    }
}
