//! Running the crawler against the fake GitHub and reading what it stored.
use std::collections::BTreeMap;

use entity::refresh_job::JobTrigger;
use entity::{contributor, first_contribution, monthly_first_contributors as monthly, repository};
use git_collector::domain::Target;
use git_collector::jobs::foreground::{ForegroundReport, ForegroundRun};
use git_collector::jobs::Services;
use git_collector::jobs::WorkerSettings;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::fake_github::FakeGitHub;
use crate::helpers::{test_config, TestDb};

pub struct CrawlEnv {
    pub test_db: TestDb,
    pub db: DatabaseConnection,
    pub fake: FakeGitHub,
}

impl CrawlEnv {
    pub async fn new() -> Self {
        Self::with_fake(FakeGitHub::start().await).await
    }

    /// A fresh database against an existing fake GitHub.
    pub async fn with_fake(fake: FakeGitHub) -> Self {
        let test_db = TestDb::new().await;
        let db = test_db.connect().await;
        git_collector::store::db::migrate(&db).await.unwrap();
        Self { test_db, db, fake }
    }

    /// Runs a refresh of `target` the way `git-collector crawl` does: its job, and its
    /// repository jobs, in the foreground, with `extra` flags.
    pub async fn crawl(&self, target: &str, extra: &[&str]) -> ForegroundReport {
        let mut args = vec!["--github-api-url", self.fake.url.as_str()];
        args.extend_from_slice(extra);
        let config = test_config(&self.test_db.url, &args);
        let services = Services::on(self.db.clone(), &config).unwrap();
        let targets = [Target::parse(target).unwrap()];
        let settings = WorkerSettings::from_config(&config);
        let run = ForegroundRun::start(&services, settings, &targets, JobTrigger::Cli).await.unwrap();
        run.finish(std::future::pending()).await.unwrap()
    }

    /// Crawls and expects success (no failed job).
    pub async fn crawl_ok(&self, target: &str, extra: &[&str]) -> ForegroundReport {
        let report = self.crawl(target, extra).await;
        assert!(report.failures().is_empty(), "no job failed: {:?}", report.failures());
        report
    }

    pub async fn repo(&self, full: &str) -> repository::Model {
        let repo = git_collector::domain::RepoRef::parse(full).unwrap();
        git_collector::store::repositories::find_by_name(&self.db, &repo).await.unwrap().expect("repository stored")
    }

    /// The read model of one repository: month "YYYY-MM-01" → new contributors.
    pub async fn monthly(&self, full: &str, include_bots: bool) -> BTreeMap<String, i64> {
        let repo = self.repo(full).await;
        monthly::Entity::find()
            .filter(monthly::Column::RepositoryId.eq(repo.id))
            .filter(monthly::Column::IncludeBots.eq(include_bots))
            .order_by_asc(monthly::Column::Month)
            .all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.month.format("%Y-%m-%d").to_string(), i64::from(row.new_contributors)))
            .collect()
    }

    /// Asserts that the stored read model equals the fake's independent computation.
    pub async fn assert_exact(&self, full: &str) {
        for bots in [false, true] {
            let expected = self.fake.expected_monthly(full, bots);
            assert!(!expected.is_empty() || bots, "the test repository has contributors");
            assert_eq!(self.monthly(full, bots).await, expected, "{full} (include bots: {bots})");
        }
    }

    /// (contributor identity key, login, first contribution, commit count) of a repository.
    pub async fn firsts(&self, full: &str) -> Vec<(String, Option<String>, String, i64)> {
        let repo = self.repo(full).await;
        let rows = first_contribution::Entity::find()
            .filter(first_contribution::Column::RepositoryId.eq(repo.id))
            .find_also_related(contributor::Entity)
            .all(&self.db)
            .await
            .unwrap();
        let mut out: Vec<_> = rows
            .into_iter()
            .map(|(fc, c)| {
                let c = c.unwrap();
                (c.identity_key, c.login, fc.first_contribution_at.to_rfc3339(), fc.commit_count)
            })
            .collect();
        out.sort();
        out
    }

    pub async fn total_commit_count(&self, full: &str) -> i64 {
        self.firsts(full).await.iter().map(|f| f.3).sum()
    }

    pub async fn contributor_rows(&self) -> u64 {
        contributor::Entity::find().count(&self.db).await.unwrap()
    }
}
