//! The `stats` source: `/stats/contributors`. Cheap, but GitHub returns only the top 100
//! contributors and week-start dates, so counts are approximate (see the README).
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use entity::repository;
use sea_orm::DatabaseConnection;

use super::{Progress, RepoError, RepoOutcome};
use crate::domain::ContributorKey;
use crate::github::{dto, Fetched, GitHub};
use crate::store::{
    self,
    contributions::{ApplyMode, ContributorFirst, RepoState},
};

const ETAG_PREFIX: &str = "stats:";

pub(super) async fn refresh(
    db: &DatabaseConnection,
    github: &GitHub,
    repo: &repository::Model,
    progress: &Progress,
) -> Result<RepoOutcome, RepoError> {
    let url = github.url(&format!("/repos/{}/{}/stats/contributors", repo.owner, repo.name));
    let etag = repo.commits_etag.as_deref().and_then(|e| e.strip_prefix(ETAG_PREFIX));
    let (stats, etag) = match github.get_or_empty::<Vec<dto::ContributorStats>>(&url, etag).await? {
        Fetched::NotModified => {
            store::repositories::record_outcome(db, repo.id, "unchanged", None, false, Utc::now()).await?;
            return Ok(RepoOutcome::Unchanged);
        }
        Fetched::Empty => (Vec::new(), None),
        Fetched::Ok { body, etag, .. } => (body, etag.map(|e| format!("{ETAG_PREFIX}{e}"))),
    };
    let empty = stats.is_empty();
    let mut commits = 0u64;
    let firsts: Vec<ContributorFirst> = stats
        .into_iter()
        .filter_map(|entry| {
            let author = entry.author?;
            let id = author.id?;
            let first_week = entry.weeks.iter().filter(|w| w.c > 0).map(|w| w.w).min()?;
            commits += entry.total.max(0) as u64;
            Some(ContributorFirst {
                key: ContributorKey::GithubId(id),
                is_bot: author.is_bot(),
                login: author.login,
                first_at: DateTime::<Utc>::from_timestamp(first_week, 0)?,
                commits: entry.total,
            })
        })
        .collect();
    progress.commits_read.fetch_add(commits, Ordering::Relaxed);
    // Statistics describe the whole history: they replace what was stored, and no head SHA
    // is kept (the commits source must crawl from scratch after them).
    let outcome = if empty { "empty" } else { "updated" };
    let state = RepoState { head_sha: None, etag, outcome, at: Utc::now() };
    let expected = repo.head_sha.as_deref();
    let new = store::contributions::apply_refresh(db, repo.id, expected, ApplyMode::Replace, firsts, state).await?;
    progress.new_contributors.fetch_add(new, Ordering::Relaxed);
    Ok(if empty { RepoOutcome::Empty } else { RepoOutcome::Updated { commits, new_contributors: new, full: true } })
}
