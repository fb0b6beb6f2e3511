//! GH Archive benchmark: a generated day shaped like a real one (see `day.rs`), imported by the
//! real binary (`git-collector archive import`) into SQLite, and into PostgreSQL when
//! BENCH_DATABASE_URL is set, against the cost of only decompressing the same files, measured in
//! the same run: `gzip -dc` (one process) and `libdeflate-gunzip -c` with one process per core
//! (the all-core inflate floor; Debian's `libdeflate-tools`). Rounds alternate the four, and the
//! medians are reported. Then the queries, on aggregates filled directly (`queries.rs`).
//!
//! `cargo bench --bench archive`. Settings: BENCH_ARCHIVE_DIR (where the day is generated once;
//! default `target/bench-archive`), BENCH_EVENTS (3,000,000), BENCH_DEVELOPERS (700,000),
//! BENCH_REPOSITORIES (600,000), BENCH_ROUNDS (3), BENCH_DATABASE_URL, BENCH_SKIP_IMPORT and
//! BENCH_SKIP_QUERIES (set to 1 to skip a part), and the query sizes listed in `queries.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod day;
mod queries;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use day::{DaySpec, Generated};
use sea_orm::ConnectionTrait;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v == "true")
}

/// Wall time and peak resident memory of one run of a command (or several, side by side).
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    peak_rss_mib: f64,
}

/// Peak resident memory of a process so far (VmHWM), in MiB.
fn vm_hwm_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb / 1024.0)
}

/// Runs `commands` at the same time, at most `parallel` at once, and waits for all; the peak
/// memory is that of the largest process, sampled every 10 ms.
fn run_all(mut commands: Vec<Command>, parallel: usize) -> Run {
    let started = Instant::now();
    let mut running: Vec<std::process::Child> = Vec::new();
    let mut peak: f64 = 0.0;
    commands.reverse();
    loop {
        while running.len() < parallel {
            let Some(mut command) = commands.pop() else { break };
            running.push(command.spawn().expect("start a command"));
        }
        if running.is_empty() {
            break;
        }
        for child in &running {
            if let Some(mib) = vm_hwm_mib(child.id()) {
                peak = peak.max(mib);
            }
        }
        let mut still = Vec::new();
        for mut child in running.drain(..) {
            match child.try_wait().expect("wait for a command") {
                Some(status) => assert!(status.success(), "a command failed: {status}"),
                None => still.push(child),
            }
        }
        running = still;
        std::thread::sleep(Duration::from_millis(10));
    }
    Run { wall: started.elapsed(), peak_rss_mib: peak }
}

fn gzip_dc(files: &[PathBuf]) -> Run {
    let mut c = Command::new("gzip");
    c.arg("-dc").args(files).stdout(Stdio::null());
    run_all(vec![c], 1)
}

fn libdeflate_floor(files: &[PathBuf], cores: usize) -> Run {
    let commands = files
        .iter()
        .map(|f| {
            let mut c = Command::new("libdeflate-gunzip");
            c.arg("-c").arg(f).stdout(Stdio::null());
            c
        })
        .collect();
    run_all(commands, cores)
}

fn import(day: NaiveDate, archive: &Path, database_url: &str) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_git-collector"));
    c.args(["archive", "import", &day.to_string()])
        .env("DATABASE_URL", database_url)
        .env("ARCHIVE_URL", format!("file://{}", archive.display()))
        .env("GITHUB_OWNERS", "")
        .env("CRAWL_ON_START", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    run_all(vec![c], 1)
}

/// A fresh database for one import: an SQLite file, or a database of its own on the server.
struct Target {
    label: &'static str,
    server: Option<String>,
    dir: PathBuf,
}

impl Target {
    async fn fresh(&self, round: usize) -> String {
        match &self.server {
            None => {
                let path = self.dir.join(format!("archive-{round}.db"));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                format!("sqlite://{}?mode=rwc", path.display())
            }
            Some(server) => {
                let name = "gc_bench_archive";
                let admin = sea_orm::Database::connect(server.as_str()).await.unwrap();
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
                let mut url = url::Url::parse(server).unwrap();
                url.set_path(name);
                url.to_string()
            }
        }
    }

    async fn done(&self) {
        if let Some(server) = &self.server {
            let admin = sea_orm::Database::connect(server.as_str()).await.unwrap();
            admin.execute_unprepared("DROP DATABASE IF EXISTS \"gc_bench_archive\" WITH (FORCE)").await.unwrap();
        }
    }
}

/// The imported day must have exactly the numbers the generator computed.
async fn check(database_url: &str, generated: &Generated, day: NaiveDate) {
    let db = sea_orm::Database::connect(database_url).await.unwrap();
    let range = git_collector::domain::archive::DayRange::requested(day, day).unwrap();
    let days = git_collector::store::archive::queries::activity(&db, range, true).await.unwrap();
    let d = days.first().expect("the day is imported");
    let e = generated.all;
    let got = (
        d.hours_imported,
        d.events as u64,
        d.active_developers as u64,
        d.developers_without_commits as u64,
        d.developers_with_one_commit as u64,
        d.developers_with_more_than_one_commit as u64,
        d.pushes as u64,
        d.commits as u64,
    );
    let want = (24, e.events, e.devs, e.devs_c0, e.devs_c1, e.devs_cn, e.pushes, e.commits);
    assert_eq!(got, want, "imported numbers (hours, events, developers, c0, c1, c>1, pushes, commits)");
    let without = git_collector::store::archive::queries::activity(&db, range, false).await.unwrap();
    assert_eq!(without[0].active_developers as u64, e.devs - generated.bots.devs, "developers without bots");
    db.close().await.ok();
}

/// What the archive tables take on disk after the import, in MiB: on PostgreSQL their relations
/// with indexes and TOAST, on SQLite the database file (checkpointed).
async fn stored_mib(database_url: &str) -> f64 {
    let db = sea_orm::Database::connect(database_url).await.unwrap();
    let bytes = if database_url.starts_with("sqlite:") {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
        let path = database_url.trim_start_matches("sqlite://").split('?').next().unwrap();
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64
    } else {
        let row = db
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT CAST(SUM(pg_total_relation_size(oid)) AS BIGINT) AS n FROM pg_class \
                 WHERE relkind = 'r' AND relname LIKE 'archive\\_%'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap() as f64
    };
    db.close().await.ok();
    bytes / (1024.0 * 1024.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

async fn import_bench(dir: &Path) {
    let spec = DaySpec {
        day: NaiveDate::from_ymd_opt(2024, 5, 15).unwrap(),
        events: env_or("BENCH_EVENTS", 3_000_000),
        developers: env_or("BENCH_DEVELOPERS", 700_000),
        repositories: env_or("BENCH_REPOSITORIES", 600_000),
    };
    let generated = day::ensure(dir, &spec).expect("generate the day");
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
    let rounds = env_or("BENCH_ROUNDS", 3).max(1);
    println!(
        "day {}: 24 files, {} events ({} developers, {} repositories), {:.2} GB of JSON ({:.0} bytes an event), {:.2} GB gzip (ratio {:.1}); {cores} cores",
        spec.day,
        generated.all.events,
        generated.all.devs,
        generated.all.repos,
        generated.json_bytes as f64 / 1e9,
        generated.json_bytes as f64 / generated.all.events as f64,
        generated.gzip_bytes as f64 / 1e9,
        generated.json_bytes as f64 / generated.gzip_bytes as f64
    );
    let work = tempfile::tempdir().unwrap();
    let mut targets = vec![Target { label: "SQLite", server: None, dir: work.path().to_path_buf() }];
    if let Some(server) = std::env::var("BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        targets.push(Target { label: "PostgreSQL", server: Some(server), dir: work.path().to_path_buf() });
    }
    let mut gzip_runs = Vec::new();
    let mut floor_runs = Vec::new();
    let mut import_runs: Vec<Vec<Run>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        let floor = libdeflate_floor(&generated.files, cores);
        println!("  round {}: libdeflate-gunzip ×{cores} {:.1} s", round + 1, secs(floor.wall));
        floor_runs.push(floor);
        for (i, target) in targets.iter().enumerate() {
            let url = target.fresh(round).await;
            let run = import(spec.day, &generated.dir, &url);
            check(&url, &generated, spec.day).await;
            println!(
                "  round {}: import into {} {:.1} s, peak RSS {:.0} MiB (numbers checked), {:.0} MiB on disk",
                round + 1,
                target.label,
                secs(run.wall),
                run.peak_rss_mib,
                stored_mib(&url).await
            );
            import_runs[i].push(run);
            target.done().await;
        }
        let gzip = gzip_dc(&generated.files);
        println!("  round {}: gzip -dc {:.1} s", round + 1, secs(gzip.wall));
        gzip_runs.push(gzip);
    }
    // This machine's speed drifts between minutes: every ratio is taken within its round (the
    // import against the floor measured just before it), and the median of the rounds reported.
    let walls = |runs: &[Run]| median(runs.iter().map(|r| secs(r.wall)).collect());
    let ratios =
        |runs: &[Run], base: &[Run]| median(runs.iter().zip(base).map(|(r, b)| secs(r.wall) / secs(b.wall)).collect());
    println!("\nmedian of {rounds} rounds (ratios: median of each round's own ratio):");
    println!("| what | wall | × all-core inflate floor | × gzip -dc | events/s | peak RSS |");
    println!("|---|---|---|---|---|---|");
    let events = generated.all.events as f64;
    println!(
        "| `gzip -dc`, one process | {:.1} s | {:.2} | 1.00 | {:.0} | – |",
        walls(&gzip_runs),
        ratios(&gzip_runs, &floor_runs),
        events / walls(&gzip_runs)
    );
    println!(
        "| `libdeflate-gunzip -c`, {cores} processes (the floor) | {:.1} s | 1.00 | {:.2} | {:.0} | – |",
        walls(&floor_runs),
        ratios(&floor_runs, &gzip_runs),
        events / walls(&floor_runs)
    );
    for (target, runs) in targets.iter().zip(import_runs) {
        let peak = runs.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max);
        println!(
            "| git-collector into {} | {:.1} s | **{:.2}** | {:.2} | {:.0} | {:.0} MiB |",
            target.label,
            walls(&runs),
            ratios(&runs, &floor_runs),
            ratios(&runs, &gzip_runs),
            events / walls(&runs),
            peak
        );
    }
}

#[tokio::main]
async fn main() {
    let dir = std::env::var("BENCH_ARCHIVE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-archive"));
    if !flag("BENCH_SKIP_IMPORT") {
        import_bench(&dir).await;
    }
    if !flag("BENCH_SKIP_QUERIES") {
        queries::bench().await;
    }
}
