//! GH Archive work (docs/rules.md §7): an archive job plans the hours of its days and follows
//! them to the end; each hour is a claimable unit that any worker of any replica imports under a
//! lease, settles in one transaction with its aggregates, and puts into its day.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use entity::archive_hour::{self, HourStatus};
use entity::refresh_job::{self, JobTrigger};
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use super::retry::patiently;
use crate::archive::import::{import_hour, HourOutcome, ImportSettings};
use crate::archive::source::{ArchiveSource, SourceError};
use crate::config::ArchiveConfig;
use crate::domain::archive::{day_number, DayRange, Hour};
use crate::metrics::Metrics;
use crate::store::archive::{blocks, days, ledger};
use crate::store::StoreError;

/// How the archive is read, and the hours this process is reading.
#[derive(Clone)]
pub struct Archiving {
    source: ArchiveSource,
    import: ImportSettings,
    /// Events counted so far by the hours being read here.
    in_flight: Arc<Mutex<HashMap<Hour, Arc<AtomicU64>>>>,
}

impl Archiving {
    pub fn from_config(config: &ArchiveConfig) -> Result<Self, SourceError> {
        Ok(Self {
            source: ArchiveSource::new(&config.url, Duration::from_millis(config.timeout_ms))?,
            import: ImportSettings {
                attempts: config.tries,
                retry_delay: Duration::from_millis(config.retry_delay_ms),
            },
            in_flight: Arc::default(),
        })
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<Hour, Arc<AtomicU64>>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Events counted so far by this process's hours of `range` still being read.
    pub fn events_in_flight(&self, range: DayRange) -> u64 {
        self.in_flight()
            .iter()
            .filter(|(hour, _)| hour.day() >= range.from() && hour.day() <= range.to())
            .map(|(_, n)| n.load(Ordering::Relaxed))
            .sum()
    }
}

/// An archive job's progress, for its row.
#[derive(Debug, Default)]
pub struct ArchiveProgress {
    pub hours_total: AtomicU64,
    pub hours_done: AtomicU64,
    pub events: AtomicU64,
}

/// Why an archive job failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveJobError {
    #[error("{}", .0.iter().map(|(h, why)| format!("{h}: {why}")).collect::<Vec<_>>().join("; "))]
    Hours(Vec<(Hour, String)>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ArchiveJobError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ArchiveJobError::Store(e) if e.is_unavailable())
    }
}

/// How a job follows its units: how often it looks, how long it waits out the database.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub poll: Duration,
    pub patience: Duration,
}

/// Plans the complete hours of `range` and follows them until every one settled or failed,
/// then makes sure every imported hour is in its day.
pub async fn run_job(
    db: &DatabaseConnection,
    archiving: &Archiving,
    job: &refresh_job::Model,
    range: DayRange,
    progress: &ArchiveProgress,
    pace: Pace,
    wake: impl Fn(),
) -> Result<(), ArchiveJobError> {
    let Pace { poll, patience } = pace;
    let now = Utc::now();
    let hours: Vec<Hour> = range.hours().filter(|h| h.is_complete(now)).collect();
    // The schedule asks again for hours the archive did not have lately (it may publish late);
    // an explicit import asks again for every missing hour of its range.
    let recheck = match job.trigger {
        JobTrigger::Schedule | JobTrigger::Startup => ledger::Recheck::MissingSince(now - chrono::Duration::hours(48)),
        JobTrigger::Mutation | JobTrigger::Cli => ledger::Recheck::AllMissing,
    };
    patiently("planning archive hours", patience, || ledger::plan(db, job.id, &hours, recheck)).await?;
    progress.hours_total.store(hours.len() as u64, Ordering::Relaxed);
    wake();
    loop {
        match ledger::progress(db, range).await {
            Ok(state) => {
                progress.hours_done.store(state.settled(), Ordering::Relaxed);
                progress.events.store(state.events + archiving.events_in_flight(range), Ordering::Relaxed);
                if state.pending == 0 {
                    break;
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot read the progress of archive hours"),
        }
        tokio::time::sleep(poll).await;
    }
    // Imported hours that are not in their day yet (a worker died between the two steps).
    for day in patiently("reading archive days", patience, || ledger::days_to_apply(db, range)).await? {
        patiently("summing an archive day", patience, || days::apply(db, day)).await?;
    }
    // Blocks of days the range completed (those a worker did not build after its day).
    for day in day_number(range.from())..=day_number(range.to()) {
        patiently("building blocks of days", patience, || blocks::build_after(db, day)).await?;
    }
    let failed = ledger::failures(db, range).await?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ArchiveJobError::Hours(failed))
    }
}

/// Imports one claimed hour under its lease: read, settle with its aggregates (or as missing,
/// or failed), then put its day together if no other hour of the day is pending.
pub async fn run_hour(
    db: &DatabaseConnection,
    archiving: &Archiving,
    metrics: &Metrics,
    claimed: archive_hour::Model,
    token: String,
    lease: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let hour = Hour::from(claimed.hour_at);
    let span = tracing::info_span!("archive_hour", %hour);
    let started = Instant::now();
    let events = Arc::new(AtomicU64::new(0));
    archiving.in_flight().insert(hour, events.clone());
    let work = import_hour(&archiving.source, hour, archiving.import, events);
    let heartbeat = async {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(lease / 3).await;
            let until = Utc::now() + chrono::Duration::from_std(lease).unwrap_or_default();
            match ledger::renew(db, hour, &token, until).await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => return,
                Err(err) => tracing::warn!(parent: &span, error = %err, "cannot renew an hour's lease"),
            }
            if renewed.elapsed() >= lease * 5 / 6 {
                return;
            }
        }
    };
    enum Ended<T> {
        Read(T),
        LeaseLost,
        Stopped,
    }
    let ended = tokio::select! {
        biased;
        outcome = work => Ended::Read(outcome),
        () = heartbeat => Ended::LeaseLost,
        _ = stop.wait_for(|s| *s) => Ended::Stopped,
    };
    archiving.in_flight().remove(&hour);
    let outcome = match ended {
        Ended::Read(outcome) => outcome,
        Ended::LeaseLost => {
            tracing::warn!(parent: &span, "lease lost to another worker: stopped");
            return;
        }
        Ended::Stopped => {
            if let Err(err) = ledger::release(db, hour, &token, false).await {
                tracing::warn!(parent: &span, error = %err, "cannot put an hour back in the queue");
            }
            return;
        }
    };
    let settled = match &outcome {
        Ok(HourOutcome::Imported(read)) => {
            patiently("settling an archive hour", lease, || {
                ledger::settle_imported(db, hour, &token, &read.part, read.bytes)
            })
            .await
        }
        Ok(HourOutcome::Missing) => {
            patiently("settling an archive hour", lease, || ledger::settle_missing(db, hour, &token)).await
        }
        Err(err) => {
            patiently("failing an archive hour", lease, || ledger::fail(db, hour, &token, err.to_string())).await
        }
    };
    let took_ms = started.elapsed().as_millis() as u64;
    match (&outcome, settled) {
        (Ok(HourOutcome::Imported(read)), Ok(true)) => {
            metrics.archive_hour(HourStatus::Imported, read.part.events, read.bytes);
            tracing::info!(parent: &span, events = read.part.events, skipped = read.part.skipped_lines, took_ms, "hour imported");
        }
        (Ok(HourOutcome::Missing), Ok(true)) => {
            metrics.archive_hour(HourStatus::Missing, 0, 0);
            tracing::info!(parent: &span, "hour missing from the archive (404)");
        }
        (Err(err), Ok(true)) => {
            metrics.archive_hour(HourStatus::Failed, 0, 0);
            tracing::warn!(parent: &span, error = %err, "hour failed");
        }
        (_, Ok(false)) => tracing::warn!(parent: &span, "the hour's lease passed to another worker: nothing written"),
        (_, Err(err)) => {
            tracing::error!(parent: &span, error = %err, "cannot record an archive hour: it will be imported again");
            return;
        }
    }
    if outcome.is_err() {
        return;
    }
    // The day is put together once its last pending hour settles (all of a day imported
    // together is then summed and loaded at once).
    let day = claimed.day;
    match ledger::day_pending(db, day).await {
        Ok(false) => match days::apply(db, day).await {
            Ok(applied) if applied.hours > 0 => {
                tracing::info!(parent: &span, day, hours = applied.hours, merged = applied.merged, "day summed");
                match blocks::build_after(db, day).await {
                    Ok(0) => {}
                    Ok(built) => tracing::info!(parent: &span, day, built, "blocks of days built"),
                    Err(err) => {
                        tracing::warn!(parent: &span, error = %err, "cannot build blocks of days yet: the job will")
                    }
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(parent: &span, error = %err, "cannot sum the day yet: its job will"),
        },
        Ok(true) => {}
        Err(err) => tracing::warn!(parent: &span, error = %err, "cannot tell whether the day is complete"),
    }
}
