//! Importing one hour file: open it, read it whole on a blocking thread (inflate, split, check,
//! fold), and try again when it cannot be read whole. A 404 is a gap in the archive.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::read::{read_hour, HourRead, ReadError};
use super::source::{ArchiveSource, FetchError, Opened};
use crate::domain::archive::Hour;

#[derive(Debug, Clone, Copy)]
pub struct ImportSettings {
    /// Tries of one hour file before it fails.
    pub attempts: u32,
    /// Wait after the first failed try; it doubles with each.
    pub retry_delay: Duration,
}

#[derive(Debug)]
pub enum HourOutcome {
    Imported(HourRead),
    /// The archive has no file for this hour.
    Missing,
}

/// Why one try failed.
#[derive(Debug, thiserror::Error)]
pub enum TryError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("the reading thread stopped: {0}")]
    Thread(String),
}

/// Every try of an hour failed.
#[derive(Debug, thiserror::Error)]
#[error("hour {hour} could not be read after {attempts} tries: {last}")]
pub struct HourError {
    pub hour: Hour,
    pub attempts: u32,
    #[source]
    pub last: TryError,
}

/// Imports `hour`; `events` follows the events counted so far by the current try.
pub async fn import_hour(
    source: &ArchiveSource,
    hour: Hour,
    settings: ImportSettings,
    events: Arc<AtomicU64>,
) -> Result<HourOutcome, HourError> {
    let attempts = settings.attempts.max(1);
    let mut wait = settings.retry_delay;
    let mut attempt = 0;
    loop {
        attempt += 1;
        events.store(0, Ordering::Relaxed);
        let last = match try_hour(source, hour, events.clone()).await {
            Ok(outcome) => return Ok(outcome),
            Err(err) => err,
        };
        if attempt >= attempts {
            return Err(HourError { hour, attempts, last });
        }
        tracing::warn!(%hour, attempt, error = %last, wait_ms = wait.as_millis() as u64, "archive hour: trying again");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(300));
    }
}

async fn try_hour(source: &ArchiveSource, hour: Hour, events: Arc<AtomicU64>) -> Result<HourOutcome, TryError> {
    let body = match source.open(hour).await? {
        Opened::Missing => return Ok(HourOutcome::Missing),
        Opened::Body(body) => body,
    };
    let read = tokio::task::spawn_blocking(move || read_hour(hour, body, |n| events.store(n, Ordering::Relaxed)))
        .await
        .map_err(|e| TryError::Thread(e.to_string()))??;
    Ok(HourOutcome::Imported(read))
}
