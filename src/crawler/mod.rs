//! One refresh, start to end: list an account's repositories, or refresh one repository (read
//! its commits or statistics, write its contributions and the read model). How many run at
//! once is the job workers' business, not the crawler's.
mod aggregate;
mod commits;
mod listing;
mod stats;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::enums::RefreshOutcome;
use entity::repository;
use sea_orm::DatabaseConnection;

pub use aggregate::Aggregator;

use crate::config::{GitHubConfig, Source};
use crate::domain::{OwnerLogin, RepoRef};
use crate::github::{GitHub, GitHubError, GitHubSettings, RequestCounters};
use crate::metrics::Metrics;
use crate::store::{self, repositories::RepoInfo, StoreError};

#[derive(Debug, Clone)]
pub struct CrawlSettings {
    pub source: Source,
    pub repo_cache_ttl: chrono::Duration,
}

impl CrawlSettings {
    pub fn from_config(config: &GitHubConfig) -> Self {
        Self { source: config.source, repo_cache_ttl: config.repo_cache_ttl() }
    }
}

/// What a refresh's progress counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    ReposTotal,
    ReposDone,
    CommitsRead,
    NewContributors,
}

/// Live counters of one refresh, read by the job's progress columns and the command line. A
/// refresh's counters can count into a parent's as well (a worker pool's totals).
#[derive(Debug, Default)]
pub struct Progress {
    repos_total: AtomicU64,
    repos_done: AtomicU64,
    commits_read: AtomicU64,
    new_contributors: AtomicU64,
    pub requests: Arc<RequestCounters>,
    parent: Option<Arc<Progress>>,
}

impl Progress {
    /// Counters that also add to `parent`'s.
    pub fn counting_into(parent: &Arc<Progress>) -> Self {
        Self {
            requests: Arc::new(RequestCounters::counting_into(&parent.requests)),
            parent: Some(parent.clone()),
            ..Self::default()
        }
    }

    fn counter(&self, count: Count) -> &AtomicU64 {
        match count {
            Count::ReposTotal => &self.repos_total,
            Count::ReposDone => &self.repos_done,
            Count::CommitsRead => &self.commits_read,
            Count::NewContributors => &self.new_contributors,
        }
    }

    pub fn get(&self, count: Count) -> u64 {
        self.counter(count).load(Ordering::Relaxed)
    }

    pub fn add(&self, count: Count, n: u64) {
        self.counter(count).fetch_add(n, Ordering::Relaxed);
        if let Some(parent) = &self.parent {
            parent.add(count, n);
        }
    }
}

/// How one repository's refresh ended, when it did not fail.
#[derive(Debug, Clone)]
pub enum RepoOutcome {
    Updated {
        commits: u64,
        new_contributors: u64,
        /// The whole history was read (first crawl, force push, or statistics).
        full: bool,
    },
    Unchanged,
    /// No commits yet (409 on `/commits`, 204 on statistics).
    Empty,
    /// 404 or 410: the repository is flagged, its history kept.
    Gone(GitHubError),
    /// 401 or 451.
    Blocked(GitHubError),
}

impl RepoOutcome {
    /// The outcome as stored on the repository.
    pub fn stored(&self) -> RefreshOutcome {
        match self {
            RepoOutcome::Updated { .. } => RefreshOutcome::Updated,
            RepoOutcome::Unchanged => RefreshOutcome::Unchanged,
            RepoOutcome::Empty => RefreshOutcome::Empty,
            RepoOutcome::Gone(_) => RefreshOutcome::Gone,
            RepoOutcome::Blocked(_) => RefreshOutcome::Blocked,
        }
    }
}

/// Why a repository's refresh failed: retries ran out, GitHub answered something unusable, or
/// the database failed. The previous data is kept; the next refresh starts from it.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Failures that end an account's listing.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error("cannot list the repositories of {owner}: {source}")]
    Listing { owner: String, source: GitHubError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Crawler {
    db: DatabaseConnection,
    github: GitHub,
    settings: CrawlSettings,
}

impl Crawler {
    pub fn new(db: DatabaseConnection, github: GitHub, settings: CrawlSettings) -> Self {
        Self { db, github, settings }
    }

    /// The crawler of `config`: its GitHub client (counting into `metrics`), source and cache TTL.
    pub fn from_config(
        db: DatabaseConnection,
        config: &GitHubConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, GitHubError> {
        let github = GitHub::new(GitHubSettings::from_config(config), metrics)?;
        Ok(Self::new(db, github, CrawlSettings::from_config(config)))
    }

    /// The account's repositories, listed again when the listing is older than the cache TTL.
    pub async fn list_account(
        &self,
        owner: &OwnerLogin,
        progress: &Progress,
    ) -> Result<Vec<repository::Model>, CrawlError> {
        let github = self.github.with_counters(progress.requests.clone());
        listing::repositories(&self.db, &github, owner, self.settings.repo_cache_ttl).await
    }

    /// Refreshes one repository. `track`: keep it refreshed on schedule (a repository asked for
    /// on its own, rather than as part of its account).
    pub async fn refresh_repository(
        &self,
        target: &RepoRef,
        track: bool,
        progress: &Progress,
    ) -> Result<RepoOutcome, RepoError> {
        let github = self.github.with_counters(progress.requests.clone());
        let started = std::time::Instant::now();
        let result = self.refresh_repository_with(&github, target, track, progress).await;
        progress.add(Count::ReposDone, 1);
        log_outcome(target, &result, started.elapsed());
        result
    }

    async fn refresh_repository_with(
        &self,
        github: &GitHub,
        target: &RepoRef,
        track: bool,
        progress: &Progress,
    ) -> Result<RepoOutcome, RepoError> {
        let known = store::repositories::find_by_name(&self.db, target).await?;
        // A repository its account's job just listed (`track` false), or that GitHub described
        // within the cache TTL, is refreshed without asking GitHub for its description again:
        // an unchanged repository then costs one 304.
        let ttl = self.settings.repo_cache_ttl;
        let fresh =
            known.as_ref().filter(|r| !r.is_gone && (!track || r.listed_at.is_some_and(|at| Utc::now() - at < ttl)));
        let repo = match fresh {
            Some(repo) => {
                if track && !repo.is_tracked {
                    store::repositories::set_tracked(&self.db, repo.id).await?;
                }
                repo.clone()
            }
            None => match github.repository(target).await {
                Ok(info) => {
                    let info = repo_info(info, target.owner.as_str());
                    // The account that owns it now (after a transfer, not the one asked for).
                    let owner = OwnerLogin::parse(&info.owner).unwrap_or_else(|_| target.owner.clone());
                    let account = store::accounts::get_or_create(&self.db, &owner).await?.id;
                    let tx = store::db::begin_write(&self.db).await.map_err(StoreError::from)?;
                    store::account_model::lock(&*tx, account).await?;
                    let repo = store::repositories::upsert(&*tx, account, &info, track).await?;
                    tx.commit().await.map_err(StoreError::from)?;
                    repo
                }
                // A repository we knew is flagged, its history kept; an unknown one fails.
                Err(err @ GitHubError::Permanent { .. }) => match &known {
                    Some(known) => return Ok(self.record_permanent(known, err).await?),
                    None => return Err(err.into()),
                },
                Err(err) => return Err(err.into()),
            },
        };
        self.refresh_known(github, &repo, progress).await
    }

    /// Refreshes a stored repository; a permanent GitHub answer becomes its outcome, and a
    /// failure is recorded on it.
    async fn refresh_known(
        &self,
        github: &GitHub,
        repo: &repository::Model,
        progress: &Progress,
    ) -> Result<RepoOutcome, RepoError> {
        // Read again: the row may have changed while this refresh waited for its turn.
        let Some(current) = store::repositories::find_by_id(&self.db, repo.id).await? else {
            return Err(StoreError::Corrupt(format!("repository {} was deleted meanwhile", repo.id)).into());
        };
        let reference = store::repositories::reference(&current)?;
        let result = match self.settings.source {
            Source::Commits => commits::refresh(&self.db, github, &current, &reference, progress).await,
            Source::Stats => stats::refresh(&self.db, github, &current, &reference, progress).await,
        };
        match result {
            Ok(outcome) => Ok(outcome),
            Err(RepoError::GitHub(err @ GitHubError::Permanent { .. })) => {
                Ok(self.record_permanent(&current, err).await?)
            }
            Err(err) => {
                let why = err.to_string();
                let at = Utc::now();
                if let Err(db) =
                    store::repositories::record_outcome(&self.db, repo.id, RefreshOutcome::Failed, Some(why), false, at)
                        .await
                {
                    tracing::error!(error = %db, "cannot record a failed refresh");
                }
                Err(err)
            }
        }
    }

    async fn record_permanent(&self, repo: &repository::Model, err: GitHubError) -> Result<RepoOutcome, StoreError> {
        let outcome = if err.is_gone() { RepoOutcome::Gone(err) } else { RepoOutcome::Blocked(err) };
        let (why, gone) = match &outcome {
            RepoOutcome::Gone(e) => (e.to_string(), true),
            RepoOutcome::Blocked(e) => (e.to_string(), false),
            _ => (String::new(), false),
        };
        store::repositories::record_outcome(&self.db, repo.id, outcome.stored(), Some(why), gone, Utc::now()).await?;
        Ok(outcome)
    }
}

fn log_outcome(repo: &RepoRef, result: &Result<RepoOutcome, RepoError>, took: Duration) {
    let took_ms = took.as_millis() as u64;
    match result {
        Err(err) => tracing::warn!(repo = %repo, took_ms, error = %err, "refresh failed"),
        Ok(RepoOutcome::Gone(why) | RepoOutcome::Blocked(why)) => {
            tracing::info!(repo = %repo, why = %why, "repository unavailable")
        }
        Ok(other) => tracing::debug!(repo = %repo, took_ms, outcome = ?other, "repository refreshed"),
    }
}

/// What the crawler keeps of GitHub's repository object; `owner` when GitHub omits it.
pub(crate) fn repo_info(repo: crate::github::dto::Repo, owner: &str) -> RepoInfo {
    RepoInfo {
        github_id: repo.id,
        owner: repo.owner.login.unwrap_or_else(|| owner.to_string()),
        name: repo.name,
        is_fork: repo.fork,
        is_archived: repo.archived,
        default_branch: repo.default_branch,
        created_at: repo.created_at,
        pushed_at: repo.pushed_at,
    }
}
