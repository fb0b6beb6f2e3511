//! API benchmark: a large read model (10,000 repositories × 100 months = 1,000,000 rows) in
//! SQLite, and in PostgreSQL when BENCH_DATABASE_URL is set, served by the real application and
//! measured over HTTP at a fixed concurrency.
//!
//! `cargo bench --bench api` (BENCH_REPOS, BENCH_MONTHS, BENCH_REQUESTS, BENCH_CONCURRENCY,
//! BENCH_DATABASE_URL). Reports throughput and p50/p99 latency of the first GraphQL page, a page
//! a million rows deep reached by cursor, and the REST endpoint at its first and last page,
//! with the deep/first ratios.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use clap::Parser;
use git_collector::config::Cli;
use git_collector::startup::Application;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
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
        sea_orm::DbBackend::Postgres => ("TRUE", "FALSE"),
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
    if backend == sea_orm::DbBackend::Sqlite {
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
    if backend == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
    } else {
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
    println!("  loaded {} read-model rows in {:.1} s", repos * months * 2, started.elapsed().as_secs_f64());
}

struct Stats {
    throughput: f64,
    p50: Duration,
    p99: Duration,
}

/// `total` requests from `concurrency` clients, each built by `make`.
async fn measure<F>(concurrency: usize, total: usize, make: F) -> Stats
where
    F: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + Clone + 'static,
{
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, make) = (client.clone(), make.clone());
        let n = total / concurrency;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                let response = make(&client).send().await.unwrap();
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

fn print(name: &str, s: &Stats) {
    println!(
        "  {name:<34} {:>8.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        s.throughput,
        s.p50.as_secs_f64() * 1000.0,
        s.p99.as_secs_f64() * 1000.0
    );
}

async fn graphql(client: &reqwest::Client, url: &str, query: &str, variables: Value) -> Value {
    client.post(url).json(&json!({"query": query, "variables": variables})).send().await.unwrap().json().await.unwrap()
}

const PAGE: &str = "query($after: String) { monthlyFirstContributors(first: 20, after: $after) { totalCount edges { cursor node { owner repoName month newContributors } } } }";

async fn run(label: &str, db_url: &str, repos: usize, months: usize, requests: usize, concurrency: usize) {
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
    load(app.db(), repos, months).await;
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped(std::future::pending()));
    let gql = format!("{base}/graphql");
    let client = reqwest::Client::new();

    // A cursor a million rows deep, reached through the API: the start of the last page.
    let last = graphql(
        &client,
        &gql,
        "{ monthlyFirstContributors(last: 21) { totalCount pageInfo { startCursor } } }",
        json!({}),
    )
    .await;
    let total = last["data"]["monthlyFirstContributors"]["totalCount"].as_i64().unwrap();
    let deep_cursor = last["data"]["monthlyFirstContributors"]["pageInfo"]["startCursor"].as_str().unwrap().to_string();
    println!("  totalCount {total}; deep page starts after row {}", total - 21);
    // The baseline of the deep page: a page reached the same way (by cursor), 21 rows deep.
    let near =
        graphql(&client, &gql, "{ monthlyFirstContributors(first: 21) { pageInfo { endCursor } } }", json!({})).await;
    let near_cursor = near["data"]["monthlyFirstContributors"]["pageInfo"]["endCursor"].as_str().unwrap().to_string();

    let first_page = {
        let gql = gql.clone();
        measure(concurrency, requests, move |c| c.post(&gql).json(&json!({"query": PAGE}))).await
    };
    let near_page = {
        let gql = gql.clone();
        measure(concurrency, requests, move |c| {
            c.post(&gql).json(&json!({"query": PAGE, "variables": {"after": near_cursor}}))
        })
        .await
    };
    let deep_page = {
        let gql = gql.clone();
        let cursor = deep_cursor.clone();
        measure(concurrency, requests, move |c| {
            c.post(&gql).json(&json!({"query": PAGE, "variables": {"after": cursor}}))
        })
        .await
    };
    let size = 100;
    let last_rest_page = (total as usize).div_ceil(size);
    let rest_first = {
        let url = format!("{base}/api/repos?page=1&page_size={size}");
        measure(concurrency, requests, move |c| c.get(&url)).await
    };
    let rest_last = {
        let url = format!("{base}/api/repos?page={last_rest_page}&page_size={size}");
        measure(concurrency, requests, move |c| c.get(&url)).await
    };
    print("GraphQL first page (20, totalCount)", &first_page);
    print("GraphQL page after row 21", &near_page);
    print(&format!("GraphQL page after row {}", total - 21), &deep_page);
    print(&format!("REST page 1 (size {size})"), &rest_first);
    print(&format!("REST page {last_rest_page} (last)"), &rest_last);
    println!(
        "  p50 ratios: GraphQL deep/first {:.2}, deep/row-21 (both by cursor) {:.2}; REST last/first {:.2}",
        deep_page.p50.as_secs_f64() / first_page.p50.as_secs_f64(),
        deep_page.p50.as_secs_f64() / near_page.p50.as_secs_f64(),
        rest_last.p50.as_secs_f64() / rest_first.p50.as_secs_f64()
    );
    server.abort();
}

#[tokio::main]
async fn main() {
    let repos = env_or("BENCH_REPOS", 10_000);
    let months = env_or("BENCH_MONTHS", 100);
    let requests = env_or("BENCH_REQUESTS", 2_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 8);
    println!(
        "API benchmark: {repos} repositories × {months} months = {} rows per bots setting; {requests} requests per scenario, concurrency {concurrency}",
        repos * months
    );
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("api.db").display());
    run("SQLite", &sqlite, repos, months, requests, concurrency).await;
    if let Some(server) = std::env::var("BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        // A database of its own on that server, dropped at the end.
        let name = format!("gc_bench_{}", std::process::id());
        let admin = sea_orm::Database::connect(server.as_str()).await.unwrap();
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&name);
        run("PostgreSQL", url.as_str(), repos, months, requests, concurrency).await;
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
    }
}
