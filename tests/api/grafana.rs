//! The Grafana dashboard of deploy/grafana: every panel's SQL runs against a seeded PostgreSQL
//! (Grafana's macros and variables filled in as Grafana fills them), gives the columns its
//! panel type expects, and shows the numbers the API answers.
use std::collections::BTreeMap;

use sea_orm::sqlx::{Column, Row, TypeInfo};
use serde_json::{json, Value};

use crate::helpers::skip;
use crate::showcase::{Showcase, ACCOUNT, ARCHIVE_FROM, ARCHIVE_TO};

fn dashboard() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/dashboards/git-collector.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The SQL Grafana sends for a panel's query: macros over the whole range, variables set.
fn expand(sql: &str, vars: &BTreeMap<&str, &str>) -> String {
    let (from, to) = ("'2000-01-01T00:00:00Z'", "'2100-01-01T00:00:00Z'");
    let mut out = sql.replace("$__timeFrom()", from).replace("$__timeTo()", to);
    while let Some(at) = out.find("$__timeFilter(") {
        let rest = &out[at + "$__timeFilter(".len()..];
        let end = rest.find(')').expect("$__timeFilter(column)");
        let column = rest[..end].to_string();
        out = format!("{}{column} BETWEEN {from} AND {to}{}", &out[..at], &rest[end + 1..]);
    }
    // Longest names first: `$account` must not eat part of a longer variable.
    let mut names: Vec<_> = vars.iter().collect();
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, value) in names {
        out = out.replace(&format!("${name}"), value);
    }
    assert!(!out.contains('$'), "a macro or variable left unexpanded: {out}");
    out
}

struct Result {
    columns: Vec<(String, String)>,
    rows: Vec<sea_orm::sqlx::postgres::PgRow>,
}

async fn run(pool: &sea_orm::sqlx::PgPool, sql: &str) -> Result {
    let rows = sea_orm::sqlx::query(sql).fetch_all(pool).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
    let columns = match rows.first() {
        Some(row) => row.columns().iter().map(|c| (c.name().to_string(), c.type_info().name().to_string())).collect(),
        None => Vec::new(),
    };
    Result { columns, rows }
}

fn numeric(ty: &str) -> bool {
    matches!(ty, "INT2" | "INT4" | "INT8" | "NUMERIC" | "FLOAT4" | "FLOAT8")
}

/// A time series in Grafana's wide or long form: `time` first, an optional text `metric`, numbers.
fn assert_time_series(title: &str, result: &Result) {
    let (first, ty) = &result.columns[0];
    assert_eq!(first, "time", "{title}: the first column is the time");
    assert!(ty == "TIMESTAMP" || ty == "TIMESTAMPTZ", "{title}: time is a timestamp, not {ty}");
    for (name, ty) in &result.columns[1..] {
        if name == "metric" {
            assert!(ty == "TEXT" || ty == "VARCHAR", "{title}: metric is text, not {ty}");
        } else {
            assert!(numeric(ty), "{title}: {name} is a number, not {ty}");
        }
    }
}

#[tokio::test]
async fn every_panel_of_the_grafana_dashboard_runs_on_postgresql_and_shows_the_apis_numbers() {
    let dashboard = dashboard();
    if !std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        skip(
            "grafana::every_panel_of_the_grafana_dashboard_runs_on_postgresql_and_shows_the_apis_numbers",
            "needs PostgreSQL (TEST_DATABASE_URL): Grafana reads the PostgreSQL database",
        );
        return;
    }
    let show = Showcase::start().await;
    let pool = show.env.db.get_postgres_connection_pool().clone();

    // Variables: the account query lists the account; bots off (the API's default).
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let account_query = variables.iter().find(|v| v["name"] == "account").unwrap()["query"].as_str().unwrap();
    let accounts: Vec<String> =
        run(&pool, account_query).await.rows.iter().map(|r| r.try_get::<String, _>(0).unwrap()).collect();
    assert!(accounts.iter().any(|a| a == ACCOUNT), "{accounts:?}");
    let bots = variables.iter().find(|v| v["name"] == "include_bots").unwrap();
    let bot_values: Vec<&str> = bots["query"].as_str().unwrap().split(',').collect();
    assert_eq!(bot_values, ["false", "true"]);

    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 4);
    let mut by_title: BTreeMap<String, Vec<Result>> = BTreeMap::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap().to_string();
        assert_eq!(panel["datasource"]["uid"], "git-collector-pg", "{title}");
        for bots in bot_values.iter().copied() {
            let vars = BTreeMap::from([("account", ACCOUNT), ("include_bots", bots)]);
            for target in panel["targets"].as_array().unwrap() {
                let sql = expand(target["rawSql"].as_str().unwrap(), &vars);
                let result = run(&pool, &sql).await;
                assert!(!result.rows.is_empty(), "{title} (bots {bots}) shows something on the seeded data");
                match target["format"].as_str().unwrap() {
                    "time_series" => assert_time_series(&title, &result),
                    "table" => assert!(!result.columns.is_empty()),
                    other => panic!("{title}: unexpected format {other}"),
                }
                by_title.entry(format!("{title}|{bots}")).or_default().push(result);
            }
        }
    }

    // The numbers are the API's: the account's months, and the archive's days.
    for bots in [false, true] {
        let key = format!("First-time contributors per month: $account|{bots}");
        let panel = &by_title[&key][0];
        let shown: BTreeMap<String, i64> = panel
            .rows
            .iter()
            .map(|r| {
                let month: chrono::NaiveDateTime = r.try_get(0).unwrap();
                (month.date().to_string(), i64::from(r.try_get::<i32, _>(1).unwrap()))
            })
            .collect();
        assert_eq!(shown, crate::account::account_months(&show.app, ACCOUNT, bots).await, "bots {bots}");

        let key = format!("GH Archive: developers per day by commits|{bots}");
        let panel = &by_title[&key][0];
        let api = show
            .app
            .data(crate::archive::ACTIVITY, json!({"from": ARCHIVE_FROM, "to": ARCHIVE_TO, "bots": bots}))
            .await;
        let api: Vec<(String, i64, i64, i64)> = api["archiveActivity"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let n = |f: &str| d[f].as_i64().unwrap();
                (
                    d["day"].as_str().unwrap().to_string(),
                    n("developersWithoutCommits"),
                    n("developersWithOneCommit"),
                    n("developersWithMoreThanOneCommit"),
                )
            })
            .collect();
        let shown: Vec<(String, i64, i64, i64)> = panel
            .rows
            .iter()
            .filter_map(|r| {
                let day: chrono::NaiveDateTime = r.try_get(0).unwrap();
                let day = day.date().to_string();
                (day.as_str() >= ARCHIVE_FROM && day.as_str() <= ARCHIVE_TO)
                    .then(|| (day, r.try_get(1).unwrap(), r.try_get(2).unwrap(), r.try_get(3).unwrap()))
            })
            .collect();
        assert_eq!(shown, api, "bots {bots}");
    }
}
