//! The `commits` source: exact first contributions from the default branch's commits.
//!
//! First crawl: every page of `/commits`. Later refreshes: one conditional request on the
//! first page (a 304 when nothing changed); when the head moved, only the commits reachable
//! from the new head and not from the old one (`/compare/{old}...{new}`); when the old head is
//! no longer an ancestor (force push), the whole history again (docs/rules.md §2).
use chrono::Utc;
use entity::enums::RefreshOutcome;
use entity::repository;
use sea_orm::DatabaseConnection;

use super::{Aggregator, Count, Progress, RepoError, RepoOutcome};
use crate::domain::{RepoRef, IDENTITY_RULES};
use crate::github::dto::{self, CompareStatus};
use crate::github::{Fetched, GitHub, GitHubError, Validator};
use crate::store::{
    self,
    contributions::{ApplyMode, RepoState},
};

/// Marks validators of this source, so that switching `GITHUB_SOURCE` never reuses the other's.
const PREFIX: &str = "commits:";

pub(super) async fn refresh(
    db: &DatabaseConnection,
    github: &GitHub,
    repo: &repository::Model,
    reference: &RepoRef,
    progress: &Progress,
) -> Result<RepoOutcome, RepoError> {
    let branch = repo.default_branch.as_deref();
    // The stored head, validator and contributions are always written together: they agree even
    // after a failed refresh, which changes none of them. Contributions computed with older
    // identity rules are computed again from the whole history.
    let known_head = repo.head_sha.clone().filter(|_| repo.identity_version >= IDENTITY_RULES);
    let validator = known_head
        .as_ref()
        .and(repo.commits_etag.as_deref())
        .and_then(|e| e.strip_prefix(PREFIX))
        .and_then(Validator::from_stored);

    let (page, page_validator, has_next) = match github.commits(reference, branch, 1, validator.as_ref()).await? {
        Fetched::NotModified => {
            store::repositories::record_outcome(db, repo.id, RefreshOutcome::Unchanged, None, false, Utc::now())
                .await?;
            return Ok(RepoOutcome::Unchanged);
        }
        Fetched::Empty => return empty(db, repo).await,
        Fetched::Ok { body, validator, has_next } => (body, validator, has_next),
    };
    let Some(head) = page.first().map(|c| c.sha.clone()) else {
        return empty(db, repo).await;
    };
    let stored_validator = page_validator.map(|v| format!("{PREFIX}{}", v.to_stored()));
    let state = RepoState {
        head_sha: Some(head.clone()),
        etag: stored_validator,
        outcome: RefreshOutcome::Updated,
        at: Utc::now(),
    };

    if let Some(old) = known_head {
        if old == head {
            store::repositories::record_unchanged(db, repo.id, state.etag).await?;
            return Ok(RepoOutcome::Unchanged);
        }
        if let Some(agg) = compare(github, reference, &old, &head, progress).await? {
            let commits = agg.commits;
            let new = store::contributions::apply_refresh(
                db,
                repo.id,
                Some(&old),
                ApplyMode::Merge,
                agg.into_firsts(),
                state,
            )
            .await?;
            progress.add(Count::NewContributors, new);
            return Ok(RepoOutcome::Updated { commits, new_contributors: new, full: false });
        }
        tracing::info!(repo = %reference, "history rewritten (force push): crawling again");
    }

    // Full crawl, streaming page by page. Later pages are pinned to the head of the first, so
    // that a push during the crawl cannot shift them.
    let mut agg = Aggregator::default();
    add_page(&mut agg, &page, progress);
    drop(page);
    let mut next = has_next.then_some(2u32);
    while let Some(number) = next.take() {
        match github.commits(reference, Some(&head), number, None).await? {
            Fetched::Ok { body, has_next, .. } => {
                add_page(&mut agg, &body, progress);
                next = has_next.then_some(number + 1);
            }
            // An empty or unmodified later page cannot happen: it is no history.
            Fetched::NotModified | Fetched::Empty => {
                return Err(GitHubError::NoContent { path: format!("/repos/{reference}/commits?page={number}") }.into())
            }
        }
    }
    let commits = agg.commits;
    let expected = repo.head_sha.as_deref();
    let new = store::contributions::apply_refresh(db, repo.id, expected, ApplyMode::Replace, agg.into_firsts(), state)
        .await?;
    progress.add(Count::NewContributors, new);
    Ok(RepoOutcome::Updated { commits, new_contributors: new, full: true })
}

/// Commits reachable from `head` and not from `old`, or None when `old` is not an ancestor
/// of `head` any more (force push, or `old` was garbage-collected).
async fn compare(
    github: &GitHub,
    reference: &RepoRef,
    old: &str,
    head: &str,
    progress: &Progress,
) -> Result<Option<Aggregator>, RepoError> {
    let mut agg = Aggregator::default();
    let mut next = Some(1u32);
    while let Some(number) = next.take() {
        match github.compare(reference, old, head, number).await {
            Ok((body, has_next)) => {
                match body.status {
                    CompareStatus::Ahead | CompareStatus::Identical => {}
                    // The old head was rewritten away.
                    CompareStatus::Behind | CompareStatus::Diverged | CompareStatus::Unknown => return Ok(None),
                }
                add_page(&mut agg, &body.commits, progress);
                next = has_next.then_some(number + 1);
            }
            Err(GitHubError::Permanent { status: 404, .. }) => return Ok(None),
            Err(err) => return Err(err.into()),
        }
    }
    Ok(Some(agg))
}

fn add_page(agg: &mut Aggregator, commits: &[dto::Commit], progress: &Progress) {
    for commit in commits {
        agg.add(commit);
    }
    progress.add(Count::CommitsRead, commits.len() as u64);
}

async fn empty(db: &DatabaseConnection, repo: &repository::Model) -> Result<RepoOutcome, RepoError> {
    let state = RepoState { head_sha: None, etag: None, outcome: RefreshOutcome::Empty, at: Utc::now() };
    let expected = repo.head_sha.as_deref();
    store::contributions::apply_refresh(db, repo.id, expected, ApplyMode::Replace, Vec::new(), state).await?;
    Ok(RepoOutcome::Empty)
}
