//! Health, readiness, GraphiQL, migrations, the command line.
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{eventually, skip, spawn_app, spawn_app_on, TestDb};
use crate::outage::{upstream_of, DbProxy};

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

/// A database restart as the service sees it: every connection cut, new ones refused.
#[tokio::test]
async fn with_the_database_down_readiness_and_the_api_answer_503_quickly() {
    let test_db = TestDb::new().await;
    if !test_db.is_postgres() {
        return skip(
            "with_the_database_down_readiness_and_the_api_answer_503_quickly",
            "needs PostgreSQL (TEST_DATABASE_URL)",
        );
    }
    let proxy = DbProxy::start(upstream_of(&test_db.url)).await;
    let mut through = TestDb::borrowed(&test_db);
    through.url = proxy.url_for(&test_db.url);
    let app = spawn_app_on(through, &[]).await;
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    proxy.down();
    // A probe with a 2 s timeout sees the 503, not its own timeout.
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(2)).build().unwrap();
    let started = std::time::Instant::now();
    let ready = client.get(app.url("/readyz")).send().await.expect("an answer within 2 s");
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    // The API fails fast with a clear code and status.
    let started = std::time::Instant::now();
    let response = client
        .post(app.url("/graphql"))
        .json(&serde_json::json!({"query": "{ monthlyFirstContributors { totalCount } }"}))
        .send()
        .await
        .expect("an answer within 2 s");
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    let rest = client.get(app.url("/api/repos")).send().await.expect("an answer within 2 s");
    assert_eq!(rest.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Back up: the same requests succeed again.
    proxy.up();
    let back =
        eventually(10, || async { client.get(app.url("/readyz")).send().await.is_ok_and(|r| r.status() == 200) }).await;
    assert!(back, "ready again once the database is back");
    let response = app.graphql("{ monthlyFirstContributors { totalCount } }", serde_json::json!({})).await;
    assert_eq!(response["data"]["monthlyFirstContributors"]["totalCount"], 0, "{response}");
    // A database that hangs (connections open, nothing answered) is no better than one that is
    // down: the probe still gets its 503 within 2 s.
    proxy.hang();
    let started = std::time::Instant::now();
    let ready = client.get(app.url("/readyz")).send().await.expect("an answer within 2 s while the database hangs");
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    proxy.release();
    app.stop().await;
}

/// Replicas started at the same moment on a new database: each migrates in turn, all come up.
#[tokio::test]
async fn replicas_started_together_on_a_fresh_database_all_come_up() {
    let test_db = TestDb::new().await;
    let migrations = (0..3).map(|_| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_git-collector"))
            .arg("migrate")
            .env("DATABASE_URL", &test_db.url)
            .output()
    });
    for out in futures::future::join_all(migrations).await {
        let out = out.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // And whole services, in one process (each with its own pool), on another new database.
    let fresh = TestDb::new().await;
    let apps = futures::future::join_all((0..3).map(|_| spawn_app_on(TestDb::borrowed(&fresh), &[]))).await;
    for app in apps {
        assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), 200);
        app.stop().await;
    }
    let db = fresh.connect().await;
    assert!(Migrator::get_pending_migrations(&db).await.unwrap().is_empty());
}

/// The introspection query GraphQL tools send (GraphiQL's docs and completion): types, fields,
/// arguments, and type references seven `ofType` deep.
const TOOL_INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } \
    subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } } \
    fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description \
    args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } \
    interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } \
    possibleTypes { ...TypeRef } } \
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue } \
    fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name \
    ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

#[tokio::test]
async fn browsers_get_graphiql_served_by_the_service_with_nothing_from_elsewhere() {
    let app = spawn_app().await;
    let page = app.http.get(app.url("/graphql")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("http") && !csp.contains("unsafe"), "only the service's own origin: {csp}");
    let body = page.text().await.unwrap();
    assert!(!body.contains("https://") && !body.contains("http://"), "no address elsewhere in the page");
    for asset in ["/ui/vendor/graphiql/graphiql.js", "/ui/vendor/graphiql/graphiql.css"] {
        assert!(body.contains(asset), "{asset} in the page");
        let file = app.http.get(app.url(asset)).send().await.unwrap();
        assert_eq!(file.status(), 200, "{asset}");
        let etag = file.headers()["etag"].clone();
        let text = file.text().await.unwrap();
        if asset.ends_with(".js") {
            assert!(text.contains("/graphql/ws"), "subscriptions endpoint wired into GraphiQL");
        }
        let again = app.http.get(app.url(asset)).header("if-none-match", etag).send().await.unwrap();
        assert_eq!(again.status(), 304, "{asset} revalidated by its ETag");
    }
    // GraphiQL's introspection is deeper than data queries may be, and is answered.
    let schema = app.graphql(TOOL_INTROSPECTION, serde_json::json!({})).await;
    assert!(schema["errors"].is_null(), "{schema}");
    assert_eq!(schema["data"]["__schema"]["queryType"]["name"], "Query");
    // Mixed with data, the same depth is refused: data queries keep their limit.
    let deep = "{ repositories(first: 1) { totalCount } __schema { types { fields { type { ofType { ofType { ofType \
                { ofType { ofType { ofType { name } } } } } } } } } } }";
    let refused = app.graphql(deep, serde_json::json!({})).await;
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains("deep"), "{refused}");
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_is_served_at_the_root_with_its_files() {
    let app = spawn_app().await;
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers().contains_key("content-security-policy"));
    let body = page.text().await.unwrap();
    let mut assets = 0;
    for part in body.split(['"', '\'']).filter(|p| p.starts_with("/ui/")) {
        let file = app.http.get(app.url(part)).send().await.unwrap();
        assert_eq!(file.status(), 200, "{part}");
        assets += 1;
    }
    assert!(assets >= 2, "the page loads its script and styles from /ui/: {body}");
    assert_eq!(app.http.get(app.url("/ui/nothing.js")).send().await.unwrap().status(), 404);
    assert_eq!(app.http.get(app.url("/ui/scripts/refresh-vendor.sh")).send().await.unwrap().status(), 404);
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

/// Every setting in the README's table is in `--help`, and every setting of `--help` is in
/// the README: the two are kept in agreement.
#[test]
fn help_and_the_readme_document_the_same_settings() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_git-collector")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let in_help: std::collections::BTreeSet<String> =
        help.split("[env: ").skip(1).filter_map(|rest| rest.split(['=', ']']).next()).map(str::to_string).collect();
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let in_readme: std::collections::BTreeSet<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|v| v.chars().all(|c| c.is_ascii_uppercase() || c == '_') && *v != "RUST_LOG")
        .map(str::to_string)
        .collect();
    assert!(in_help.len() >= 20, "{in_help:?}");
    assert_eq!(in_help, in_readme, "--help and the README's configuration table differ");
    for contract in [
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
        assert!(in_help.contains(contract), "--help does not document {contract}");
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

#[test]
fn an_error_says_each_cause_once() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_git-collector"))
        .arg("migrate")
        .env("DATABASE_URL", "sqlite:///nonexistent/dir/gc.db?mode=rwc")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let last = err.lines().rfind(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{err}"));
    assert!(last.contains("/nonexistent/dir/gc.db"), "{last}");
    assert_eq!(last.matches("unable to open database file").count(), 1, "{last}");
}

#[test]
fn logs_are_plain_text_off_a_terminal_and_json_on_request() {
    let run = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_git-collector"))
            .arg("migrate")
            .env("DATABASE_URL", "sqlite:///nonexistent/dir/gc.db?mode=rwc")
            .env("LOG_FORMAT", format)
            .output()
            .unwrap();
        String::from_utf8(out.stderr).unwrap()
    };
    let text = run("text");
    assert!(text.contains("git-collector stopped with an error"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour escapes when standard error is not a terminal: {text:?}");
    let json = run("json");
    let line = json.lines().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("{json}"));
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(parsed["level"], "ERROR");
    assert!(parsed["fields"]["error"].as_str().unwrap().contains("unable to open database file"));
}

/// A database of the previous version, with contributions and no account model: the
/// migration links repositories to their owners' accounts and computes the account months.
#[tokio::test]
async fn the_migration_backfills_the_account_model_from_existing_contributions() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    Migrator::up(&db, Some(2)).await.unwrap();
    let (t, f) = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => ("TRUE", "FALSE"),
        _ => ("1", "0"),
    };
    let at = |d: &str| format!("'{d}T10:00:00+00:00'");
    let statements = [
        format!(
            "INSERT INTO repositories (id, github_id, owner, name, owner_key, name_key, is_fork, is_archived, is_gone, \
             is_tracked, first_seen_at, monthly_rows, monthly_rows_with_bots) VALUES \
             (1, 11, 'Acme', 'a', 'acme', 'a', {f}, {f}, {f}, {f}, {now}, 0, 0), \
             (2, 12, 'Acme', 'b', 'acme', 'b', {f}, {f}, {f}, {f}, {now}, 0, 0), \
             (3, 13, 'Acme', 'old', 'acme', 'old', {f}, {f}, {t}, {f}, {now}, 0, 0)",
            now = at("2026-01-01")
        ),
        format!(
            "INSERT INTO contributors (id, identity_key, github_id, login, is_bot) VALUES \
             (1, 'gh:1', 1, 'ann', {f}), (2, 'gh:2', 2, 'ben', {f}), (3, 'gh:3', 3, 'x[bot]', {t})"
        ),
        // ann: b in March, a in May (counts in March); ben: only in the gone repository;
        // the bot in April.
        format!(
            "INSERT INTO first_contributions (repository_id, contributor_id, first_contribution_at, commit_count) VALUES \
             (1, 1, {}, 1), (2, 1, {}, 1), (3, 2, {}, 1), (1, 3, {}, 1)",
            at("2020-05-02"),
            at("2020-03-31"),
            at("2019-01-01"),
            at("2020-04-15")
        ),
    ];
    for sql in statements {
        db.execute(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let account = git_collector::store::accounts::find(&db, &git_collector::domain::OwnerLogin::parse("acme").unwrap())
        .await
        .unwrap()
        .expect("the owner's account was created");
    use git_collector::store::account_model::all_months;
    let humans = all_months(&db, account.id, false).await.unwrap();
    let everyone = all_months(&db, account.id, true).await.unwrap();
    let month = |m: u32| chrono::NaiveDate::from_ymd_opt(2020, m, 1).unwrap();
    assert_eq!(humans, vec![(month(3), 1)], "ann once, in March; ben's repository is gone");
    assert_eq!(everyone, vec![(month(3), 1), (month(4), 1)]);
    assert_eq!((account.monthly_rows, account.monthly_rows_with_bots), (1, 2));
}
