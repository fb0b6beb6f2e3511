//! API benchmark: a large read model (10,000 repositories × 100 months = 1,000,000 rows per bots
//! setting) served by the real application, measured over loopback HTTP at a fixed concurrency,
//! and on PostgreSQL set against the database itself running the same statements.
//!
//! `cargo bench --bench api` (BENCH_REPOS, BENCH_MONTHS, BENCH_CONCURRENCY, BENCH_SECS,
//! BENCH_ROUNDS, BENCH_DATABASE_URL, BENCH_API_KEEP). For each scenario, in each round, the
//! service is loaded for BENCH_SECS seconds by `wrk` (or by an in-process client where `wrk` is
//! not installed), and then, on PostgreSQL, `pgbench` runs the statements the service runs for
//! that request (prepared, the same number of clients) for as long. The two alternate, so that
//! the machine's drift between minutes touches both; the bench prints the medians and the ratio
//! service ÷ pgbench. SQLite is measured too, without a database-side baseline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use git_collector::config::Cli;
use git_collector::startup::Application;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde_json::{json, Value};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Fills the read model directly (10,000 × 100 rows would take a while through the crawler),
/// with the per-repository and per-month counts the write path maintains.
async fn load(db: &DatabaseConnection, repos: usize, months: usize) {
    let started = Instant::now();
    let backend = db.get_database_backend();
    let (t, f) = match backend {
        DbBackend::Postgres => ("TRUE", "FALSE"),
        _ => ("1", "0"),
    };
    let now = "'2026-01-01T00:00:00+00:00'";
    for chunk in (0..repos).collect::<Vec<_>>().chunks(1000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|r| {
                let owner = format!("org{}", r % 20);
                let name = format!("repo{r:05}");
                format!("({id}, {gid}, '{owner}', '{name}', '{owner}', '{name}', {f}, {f}, {f}, {f}, {now}, {months}, {months})",
                    id = r + 1, gid = 1_000_000 + r)
            })
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO repositories (id, github_id, owner, name, owner_key, name_key, is_fork, is_archived, is_gone, \
             is_tracked, first_seen_at, monthly_rows, monthly_rows_with_bots) VALUES {}",
            values.join(",")
        ))
        .await
        .unwrap();
    }
    let month = |m: usize| (2016 + (m / 12) as i32, (m % 12) as u32 + 1);
    let mut batch = Vec::with_capacity(2000);
    let flush = |batch: &mut Vec<String>| {
        let sql = format!(
            "INSERT INTO monthly_first_contributors (repository_id, include_bots, month, month_desc_key, owner, repo_name, \
             owner_key, name_key, new_contributors) VALUES {}",
            batch.join(",")
        );
        batch.clear();
        sql
    };
    let tx = db.begin().await.unwrap();
    if backend == DbBackend::Sqlite {
        // A page cache large enough for the indexes being built.
        tx.execute_unprepared("PRAGMA cache_size = -262144").await.unwrap();
    }
    for r in 0..repos {
        let owner = format!("org{}", r % 20);
        let name = format!("repo{r:05}");
        for m in 0..months {
            let (y, mo) = month(m);
            let n = 1 + (r * 7 + m * 13) % 9;
            for bots in [f, t] {
                batch.push(format!(
                    "({id}, {bots}, '{y:04}-{mo:02}-01', {desc}, '{owner}', '{name}', '{owner}', '{name}', {n})",
                    id = r + 1,
                    desc = -(y * 12 + mo as i32 - 1)
                ));
            }
            if batch.len() >= 2000 {
                tx.execute_unprepared(&flush(&mut batch)).await.unwrap();
            }
        }
    }
    if !batch.is_empty() {
        tx.execute_unprepared(&flush(&mut batch)).await.unwrap();
    }
    tx.commit().await.unwrap();
    for m in 0..months {
        let (y, mo) = month(m);
        for bots in [f, t] {
            db.execute_unprepared(&format!(
                "INSERT INTO monthly_totals (include_bots, month, repositories) VALUES ({bots}, '{y:04}-{mo:02}-01', {repos})"
            ))
            .await
            .unwrap();
        }
    }
    if backend == DbBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
    } else {
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
    println!("  loaded {} read-model rows in {:.1} s", repos * months * 2, started.elapsed().as_secs_f64());
}

/// Whether the database already holds the read model of this size (BENCH_API_KEEP reuses it).
async fn loaded(db: &DatabaseConnection, repos: usize, months: usize) -> bool {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT (SELECT COUNT(*) FROM repositories) AS r, (SELECT COUNT(*) FROM monthly_first_contributors) AS m",
        ))
        .await;
    match row {
        Ok(Some(row)) => {
            row.try_get::<i64>("", "r").ok() == Some(repos as i64)
                && row.try_get::<i64>("", "m").ok() == Some((repos * months * 2) as i64)
        }
        _ => false,
    }
}

/// One HTTP request, repeated.
#[derive(Clone)]
enum Request {
    Get(String),
    Post(String, Value),
}

struct Scenario {
    name: String,
    request: Request,
    /// The statements the service runs for one request, as pgbench runs them (PostgreSQL).
    statements: Vec<String>,
}

#[derive(Clone, Copy)]
struct Stats {
    throughput: f64,
    p50: Duration,
    p99: Duration,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Loads the service with `request` for `secs` seconds from `concurrency` connections.
async fn load_service(base: &str, request: &Request, setup: &Setup, work: &Path) -> Stats {
    let (concurrency, secs) = (setup.concurrency, setup.secs);
    if setup.wrk {
        let (path, script) = match request {
            Request::Get(path) => (path.clone(), String::new()),
            Request::Post(path, body) => (
                path.clone(),
                format!(
                    "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [==[{body}]==]\n"
                ),
            ),
        };
        let lua = work.join("request.lua");
        std::fs::write(&lua, script).unwrap();
        let base = base.to_owned();
        let lua = lua.display().to_string();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("wrk")
                .args(["-t", "2", "-c", &concurrency.to_string(), "-d", &format!("{secs}s"), "--latency", "-s", &lua])
                .arg(format!("{base}{path}"))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(!text.contains("Non-2xx"), "the service answered errors under load: {text}");
        let field = |prefix: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
                .unwrap_or_else(|| panic!("no `{prefix}` in wrk's output: {text}"))
        };
        return Stats {
            throughput: field("Requests/sec:").parse().unwrap(),
            p50: wrk_duration(&field("50%")),
            p99: wrk_duration(&field("99%")),
        };
    }
    in_process(base, request, concurrency, secs).await
}

/// wrk's durations: `850.00us`, `1.23ms`, `2.01s`.
fn wrk_duration(text: &str) -> Duration {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic()).unwrap());
    let n: f64 = number.parse().unwrap();
    Duration::from_secs_f64(match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        other => panic!("unknown unit {other}"),
    })
}

/// Without wrk: `concurrency` clients in this process (they take CPU from the service).
async fn in_process(base: &str, request: &Request, concurrency: usize, secs: u64) -> Stats {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, request, base) = (client.clone(), request.clone(), base.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let response = match &request {
                    Request::Get(path) => client.get(format!("{base}{path}")),
                    Request::Post(path, body) => client.post(format!("{base}{path}")).json(body),
                }
                .send()
                .await
                .unwrap();
                assert!(response.status().is_success(), "{}", response.status());
                let _ = response.bytes().await.unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let took = started.elapsed();
    all.sort();
    let pick = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Stats { throughput: all.len() as f64 / took.as_secs_f64(), p50: pick(0.5), p99: pick(0.99) }
}

fn which(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok()
}

/// pgbench running `statements` as one transaction per request: prepared, `concurrency` clients.
async fn load_database(url: &str, statements: &[String], concurrency: usize, secs: u64, work: &Path) -> Stats {
    let script = work.join("request.sql");
    std::fs::write(&script, statements.iter().map(|s| format!("{s};\n")).collect::<String>()).unwrap();
    let url = url::Url::parse(url).unwrap();
    let mut command = Command::new("pgbench");
    command
        .args(["-n", "-M", "prepared", "-c", &concurrency.to_string(), "-j", "2", "-T", &secs.to_string()])
        .args(["-h", url.host_str().unwrap_or("127.0.0.1"), "-p", &url.port().unwrap_or(5432).to_string()])
        .args(["-U", if url.username().is_empty() { "postgres" } else { url.username() }])
        .args(["-f", &script.display().to_string(), "-r"])
        .arg(url.path().trim_start_matches('/'));
    if let Some(password) = url.password() {
        command.env("PGPASSWORD", password);
    }
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "pgbench failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let tps = text
        .lines()
        .find_map(|l| l.strip_prefix("tps = ").and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()))
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"));
    let latency = text
        .lines()
        .find_map(|l| l.strip_prefix("latency average = ").and_then(|v| v.split_whitespace().next()))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    Stats { throughput: tps, p50: Duration::from_secs_f64(latency / 1000.0), p99: Duration::ZERO }
}

async fn graphql(client: &reqwest::Client, url: &str, query: &str, variables: Value) -> Value {
    let body: Value = client
        .post(url)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body
}

const PAGE: &str = "query($after: String) { monthlyFirstContributors(first: 100, after: $after) { totalCount edges { cursor node { owner repoName month newContributors } } } }";

/// The columns of the read model, as the service selects them.
const COLUMNS: &str = r#""monthly_first_contributors"."repository_id", "monthly_first_contributors"."include_bots", "monthly_first_contributors"."month", "monthly_first_contributors"."month_desc_key", "monthly_first_contributors"."owner", "monthly_first_contributors"."repo_name", "monthly_first_contributors"."owner_key", "monthly_first_contributors"."name_key", "monthly_first_contributors"."new_contributors""#;

/// The key (month, owner_key, name_key, repository_id) of row `n` (from 1) of the default order.
async fn key_of_row(db: &DatabaseConnection, n: usize) -> (String, String, String, i64) {
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT CAST(month AS TEXT) AS m, owner_key, name_key, repository_id FROM monthly_first_contributors \
                 WHERE include_bots = FALSE ORDER BY month, owner_key, name_key, repository_id OFFSET {} LIMIT 1",
                n - 1
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get("", "m").unwrap(),
        row.try_get("", "owner_key").unwrap(),
        row.try_get("", "name_key").unwrap(),
        row.try_get("", "repository_id").unwrap(),
    )
}

/// Today's statements for the scenarios (what the service ran when this bench was written, read
/// off PostgreSQL's `log_statement = all`): they stay the baseline while the service changes.
async fn scenarios(db: &DatabaseConnection, base: &str, repos: usize, total: usize, size: usize) -> Vec<Scenario> {
    let client = reqwest::Client::new();
    let gql = format!("{base}/graphql");
    // The cursor of row total-100 (the page after it holds the last 100 rows), reached through
    // the API: the end of the page before the last page.
    let last = graphql(
        &client,
        &gql,
        "query($n: Int!) { monthlyFirstContributors(last: $n) { pageInfo { startCursor } } }",
        json!({"n": size}),
    )
    .await;
    let last_start = last["data"]["monthlyFirstContributors"]["pageInfo"]["startCursor"].as_str().unwrap().to_owned();
    let before = graphql(
        &client,
        &gql,
        "query($n: Int!, $c: String!) { monthlyFirstContributors(last: $n, before: $c) { pageInfo { endCursor } } }",
        json!({"n": size, "c": last_start}),
    )
    .await;
    let deep_cursor = before["data"]["monthlyFirstContributors"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let deep_row = total - size;
    let table = "\"monthly_first_contributors\"";
    let tuple = r#"("monthly_first_contributors"."month", "monthly_first_contributors"."owner_key", "monthly_first_contributors"."name_key", "monthly_first_contributors"."repository_id")"#;
    let order = r#""monthly_first_contributors"."month" ASC, "monthly_first_contributors"."owner_key" ASC, "monthly_first_contributors"."name_key" ASC, "monthly_first_contributors"."repository_id" ASC"#;
    let total_sql =
        r#"SELECT SUM("monthly_totals"."repositories") AS "n" FROM "monthly_totals" WHERE "monthly_totals"."include_bots" = FALSE"#
            .to_owned();
    let mut list = vec![Scenario {
        name: format!("GraphQL first page ({size}, totalCount)"),
        request: Request::Post("/graphql".into(), json!({"query": PAGE})),
        statements: vec![
            format!(
                r#"SELECT {COLUMNS} FROM {table} WHERE "monthly_first_contributors"."include_bots" = FALSE ORDER BY {order} LIMIT {}"#,
                size + 1
            ),
            total_sql.clone(),
        ],
    }];
    let statements = if db.get_database_backend() == DbBackend::Postgres {
        let (m, o, n, id) = key_of_row(db, deep_row).await;
        let key = format!("('{m}', '{o}', '{n}', {id})");
        vec![
            format!(
                r#"SELECT {COLUMNS} FROM {table} WHERE "monthly_first_contributors"."include_bots" = FALSE AND {tuple} > {key} ORDER BY {order} LIMIT {}"#,
                size + 1
            ),
            format!(
                r#"SELECT {COLUMNS} FROM {table} WHERE "monthly_first_contributors"."include_bots" = FALSE AND {tuple} <= {key} LIMIT 1"#
            ),
            total_sql,
        ]
    } else {
        Vec::new()
    };
    list.push(Scenario {
        name: format!("GraphQL page after row {deep_row} ({size}, totalCount)"),
        request: Request::Post("/graphql".into(), json!({"query": PAGE, "variables": {"after": deep_cursor}})),
        statements,
    });
    let months = r#"SELECT "monthly_totals"."month", "monthly_totals"."repositories" FROM "monthly_totals" WHERE "monthly_totals"."include_bots" = FALSE AND "monthly_totals"."repositories" > 0 ORDER BY "monthly_totals"."month" ASC"#;
    let rest_order = r#""monthly_first_contributors"."month" ASC, "monthly_first_contributors"."name_key" ASC, "monthly_first_contributors"."owner_key" ASC, "monthly_first_contributors"."repository_id" ASC"#;
    let rest_tuple = r#"("monthly_first_contributors"."month", "monthly_first_contributors"."name_key", "monthly_first_contributors"."owner_key", "monthly_first_contributors"."repository_id")"#;
    let last_page = total.div_ceil(size);
    for page in [1, last_page] {
        let statements = if db.get_database_backend() == DbBackend::Postgres {
            // The service finds the page's month from the per-month counts, the first key by
            // an index-only skip within that month, then the page by keyset from that key.
            let rows_per_month = repos;
            let offset = (page - 1) * size;
            let month_index = offset / rows_per_month;
            let month = format!("{:04}-{:02}-01", 2016 + month_index / 12, month_index % 12 + 1);
            let within = offset - month_index * rows_per_month;
            let first = db
                .query_one(Statement::from_string(
                    DbBackend::Postgres,
                    format!(
                        "SELECT name_key, owner_key, repository_id FROM monthly_first_contributors WHERE include_bots = FALSE \
                         AND month = '{month}' ORDER BY name_key, owner_key, repository_id OFFSET {within} LIMIT 1"
                    ),
                ))
                .await
                .unwrap()
                .unwrap();
            let key = format!(
                "('{month}', '{}', '{}', {})",
                first.try_get::<String>("", "name_key").unwrap(),
                first.try_get::<String>("", "owner_key").unwrap(),
                first.try_get::<i64>("", "repository_id").unwrap()
            );
            vec![
                months.to_owned(),
                format!(
                    r#"SELECT "monthly_first_contributors"."month", "monthly_first_contributors"."name_key", "monthly_first_contributors"."owner_key", "monthly_first_contributors"."repository_id" FROM {table} WHERE "monthly_first_contributors"."include_bots" = FALSE AND "monthly_first_contributors"."month" = '{month}' ORDER BY {rest_order} LIMIT 1 OFFSET {within}"#
                ),
                format!(
                    r#"SELECT {COLUMNS} FROM {table} WHERE "monthly_first_contributors"."include_bots" = FALSE AND {rest_tuple} >= {key} ORDER BY {rest_order} LIMIT {size}"#
                ),
            ]
        } else {
            Vec::new()
        };
        list.push(Scenario {
            name: format!("REST page {page} ({size})"),
            request: Request::Get(format!("/api/repos?page={page}&page_size={size}")),
            statements,
        });
    }
    list
}

struct Row {
    name: String,
    service: Stats,
    database: Option<Stats>,
    ratio: Option<f64>,
}

struct Setup {
    /// Whether `wrk` is installed (else an in-process client loads the service).
    wrk: bool,
    repos: usize,
    months: usize,
    concurrency: usize,
    secs: u64,
    rounds: usize,
}

async fn run(label: &str, db_url: &str, setup: &Setup, keep: bool) -> Vec<Row> {
    println!("\n{label}");
    let config = Cli::try_parse_from([
        "git-collector",
        "--database-url",
        db_url,
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
    if keep && loaded(app.db(), setup.repos, setup.months).await {
        println!("  reused the loaded read model");
    } else {
        load(app.db(), setup.repos, setup.months).await;
    }
    let db = app.db().clone();
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped(std::future::pending()));
    let work = tempfile::tempdir().unwrap();
    let total = setup.repos * setup.months;
    let scenarios = scenarios(&db, &base, setup.repos, total, 100).await;
    let fixed = Scenario {
        name: "`{ __typename }` (HTTP + GraphQL, no database)".into(),
        request: Request::Post("/graphql".into(), json!({"query": "{ __typename }"})),
        statements: Vec::new(),
    };
    let mut rows = Vec::new();
    for scenario in std::iter::once(&fixed).chain(&scenarios) {
        let mut service = Vec::new();
        let mut database = Vec::new();
        let mut ratios = Vec::new();
        for _ in 0..setup.rounds {
            let s = load_service(&base, &scenario.request, setup, work.path()).await;
            service.push(s);
            if postgres && !scenario.statements.is_empty() {
                let d = load_database(db_url, &scenario.statements, setup.concurrency, setup.secs, work.path()).await;
                ratios.push(s.throughput / d.throughput);
                database.push(d);
            }
        }
        let pick = |stats: &[Stats]| {
            let m = median(stats.iter().map(|s| s.throughput).collect());
            *stats.iter().find(|s| s.throughput == m).unwrap()
        };
        let row = Row {
            name: scenario.name.clone(),
            service: pick(&service),
            database: (!database.is_empty()).then(|| pick(&database)),
            ratio: (!ratios.is_empty()).then(|| median(ratios)),
        };
        print_row(&row);
        rows.push(row);
    }
    server.abort();
    rows
}

fn print_row(row: &Row) {
    let s = &row.service;
    let mut line = format!(
        "  {:<46} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        row.name,
        s.throughput,
        s.p50.as_secs_f64() * 1000.0,
        s.p99.as_secs_f64() * 1000.0
    );
    if let (Some(d), Some(r)) = (&row.database, row.ratio) {
        line += &format!("   pgbench {:>8.0} tps   service ÷ pgbench {r:.2}", d.throughput);
    }
    println!("{line}");
}

#[tokio::main]
async fn main() {
    let setup = Setup {
        wrk: which("wrk"),
        repos: env_or("BENCH_REPOS", 10_000),
        months: env_or("BENCH_MONTHS", 100),
        concurrency: env_or("BENCH_CONCURRENCY", 8),
        secs: env_or("BENCH_SECS", 5) as u64,
        rounds: env_or("BENCH_ROUNDS", 3),
    };
    let keep = std::env::var("BENCH_API_KEEP").is_ok_and(|v| v == "1");
    println!(
        "API benchmark: {} repositories × {} months = {} rows per bots setting; {} connections, {} s per measurement, \
         {} rounds (medians); load from {}",
        setup.repos,
        setup.months,
        setup.repos * setup.months,
        setup.concurrency,
        setup.secs,
        setup.rounds,
        if setup.wrk { "wrk" } else { "an in-process client (install wrk for figures comparable with pgbench)" }
    );
    let dir = tempfile::tempdir().unwrap();
    let sqlite_path = if keep { std::env::temp_dir().join("gc_bench_api.db") } else { dir.path().join("api.db") };
    let sqlite = format!("sqlite://{}?mode=rwc", sqlite_path.display());
    let lite = if std::env::var("BENCH_API_SQLITE").is_ok_and(|v| v == "0") {
        Vec::new()
    } else {
        run("SQLite", &sqlite, &setup, keep).await
    };
    let Some(server) = std::env::var("BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        println!("\nset BENCH_DATABASE_URL to measure PostgreSQL and compare with pgbench");
        return;
    };
    // A database of its own on that server: dropped at the end, or kept with BENCH_API_KEEP=1.
    let name = if keep { "gc_bench_api".to_owned() } else { format!("gc_bench_{}", std::process::id()) };
    let admin = sea_orm::Database::connect(server.as_str()).await.unwrap();
    let exists = admin
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .unwrap()
        .is_some();
    if !exists {
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
    }
    let mut url = url::Url::parse(&server).unwrap();
    url.set_path(&name);
    let pg = run("PostgreSQL", url.as_str(), &setup, keep).await;
    if !keep {
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
    }
    println!("\n| scenario | SQLite req/s | PostgreSQL req/s | p50 | pgbench tps | service ÷ pgbench |");
    println!("|---|---|---|---|---|---|");
    for row in &pg {
        let lite = lite.iter().find(|l| l.name == row.name).map(|l| format!("{:.0}", l.service.throughput));
        println!(
            "| {} | {} | {:.0} | {:.2} ms | {} | {} |",
            row.name,
            lite.unwrap_or_else(|| "–".into()),
            row.service.throughput,
            row.service.p50.as_secs_f64() * 1000.0,
            row.database.map(|d| format!("{:.0}", d.throughput)).unwrap_or_else(|| "–".into()),
            row.ratio.map(|r| format!("**{r:.2}**")).unwrap_or_else(|| "–".into()),
        );
    }
}
