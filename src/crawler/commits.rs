//! The `commits` source: exact first contributions from the default branch's commits.
//!
//! First crawl: every page of `/commits`. Later refreshes: one conditional request on the
//! first page (a 304 when nothing changed); when the head moved, only the commits reachable
//! from the new head and not from the old one (`/compare/{old}...{new}`); when the old head is
//! no longer an ancestor (force push), the whole history again.
use std::sync::atomic::Ordering;

use chrono::Utc;
use entity::repository;
use sea_orm::DatabaseConnection;

use super::{Aggregator, Progress, RepoError, RepoOutcome};
use crate::github::{dto, Fetched, GitHub, GitHubError};
use crate::store::{
    self,
    contributions::{ApplyMode, RepoState},
};

/// Marks ETags of this source, so that switching `GITHUB_SOURCE` never reuses the other's.
const ETAG_PREFIX: &str = "commits:";

pub(super) async fn refresh(
    db: &DatabaseConnection,
    github: &GitHub,
    repo: &repository::Model,
    progress: &Progress,
) -> Result<RepoOutcome, RepoError> {
    let branch = repo.default_branch.as_deref().map(|b| format!("&sha={}", urlencode(b))).unwrap_or_default();
    let first_page = github.url(&format!("/repos/{}/{}/commits?per_page=100{branch}", repo.owner, repo.name));
    // The stored head, ETag and contributions are always written together: they agree even
    // after a failed refresh, which changes none of them.
    let known_head = repo.head_sha.clone();
    let etag = known_head.as_ref().and(repo.commits_etag.as_deref()).and_then(|e| e.strip_prefix(ETAG_PREFIX));

    let (page, page_etag, next) = match github.get_or_empty::<Vec<dto::Commit>>(&first_page, etag).await? {
        Fetched::NotModified => {
            store::repositories::record_outcome(db, repo.id, "unchanged", None, false, Utc::now()).await?;
            return Ok(RepoOutcome::Unchanged);
        }
        Fetched::Empty => return empty(db, repo).await,
        Fetched::Ok { body, etag, next } => (body, etag.map(|e| format!("{ETAG_PREFIX}{e}")), next),
    };
    let Some(head) = page.first().map(|c| c.sha.clone()) else {
        return empty(db, repo).await;
    };
    let state = RepoState { head_sha: Some(head.clone()), etag: page_etag, outcome: "updated", at: Utc::now() };

    if let Some(old) = known_head {
        if old == head {
            store::repositories::record_unchanged(db, repo.id, state.etag).await?;
            return Ok(RepoOutcome::Unchanged);
        }
        if let Some(agg) = compare(github, repo, &old, &head, progress).await? {
            let commits = agg.commits;
            let firsts = agg.into_firsts();
            let new =
                store::contributions::apply_refresh(db, repo.id, Some(&old), ApplyMode::Merge, firsts, state).await?;
            progress.new_contributors.fetch_add(new, Ordering::Relaxed);
            return Ok(RepoOutcome::Updated { commits, new_contributors: new, full: false });
        }
        tracing::info!(
            repo = format!("{}/{}", repo.owner, repo.name),
            "history rewritten (force push): crawling again"
        );
    }

    // Full crawl, streaming page by page. Later pages are pinned to the head of the first, so
    // that a push during the crawl cannot shift them.
    let mut agg = Aggregator::default();
    add_page(&mut agg, &page, progress);
    drop(page);
    let mut url = next.map(|n| pin_sha(&n, &head));
    while let Some(current) = url.take() {
        match github.get::<Vec<dto::Commit>>(&current, None).await? {
            Fetched::Ok { body, next, .. } => {
                add_page(&mut agg, &body, progress);
                url = next.map(|n| pin_sha(&n, &head));
            }
            Fetched::NotModified | Fetched::Empty => return Err(unexpected(&current)),
        }
    }
    let commits = agg.commits;
    let expected = repo.head_sha.as_deref();
    let new = store::contributions::apply_refresh(db, repo.id, expected, ApplyMode::Replace, agg.into_firsts(), state)
        .await?;
    progress.new_contributors.fetch_add(new, Ordering::Relaxed);
    Ok(RepoOutcome::Updated { commits, new_contributors: new, full: true })
}

/// Commits reachable from `head` and not from `old`, or None when `old` is not an ancestor
/// of `head` any more (force push, or `old` was garbage-collected).
async fn compare(
    github: &GitHub,
    repo: &repository::Model,
    old: &str,
    head: &str,
    progress: &Progress,
) -> Result<Option<Aggregator>, RepoError> {
    let mut agg = Aggregator::default();
    let mut url = Some(github.url(&format!("/repos/{}/{}/compare/{old}...{head}?per_page=100", repo.owner, repo.name)));
    while let Some(current) = url.take() {
        match github.get::<dto::Comparison>(&current, None).await {
            Ok(Fetched::Ok { body, next, .. }) => {
                match body.status.as_str() {
                    "ahead" | "identical" => {}
                    _ => return Ok(None), // "behind" or "diverged": the old head was rewritten away
                }
                add_page(&mut agg, &body.commits, progress);
                url = next;
            }
            Ok(Fetched::NotModified | Fetched::Empty) => return Err(unexpected(&current)),
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
    progress.commits_read.fetch_add(commits.len() as u64, Ordering::Relaxed);
}

async fn empty(db: &DatabaseConnection, repo: &repository::Model) -> Result<RepoOutcome, RepoError> {
    let state = RepoState { head_sha: None, etag: None, outcome: "empty", at: Utc::now() };
    let expected = repo.head_sha.as_deref();
    store::contributions::apply_refresh(db, repo.id, expected, ApplyMode::Replace, Vec::new(), state).await?;
    Ok(RepoOutcome::Empty)
}

/// `url` with its `sha` parameter set to `head`.
fn pin_sha(url: &str, head: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else { return url.to_string() };
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| if k == "sha" { (k.into_owned(), head.to_string()) } else { (k.into_owned(), v.into_owned()) })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

fn unexpected(url: &str) -> RepoError {
    RepoError::GitHub(GitHubError::Invalid(format!("GitHub answered no content for {url}")))
}

/// Percent-encodes a branch name for a query string.
fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
