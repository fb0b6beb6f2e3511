//! The verbs of the command line: serve (default), crawl, migrate, schema.
use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::refresh_job::JobTrigger;
use indicatif::{ProgressBar, ProgressStyle};

use chrono::NaiveDate;

use crate::config::{ArchiveCommand, Cli, Command, Config};
use crate::crawler::{Count, Progress, RepoOutcome};
use crate::domain::archive::DayRange;
use crate::domain::Target;
use crate::jobs::foreground::{ForegroundReport, ForegroundRun};
use crate::jobs::Services;
use crate::jobs::{schedule, WorkerSettings};
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
        Command::Archive { command: ArchiveCommand::Import { from, to } } => {
            archive_import(&config, from, to.unwrap_or(from)).await
        }
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
    let run = ForegroundRun::start(&services, WorkerSettings::from_config(config), &parsed, JobTrigger::Cli).await?;
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

/// `git-collector archive import FROM [TO]`: the same archive job the server runs, in the
/// foreground, with a progress bar (hours, events, events per second) and a summary.
async fn archive_import(config: &Config, from: NaiveDate, to: NaiveDate) -> anyhow::Result<()> {
    let range = DayRange::requested(from, to)?;
    let services = Services::connect(config).await?;
    let started = Instant::now();
    let targets = [Target::Archive(range)];
    let run = ForegroundRun::start(&services, WorkerSettings::from_config(config), &targets, JobTrigger::Cli).await?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} hours · {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let ticker = tokio::spawn(tick_archive(bar.clone(), services.db.clone(), range, started));
    let report = run.finish(shutdown_signal()).await;
    ticker.abort();
    bar.finish_and_clear();
    let report = report?;
    let progress = crate::store::archive::ledger::progress(&services.db, range).await?;
    let took = started.elapsed();
    println!(
        "hours: {} ({} imported, {} missing from the archive, {} failed)\nevents: {} ({:.0} per second)\ntime: {:.1}s",
        progress.planned,
        progress.imported,
        progress.missing,
        progress.failed,
        progress.events,
        progress.events as f64 / took.as_secs_f64().max(0.001),
        took.as_secs_f64()
    );
    if report.interrupted {
        anyhow::bail!("interrupted: unfinished hours were put back in the queue");
    }
    let failures = report.failures();
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("import incomplete: {}", failures.join("; "))
    }
}

async fn tick_archive(bar: ProgressBar, db: sea_orm::DatabaseConnection, range: DayRange, started: Instant) {
    loop {
        if let Ok(p) = crate::store::archive::ledger::progress(&db, range).await {
            bar.set_length(p.planned);
            bar.set_position(p.settled() + p.failed);
            let rate = p.events as f64 / started.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!("{} events · {rate:.0} events/s", p.events));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
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
