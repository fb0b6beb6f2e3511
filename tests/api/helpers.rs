//! Starting the real application on port 0 against a fresh database.
use std::future::Future;

use clap::Parser;
use git_collector::config::{Cli, Config};
use git_collector::startup::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tokio::sync::oneshot;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A database that exists for one test: a temporary SQLite file, or a PostgreSQL database
/// created on the TEST_DATABASE_URL server and dropped when this value is dropped.
pub struct TestDb {
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// With TEST_LOG set (a `RUST_LOG`-style filter), the service's logs go to the test output.
pub fn init_test_logs() {
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

impl TestDb {
    pub async fn new() -> Self {
        init_test_logs();
        match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(server) => {
                let name = format!("gc_test_{}", random_suffix());
                let admin = Database::connect(server.as_str()).await.expect("connect to TEST_DATABASE_URL");
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create a test database");
                admin.close().await.ok();
                let mut url = url::Url::parse(&server).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                Self { url: url.to_string(), postgres: Some((server, name)), _dir: None }
            }
            None => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Self { url, postgres: None, _dir: Some(dir) }
            }
        }
    }

    /// Another handle on the same database that does not drop it.
    pub fn borrowed(other: &TestDb) -> Self {
        Self { url: other.url.clone(), postgres: None, _dir: None }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    pub async fn connect(&self) -> DatabaseConnection {
        git_collector::store::db::connect(&self.url).await.expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else { return };
        // Drop runs outside any async context we may block, so use a thread of our own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(admin) = Database::connect(server.as_str()).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Marks a test that could not run in this configuration: says so on standard error and in
/// `target/skipped-tests.txt`, which `.ci/run` prints after the run (a skip is never silent).
pub fn skip(test: &str, why: &str) {
    let line = format!("SKIPPED {test}: {why}");
    eprintln!("{line}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/skipped-tests.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        use std::io::Write;
        let _ = writeln!(file, "{line}");
    }
}

pub fn random_suffix() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// The configuration a test app runs with; `extra` are more `--flag value` pairs, which
/// replace the test defaults of the same flag.
pub fn test_config(db_url: &str, extra: &[&str]) -> Config {
    let mut flags: Vec<(String, String)> = [
        ("--database-url", db_url),
        ("--bind-addr", "127.0.0.1:0"),
        ("--crawl-on-start", "false"),
        ("--admin-token", ADMIN_TOKEN),
        ("--github-api-url", "http://127.0.0.1:9"),
        ("--github-retry-delay-ms", "5"),
        ("--github-secondary-limit-wait-ms", "20"),
        ("--github-timeout-ms", "2000"),
        ("--job-poll-ms", "20"),
    ]
    .iter()
    .map(|(f, v)| (f.to_string(), v.to_string()))
    .collect();
    assert!(extra.len().is_multiple_of(2), "extra flags come in `--flag value` pairs: {extra:?}");
    for pair in extra.chunks(2) {
        match flags.iter_mut().find(|(f, _)| f == pair[0]) {
            Some(existing) => existing.1 = pair[1].to_string(),
            None => flags.push((pair[0].to_string(), pair[1].to_string())),
        }
    }
    let args = std::iter::once("git-collector".to_string()).chain(flags.into_iter().flat_map(|(f, v)| [f, v]));
    Cli::try_parse_from(args).expect("test configuration parses").config
}

pub struct TestApp {
    pub address: String,
    pub db: DatabaseConnection,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub test_db: TestDb,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Kills the service at once, the way SIGKILL would: no request finishes, no lease is
    /// released, nothing is cleaned up.
    pub async fn kill(mut self) {
        self.shutdown.take();
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Stops the server the way SIGTERM does and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server stopped cleanly");
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let test_db = TestDb::new().await;
    spawn_app_on(test_db, extra).await
}

pub async fn spawn_app_on(test_db: TestDb, extra: &[&str]) -> TestApp {
    let config = test_config(&test_db.url, extra);
    let app = Application::build(config).await.expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp { address, db, http: reqwest::Client::new(), shutdown: Some(tx), server: Some(server), test_db }
}

/// Polls `check` until it holds or `secs` pass.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

impl TestApp {
    /// POSTs a GraphQL request (as admin when `admin`) and returns the JSON response.
    pub async fn graphql_as(
        &self,
        query: &str,
        variables: serde_json::Value,
        token: Option<&str>,
    ) -> serde_json::Value {
        let mut request =
            self.http.post(self.url("/graphql")).json(&serde_json::json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("GraphQL request");
        assert_eq!(response.status(), 200, "legacy JSON answers are 200");
        response.json().await.expect("GraphQL JSON")
    }

    pub async fn graphql(&self, query: &str, variables: serde_json::Value) -> serde_json::Value {
        self.graphql_as(query, variables, None).await
    }

    /// The response's data, asserting there is no error.
    pub async fn data(&self, query: &str, variables: serde_json::Value) -> serde_json::Value {
        let response = self.graphql(query, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response}");
        response["data"].clone()
    }

    /// The first error's `extensions.code`.
    pub async fn error_code(&self, query: &str, variables: serde_json::Value) -> String {
        let response = self.graphql(query, variables).await;
        response["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("an error with a code: {response}"))
            .to_string()
    }
}
