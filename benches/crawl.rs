//! Crawl benchmark: a synthetic account served by the in-process fake GitHub with a fixed
//! latency per request, crawled by the real crawler into a real database.
//!
//! `cargo bench --bench crawl` (sizes and latency from BENCH_* variables, see `Params`).
//! Reports commits per second, requests against the minimum possible, wall time against the
//! bound `requests × latency ÷ concurrency`, peak memory, the cost of an incremental and of an
//! unchanged refresh, and how far the `stats` source (the old system's) is from the exact count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/fake_github.rs"]
mod fake_github;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use entity::refresh_job::JobTrigger;
use fake_github::{Author, FakeGitHub};
use git_collector::config::{Cli, Config};
use git_collector::crawler::{Count, Progress};
use git_collector::domain::Target;
use git_collector::jobs::foreground::ForegroundRun;
use git_collector::jobs::Services;
use git_collector::jobs::WorkerSettings;
use sea_orm::DatabaseConnection;

struct Params {
    repos: usize,
    commits: usize,
    contributors: usize,
    latency_ms: u64,
    concurrency: usize,
    database_url: Option<String>,
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl Params {
    fn from_env() -> Self {
        Self {
            repos: env_or("BENCH_REPOS", 50),
            commits: env_or("BENCH_COMMITS", 200_000),
            contributors: env_or("BENCH_CONTRIBUTORS", 5_000),
            latency_ms: env_or("BENCH_LATENCY_MS", 20) as u64,
            concurrency: env_or("BENCH_CONCURRENCY", 8),
            database_url: std::env::var("BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty()),
        }
    }
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn stamp(i: usize) -> String {
    // Spread over ten years, one commit every ~26 minutes on average.
    let base = chrono::DateTime::parse_from_rfc3339("2014-01-01T00:00:00Z").unwrap();
    (base + chrono::Duration::minutes(i as i64 * 26)).to_rfc3339()
}

/// Author of commit `i` of repository `r`: a skewed population (a few people write most of
/// the commits, many write one), with a share of email-only authors and bots.
fn author(r: usize, i: usize, people: usize) -> Author {
    let x = (i * 2_654_435_761 + r * 40_503) % 1_000_003;
    let p = if x.is_multiple_of(3) { x % people } else { x % (people / 20).max(1) };
    match p % 10 {
        0 => Author::email_only(&format!("person{p}@example.org")),
        9 => Author::bot(1_000_000 + p as i64, &format!("bot{p}[bot]")),
        _ => Author::user(p as i64 + 1, &format!("user{p}"), &format!("user{p}@example.com")),
    }
}

/// A crawl setting: the configuration and its database.
struct Setting {
    config: Config,
    db: DatabaseConnection,
}

async fn setting(db_url: &str, fake: &FakeGitHub, params: &Params, source: &str) -> Setting {
    let config = Cli::try_parse_from([
        "git-collector",
        "--database-url",
        db_url,
        "--github-api-url",
        &fake.url,
        "--crawl-concurrency",
        &params.concurrency.to_string(),
        "--github-source",
        source,
        "--github-retry-delay-ms",
        "1",
        "--job-poll-ms",
        "50",
    ])
    .unwrap()
    .config;
    let db = git_collector::store::db::connect(db_url).await.unwrap();
    git_collector::store::db::migrate(&db).await.unwrap();
    Setting { config, db }
}

/// A refresh of the account, run as `git-collector crawl bench` runs it.
async fn run(setting: &Setting) -> (Arc<Progress>, Duration) {
    let services = Services::on(setting.db.clone(), &setting.config).unwrap();
    let settings = WorkerSettings::from_config(&setting.config);
    let started = Instant::now();
    let targets = [Target::parse("bench").unwrap()];
    let run = ForegroundRun::start(&services, settings, &targets, JobTrigger::Cli).await.unwrap();
    let report = run.finish(std::future::pending()).await.unwrap();
    assert!(report.failures().is_empty(), "{:?}", report.failures());
    (report.totals, started.elapsed())
}

#[tokio::main]
async fn main() {
    let params = Params::from_env();
    let dir = tempfile::tempdir().unwrap();
    let db_url = params
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()));
    println!(
        "crawl benchmark: {} repositories, {} commits, ~{} contributors, {} ms latency, concurrency {}, database {}",
        params.repos,
        params.commits,
        params.contributors,
        params.latency_ms,
        params.concurrency,
        if params.database_url.is_some() { "PostgreSQL" } else { "SQLite" }
    );

    let fake = FakeGitHub::start().await;
    fake.add_org("bench");
    let per_repo = params.commits / params.repos;
    let mut pages_needed = params.repos.div_ceil(100); // the listing
    for r in 0..params.repos {
        let full = format!("bench/repo{r:03}");
        fake.add_repo("bench", &format!("repo{r:03}"));
        // Repositories of different sizes around the mean, totalling `commits`.
        let n = if r + 1 == params.repos { params.commits - per_repo * (params.repos - 1) } else { per_repo };
        for i in 0..n {
            fake.commit(&full, &author(r, i, params.contributors), &stamp(i));
        }
        pages_needed += n.div_ceil(100).max(1);
    }
    fake.set_latency(Duration::from_millis(params.latency_ms));
    let rss_before = peak_rss_mib();

    // 1. Full crawl.
    let exact = setting(&db_url, &fake, &params, "commits").await;
    let (progress, took) = run(&exact).await;
    let requests = progress.requests.requests();
    let commits = progress.get(Count::CommitsRead);
    let bound = Duration::from_millis(params.latency_ms) * requests as u32 / params.concurrency as u32;
    let rss_after = peak_rss_mib();
    println!("\nfull crawl");
    println!("  commits read            {commits}");
    println!("  first-time contributors {}", progress.get(Count::NewContributors));
    println!("  wall time               {:.2} s", took.as_secs_f64());
    println!("  commits per second      {:.0}", commits as f64 / took.as_secs_f64());
    println!(
        "  requests                {requests} (minimum possible: {pages_needed}; ratio {:.3})",
        requests as f64 / pages_needed as f64
    );
    println!(
        "  bound requests×latency÷concurrency {:.2} s; wall/bound ratio {:.3}",
        bound.as_secs_f64(),
        took.as_secs_f64() / bound.as_secs_f64()
    );
    println!(
        "  peak RSS                {rss_after:.1} MiB (fake GitHub loaded: {rss_before:.1} MiB; crawl added {:.1} MiB)",
        rss_after - rss_before
    );

    // 2. Incremental refresh: new commits on a tenth of the repositories.
    let changed = (params.repos / 10).max(1);
    for r in 0..changed {
        let full = format!("bench/repo{r:03}");
        for i in 0..50 {
            fake.commit(&full, &author(r + 7, i + 1_000_000, params.contributors * 2), &stamp(per_repo + i));
        }
    }
    let (progress, took_incr) = run(&exact).await;
    println!("\nincremental refresh ({changed} repositories with 50 new commits each)");
    println!(
        "  requests {} ({} answered 304); wall time {:.2} s = {:.3} of the full crawl",
        progress.requests.requests(),
        progress.requests.not_modified(),
        took_incr.as_secs_f64(),
        took_incr.as_secs_f64() / took.as_secs_f64()
    );

    // 3. Unchanged refresh.
    let (progress, took_same) = run(&exact).await;
    println!("\nunchanged refresh");
    println!(
        "  requests {} ({} answered 304, free of rate limit); wall time {:.2} s = {:.3} of the full crawl",
        progress.requests.requests(),
        progress.requests.not_modified(),
        took_same.as_secs_f64(),
        took_same.as_secs_f64() / took.as_secs_f64()
    );

    // 4. The old system's source on the same data, into a database of its own.
    let stats_dir = tempfile::tempdir().unwrap();
    let stats_url = format!("sqlite://{}?mode=rwc", stats_dir.path().join("stats.db").display());
    let stats = setting(&stats_url, &fake, &params, "stats").await;
    let (stats_progress, _) = run(&stats).await;
    let exact_total: i64 = (0..params.repos).map(|r| fake.expected_total(&format!("bench/repo{r:03}"), true)).sum();
    println!("\nstats source (the old system's /stats/contributors) on the same data");
    println!(
        "  first-time contributors found {} of {} exact ({:.3}); requests {}",
        stats_progress.get(Count::NewContributors),
        exact_total,
        stats_progress.get(Count::NewContributors) as f64 / exact_total as f64,
        stats_progress.requests.requests()
    );
}
