//! Job bookkeeping survives a database blip: a statement that failed because the database could
//! not be reached is tried again, waiting longer each time, for a while.
use std::future::Future;
use std::time::Duration;

use crate::store::StoreError;

/// First wait after a failed attempt; it doubles up to `MAX_WAIT`.
const FIRST_WAIT: Duration = Duration::from_millis(100);
const MAX_WAIT: Duration = Duration::from_secs(2);

/// Runs `op` until it succeeds, fails for a reason other than an unreachable database, or
/// `patience` has passed.
pub async fn patiently<T, F, Fut>(what: &str, patience: Duration, mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    let mut wait = FIRST_WAIT;
    loop {
        match op().await {
            Err(err) if err.is_unavailable() && tokio::time::Instant::now() + wait < deadline => {
                tracing::warn!(error = %err, retry_in_ms = wait.as_millis() as u64, "{what}: the database is unavailable");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_WAIT);
            }
            result => return result,
        }
    }
}
