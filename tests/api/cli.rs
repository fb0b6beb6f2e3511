//! The `git-collector crawl` verb, as an operator runs it.
use crate::fake_github::{Author, FakeGitHub};
use crate::helpers::TestDb;

async fn run_crawl(db: &TestDb, fake: &FakeGitHub, args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_git-collector"));
    cmd.arg("crawl")
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("GITHUB_API_URL", &fake.url)
        .env("GITHUB_RETRY_DELAY_MS", "5")
        .env("GITHUB_TOKEN", "ghp_cli_secret")
        .env("GITHUB_OWNERS", "acme")
        .env("RUST_LOG", "debug");
    cmd.output().await.unwrap()
}

#[tokio::test]
async fn crawl_prints_a_summary_and_counts() {
    let db = TestDb::new().await;
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    fake.add_repo("acme", "one");
    for (i, month) in ["2020-01-03", "2020-01-09", "2020-02-01"].iter().enumerate() {
        fake.commit("acme/one", &Author::user(i as i64 + 1, &format!("u{i}"), "x@y"), &format!("{month}T00:00:00Z"));
    }
    let out = run_crawl(&db, &fake, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("repositories: 1 (1 updated"), "{stdout}");
    assert!(stdout.contains("commits read: 3"), "{stdout}");
    assert!(stdout.contains("first-time contributors: 3"), "{stdout}");
    assert!(stdout.contains("requests made: 2"), "{stdout}");
    assert!(!stdout.contains("ghp_cli_secret") && !stderr.contains("ghp_cli_secret"), "the token never reaches logs");

    // Again: the listing is cached and the repository unchanged.
    let out = run_crawl(&db, &fake, &["acme/one"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("requests made: 1 (1 answered 304)"), "{stdout}");
}

#[tokio::test]
async fn crawl_rejects_bad_targets_before_doing_anything() {
    let db = TestDb::new().await;
    let fake = FakeGitHub::start().await;
    let out = run_crawl(&db, &fake, &["acme/one/two"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("acme/one/two"));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn crawl_exits_non_zero_when_a_repository_fails() {
    let db = TestDb::new().await;
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    fake.add_repo("acme", "bad");
    fake.commit("acme/bad", &Author::user(1, "u", "x@y"), "2020-01-01T00:00:00Z");
    fake.fail("/commits", crate::fake_github::Fault::Status(500), 100);
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_git-collector"));
    let out = cmd
        .args(["crawl", "acme"])
        .env("DATABASE_URL", &db.url)
        .env("GITHUB_API_URL", &fake.url)
        .env("GITHUB_RETRY_DELAY_MS", "1")
        .env("GITHUB_MAX_RETRIES", "2")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("acme/bad") && stderr.contains("500"), "{stderr}");
}
