//! `Subscription.refreshJob`: the job's current state, then every change until it ends.
use std::time::Duration;

use async_graphql::{Context, Subscription, ID};
use futures::Stream;
use sea_orm::DatabaseConnection;

use super::error::ApiError;
use super::jobs::{parse_id, RefreshJob};
use crate::jobs::JobQueue;
use crate::store;

pub struct Subscription;

/// Changes made by other replicas are seen by polling at this interval at the latest.
const POLL: Duration = Duration::from_millis(250);

fn ended(job: &entity::refresh_job::Model) -> bool {
    job.finished_at.is_some()
}

#[Subscription]
impl Subscription {
    async fn refresh_job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<impl Stream<Item = RefreshJob>> {
        let id = parse_id(&id)?;
        let db = ctx.data_unchecked::<DatabaseConnection>().clone();
        let queue = ctx.data_unchecked::<JobQueue>();
        let changes = queue.subscribe();
        let first = store::jobs::find(&db, id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("no refresh job {id}")))?;
        // State: the last job sent (None before the first), whether it ended, the change feed.
        let state = (None::<entity::refresh_job::Model>, Some(first), db, changes);
        Ok(futures::stream::unfold(state, move |(last, mut pending, db, mut changes)| async move {
            loop {
                if let Some(job) = pending.take() {
                    if last.as_ref() != Some(&job) {
                        return Some((RefreshJob(job.clone()), (Some(job), None, db, changes)));
                    }
                }
                if last.as_ref().is_some_and(ended) {
                    return None;
                }
                // Wait for a change of this job in this process, or poll for other replicas.
                let _ = tokio::time::timeout(POLL, async {
                    while let Ok(changed) = changes.recv().await {
                        if changed == id {
                            break;
                        }
                    }
                })
                .await;
                match store::jobs::find(&db, id).await {
                    Ok(Some(job)) => pending = Some(job),
                    Ok(None) => return None, // deleted
                    // Try again at the next change or poll.
                    Err(err) => tracing::warn!(error = %err, job_id = id, "subscription: cannot read the job"),
                }
            }
        }))
    }
}
