//! Refresh jobs: admin mutations, the durable queue, leases, replicas, schedule, subscriptions.
use std::time::Duration;

use entity::refresh_job::{self, JobKind, JobStatus, JobTrigger};
use futures::{SinkExt, StreamExt};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::crawl_helpers::CrawlEnv;
use crate::fake_github::{Author, FakeGitHub};
use crate::helpers::{eventually, skip, spawn_app_on, TestApp, TestDb, ADMIN_TOKEN};

const REFRESH_REPO: &str =
    "mutation($o: String!, $n: String!) { refreshRepo(owner: $o, name: $n) { id status owner repo trigger } }";
const REFRESH_OWNER: &str = "mutation($o: String!) { refreshOwner(owner: $o) { id status owner repo trigger } }";
const JOB: &str = "query($id: ID!) { refreshJob(id: $id) { id status error reposTotal reposDone requestsMade startedAt finishedAt } }";

fn history(fake: &FakeGitHub, full: &str, n: usize, people: i64) {
    for i in 0..n {
        let p = i as i64 % people;
        let date = format!("20{:02}-{:02}-1{}T00:00:00Z", 15 + i / 40, i % 12 + 1, i % 10);
        fake.commit(full, &Author::user(p + 1, &format!("u{p}"), &format!("u{p}@x")), &date);
    }
}

async fn app_for(fake: &FakeGitHub, db: TestDb, extra: &[&str]) -> TestApp {
    let mut args = vec!["--github-api-url", fake.url.as_str(), "--github-owners", "acme"];
    args.extend_from_slice(extra);
    spawn_app_on(db, &args).await
}

async fn job(app: &TestApp, id: &Value) -> Value {
    app.data(JOB, json!({"id": id})).await["refreshJob"].clone()
}

pub(crate) async fn wait_done(app: &TestApp, id: &Value, secs: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let last = job(app, id).await;
        if matches!(last["status"].as_str(), Some("SUCCEEDED" | "FAILED")) {
            return last;
        }
        assert!(tokio::time::Instant::now() < deadline, "job {id} did not end: {last}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn mutations_need_the_admin_token_and_enqueue_nothing_otherwise() {
    let fake = FakeGitHub::start().await;
    let app = app_for(&fake, TestDb::new().await, &[]).await;
    let vars = json!({"o": "acme", "n": "rocket"});
    for token in [None, Some("wrong-token"), Some("")] {
        let response = app.graphql_as(REFRESH_REPO, vars.clone(), token).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{response}");
        assert_eq!(response["data"], Value::Null);
        let response = app.graphql_as(REFRESH_OWNER, json!({"o": "acme"}), token).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    assert_eq!(refresh_job::Entity::find().count(&app.db).await.unwrap(), 0);
    // Bad names are refused before anything is queued, even for the admin.
    let response = app.graphql_as(REFRESH_REPO, json!({"o": "acme", "n": "../etc"}), Some(ADMIN_TOKEN)).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let response = app.graphql_as(REFRESH_OWNER, json!({"o": "-x-"}), Some(ADMIN_TOKEN)).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(refresh_job::Entity::find().count(&app.db).await.unwrap(), 0);
    assert!(fake.requests().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_refreshes_of_one_repository_make_one_job() {
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    fake.add_repo("acme", "rocket");
    history(&fake, "acme/rocket", 30, 5);
    fake.set_latency(Duration::from_millis(30));
    let app = app_for(&fake, TestDb::new().await, &[]).await;
    let calls = (0..50).map(|i| {
        let name = if i % 2 == 0 { "rocket" } else { "ROCKET" };
        app.graphql_as(REFRESH_REPO, json!({"o": "Acme", "n": name}), Some(ADMIN_TOKEN))
    });
    let responses = futures::future::join_all(calls).await;
    let ids: std::collections::HashSet<String> = responses
        .iter()
        .map(|r| r["data"]["refreshRepo"]["id"].as_str().unwrap_or_else(|| panic!("{r}")).to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one job for one target");
    let id = json!(ids.into_iter().next().unwrap());
    let done = wait_done(&app, &id, 20).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["reposTotal"], 1);
    assert_eq!(done["reposDone"], 1);
    assert!(done["requestsMade"].as_i64().unwrap() >= 2);
    assert_eq!(fake.count("/repos/acme/rocket/commits"), 1);
    // Ended: a new request makes a new job.
    let again = app.graphql_as(REFRESH_REPO, json!({"o": "acme", "n": "rocket"}), Some(ADMIN_TOKEN)).await;
    assert_ne!(again["data"]["refreshRepo"]["id"], id);
    app.stop().await;
}

#[tokio::test]
async fn refresh_owner_reports_progress_and_counts_exactly() {
    let env = CrawlEnv::new().await;
    env.fake.add_org("acme");
    for r in ["a", "b", "c", "d", "e"] {
        env.fake.add_repo("acme", r);
        history(&env.fake, &format!("acme/{r}"), 40, 7);
    }
    env.fake.add_repo("acme", "empty");
    let app = app_for(&env.fake, TestDb::borrowed(&env.test_db), &[]).await;
    let response = app.graphql_as(REFRESH_OWNER, json!({"o": "acme"}), Some(ADMIN_TOKEN)).await;
    let id = response["data"]["refreshOwner"]["id"].clone();
    assert_eq!(response["data"]["refreshOwner"]["trigger"], "mutation");
    assert_eq!(response["data"]["refreshOwner"]["repo"], Value::Null);
    let done = wait_done(&app, &id, 30).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["reposTotal"], 6);
    assert_eq!(done["reposDone"], 6);
    assert_eq!(done["requestsMade"].as_i64().unwrap(), env.fake.requests().len() as i64);
    for r in ["a", "b", "c", "d", "e"] {
        env.assert_exact(&format!("acme/{r}")).await;
    }
    // Repositories refreshed as part of their account are not "tracked" on their own.
    assert!(!env.repo("acme/a").await.is_tracked);
    let jobs = app.data("{ refreshJobs(first: 10) { totalCount nodes { owner repo status } } }", json!({})).await;
    assert_eq!(jobs["refreshJobs"]["totalCount"], 7, "the account job and one job per repository");
    app.stop().await;
}

#[tokio::test]
async fn a_failing_repository_fails_the_account_job_and_names_it() {
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    fake.add_repo("acme", "good");
    fake.add_repo("acme", "bad");
    history(&fake, "acme/good", 5, 2);
    history(&fake, "acme/bad", 5, 2);
    fake.fail("/repos/acme/bad/commits", crate::fake_github::Fault::Status(500), 100);
    let app = app_for(&fake, TestDb::new().await, &["--github-max-retries", "1"]).await;
    let response = app.graphql_as(REFRESH_OWNER, json!({"o": "acme"}), Some(ADMIN_TOKEN)).await;
    let done = wait_done(&app, &response["data"]["refreshOwner"]["id"], 20).await;
    assert_eq!(done["status"], "FAILED");
    let error = done["error"].as_str().unwrap();
    assert!(error.contains("acme/bad") && error.contains("500") && !error.contains("acme/good"), "{error}");
    app.stop().await;
}

#[tokio::test]
async fn a_job_whose_worker_died_is_finished_by_another_with_exact_counts() {
    let env = CrawlEnv::new().await;
    env.fake.add_org("acme");
    for r in ["a", "b", "c", "d"] {
        env.fake.add_repo("acme", r);
        history(&env.fake, &format!("acme/{r}"), 250, 9);
    }
    // Slow enough that the first instance is killed in the middle of the account.
    env.fake.set_latency(Duration::from_millis(60));
    let first =
        app_for(&env.fake, TestDb::borrowed(&env.test_db), &["--job-lease-secs", "2", "--crawl-concurrency", "1"])
            .await;
    let response = first.graphql_as(REFRESH_OWNER, json!({"o": "acme"}), Some(ADMIN_TOKEN)).await;
    let id = response["data"]["refreshOwner"]["id"].clone();
    let started = eventually(10, || async { env.fake.count("/commits") >= 2 }).await;
    assert!(started, "the first worker started crawling");
    first.kill().await;
    let running = refresh_job::Entity::find()
        .filter(refresh_job::Column::Status.eq(JobStatus::Running))
        .count(&env.db)
        .await
        .unwrap();
    assert!(running >= 1, "jobs were left running by the killed worker");

    env.fake.set_latency(Duration::ZERO);
    let second = app_for(&env.fake, TestDb::borrowed(&env.test_db), &["--job-lease-secs", "2"]).await;
    let done = wait_done(&second, &id, 30).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    for r in ["a", "b", "c", "d"] {
        env.assert_exact(&format!("acme/{r}")).await;
        assert_eq!(env.total_commit_count(&format!("acme/{r}")).await, 250, "nothing counted twice in acme/{r}");
    }
    second.stop().await;
}

#[tokio::test]
async fn two_instances_on_one_postgresql_share_an_account() {
    let env = CrawlEnv::new().await;
    if !env.test_db.is_postgres() {
        // Several replicas share one PostgreSQL; SQLite is one process's database.
        return skip("two_instances_on_one_postgresql_share_an_account", "needs PostgreSQL (TEST_DATABASE_URL)");
    }
    env.fake.add_org("acme");
    for r in 0..12 {
        env.fake.add_repo("acme", &format!("r{r}"));
        history(&env.fake, &format!("acme/r{r}"), 60, 5);
    }
    env.fake.set_latency(Duration::from_millis(20));
    // Each replica has a token of its own, so the fake's log tells who fetched what.
    let flags = |token| ["--crawl-concurrency", "2", "--github-token", token];
    let one = app_for(&env.fake, TestDb::borrowed(&env.test_db), &flags("ghp_replica_one")).await;
    let two = app_for(&env.fake, TestDb::borrowed(&env.test_db), &flags("ghp_replica_two")).await;
    let response = one.graphql_as(REFRESH_OWNER, json!({"o": "acme"}), Some(ADMIN_TOKEN)).await;
    let done = wait_done(&two, &response["data"]["refreshOwner"]["id"], 60).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["reposDone"], 12);
    for r in 0..12 {
        let full = format!("acme/r{r}");
        assert_eq!(env.fake.count(&format!("/repos/{full}/commits")), 1, "{full} fetched once");
        env.assert_exact(&full).await;
    }
    let crawled_by = |token: &str| {
        env.fake
            .requests()
            .iter()
            .filter(|l| l.path.contains("/commits") && l.authorization.as_deref() == Some(&format!("Bearer {token}")))
            .count()
    };
    let (by_one, by_two) = (crawled_by("ghp_replica_one"), crawled_by("ghp_replica_two"));
    assert_eq!(by_one + by_two, 12);
    assert!(by_one > 0 && by_two > 0, "both replicas crawled repositories of the account: {by_one} and {by_two}");
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn a_per_second_schedule_enqueues_once_per_tick_across_replicas() {
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    let db = TestDb::new().await;
    let flags = ["--crawl-schedule", "* * * * * *"];
    let one = app_for(&fake, TestDb::borrowed(&db), &flags).await;
    let two = if db.is_postgres() { Some(app_for(&fake, TestDb::borrowed(&db), &flags).await) } else { None };
    tokio::time::sleep(Duration::from_millis(3500)).await;
    one.stop().await;
    if let Some(two) = two {
        two.stop().await;
    }
    let conn = db.connect().await;
    let ticks = entity::schedule_firing::Entity::find().count(&conn).await.unwrap();
    let scheduled = refresh_job::Entity::find()
        .filter(refresh_job::Column::Trigger.eq(JobTrigger::Schedule))
        .filter(refresh_job::Column::Kind.eq(JobKind::Account))
        .count(&conn)
        .await
        .unwrap();
    // 3.5 s of a per-second schedule: 3 or 4 firings, recorded once whatever the replicas.
    assert!((2..=4).contains(&ticks), "the schedule fired every second, once per tick ({ticks})");
    // Each tick queues the account once; a tick while its job is still queued or running
    // shares that job instead of adding one.
    assert!(scheduled >= 1 && scheduled <= ticks, "{scheduled} scheduled jobs for {ticks} ticks");
}

#[tokio::test]
async fn crawl_on_start_queues_only_stale_targets() {
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    fake.add_repo("acme", "x");
    history(&fake, "acme/x", 3, 1);
    let db = TestDb::new().await;
    let app = app_for(&fake, TestDb::borrowed(&db), &["--crawl-on-start", "true"]).await;
    let started = eventually(20, || async {
        let jobs = app.data("{ refreshJobs(status: SUCCEEDED) { nodes { trigger repo } } }", json!({})).await;
        jobs["refreshJobs"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["trigger"] == "startup" && j["repo"].is_null())
    })
    .await;
    assert!(started, "a start-up crawl ran");
    app.stop().await;
    // Fresh data: a restart queues nothing.
    let app = app_for(&fake, TestDb::borrowed(&db), &["--crawl-on-start", "true"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let startup = refresh_job::Entity::find()
        .filter(refresh_job::Column::Trigger.eq(JobTrigger::Startup))
        .filter(refresh_job::Column::Kind.eq(JobKind::Account))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(startup, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_subscription_sees_queued_running_succeeded() {
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    fake.add_repo("acme", "rocket");
    fake.add_repo("acme", "blocker");
    history(&fake, "acme/rocket", 20, 4);
    history(&fake, "acme/blocker", 20, 4);
    fake.set_latency(Duration::from_millis(200));
    // One crawl slot, held by another repository's job: the job under test stays queued until the
    // subscription is attached, however fast the workers hear of it (LISTEN/NOTIFY on PostgreSQL).
    let app = app_for(&fake, TestDb::new().await, &["--crawl-concurrency", "1", "--job-lease-secs", "3"]).await;
    let queue = git_collector::jobs::JobQueue::new(app.db.clone());
    let blocker = git_collector::domain::Target::parse("acme/blocker").unwrap();
    let (blocker, _) = queue.enqueue(&blocker, JobTrigger::Mutation).await.unwrap();
    let blocker_id = json!(blocker.id.to_string());
    let running = eventually(10, || async { job(&app, &blocker_id).await["status"] == "RUNNING" }).await;
    assert!(running, "the blocking job started");
    let target = git_collector::domain::Target::parse("acme/rocket").unwrap();
    let (job, _) = queue.enqueue(&target, JobTrigger::Mutation).await.unwrap();

    let mut request = app.url("/graphql/ws").replace("http://", "ws://").into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(json!({"type": "connection_init"}).to_string())).await.unwrap();
    let ack: Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(ack["type"], "connection_ack");
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription($id: ID!) { refreshJob(id: $id) { status reposDone } }", "variables": {"id": job.id.to_string()}}});
    ws.send(Message::text(subscribe.to_string())).await.unwrap();
    let mut statuses: Vec<String> = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(message)) = ws.next().await {
            let Ok(text) = message.to_text() else { continue };
            let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            match value["type"].as_str() {
                Some("next") => {
                    let status = value["payload"]["data"]["refreshJob"]["status"].as_str().unwrap().to_string();
                    if statuses.last() != Some(&status) {
                        statuses.push(status);
                    }
                }
                Some("complete") => break,
                Some("error") => panic!("subscription error: {value}"),
                _ => {}
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the subscription completed; saw {statuses:?}");
    assert_eq!(statuses, ["QUEUED", "RUNNING", "SUCCEEDED"]);
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_format() {
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    fake.add_repo("acme", "m");
    history(&fake, "acme/m", 3, 1);
    let app = app_for(&fake, TestDb::new().await, &[]).await;
    let response = app.graphql_as(REFRESH_REPO, json!({"o": "acme", "n": "m"}), Some(ADMIN_TOKEN)).await;
    wait_done(&app, &response["data"]["refreshRepo"]["id"], 20).await;
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for needle in [
        "git_collector_jobs{status=\"SUCCEEDED\"} 1",
        "git_collector_github_requests_total{status=\"2xx\"}",
        "git_collector_github_not_modified_total",
        "git_collector_github_rate_limit_remaining",
        "git_collector_job_duration_seconds_count{status=\"SUCCEEDED\"} 1",
        "git_collector_http_request_duration_seconds_count{route=\"/graphql\"}",
        "git_collector_graphql_request_duration_seconds_count{operation=\"mutation\"}",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    assert!(!text.contains(ADMIN_TOKEN));
    app.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_puts_running_jobs_back_in_the_queue() {
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    fake.add_repo("acme", "slow");
    history(&fake, "acme/slow", 400, 9);
    fake.set_latency(Duration::from_millis(300));
    let db = TestDb::new().await;
    let app = app_for(&fake, TestDb::borrowed(&db), &["--job-shutdown-grace-secs", "0"]).await;
    let response = app.graphql_as(REFRESH_REPO, json!({"o": "acme", "n": "slow"}), Some(ADMIN_TOKEN)).await;
    let id = response["data"]["refreshRepo"]["id"].clone();
    assert!(eventually(10, || async { fake.count("/commits") >= 1 }).await);
    app.stop().await;
    let conn = db.connect().await;
    let job = refresh_job::Entity::find_by_id(id.as_str().unwrap().parse::<i64>().unwrap())
        .one(&conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, JobStatus::Queued, "released for another worker");
    assert_eq!(job.lease_owner, None);
    // The next instance finishes it.
    fake.set_latency(Duration::ZERO);
    let app = app_for(&fake, TestDb::borrowed(&db), &[]).await;
    let done = wait_done(&app, &id, 30).await;
    assert_eq!(done["status"], "SUCCEEDED");
    app.stop().await;
}

/// A database blip while an account is refreshed: the jobs ride it out, the account job ends
/// SUCCEEDED with the real progress of its repositories, and the counts are exact.
#[tokio::test]
async fn a_database_blip_during_an_account_refresh_fails_nothing() {
    let env = CrawlEnv::new().await;
    if !env.test_db.is_postgres() {
        return skip("a_database_blip_during_an_account_refresh_fails_nothing", "needs PostgreSQL (TEST_DATABASE_URL)");
    }
    env.fake.add_org("acme");
    for r in ["a", "b", "c", "d", "e"] {
        env.fake.add_repo("acme", r);
        history(&env.fake, &format!("acme/{r}"), 300, 9);
    }
    env.fake.set_latency(Duration::from_millis(40));
    let proxy = crate::outage::DbProxy::start(crate::outage::upstream_of(&env.test_db.url)).await;
    let mut through = TestDb::borrowed(&env.test_db);
    through.url = proxy.url_for(&env.test_db.url);
    let app = app_for(&env.fake, through, &["--crawl-concurrency", "2", "--job-lease-secs", "6"]).await;
    let response = app.graphql_as(REFRESH_OWNER, json!({"o": "acme"}), Some(ADMIN_TOKEN)).await;
    let id = response["data"]["refreshOwner"]["id"].clone();
    assert!(eventually(10, || async { env.fake.count("/commits") >= 3 }).await, "repositories are being crawled");
    proxy.down();
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.up();
    let done = wait_done(&app, &id, 60).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["reposTotal"], 5);
    assert_eq!(done["reposDone"], 5);
    for r in ["a", "b", "c", "d", "e"] {
        env.assert_exact(&format!("acme/{r}")).await;
        assert_eq!(env.total_commit_count(&format!("acme/{r}")).await, 300, "nothing counted twice in acme/{r}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_idle_service_on_postgresql_sends_no_statement_yet_takes_a_job_queued_elsewhere_within_a_second() {
    let env = CrawlEnv::new().await;
    if !env.test_db.is_postgres() {
        return skip(
            "an_idle_service_on_postgresql_sends_no_statement_yet_takes_a_job_queued_elsewhere_within_a_second",
            "needs PostgreSQL (TEST_DATABASE_URL): SQLite has no notifications, its workers poll",
        );
    }
    env.fake.add_org("acme");
    env.fake.add_repo("acme", "one");
    let proxy = crate::outage::DbProxy::start(crate::outage::upstream_of(&env.test_db.url)).await;
    let mut through = TestDb::borrowed(&env.test_db);
    through.url = proxy.url_for(&env.test_db.url);
    // Polling would look every 200 ms: a statement in the quiet time below means it polled.
    let app = app_for(&env.fake, through, &["--job-poll-ms", "200"]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = proxy.bytes_sent();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(proxy.bytes_sent(), before, "an idle service sent the database something in 3 s");

    // Queued by another process (a queue of its own, on its own connection, that wakes no one
    // in the service): the notification must.
    let elsewhere = git_collector::jobs::JobQueue::new(env.test_db.connect().await);
    let target = git_collector::domain::Target::parse("acme/one").unwrap();
    let (job, _) = elsewhere.enqueue(&target, JobTrigger::Mutation).await.unwrap();
    let queued_at = std::time::Instant::now();
    let taken = eventually(5, || async {
        let row = refresh_job::Entity::find_by_id(job.id).one(&env.db).await.unwrap().unwrap();
        row.status != JobStatus::Queued
    })
    .await;
    assert!(taken, "the job was taken");
    assert!(queued_at.elapsed() < Duration::from_secs(1), "taken after {:?}", queued_at.elapsed());
    let done = wait_done(&app, &json!(job.id.to_string()), 30).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    app.stop().await;
}
