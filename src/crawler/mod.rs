//! One refresh of an account or a repository, start to end: list, read commits (or
//! statistics), write contributions and the read model.
mod aggregate;
mod commits;
mod listing;
mod stats;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::repository;
use futures::StreamExt;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Semaphore;

pub use aggregate::Aggregator;

use crate::config::{Config, Source};
use crate::domain::{OwnerLogin, RepoName, Target};
use crate::github::{GitHub, GitHubError, RequestCounters};
use crate::store::{self, repositories::RepoInfo};

#[derive(Debug, Clone)]
pub struct CrawlSettings {
    pub source: Source,
    pub concurrency: usize,
    pub repo_cache_ttl: chrono::Duration,
}

impl CrawlSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            source: config.github_source,
            concurrency: usize::from(config.crawl_concurrency),
            repo_cache_ttl: config.repo_cache_ttl(),
        }
    }
}

/// Live counters of one refresh, read by the progress bar and the job's progress columns.
#[derive(Debug)]
pub struct Progress {
    pub repos_total: AtomicU64,
    pub repos_done: AtomicU64,
    pub commits_read: AtomicU64,
    pub new_contributors: AtomicU64,
    pub requests: Arc<RequestCounters>,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            repos_total: AtomicU64::new(0),
            repos_done: AtomicU64::new(0),
            commits_read: AtomicU64::new(0),
            new_contributors: AtomicU64::new(0),
            requests: Arc::new(RequestCounters::new()),
        }
    }
}

impl Progress {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// How one repository's refresh ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoOutcome {
    Updated {
        commits: u64,
        new_contributors: u64,
        full: bool,
    },
    Unchanged,
    /// No commits yet (409 on `/commits`, 204 on statistics).
    Empty,
    /// 404 or 410: the repository is flagged, its history kept.
    Gone(String),
    /// 401 or 451.
    Blocked(String),
    /// Retries ran out, or the database failed: the refresh job fails.
    Failed(String),
}

/// The end of a refresh: each repository and how it ended.
#[derive(Debug, Default)]
pub struct CrawlReport {
    pub repos: Vec<(String, RepoOutcome)>,
}

impl CrawlReport {
    /// Why the refresh failed, naming each failed repository; None when it succeeded.
    pub fn failure(&self) -> Option<String> {
        let failed: Vec<String> = self
            .repos
            .iter()
            .filter_map(|(name, outcome)| match outcome {
                RepoOutcome::Failed(why) => Some(format!("{name}: {why}")),
                _ => None,
            })
            .collect();
        (!failed.is_empty()).then(|| failed.join("; "))
    }
}

/// Failures that end a whole refresh.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error("cannot list the repositories of {owner}: {source}")]
    Listing { owner: String, source: GitHubError },
    #[error("{target}: {source}")]
    Lookup { target: String, source: GitHubError },
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// Why one repository's refresh stopped.
#[derive(Debug, thiserror::Error)]
enum RepoError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

#[derive(Clone)]
pub struct Crawler {
    db: DatabaseConnection,
    github: GitHub,
    settings: CrawlSettings,
    /// At most `concurrency` repositories are crawled at once, across every refresh of the process.
    permits: Arc<Semaphore>,
}

impl Crawler {
    pub fn new(db: DatabaseConnection, github: GitHub, settings: CrawlSettings) -> Self {
        let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        Self { db, github, settings, permits }
    }

    /// The crawler of `config`: its GitHub client, source, concurrency and cache TTL.
    pub fn from_config(db: DatabaseConnection, config: &Config) -> Result<Self, GitHubError> {
        let github = GitHub::new(crate::github::GitHubSettings::from_config(config))?;
        Ok(Self::new(db, github, CrawlSettings::from_config(config)))
    }

    pub fn github(&self) -> &GitHub {
        &self.github
    }

    /// Refreshes an account (every repository) or one repository.
    pub async fn refresh(&self, target: &Target, progress: &Arc<Progress>) -> Result<CrawlReport, CrawlError> {
        match target {
            Target::Owner(owner) => self.refresh_account(owner, progress).await,
            Target::Repo(owner, name) => self.refresh_repository(owner, name, true, progress).await,
        }
    }

    /// The account's repositories, listed again when the listing is older than the cache TTL.
    pub async fn list_account(
        &self,
        owner: &OwnerLogin,
        progress: &Arc<Progress>,
    ) -> Result<Vec<repository::Model>, CrawlError> {
        let github = self.github.with_counters(progress.requests.clone());
        listing::repositories(&self.db, &github, owner, self.settings.repo_cache_ttl).await
    }

    async fn refresh_account(&self, owner: &OwnerLogin, progress: &Arc<Progress>) -> Result<CrawlReport, CrawlError> {
        let repos = self.list_account(owner, progress).await?;
        let github = self.github.with_counters(progress.requests.clone());
        progress.repos_total.store(repos.len() as u64, Ordering::Relaxed);
        tracing::info!(%owner, repositories = repos.len(), "refreshing account");
        let outcomes = futures::stream::iter(repos)
            .map(|repo| {
                let github = github.clone();
                async move {
                    let outcome = self.refresh_repo(&github, &repo, progress).await;
                    (format!("{}/{}", repo.owner, repo.name), outcome)
                }
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        Ok(CrawlReport { repos: outcomes })
    }

    /// Refreshes one repository. `track`: keep it refreshed on schedule (a repository asked for
    /// on its own, rather than as part of its account).
    pub async fn refresh_repository(
        &self,
        owner: &OwnerLogin,
        name: &RepoName,
        track: bool,
        progress: &Arc<Progress>,
    ) -> Result<CrawlReport, CrawlError> {
        let github = self.github.with_counters(progress.requests.clone());
        progress.repos_total.store(1, Ordering::Relaxed);
        let known = store::repositories::find_by_name(&self.db, owner.as_str(), name.as_str()).await?;
        // A repository described by GitHub within the cache TTL is refreshed without asking
        // GitHub for its description again: an unchanged repository then costs one 304.
        let fresh = known
            .as_ref()
            .filter(|r| !r.is_gone && r.listed_at.is_some_and(|at| Utc::now() - at < self.settings.repo_cache_ttl));
        let repo = match fresh {
            Some(repo) => {
                if track && !repo.is_tracked {
                    store::repositories::set_tracked(&self.db, repo.id).await?;
                }
                repo.clone()
            }
            None => match self.lookup(&github, owner, name, known.as_ref(), track).await? {
                Ok(repo) => repo,
                Err(outcome) => {
                    progress.repos_done.store(1, Ordering::Relaxed);
                    return Ok(CrawlReport { repos: vec![(format!("{owner}/{name}"), outcome)] });
                }
            },
        };
        let outcome = self.refresh_repo(&github, &repo, progress).await;
        Ok(CrawlReport { repos: vec![(format!("{}/{}", repo.owner, repo.name), outcome)] })
    }

    /// Asks GitHub for the repository (following renames) and stores it as tracked. A known
    /// repository that GitHub no longer serves is flagged and ends with that outcome.
    async fn lookup(
        &self,
        github: &GitHub,
        owner: &OwnerLogin,
        name: &RepoName,
        known: Option<&repository::Model>,
        track: bool,
    ) -> Result<Result<repository::Model, RepoOutcome>, CrawlError> {
        let full_name = format!("{owner}/{name}");
        let url = github.url(&format!("/repos/{owner}/{name}"));
        let info = match github.get::<crate::github::dto::Repo>(&url, None).await {
            Ok(crate::github::Fetched::Ok { body, .. }) => repo_info(body, owner.as_str()),
            Ok(_) => {
                let source = GitHubError::Invalid("no repository in GitHub's answer".into());
                return Err(CrawlError::Lookup { target: full_name, source });
            }
            Err(err @ GitHubError::Permanent { .. }) => {
                // A repository we knew is flagged, its history kept; an unknown one is an error.
                return match known {
                    Some(known) => Ok(Err(self.record_permanent(known, &err).await?)),
                    None => Err(CrawlError::Lookup { target: full_name, source: err }),
                };
            }
            Err(err) => return Err(CrawlError::Lookup { target: full_name, source: err }),
        };
        let account = store::accounts::find(&self.db, owner).await?.map(|a| a.id);
        let tx = store::db::begin_write(&self.db).await?;
        let repo = store::repositories::upsert(&*tx, account, &info, track).await?;
        tx.commit().await?;
        Ok(Ok(repo))
    }

    /// Refreshes one repository; never fails the caller: failures become outcomes.
    async fn refresh_repo(&self, github: &GitHub, repo: &repository::Model, progress: &Progress) -> RepoOutcome {
        let Ok(_permit) = self.permits.acquire().await else {
            return RepoOutcome::Failed("the crawler is shutting down".into());
        };
        let started = std::time::Instant::now();
        // Read again: the row may have changed while this refresh waited for its turn.
        let result = match store::repositories::find_by_id(&self.db, repo.id).await {
            Ok(Some(current)) => match self.settings.source {
                Source::Commits => commits::refresh(&self.db, github, &current, progress).await,
                Source::Stats => stats::refresh(&self.db, github, &current, progress).await,
            },
            Ok(None) => Ok(RepoOutcome::Gone("deleted from the database".into())),
            Err(err) => Err(RepoError::Database(err)),
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(RepoError::GitHub(err @ GitHubError::Permanent { .. })) => {
                match self.record_permanent(repo, &err).await {
                    Ok(outcome) => outcome,
                    Err(db) => RepoOutcome::Failed(format!("database error: {db}")),
                }
            }
            Err(err) => {
                let why = err.to_string();
                if let Err(db) = store::repositories::record_outcome(
                    &self.db,
                    repo.id,
                    "failed",
                    Some(why.clone()),
                    false,
                    Utc::now(),
                )
                .await
                {
                    tracing::error!(error = %db, "cannot record a failed refresh");
                }
                RepoOutcome::Failed(why)
            }
        };
        progress.repos_done.fetch_add(1, Ordering::Relaxed);
        log_outcome(repo, &outcome, started.elapsed());
        outcome
    }

    async fn record_permanent(&self, repo: &repository::Model, err: &GitHubError) -> Result<RepoOutcome, DbErr> {
        let why = err.to_string();
        let (label, gone, outcome) = match err.status() {
            Some(404 | 410) => ("gone", true, RepoOutcome::Gone(why.clone())),
            _ => ("blocked", false, RepoOutcome::Blocked(why.clone())),
        };
        store::repositories::record_outcome(&self.db, repo.id, label, Some(why), gone, Utc::now()).await?;
        Ok(outcome)
    }
}

fn log_outcome(repo: &repository::Model, outcome: &RepoOutcome, took: Duration) {
    let repo_name = format!("{}/{}", repo.owner, repo.name);
    let took_ms = took.as_millis() as u64;
    match outcome {
        RepoOutcome::Failed(why) => tracing::warn!(repo = repo_name, took_ms, why, "refresh failed"),
        RepoOutcome::Gone(why) | RepoOutcome::Blocked(why) => {
            tracing::info!(repo = repo_name, why, "repository unavailable")
        }
        other => tracing::debug!(repo = repo_name, took_ms, outcome = ?other, "repository refreshed"),
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
