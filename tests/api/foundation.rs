//! Health, readiness, GraphiQL, migrations, the command line.
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{spawn_app, TestDb};

#[tokio::test]
async fn health_and_readiness_answer_200() {
    let app = spawn_app().await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.clone().close().await.unwrap();
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn browsers_get_graphiql() {
    let app = spawn_app().await;
    let page = app.http.get(app.url("/graphql")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let body = page.text().await.unwrap();
    assert!(body.contains("graphiql"), "GraphiQL page expected");
    assert!(body.contains("/graphql/ws"), "subscriptions endpoint wired into GraphiQL");
    app.stop().await;
}

#[tokio::test]
async fn migrations_apply_on_an_empty_database_and_again_as_a_no_op() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let tables = count_tables(&db).await;
    assert!(tables >= 8, "expected the data model's tables, found {tables}");
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(count_tables(&db).await, tables);
    assert!(Migrator::get_pending_migrations(&db).await.unwrap().is_empty());
}

async fn count_tables(db: &sea_orm::DatabaseConnection) -> i64 {
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"
        }
        _ => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    };
    let row = db.query_one(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[test]
fn help_documents_every_setting_of_the_contract() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_git-collector")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "DATABASE_URL",
        "BIND_ADDR",
        "GITHUB_API_URL",
        "GITHUB_TOKEN",
        "GITHUB_OWNERS",
        "GITHUB_SOURCE",
        "REPO_CACHE_TTL_HOURS",
        "CRAWL_SCHEDULE",
        "CRAWL_ON_START",
        "CRAWL_CONCURRENCY",
        "GITHUB_RETRY_DELAY_MS",
        "GITHUB_MAX_RETRIES",
        "ADMIN_TOKEN",
        "CORS_ALLOW_ORIGINS",
    ] {
        assert!(help.contains(&format!("[env: {var}")), "--help does not document {var}");
    }
    for verb in ["serve", "crawl", "migrate", "schema"] {
        assert!(help.contains(verb), "--help does not list `{verb}`");
    }
}

#[test]
fn secrets_from_the_environment_are_not_shown_in_help() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_git-collector"))
        .arg("--help")
        .env("GITHUB_TOKEN", "ghp_do_not_print_me")
        .env("ADMIN_TOKEN", "admin_do_not_print_me")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(!help.contains("do_not_print_me"));
}

#[test]
fn bad_settings_fail_with_a_clear_message() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_git-collector"))
        .args(["schema"])
        .env("CRAWL_SCHEDULE", "every day")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("CRAWL_SCHEDULE") || err.contains("crawl-schedule"), "{err}");
}
