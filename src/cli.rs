//! The verbs of the command line: serve (default), crawl, migrate, schema.
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Cli, Command, Config};
use crate::crawler::{CrawlReport, Crawler, Progress, RepoOutcome};
use crate::domain::Target;
use crate::startup::{shutdown_signal, Application};
use crate::store::db;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            let conn = db::connect(&config.database_url).await?;
            db::migrate(&conn).await?;
            tracing::info!(database = db::redact_url(&config.database_url), "migrations applied");
            Ok(())
        }
        Command::Schema => {
            println!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Crawl { targets } => crawl(&config, &targets).await,
    }
}

/// `git-collector crawl`: one crawl in the foreground with a progress bar and a summary.
async fn crawl(config: &Config, targets: &[String]) -> anyhow::Result<()> {
    // Parse every target before touching anything.
    let mut parsed = targets.iter().map(|t| Target::parse(t)).collect::<Result<Vec<_>, _>>()?;
    let conn = db::connect(&config.database_url).await?;
    db::migrate(&conn).await?;
    if parsed.is_empty() {
        parsed = crate::jobs::schedule::scheduled_targets(config, &conn).await?;
    }
    let crawler = Crawler::from_config(conn, config).context("cannot set up the GitHub client")?;
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut failures = Vec::new();
    for target in &parsed {
        let progress = Arc::new(Progress::default());
        let bar = progress_bar(target);
        let ticker = tokio::spawn(tick(bar.clone(), progress.clone()));
        let result = crawler.refresh(target, &progress).await;
        ticker.abort();
        bar.finish_and_clear();
        summary.add(&progress);
        match result {
            Ok(report) => {
                summary.count(&report);
                if let Some(why) = report.failure() {
                    failures.push(format!("{target}: {why}"));
                }
            }
            Err(err) => failures.push(format!("{target}: {err}")),
        }
    }
    summary.print(started.elapsed());
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("crawl incomplete: {}", failures.join("; "))
    }
}

fn progress_bar(target: &Target) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} repositories {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(target.to_string());
    bar
}

async fn tick(bar: ProgressBar, progress: Arc<Progress>) {
    loop {
        bar.set_length(Progress::get(&progress.repos_total));
        bar.set_position(Progress::get(&progress.repos_done));
        bar.set_message(format!(
            "· {} commits · {} requests",
            Progress::get(&progress.commits_read),
            progress.requests.requests()
        ));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Default)]
struct Summary {
    repos: u64,
    updated: u64,
    unchanged: u64,
    unavailable: u64,
    failed: u64,
    commits: u64,
    new_contributors: u64,
    requests: u64,
    not_modified: u64,
    rate_limit_waits: u64,
}

impl Summary {
    fn add(&mut self, p: &Progress) {
        self.commits += Progress::get(&p.commits_read);
        self.new_contributors += Progress::get(&p.new_contributors);
        self.requests += p.requests.requests();
        self.not_modified += p.requests.not_modified();
        self.rate_limit_waits += p.requests.rate_limit_waits();
    }

    fn count(&mut self, report: &CrawlReport) {
        for (_, outcome) in &report.repos {
            self.repos += 1;
            match outcome {
                RepoOutcome::Updated { .. } | RepoOutcome::Empty => self.updated += 1,
                RepoOutcome::Unchanged => self.unchanged += 1,
                RepoOutcome::Gone(_) | RepoOutcome::Blocked(_) => self.unavailable += 1,
                RepoOutcome::Failed(_) => self.failed += 1,
            }
        }
    }

    fn print(&self, took: Duration) {
        println!(
            "repositories: {} ({} updated, {} unchanged, {} gone or blocked, {} failed)\n\
             commits read: {}\nfirst-time contributors: {}\nrequests made: {} ({} answered 304)\n\
             rate-limit waits: {}\ntime: {:.1}s",
            self.repos,
            self.updated,
            self.unchanged,
            self.unavailable,
            self.failed,
            self.commits,
            self.new_contributors,
            self.requests,
            self.not_modified,
            self.rate_limit_waits,
            took.as_secs_f64()
        );
    }
}
