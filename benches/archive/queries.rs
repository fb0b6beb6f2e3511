//! The archive queries, on aggregates filled directly (as the API bench fills its read model)
//! and shaped like the real archive: skewed commits, developers active on some days of a month,
//! repositories owned by developers, a few members each. The real service answers over HTTP;
//! each query runs `BENCH_QUERY_RUNS` times one after the other and its p50 is reported.
//!
//! Two scales, on PostgreSQL (BENCH_DATABASE_URL; SQLite too for the small one):
//! - small: BENCH_QUERY_DEVS (35,000) developers and BENCH_QUERY_REPOS (30,000) repositories a
//!   day for 366 days: 1.1 million developer-days in 31 days;
//! - real (BENCH_REAL_SCALE=1): 700,000 developers and 600,000 repositories a day for 31 days,
//!   22 million developer-days, as the archive has them.
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use clap::Parser;
use git_collector::config::Cli;
use git_collector::startup::Application;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use serde_json::{json, Value};

use super::env_or;

/// The first day of the filled aggregates.
const FIRST: &str = "2024-01-01";

struct Scale {
    label: &'static str,
    days: i64,
    devs: i64,
    repos: i64,
    /// Windows measured, in days.
    windows: &'static [i64],
    runs: usize,
}

pub async fn bench() {
    let small = Scale {
        label: "small",
        days: 366,
        devs: env_or("BENCH_QUERY_DEVS", 35_000) as i64,
        repos: env_or("BENCH_QUERY_REPOS", 30_000) as i64,
        windows: &[7, 31, 366],
        runs: env_or("BENCH_QUERY_RUNS", 15),
    };
    let real = Scale { label: "real", days: 31, devs: 700_000, repos: 600_000, windows: &[1, 7, 31], runs: 3 };
    let work = tempfile::tempdir().unwrap();
    if std::env::var("BENCH_QUERY_SQLITE").is_ok_and(|v| v == "1") {
        let url = format!("sqlite://{}?mode=rwc", work.path().join("queries.db").display());
        run("SQLite", &url, &small, true).await;
    }
    let Some(server) = std::env::var("BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        println!("\nqueries: set BENCH_DATABASE_URL to measure them on PostgreSQL");
        return;
    };
    let mut scales = vec![&small];
    if std::env::var("BENCH_REAL_SCALE").is_ok_and(|v| v == "1") {
        scales.push(&real);
    }
    // BENCH_QUERY_KEEP=1 keeps each scale's database after the run and reuses it next time (the
    // fill takes minutes), to try query plans against it.
    let keep = std::env::var("BENCH_QUERY_KEEP").is_ok_and(|v| v == "1");
    for scale in scales {
        let name = format!("gc_bench_archive_queries_{}", scale.label);
        let admin = sea_orm::Database::connect(server.as_str()).await.unwrap();
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&name);
        let reuse = keep && filled(url.as_str(), scale).await;
        if !reuse {
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
        }
        run("PostgreSQL", url.as_str(), scale, !reuse).await;
        if !keep {
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
        }
    }
}

/// Whether the database at `url` already holds the aggregates of `scale`.
async fn filled(url: &str, scale: &Scale) -> bool {
    let Ok(db) = sea_orm::Database::connect(url).await else { return false };
    let row = db
        .query_one(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            "SELECT COUNT(*) AS n, CAST(COALESCE(MAX(devs), 0) AS BIGINT) AS devs FROM archive_days",
        ))
        .await;
    match row {
        Ok(Some(row)) => {
            row.try_get::<i64>("", "n").ok() == Some(scale.days)
                && row.try_get::<i64>("", "devs").ok() == Some(scale.devs)
        }
        _ => false,
    }
}

async fn run(backend: &str, url: &str, scale: &Scale, fill_it: bool) {
    println!(
        "\nqueries on {backend}, {} scale: {} developers and {} repositories a day for {} days",
        scale.label, scale.devs, scale.repos, scale.days
    );
    let config = Cli::try_parse_from([
        "git-collector",
        "--database-url",
        url,
        "--bind-addr",
        "127.0.0.1:0",
        "--crawl-on-start",
        "false",
        "--github-owners",
        "",
    ])
    .unwrap()
    .config;
    let app = Application::build(config).await.unwrap();
    if fill_it {
        let started = Instant::now();
        fill(app.db(), scale).await;
        println!("  filled in {:.0} s", started.elapsed().as_secs_f64());
    } else {
        println!("  reused the filled database");
    }
    let url = format!("http://127.0.0.1:{}/graphql", app.port());
    let server = tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(600)).build().unwrap();
    let first = NaiveDate::parse_from_str(FIRST, "%Y-%m-%d").unwrap();
    let last = first + chrono::Duration::days(scale.days - 1);
    println!("| query | window | p50 | rows |");
    println!("|---|---|---|---|");
    let activity = "query($from: Date!, $to: Date!) { archiveActivity(from: $from, to: $to) { day developersWithoutCommits developersWithOneCommit developersWithMoreThanOneCommit } }";
    let queries: [(&str, String); 6] = [
        ("archiveDevelopers, first 100 by commits", developers("")),
        ("… with totalCount", developers("totalCount")),
        ("… owning 2 or more (minRepositoriesOwned: 2)", developers_owning()),
        ("archiveRepositories, first 100 by members", repositories("")),
        ("… with totalCount", repositories("totalCount")),
        ("… more than ten members (minMembers: 11)", repositories_min()),
    ];
    let window = (last - first).num_days() + 1;
    if window >= 366 || scale.label == "small" {
        let (p50, rows) = measure(&client, &url, activity, first, last, scale.runs, "archiveActivity").await;
        println!("| archiveActivity | {window} days | {} | {rows} |", ms(p50));
    }
    for &days in scale.windows {
        let from = last - chrono::Duration::days(days - 1);
        for (name, query) in &queries {
            let (p50, rows) = measure(&client, &url, query, from, last, scale.runs, "").await;
            println!("| {name} | {days} days | {} | {rows} |", ms(p50));
        }
    }
    server.abort();
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn developers(extra: &str) -> String {
    format!(
        "query($from: Date!, $to: Date!) {{ archiveDevelopers(from: $from, to: $to, first: 100) {{ {extra} nodes {{ actorId login commits commitsPerDay activeDays }} }} }}"
    )
}

fn developers_owning() -> String {
    "query($from: Date!, $to: Date!) { archiveDevelopers(from: $from, to: $to, minRepositoriesOwned: 2, first: 100) { nodes { actorId login repositoriesOwned } } }".into()
}

fn repositories(extra: &str) -> String {
    format!(
        "query($from: Date!, $to: Date!) {{ archiveRepositories(from: $from, to: $to, first: 100) {{ {extra} nodes {{ repoId name members pushes commits }} }} }}"
    )
}

fn repositories_min() -> String {
    "query($from: Date!, $to: Date!) { archiveRepositories(from: $from, to: $to, minMembers: 11, first: 100) { nodes { repoId name members } } }".into()
}

/// Runs `query` over [from, to] `runs` times; its p50 and the rows of its first answer.
async fn measure(
    client: &reqwest::Client,
    url: &str,
    query: &str,
    from: NaiveDate,
    to: NaiveDate,
    runs: usize,
    list: &str,
) -> (Duration, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut rows = 0;
    for i in 0..runs.max(1) {
        let t = Instant::now();
        let body: Value = client
            .post(url)
            .json(&json!({"query": query, "variables": {"from": from.to_string(), "to": to.to_string()}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        times.push(t.elapsed());
        assert!(body.get("errors").is_none(), "{body}");
        if i == 0 {
            let data = &body["data"];
            rows = match list {
                "" => data
                    .as_object()
                    .and_then(|o| o.values().next())
                    .map_or(0, |c| c["nodes"].as_array().map_or(0, Vec::len)),
                name => data[name].as_array().map_or(0, Vec::len),
            };
        }
    }
    times.sort();
    (times[times.len() / 2], rows)
}

/// Fills the aggregates of `scale` with SQL on the server.
async fn fill(db: &DatabaseConnection, scale: &Scale) {
    let pg = db.get_database_backend() == DbBackend::Postgres;
    let first = (NaiveDate::parse_from_str(FIRST, "%Y-%m-%d").unwrap() - NaiveDate::default()).num_days();
    // A population four times a day's developers: each is active on about a quarter of the days.
    let (devs, repos) = (scale.devs, scale.repos);
    let population = devs * 4;
    let repo_population = repos * 4;
    // Day d, row i: distinct ids within a day (i < population, a multiplier prime to it).
    let actor = |d: &str, i: &str| format!("(1 + ({i} * 7919 + {d} * 104729) % {population})");
    let repo = |d: &str, i: &str| format!("(1 + ({i} * 6271 + {d} * 15485863) % {repo_population})");
    let key = |id: &str| format!("(({id} % 32) * 288230376151711744 + {id})");
    let rand = |seed: &str| {
        if pg {
            format!("((hashtext(CAST({seed} AS TEXT)) & 2147483647) / 2147483647.0)")
        } else {
            format!("((abs(({seed}) * 2654435761) % 1000003) / 1000003.0)")
        }
    };
    let series = |n: i64| {
        if pg {
            format!("generate_series(CAST(0 AS BIGINT), {}) AS i", n - 1)
        } else {
            format!(
                "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {}) SELECT i FROM s) AS q",
                n - 1
            )
        }
    };
    let (t, f) = if pg { ("TRUE", "FALSE") } else { ("1", "0") };
    for day in 0..scale.days {
        // As BIGINT: products of it overflow INTEGER on PostgreSQL.
        let d = format!("CAST({} AS BIGINT)", first + day);
        let a = actor(&d, "i");
        // Commits: r⁶ × 60 for r uniform in [0, 1): most developers 0, a few many.
        let commits = "CAST(r * r * r * r * r * r * 60 AS INTEGER)";
        db.execute_unprepared(&format!(
            "INSERT INTO archive_developer_rows (lvl, start, actor_key, actor_id, login, seen_key, is_bot, days, events, \
             pushes, commits, pushes_unknown) SELECT 0, {d}, {k}, {a}, 'dev-' || {a}, {d} * 10000000 + i, \
             CASE WHEN {a} % 50 = 7 THEN {t} ELSE {f} END, 1, 3, CASE WHEN {c} > 0 THEN 1 ELSE 0 END, {c}, 0 \
             FROM (SELECT i, {r} AS r FROM {s}) AS q",
            k = key(&a),
            c = commits,
            r = rand(&format!("i * 31 + {d}")),
            s = series(devs)
        ))
        .await
        .unwrap();
        let r = repo(&d, "i");
        // Most repositories are a developer's (owner: actor r mod population); a tenth an
        // organization's. One to three members, more for a few.
        let owner = format!("(1 + ({r} * 7) % {})", population / 4);
        let members = |n: &str| {
            let id = format!("1 + ({r} * 13 + j * 7) % {population}");
            if pg {
                format!("ARRAY(SELECT {id} FROM generate_series(1, {n}) AS j)")
            } else {
                format!(
                    "(SELECT json_group_array({id}) FROM (WITH RECURSIVE js(j) AS (SELECT 1 UNION ALL SELECT j + 1 \
                     FROM js WHERE j < {n}) SELECT j FROM js))"
                )
            }
        };
        // One to three members; twelve for one repository in a hundred.
        let n = format!("(CASE WHEN {r} % 100 = 0 THEN 12 ELSE 1 + CAST(r * r * r * 3 AS INTEGER) % 3 END)");
        let name = format!("CASE WHEN {r} % 10 = 0 THEN 'org-' || ({r} % 5000) ELSE 'dev-' || {owner} END");
        db.execute_unprepared(&format!(
            "INSERT INTO archive_repository_rows (lvl, start, repo_key, repo_id, name, owner_key, seen_key, events, \
             b_events, pushes, b_pushes, commits, b_commits, member_ids, bot_member_ids) SELECT 0, {d}, {k}, {r}, \
             {name} || '/proj-' || {r}, {name}, {d} * 10000000 + i, 4, 0, 2, 0, 3, 0, {m}, {empty} \
             FROM (SELECT i, {random} AS r FROM {s}) AS q",
            k = key(&r),
            m = members(&n),
            empty = if pg { "'{}'" } else { "'[]'" },
            random = rand(&format!("i * 17 + {d}")),
            s = series(repos)
        ))
        .await
        .unwrap();
        db.execute_unprepared(&format!(
            "INSERT INTO archive_days (day, hours_imported, hours_missing, events, devs, devs_c0, devs_c1, devs_cn, \
             pushes, commits) SELECT {d}, 24, 0, 3 * COUNT(*), COUNT(*), SUM(CASE WHEN commits = 0 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN commits = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN commits > 1 THEN 1 ELSE 0 END), SUM(pushes), \
             SUM(commits) FROM archive_developer_rows WHERE lvl = 0 AND start = {d}"
        ))
        .await
        .unwrap();
    }
    // Blocks of days, as the import builds them once their days are in.
    let last = first + scale.days - 1;
    for lvl in 1..=git_collector::store::archive::blocks::MAX_LEVEL {
        let len = 1i64 << lvl;
        let mut start = first + (len - first.rem_euclid(len)) % len;
        while start + len - 1 <= last {
            let place = git_collector::store::archive::rows::Place { lvl, start: start as i32 };
            git_collector::store::archive::blocks::build(db, place).await.unwrap();
            start += len;
        }
    }
    db.execute_unprepared(if pg { "VACUUM ANALYZE" } else { "ANALYZE" }).await.unwrap();
}
