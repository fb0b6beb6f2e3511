//! The verbs of the command line: serve (default), crawl, migrate, schema.
use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::refresh_job::JobTrigger;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Cli, Command, Config};
use crate::crawler::{Count, Progress, RepoOutcome};
use crate::domain::Target;
use crate::jobs::foreground::{ForegroundReport, ForegroundRun};
use crate::jobs::{schedule, WorkerSettings};
use crate::startup::{shutdown_signal, Application, Services};
use crate::store::db;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            let conn = db::connect(&config.database.url).await?;
            db::migrate(&conn).await?;
            tracing::info!(database = db::redact_url(&config.database.url), "migrations applied");
            Ok(())
        }
        Command::Schema => {
            println!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Crawl { targets } => crawl(&config, &targets).await,
    }
}

/// `git-collector crawl`: the same jobs the server runs, in the foreground, with a progress
/// bar and a summary.
async fn crawl(config: &Config, targets: &[String]) -> anyhow::Result<()> {
    // Parse every target before touching anything.
    let mut parsed = targets.iter().map(|t| Target::parse(t)).collect::<Result<Vec<_>, _>>()?;
    let services = Services::connect(config).await?;
    if parsed.is_empty() {
        parsed = schedule::scheduled_targets(config, &services.db).await?;
    }
    let started = Instant::now();
    let settings = WorkerSettings::from_config(&config.jobs);
    let run =
        ForegroundRun::start(services.queue, services.crawler, settings, services.metrics, &parsed, JobTrigger::Cli)
            .await?;
    let bar = progress_bar();
    let ticker = tokio::spawn(tick(bar.clone(), run.totals()));
    let report = run.finish(shutdown_signal()).await;
    ticker.abort();
    bar.finish_and_clear();
    let report = report?;
    print_summary(&report, started.elapsed());
    if report.interrupted {
        anyhow::bail!("interrupted: unfinished jobs were put back in the queue");
    }
    let failures = report.failures();
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("crawl incomplete: {}", failures.join("; "))
    }
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} repositories {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

async fn tick(bar: ProgressBar, totals: Arc<Progress>) {
    loop {
        bar.set_length(totals.get(Count::ReposTotal));
        bar.set_position(totals.get(Count::ReposDone));
        bar.set_message(format!(
            "· {} commits · {} requests",
            totals.get(Count::CommitsRead),
            totals.requests.requests()
        ));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_summary(report: &ForegroundReport, took: Duration) {
    let (mut updated, mut unchanged, mut unavailable, mut failed) = (0, 0, 0, 0);
    for repo in &report.repos {
        match &repo.result {
            Ok(RepoOutcome::Updated { .. } | RepoOutcome::Empty) => updated += 1,
            Ok(RepoOutcome::Unchanged) => unchanged += 1,
            Ok(RepoOutcome::Gone(_) | RepoOutcome::Blocked(_)) => unavailable += 1,
            Err(_) => failed += 1,
        }
    }
    let totals = &report.totals;
    // Requests of the jobs asked for, their repository jobs included (some may have run on
    // another replica of the same database).
    let requests: i64 = report.jobs.iter().map(|j| j.requests_made).sum();
    println!(
        "repositories: {} ({updated} updated, {unchanged} unchanged, {unavailable} gone or blocked, {failed} failed)\n\
         commits read: {}\nfirst-time contributors: {}\nrequests made: {requests} ({} answered 304)\n\
         rate-limit waits: {}\ntime: {:.1}s",
        report.repos.len(),
        totals.get(Count::CommitsRead),
        totals.get(Count::NewContributors),
        totals.requests.not_modified(),
        totals.requests.rate_limit_waits(),
        took.as_secs_f64()
    );
}
