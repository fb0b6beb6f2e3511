//! The `stats` source: `/stats/contributors`. Cheap, but GitHub returns only the top 100
//! contributors and week-start dates, so counts are approximate (docs/rules.md §2).
use chrono::{DateTime, Utc};
use entity::enums::RefreshOutcome;
use entity::repository;
use sea_orm::DatabaseConnection;

use super::{Count, Progress, RepoError, RepoOutcome};
use crate::domain::{ContributorKey, RepoRef};
use crate::github::{Fetched, GitHub, Validator};
use crate::store::{
    self,
    contributions::{ApplyMode, ContributorFirst, RepoState},
};

const PREFIX: &str = "stats:";

pub(super) async fn refresh(
    db: &DatabaseConnection,
    github: &GitHub,
    repo: &repository::Model,
    reference: &RepoRef,
    progress: &Progress,
) -> Result<RepoOutcome, RepoError> {
    let validator = repo.commits_etag.as_deref().and_then(|e| e.strip_prefix(PREFIX)).and_then(Validator::from_stored);
    let (stats, validator) = match github.contributor_stats(reference, validator.as_ref()).await? {
        Fetched::NotModified => {
            store::repositories::record_outcome(db, repo.id, RefreshOutcome::Unchanged, None, false, Utc::now())
                .await?;
            return Ok(RepoOutcome::Unchanged);
        }
        Fetched::Empty => (Vec::new(), None),
        Fetched::Ok { body, validator, .. } => (body, validator.map(|v| format!("{PREFIX}{}", v.to_stored()))),
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
    progress.add(Count::CommitsRead, commits);
    // Statistics describe the whole history: they replace what was stored, and no head SHA
    // is kept (the commits source must crawl from scratch after them).
    let outcome = if empty { RefreshOutcome::Empty } else { RefreshOutcome::Updated };
    let state = RepoState { head_sha: None, etag: validator, outcome, at: Utc::now() };
    let expected = repo.head_sha.as_deref();
    let new = store::contributions::apply_refresh(db, repo.id, expected, ApplyMode::Replace, firsts, state).await?;
    progress.add(Count::NewContributors, new);
    Ok(if empty { RepoOutcome::Empty } else { RepoOutcome::Updated { commits, new_contributors: new, full: true } })
}
