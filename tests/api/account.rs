//! People new to a whole account, identity by name, the token pool, and cheaper refreshes.
use std::collections::BTreeMap;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::crawl_helpers::CrawlEnv;
use crate::fake_github::{Author, FakeGitHub};
use crate::helpers::{skip, spawn_app_on, TestApp, TestDb, ADMIN_TOKEN};

const ACCOUNT_MONTHS: &str = r#"
query($owner: String!, $bots: Boolean, $order: MonthlyOrder, $first: Int, $after: String) {
  accountMonthlyFirstContributors(owner: $owner, includeBots: $bots, orderBy: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { owner month newContributors }
  }
}"#;

/// Every month of the account through the API, two rows a page: month → count.
pub(crate) async fn account_months(app: &TestApp, owner: &str, bots: bool) -> BTreeMap<String, i64> {
    let mut months = BTreeMap::new();
    let mut after = Value::Null;
    loop {
        let vars = json!({"owner": owner, "bots": bots, "first": 2, "after": after});
        let data = app.data(ACCOUNT_MONTHS, vars).await;
        let c = &data["accountMonthlyFirstContributors"];
        for node in c["nodes"].as_array().unwrap() {
            assert_eq!(node["owner"].as_str().unwrap().to_lowercase(), owner.to_lowercase());
            months.insert(node["month"].as_str().unwrap().to_string(), node["newContributors"].as_i64().unwrap());
        }
        if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            assert_eq!(c["totalCount"].as_i64().unwrap(), months.len() as i64, "totalCount of {owner}");
            return months;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
}

/// The service on the crawl's database (its workers may take jobs too: they talk to the fake).
async fn service(env: &CrawlEnv) -> TestApp {
    spawn_app_on(TestDb::borrowed(&env.test_db), &["--github-api-url", env.fake.url.as_str()]).await
}

fn day(n: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339("2019-01-01T12:00:00Z").unwrap() + chrono::Duration::days(n)).to_rfc3339()
}

/// Three repositories of one account, with people who contribute to several of them.
pub(crate) fn shared_history(fake: &FakeGitHub) {
    fake.add_org("acme");
    for r in ["one", "two", "three"] {
        fake.add_repo("acme", r);
    }
    for i in 0..90i64 {
        let repo = ["acme/one", "acme/two", "acme/three"][(i % 3) as usize];
        let p = i % 17;
        let author = match p % 5 {
            0 => Author::email_only(&format!("shared{p}@example.org")),
            1 => Author::name_only(&format!("Nameless {p}")),
            2 => Author::bot(800 + p, &format!("helper{p}[bot]")),
            _ => Author::user(100 + p, &format!("dev{p}"), &format!("dev{p}@example.com")),
        };
        fake.commit(repo, &author, &day(i * 9 + p * 3));
    }
}

async fn assert_account_exact(app: &TestApp, fake: &FakeGitHub, owner: &str) {
    for bots in [false, true] {
        let expected = fake.expected_account_monthly(owner, bots);
        assert!(!expected.is_empty());
        assert_eq!(account_months(app, owner, bots).await, expected, "{owner}, include bots: {bots}");
    }
}

#[tokio::test]
async fn account_months_count_each_person_once_through_full_and_incremental_refreshes() {
    let env = CrawlEnv::new().await;
    shared_history(&env.fake);
    env.crawl_ok("acme", &[]).await;
    let app = service(&env).await;
    assert_account_exact(&app, &env.fake, "acme").await;
    // Summing the repositories would count the shared people once per repository.
    let summed: i64 = ["acme/one", "acme/two", "acme/three"].iter().map(|r| env.fake.expected_total(r, false)).sum();
    let once: i64 = account_months(&app, "acme", false).await.values().sum();
    assert!(once < summed, "{once} people, {summed} repository first-timers");

    // An old branch merged into "two" now: dev3's first contribution to the account moves to an
    // earlier month, found by the incremental refresh.
    let dev3 = Author::user(103, "dev3", "dev3@example.com");
    let fork = env.fake.head("acme/two").unwrap();
    let old = env.fake.commit_with_parents("acme/two", vec![fork.clone()], &dev3, "2018-03-03T00:00:00Z");
    let tip = env.fake.commit("acme/two", &Author::user(104, "dev4", "dev4@example.com"), &day(2000));
    let merge = env.fake.commit_with_parents("acme/two", vec![tip, old], &dev3, &day(2001));
    env.fake.set_head("acme/two", &merge);
    let before = account_months(&app, "acme", false).await;
    env.fake.clear_log();
    env.crawl_ok("acme", &[]).await;
    assert_eq!(env.fake.count("/repos/acme/two/compare/"), 1, "an incremental refresh");
    assert_eq!(env.fake.count("/repos/acme/two/commits"), 1, "no full crawl");
    let after = account_months(&app, "acme", false).await;
    assert_eq!(after.get("2018-03-01"), Some(&1), "dev3 is new to the account in March 2018 now");
    assert_eq!(after.values().sum::<i64>(), before.values().sum::<i64>(), "moved, not added");
    assert_account_exact(&app, &env.fake, "acme").await;

    // A repository deleted from the account stops counting; the months are corrected.
    env.fake.delete_repo("acme/three");
    env.crawl_ok("acme", &["--repo-cache-ttl-hours", "0"]).await;
    assert_account_exact(&app, &env.fake, "acme").await;
    app.stop().await;
}

#[tokio::test]
async fn a_transferred_repository_moves_its_people_to_the_new_account() {
    let env = CrawlEnv::new().await;
    shared_history(&env.fake);
    env.fake.add_org("elsewhere");
    env.fake.add_repo("elsewhere", "base");
    env.fake.commit("elsewhere/base", &Author::user(999, "far", "far@x"), &day(5));
    env.crawl_ok("acme", &[]).await;
    env.crawl_ok("elsewhere", &[]).await;
    // "one" moves to "elsewhere": gone from acme's listing, listed by elsewhere (same id).
    env.fake.transfer("acme/one", "elsewhere");
    env.crawl_ok("acme", &["--repo-cache-ttl-hours", "0"]).await;
    env.crawl_ok("elsewhere", &["--repo-cache-ttl-hours", "0"]).await;
    let app = service(&env).await;
    assert_account_exact(&app, &env.fake, "acme").await;
    assert_account_exact(&app, &env.fake, "elsewhere").await;
    app.stop().await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_account_never_lose_or_double_count_a_person() {
    let env = CrawlEnv::new().await;
    let postgres = env.test_db.is_postgres();
    env.fake.add_org("acme");
    // Twelve repositories, all written by the same fifteen people: every refresh moves the
    // same people's account months.
    for r in 0..12 {
        let full = format!("acme/r{r}");
        env.fake.add_repo("acme", &format!("r{r}"));
        for i in 0..40i64 {
            let p = (i * 7 + r) % 15;
            env.fake.commit(&full, &Author::user(p + 1, &format!("p{p}"), &format!("p{p}@x")), &day(i * 11 + r * 5));
        }
    }
    env.fake.set_latency(Duration::from_millis(10));
    let flags = |token| {
        [
            "--github-owners",
            "acme",
            "--github-api-url",
            env.fake.url.as_str(),
            "--crawl-concurrency",
            "4",
            "--github-token",
            token,
        ]
    };
    let one = spawn_app_on(TestDb::borrowed(&env.test_db), &flags("ghp_one")).await;
    // Several replicas share one PostgreSQL; SQLite has one process (whose four workers still
    // refresh the account's repositories at once).
    let two = match postgres {
        true => Some(spawn_app_on(TestDb::borrowed(&env.test_db), &flags("ghp_two")).await),
        false => None,
    };
    let response =
        one.graphql_as("mutation { refreshOwner(owner: \"acme\") { id } }", json!({}), Some(ADMIN_TOKEN)).await;
    let id = response["data"]["refreshOwner"]["id"].clone();
    let done = crate::jobs::wait_done(&one, &id, 60).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    if postgres {
        let (a, b) = (env.fake.count_with_token("ghp_one"), env.fake.count_with_token("ghp_two"));
        assert!(a > 0 && b > 0, "both replicas refreshed repositories of the account ({a} and {b} requests)");
    }
    assert_account_exact(&one, &env.fake, "acme").await;
    // The same numbers as one process computing them from scratch.
    let fresh = CrawlEnv::with_fake(env.fake.clone()).await;
    fresh.crawl_ok("acme", &["--crawl-concurrency", "1"]).await;
    let alone = service(&fresh).await;
    for bots in [false, true] {
        assert_eq!(account_months(&one, "acme", bots).await, account_months(&alone, "acme", bots).await);
    }
    alone.stop().await;
    one.stop().await;
    if let Some(two) = two {
        two.stop().await;
    }
    if !postgres {
        skip("concurrent_refreshes_of_one_account…: two replicas", "needs PostgreSQL (TEST_DATABASE_URL)");
    }
}

#[tokio::test]
async fn commits_without_email_count_by_name_and_older_data_is_corrected_at_the_next_refresh() {
    let env = CrawlEnv::new().await;
    env.fake.add_org("acme");
    env.fake.add_repo("acme", "names");
    let full = "acme/names";
    env.fake.commit(full, &Author::user(1, "known", "k@x"), "2020-01-05T00:00:00Z");
    env.fake.commit(full, &Author::name_only("Grace Hopper"), "2020-02-05T00:00:00Z");
    env.fake.commit(full, &Author::name_only("  grace hopper"), "2020-01-20T00:00:00Z");
    env.fake.commit(full, &Author::name_only(""), "2019-01-01T00:00:00Z");
    env.crawl_ok("acme", &[]).await;
    env.assert_exact(full).await;
    assert_eq!(env.monthly(full, false).await.get("2020-01-01"), Some(&2), "known and grace, in January");
    let keys: Vec<String> = env.firsts(full).await.into_iter().map(|f| f.0).collect();
    assert!(keys.iter().any(|k| k.starts_with("name:")) && keys.iter().all(|k| !k.contains("race")), "{keys:?}");

    // Data written by an earlier version (before this rule) misses Grace: it is computed again
    // from the whole history at the next refresh, although the head did not move.
    let db = &env.db;
    let grace = keys.iter().find(|k| k.starts_with("name:")).unwrap().clone();
    for sql in [
        format!(
            "DELETE FROM first_contributions WHERE contributor_id = (SELECT id FROM contributors WHERE identity_key = '{grace}')"
        ),
        "UPDATE repositories SET identity_version = 1".to_string(),
    ] {
        db.execute(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    }
    env.fake.clear_log();
    env.crawl_ok("acme", &[]).await;
    assert_eq!(env.fake.count("/commits"), 1, "the whole history (one page), not a 304");
    assert_eq!(env.fake.requests().iter().filter(|l| l.status == 304).count(), 0);
    env.assert_exact(full).await;
    assert_eq!(env.repo(full).await.identity_version, git_collector::domain::IDENTITY_RULES);
    // Now current: the next refresh is a 304 again.
    env.fake.clear_log();
    env.crawl_ok("acme", &[]).await;
    assert_eq!(
        env.fake.requests().iter().filter(|l| l.path.contains("/commits")).map(|l| l.status).collect::<Vec<_>>(),
        [304]
    );
}

#[tokio::test]
async fn with_one_token_exhausted_the_crawl_never_waits_and_with_one_revoked_it_finishes_on_the_other() {
    let env = CrawlEnv::new().await;
    env.fake.add_org("acme");
    for r in 0..4 {
        env.fake.add_repo("acme", &format!("r{r}"));
        for i in 0..150i64 {
            env.fake.commit(&format!("acme/r{r}"), &Author::user(i % 9, &format!("u{}", i % 9), "u@x"), &day(i));
        }
    }
    // The first token is out of budget for an hour.
    env.fake.set_token_budget("ghp_spent", 0, 3600);
    env.fake.set_token_budget("ghp_fresh", 4000, 3600);
    let started = std::time::Instant::now();
    let report = env.crawl_ok("acme", &["--github-token", "ghp_spent,ghp_fresh", "--github-max-retries", "1"]).await;
    assert!(started.elapsed() < Duration::from_secs(30), "no wait for the reset: {:?}", started.elapsed());
    for r in 0..4 {
        env.assert_exact(&format!("acme/r{r}")).await;
    }
    assert!(env.fake.count_with_token("ghp_spent") <= 1, "the spent token rests after its first 403");
    assert!(env.fake.count_with_token("ghp_fresh") >= 9);
    assert_eq!(report.totals.requests.retries(), 0);

    // One token revoked: taken out of the pool, the crawl finishes on the other.
    for r in 0..4 {
        env.fake.commit(&format!("acme/r{r}"), &Author::user(50, "late", "late@x"), &day(900));
    }
    env.fake.clear_log();
    env.fake.set_token_budget("ghp_spent", 4000, 3600);
    env.fake.revoke_token("ghp_fresh");
    env.crawl_ok("acme", &["--github-token", "ghp_fresh,ghp_spent", "--repo-cache-ttl-hours", "0"]).await;
    for r in 0..4 {
        env.assert_exact(&format!("acme/r{r}")).await;
    }
    let refused = env.fake.requests().iter().filter(|l| l.status == 401).count();
    // At most one 401 per request in flight when it was revoked (four workers).
    assert!((1..=4).contains(&refused), "the revoked token is dropped after its first 401s: {refused}");
}

#[tokio::test]
async fn metrics_show_each_tokens_budget_by_position_and_never_the_token() {
    let fake = FakeGitHub::start().await;
    fake.add_org("acme");
    fake.add_repo("acme", "m");
    fake.commit("acme/m", &Author::user(1, "a", "a@x"), &day(1));
    fake.set_token_budget("ghp_first_secret", 10, 3600);
    fake.set_token_budget("ghp_second_secret", 4000, 3600);
    let flags = ["--github-api-url", fake.url.as_str(), "--github-token", "ghp_first_secret,ghp_second_secret"];
    let app = spawn_app_on(TestDb::new().await, &flags).await;
    let response =
        app.graphql_as("mutation { refreshOwner(owner: \"acme\") { id } }", json!({}), Some(ADMIN_TOKEN)).await;
    crate::jobs::wait_done(&app, &response["data"]["refreshOwner"]["id"], 20).await;
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("git_collector_github_rate_limit_remaining{token=\"1\"}"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn an_unchanged_account_of_three_listing_pages_costs_only_304s() {
    let env = CrawlEnv::new().await;
    env.fake.add_org("big");
    for i in 0..230 {
        env.fake.add_repo("big", &format!("r{i:03}"));
    }
    env.fake.add_repo("big", "busy");
    env.fake.commit("big/busy", &Author::user(1, "a", "a@x"), &day(1));
    env.crawl_ok("big", &[]).await;
    assert_eq!(env.fake.count("/orgs/big/repos"), 3);
    env.fake.clear_log();
    env.crawl_ok("big", &["--repo-cache-ttl-hours", "0"]).await;
    let log = env.fake.requests();
    assert!(!log.is_empty());
    assert!(log.iter().all(|l| l.status == 304), "only 304s: {log:?}");
    assert_eq!(env.fake.count("/orgs/big/repos"), 3, "each listing page once");
    assert_eq!(env.fake.count("/commits"), 1, "the one repository with commits; the empty ones are not asked");

    // A push to an empty repository shows in the listing: it is asked again, and only it.
    env.fake.commit("big/r007", &Author::user(2, "b", "b@x"), &day(2));
    env.fake.clear_log();
    env.crawl_ok("big", &["--repo-cache-ttl-hours", "0"]).await;
    assert_eq!(env.fake.count("/repos/big/r007/commits"), 1);
    assert_eq!(env.fake.count("/commits"), 2, "r007, and busy's 304");
    env.assert_exact("big/r007").await;
}

#[tokio::test]
async fn conditional_requests_stay_on_the_token_that_got_the_etag() {
    let env = CrawlEnv::new().await;
    env.fake.add_org("acme");
    for r in 0..3 {
        env.fake.add_repo("acme", &format!("r{r}"));
        env.fake.commit(&format!("acme/r{r}"), &Author::user(1, "a", "a@x"), &day(r));
    }
    env.fake.set_token_budget("ghp_a", 4000, 3600);
    env.fake.set_token_budget("ghp_b", 100, 3600);
    let tokens = ["--github-token", "ghp_a,ghp_b"];
    env.crawl_ok("acme", &tokens).await;
    let first: std::collections::HashMap<String, Option<String>> =
        env.fake.requests().into_iter().map(|l| (l.path, l.authorization)).collect();
    // Now the other token has the most budget; the fake's ETags, like GitHub's, hold only for
    // the token that received them: the refresh must ask with that one to get its 304s.
    env.fake.set_token_budget("ghp_b", 4999, 3600);
    env.fake.set_token_budget("ghp_a", 10, 3600);
    env.fake.clear_log();
    env.crawl_ok("acme", &[tokens[0], tokens[1], "--repo-cache-ttl-hours", "0"]).await;
    let log = env.fake.requests();
    assert!(!log.is_empty());
    for l in &log {
        assert_eq!(l.status, 304, "{log:?}");
        assert_eq!(Some(&l.authorization), first.get(&l.path), "{} asked with the token of its ETag", l.path);
    }
}

#[tokio::test]
async fn account_months_page_both_ways_in_both_orders_within_a_range() {
    let env = CrawlEnv::new().await;
    shared_history(&env.fake);
    env.crawl_ok("acme", &[]).await;
    let app = service(&env).await;
    let all = env.fake.expected_account_monthly("acme", false);
    let (from, to) = ("2019-03-01", "2020-06-30");
    let in_range: Vec<(String, i64)> =
        all.iter().filter(|(m, _)| m.as_str() >= from && m.as_str() <= to).map(|(m, n)| (m.clone(), *n)).collect();
    assert!(in_range.len() >= 4 && in_range.len() < all.len(), "the range cuts the list: {in_range:?}");
    const PAGE: &str = r#"
    query($from: Date, $to: Date, $order: MonthlyOrder, $first: Int, $after: String, $last: Int, $before: String) {
      accountMonthlyFirstContributors(owner: "acme", from: $from, to: $to, orderBy: $order,
          first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        nodes { month newContributors }
      }
    }"#;
    for order in ["MONTH_ASC", "MONTH_DESC"] {
        let mut expected = in_range.clone();
        if order == "MONTH_DESC" {
            expected.reverse();
        }
        // Forwards, three a page.
        let (mut seen, mut after) = (Vec::new(), Value::Null);
        loop {
            let vars = json!({"from": from, "to": to, "order": order, "first": 3, "after": after});
            let c = app.data(PAGE, vars).await["accountMonthlyFirstContributors"].clone();
            assert_eq!(c["totalCount"].as_i64().unwrap(), expected.len() as i64, "{order}");
            for n in c["nodes"].as_array().unwrap() {
                seen.push((n["month"].as_str().unwrap().to_string(), n["newContributors"].as_i64().unwrap()));
            }
            if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = c["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, expected, "forwards, {order}");
        // Backwards from the end, two a page.
        let (mut back, mut before) = (Vec::new(), Value::Null);
        loop {
            let vars = json!({"from": from, "to": to, "order": order, "last": 2, "before": before});
            let c = app.data(PAGE, vars).await["accountMonthlyFirstContributors"].clone();
            let mut page: Vec<(String, i64)> = c["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| (n["month"].as_str().unwrap().to_string(), n["newContributors"].as_i64().unwrap()))
                .collect();
            page.append(&mut back);
            back = page;
            if !c["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
                break;
            }
            before = c["pageInfo"]["startCursor"].clone();
        }
        assert_eq!(back, expected, "backwards, {order}");
    }
    app.stop().await;
}
