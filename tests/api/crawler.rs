//! The crawler against a fake GitHub over HTTP: exact counts, resilience, frugality.
use chrono::{Duration, TimeZone, Utc};
use entity::enums::RefreshOutcome;
use git_collector::crawler::RepoOutcome;

use crate::crawl_helpers::CrawlEnv;
use crate::fake_github::{Author, FakeGitHub, Fault};

/// The date `days` days after 2016-01-01, in RFC 3339 with a non-UTC offset now and then.
fn day(days: i64) -> String {
    let at =
        Utc.with_ymd_and_hms(2016, 1, 1, 12, 0, 0).unwrap() + Duration::days(days) + Duration::minutes(days * 7 % 600);
    if days % 3 == 0 {
        at.with_timezone(&chrono::FixedOffset::west_opt(5 * 3600).unwrap()).to_rfc3339()
    } else {
        at.to_rfc3339()
    }
}

/// A varied author for commit `i`: linked accounts, emails only, `{}`, noreply emails, a bot.
fn author(i: usize, people: usize) -> Author {
    let p = i % people;
    match p % 6 {
        0 | 1 => Author::user(100 + p as i64, &format!("user{p}"), &format!("user{p}@example.com")),
        2 => Author::email_only(&format!("Person{p}@Example.org")),
        3 => Author::empty_account(&format!("{}+someone{p}@users.noreply.github.com", 100 + p)),
        4 => Author::empty_account(&format!("person{p}@example.net")),
        _ => Author::bot(900 + p as i64, &format!("helper{p}[bot]")),
    }
}

/// `n` linear commits on the default branch, spread over months.
fn grow(fake: &FakeGitHub, full: &str, n: usize, people: usize, from_day: i64) {
    for i in 0..n {
        fake.commit(full, &author(i * 7 + i / 3, people), &day(from_day + i as i64 * 3));
    }
}

fn org_with_repo(fake: &FakeGitHub, org: &str, name: &str) -> String {
    fake.add_org(org);
    fake.add_repo(org, name);
    format!("{org}/{name}")
}

#[tokio::test]
async fn pages_through_history_and_counts_exactly() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "rocket");
    grow(&env.fake, &full, 250, 40, 0);
    let report = env.crawl_ok("acme", &[]).await;
    assert!(matches!(report.repos[0].result, Ok(RepoOutcome::Updated { commits: 250, full: true, .. })), "{report:?}");
    env.assert_exact(&full).await;
    // 250 commits are three pages of 100; plus one listing page.
    assert_eq!(env.fake.count("/repos/acme/rocket/commits"), 3);
    assert_eq!(env.fake.count("/orgs/acme/repos"), 1);
    assert_eq!(report.totals.requests.requests(), 4);
    assert_eq!(env.total_commit_count(&full).await, 250);
}

#[tokio::test]
async fn identity_rules_merges_bots_and_renames() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "ids");
    let f = &env.fake;
    // One person, two emails, one account, renamed between commits.
    f.commit(&full, &Author::user(1, "old-name", "jane@work.example"), "2020-01-10T00:00:00Z");
    f.commit(&full, &Author::user(1, "new-name", "jane@home.example"), "2020-03-10T00:00:00Z");
    // The same account id through a noreply email with `author: null`: still one person.
    f.commit(&full, &Author::email_only("1+new-name@users.noreply.github.com"), "2020-04-01T00:00:00Z");
    // Emails only: case and spaces do not make two people.
    f.commit(&full, &Author::email_only(" Bob@Example.com"), "2020-02-01T00:00:00Z");
    f.commit(&full, &Author::empty_account("bob@example.com"), "2020-05-01T00:00:00Z");
    // A bot.
    f.commit(&full, &Author::bot(99, "dependabot[bot]"), "2020-02-15T00:00:00Z");
    // A merge commit by a new person does not count.
    let head = f.head(&full).unwrap();
    let side = f.commit_with_parents(
        &full,
        vec![head.clone()],
        &Author::user(2, "carol", "carol@x.example"),
        "2020-06-01T00:00:00Z",
    );
    let merge = f.commit_with_parents(
        &full,
        vec![head, side],
        &Author::user(3, "merger", "m@x.example"),
        "2020-06-02T00:00:00Z",
    );
    f.set_head(&full, &merge);

    env.crawl_ok("acme", &[]).await;
    env.assert_exact(&full).await;
    let monthly = env.monthly(&full, false).await;
    let expected: std::collections::BTreeMap<String, i64> = [("2020-01-01", 1), ("2020-02-01", 1), ("2020-06-01", 1)]
        .into_iter()
        .map(|(m, n)| (m.to_string(), n))
        .collect();
    assert_eq!(monthly, expected, "jane in January, bob in February, carol in June; no merger, no bot");
    assert_eq!(env.monthly(&full, true).await.get("2020-02-01"), Some(&2), "the bot counts with includeBots");

    let firsts = env.firsts(&full).await;
    let jane = firsts.iter().find(|f| f.0 == "gh:1").unwrap();
    assert_eq!(jane.1.as_deref(), Some("new-name"), "the newest login is kept");
    assert_eq!(jane.3, 3, "three commits by jane");
    assert!(firsts.iter().all(|f| !f.0.contains('@')), "no raw email is stored");
    assert!(!firsts.iter().any(|f| f.0 == "gh:3"), "the merge commit's author is not a contributor");
}

#[tokio::test]
async fn statistics_answer_202_then_200() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "stats");
    env.fake.commit(&full, &Author::user(1, "a", "a@x"), "2019-05-01T00:00:00Z");
    env.fake.commit(&full, &Author::user(2, "b", "b@x"), "2019-07-20T00:00:00Z");
    env.fake.set_stats_pending(&full, 2);
    let report = env.crawl_ok("acme", &["--github-source", "stats"]).await;
    assert_eq!(env.fake.count("/stats/contributors"), 3, "two 202s, then the data");
    assert_eq!(report.totals.requests.retries(), 2);
    // Week precision: 2019-05-01 is a Wednesday, its week starts Sunday 2019-04-28.
    let monthly = env.monthly(&full, false).await;
    assert_eq!(monthly.get("2019-04-01"), Some(&1));
    assert_eq!(monthly.get("2019-07-01"), Some(&1));
}

#[tokio::test]
async fn statistics_still_computing_after_every_retry_fails_the_repository() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "slow");
    env.fake.commit(&full, &Author::user(1, "a", "a@x"), "2019-05-01T00:00:00Z");
    env.fake.set_stats_pending(&full, 10);
    let report = env.crawl("acme", &["--github-source", "stats", "--github-max-retries", "3"]).await;
    let failure = report.failures().join("; ");
    assert!(failure.contains("acme/slow") && failure.contains("202"), "{failure}");
    assert_eq!(env.fake.count("/stats/contributors"), 4);
}

#[tokio::test]
async fn primary_rate_limit_waits_for_the_reset_and_completes() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "limited");
    grow(&env.fake, &full, 120, 10, 0);
    env.fake.fail("/commits", Fault::PrimaryLimit { reset_in_secs: 1 }, 1);
    let report = env.crawl_ok("acme", &[]).await;
    env.assert_exact(&full).await;
    assert_eq!(report.totals.requests.rate_limit_waits(), 1);
    let log = env.fake.requests();
    let limited = log.iter().position(|l| l.status == 403).unwrap();
    let next = &log[limited + 1];
    assert!(next.at >= log[limited].at, "the retry came after the limit");
    assert_eq!(report.totals.requests.retries(), 0, "a rate-limit wait spends no retry");
}

#[tokio::test]
async fn secondary_rate_limit_with_and_without_retry_after() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "secondary");
    grow(&env.fake, &full, 30, 5, 0);
    env.fake.fail("/commits", Fault::SecondaryLimit { retry_after: Some(0) }, 1);
    env.fake.fail("/commits", Fault::SecondaryLimit { retry_after: None }, 1);
    let report = env.crawl_ok("acme", &[]).await;
    env.assert_exact(&full).await;
    assert_eq!(report.totals.requests.rate_limit_waits(), 2);
    assert_eq!(env.fake.count("/commits"), 3);
}

#[tokio::test]
async fn server_errors_and_broken_bodies_are_retried() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "flaky");
    grow(&env.fake, &full, 150, 12, 0);
    env.fake.fail("/orgs/acme/repos", Fault::Status(502), 1);
    env.fake.fail("page=2", Fault::Status(500), 1);
    env.fake.fail("page=2", Fault::Truncated, 1);
    env.fake.fail("page=2", Fault::Garbage, 1);
    env.fake.fail("page=2", Fault::Status(403), 1);
    let report = env.crawl_ok("acme", &[]).await;
    env.assert_exact(&full).await;
    assert_eq!(report.totals.requests.retries(), 5);
    assert_eq!(env.total_commit_count(&full).await, 150, "retried pages are not counted twice");
}

#[tokio::test]
async fn timeouts_are_retried() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "slowpoke");
    grow(&env.fake, &full, 10, 3, 0);
    env.fake.fail("/commits", Fault::Delay(std::time::Duration::from_millis(800)), 1);
    let report = env.crawl_ok("acme", &["--github-timeout-ms", "200"]).await;
    env.assert_exact(&full).await;
    assert_eq!(report.totals.requests.retries(), 1);
}

#[tokio::test]
async fn running_out_of_retries_fails_only_that_repository_and_keeps_the_previous_state() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "broken");
    env.fake.add_repo("acme", "fine");
    grow(&env.fake, &full, 120, 10, 0);
    grow(&env.fake, "acme/fine", 20, 4, 0);
    env.crawl_ok("acme", &[]).await;
    let before = env.firsts(&full).await;

    // New commits arrive, but GitHub fails every request of the comparison.
    grow(&env.fake, &full, 30, 25, 400);
    grow(&env.fake, "acme/fine", 5, 9, 400);
    env.fake.fail("/repos/acme/broken/compare", Fault::Status(502), 3);
    let report = env.crawl("acme", &["--github-max-retries", "2", "--repo-cache-ttl-hours", "0"]).await;
    let failure = report.failures().join("; ");
    assert!(failure.contains("acme/broken") && failure.contains("502"), "{failure}");
    assert_eq!(env.firsts(&full).await, before, "the failed repository kept its previous state");
    assert_eq!(env.repo(&full).await.last_outcome, Some(RefreshOutcome::Failed));
    env.assert_exact("acme/fine").await;

    // The next refresh redoes it, exactly, with nothing counted twice.
    env.crawl_ok("acme", &[]).await;
    env.assert_exact(&full).await;
    assert_eq!(env.total_commit_count(&full).await, 150);
}

#[tokio::test]
async fn a_failure_in_the_middle_of_a_first_crawl_writes_nothing() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "midway");
    grow(&env.fake, &full, 350, 30, 0);
    env.fake.fail("page=3", Fault::Status(500), 2);
    let report = env.crawl("acme", &["--github-max-retries", "1"]).await;
    assert!(!report.failures().is_empty());
    assert!(env.firsts(&full).await.is_empty(), "no partial history");
    assert!(env.monthly(&full, true).await.is_empty());
    env.crawl_ok("acme", &[]).await;
    env.assert_exact(&full).await;
    assert_eq!(env.total_commit_count(&full).await, 350);
}

#[tokio::test]
async fn a_missing_repository_ends_only_that_repository() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "here");
    env.fake.add_repo("acme", "vanishing");
    grow(&env.fake, &full, 10, 3, 0);
    grow(&env.fake, "acme/vanishing", 10, 3, 0);
    env.crawl_ok("acme", &[]).await;
    let history = env.firsts("acme/vanishing").await;
    assert!(!history.is_empty());

    // Listed (cached listing) but answering 404 now.
    env.fake.set_status("acme/vanishing", Some(404));
    let report = env.crawl_ok("acme", &[]).await;
    let outcome = &report.repos.iter().find(|r| r.repo.to_string() == "acme/vanishing").unwrap().result;
    assert!(matches!(outcome, Ok(RepoOutcome::Gone(why)) if why.to_string().contains("404")), "{outcome:?}");
    let repo = env.repo("acme/vanishing").await;
    assert!(repo.is_gone);
    assert!(repo.last_error.unwrap().contains("404"));
    assert_eq!(env.firsts("acme/vanishing").await, history, "history kept");
}

#[tokio::test]
async fn a_repository_gone_from_the_listing_is_flagged_and_keeps_its_history() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "old");
    grow(&env.fake, &full, 10, 3, 0);
    env.crawl_ok("acme", &[]).await;
    env.fake.delete_repo(&full);
    env.fake.add_repo("acme", "new");
    grow(&env.fake, "acme/new", 5, 2, 0);
    env.crawl_ok("acme", &["--repo-cache-ttl-hours", "0"]).await;
    assert!(env.repo(&full).await.is_gone);
    assert!(!env.monthly(&full, false).await.is_empty(), "history kept");
    env.assert_exact("acme/new").await;
}

#[tokio::test]
async fn an_empty_repository_has_no_contributors_and_is_no_error() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "empty");
    let report = env.crawl_ok("acme", &[]).await;
    assert!(matches!(report.repos[0].result, Ok(RepoOutcome::Empty)), "{report:?}");
    assert!(env.monthly(&full, true).await.is_empty());
    assert_eq!(env.repo(&full).await.last_outcome, Some(RefreshOutcome::Empty));
    // Not asked again while the listing shows no push since.
    env.fake.clear_log();
    env.crawl_ok("acme", &["--repo-cache-ttl-hours", "0"]).await;
    assert_eq!(env.fake.count("/commits"), 0, "an empty repository is not asked again");
    // First commits arrive later: the listing shows the push, and the repository is read.
    env.fake.commit(&full, &Author::user(5, "first", "f@x"), "2021-01-01T00:00:00Z");
    env.crawl_ok("acme", &["--repo-cache-ttl-hours", "0"]).await;
    env.assert_exact(&full).await;
}

#[tokio::test]
async fn incremental_refresh_counts_old_dated_commits_of_a_merged_branch() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "merges");
    grow(&env.fake, &full, 60, 8, 1000);
    let fork_point = env.fake.head(&full).unwrap();
    env.crawl_ok("acme", &[]).await;
    env.assert_exact(&full).await;

    // A long-lived branch with commits dated *before* the first crawl (and before most of
    // main's history), by people who never committed to main, merged now with a merge commit.
    let mut tip = fork_point.clone();
    for (i, who) in ["ann", "ben", "cat"].iter().enumerate() {
        let a = Author::user(500 + i as i64, who, &format!("{who}@old.example"));
        tip = env.fake.commit_with_parents(&full, vec![tip], &a, &day(10 + i as i64 * 40));
    }
    let main_tip = env.fake.commit(&full, &Author::user(100, "user0", "user0@example.com"), &day(2000));
    let merge = env.fake.commit_with_parents(&full, vec![main_tip, tip], &Author::user(100, "user0", "x"), &day(2001));
    env.fake.set_head(&full, &merge);
    env.fake.clear_log();

    let report = env.crawl_ok("acme", &[]).await;
    assert!(
        matches!(report.repos[0].result, Ok(RepoOutcome::Updated { full: false, commits: 4, new_contributors: 3 })),
        "{report:?}"
    );
    env.assert_exact(&full).await;
    // One first page (changed) and one comparison page: no full re-crawl.
    assert_eq!(env.fake.count("/commits"), 1);
    assert_eq!(env.fake.count("/compare/"), 1);
    assert_eq!(env.total_commit_count(&full).await, 64);
}

#[tokio::test]
async fn incremental_refresh_pages_through_a_long_comparison() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "longcompare");
    grow(&env.fake, &full, 10, 3, 0);
    env.crawl_ok("acme", &[]).await;
    grow(&env.fake, &full, 230, 50, 100);
    env.fake.clear_log();
    env.crawl_ok("acme", &[]).await;
    env.assert_exact(&full).await;
    assert_eq!(env.fake.count("/compare/"), 3);
    assert_eq!(env.total_commit_count(&full).await, 240);
}

#[tokio::test]
async fn a_force_push_triggers_a_full_crawl() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "rewritten");
    let base = env.fake.commit(&full, &Author::user(1, "a", "a@x"), &day(0));
    env.fake.commit(&full, &Author::user(2, "b", "b@x"), &day(40));
    env.fake.commit(&full, &Author::user(3, "c", "c@x"), &day(80));
    env.crawl_ok("acme", &[]).await;
    env.assert_exact(&full).await;

    // History rewritten: b's and c's commits are gone, d's commit replaces them.
    env.fake.set_head(&full, &base);
    env.fake.commit(&full, &Author::user(4, "d", "d@x"), &day(90));
    let report = env.crawl_ok("acme", &[]).await;
    assert!(matches!(report.repos[0].result, Ok(RepoOutcome::Updated { full: true, .. })), "{report:?}");
    env.assert_exact(&full).await;
    let ids: Vec<String> = env.firsts(&full).await.into_iter().map(|f| f.0).collect();
    assert_eq!(ids, vec!["gh:1", "gh:4"]);
}

#[tokio::test]
async fn an_unchanged_repository_costs_one_304_and_writes_nothing() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "still");
    grow(&env.fake, &full, 150, 20, 0);
    env.crawl_ok("acme", &[]).await;
    let firsts = env.firsts(&full).await;
    let monthly = env.monthly(&full, true).await;
    let repo = env.repo(&full).await;
    env.fake.clear_log();

    let report = env.crawl_ok("acme", &[]).await;
    assert!(matches!(report.repos[0].result, Ok(RepoOutcome::Unchanged)), "{report:?}");
    let log = env.fake.requests();
    assert_eq!(log.len(), 1, "one request: {log:?}");
    assert_eq!(log[0].status, 304);
    assert_eq!(report.totals.requests.not_modified(), 1);
    assert_eq!(env.firsts(&full).await, firsts);
    assert_eq!(env.monthly(&full, true).await, monthly);
    assert_eq!(env.repo(&full).await.head_sha, repo.head_sha);

    // Same for a single-repository refresh.
    env.fake.clear_log();
    env.crawl_ok(&full, &[]).await;
    assert_eq!(env.fake.requests().len(), 1);
    assert_eq!(env.fake.requests()[0].status, 304);
}

#[tokio::test]
async fn user_accounts_are_listed_under_users() {
    let env = CrawlEnv::new().await;
    env.fake.add_user("solo");
    env.fake.add_repo("solo", "dotfiles");
    grow(&env.fake, "solo/dotfiles", 12, 4, 0);
    env.crawl_ok("solo", &[]).await;
    env.assert_exact("solo/dotfiles").await;
    // Known as a user now: the next listing goes straight to /users.
    env.fake.clear_log();
    env.crawl_ok("solo", &["--repo-cache-ttl-hours", "0"]).await;
    assert_eq!(env.fake.count("/orgs/"), 0);
    assert_eq!(env.fake.count("/users/solo/repos"), 1);
}

#[tokio::test]
async fn an_unknown_account_fails_the_refresh_with_a_clear_reason() {
    let env = CrawlEnv::new().await;
    let report = env.crawl("nobody-here", &[]).await;
    let err = report.failures().join("; ");
    assert!(err.contains("nobody-here") && err.contains("404"), "{err}");
}

#[tokio::test]
async fn listing_follows_every_page_and_the_cache_ttl() {
    let env = CrawlEnv::new().await;
    env.fake.add_org("big");
    for i in 0..230 {
        env.fake.add_repo("big", &format!("r{i:03}"));
    }
    let report = env.crawl_ok("big", &[]).await;
    assert_eq!(report.repos.len(), 230);
    assert!(report.repos.iter().all(|r| matches!(r.result, Ok(RepoOutcome::Empty))));
    assert_eq!(env.fake.count("/orgs/big/repos"), 3);
    // Within the TTL the list is reused; a repository created meanwhile waits for the next listing.
    env.fake.add_repo("big", "newcomer");
    env.crawl_ok("big", &[]).await;
    assert_eq!(env.fake.count("/orgs/big/repos"), 3);
    let report = env.crawl_ok("big", &["--repo-cache-ttl-hours", "0"]).await;
    // The 230 repositories found empty are not asked again; the newcomer is.
    assert_eq!(report.repos.len(), 1);
    assert_eq!(report.repos[0].repo.to_string(), "big/newcomer");
    assert_eq!(report.jobs[0].repos_total, Some(231));
    assert_eq!(report.jobs[0].repos_done, Some(231));
}

#[tokio::test]
async fn a_single_repository_of_any_account_can_be_refreshed_and_is_tracked() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "elsewhere", "lib");
    grow(&env.fake, &full, 15, 5, 0);
    env.crawl_ok("elsewhere/lib", &[]).await;
    env.assert_exact(&full).await;
    assert!(env.repo(&full).await.is_tracked);
    assert_eq!(env.fake.count("/orgs/"), 0, "no account listing for one repository");
    // A repository that does not exist is an error naming it.
    let report = env.crawl("elsewhere/nope", &[]).await;
    let err = report.failures().join("; ");
    assert!(err.contains("elsewhere/nope") && err.contains("404"), "{err}");
}

#[tokio::test]
async fn the_token_goes_to_github_and_nowhere_else() {
    let env = CrawlEnv::new().await;
    let full = org_with_repo(&env.fake, "acme", "auth");
    grow(&env.fake, &full, 250, 20, 0);
    for i in 0..150 {
        env.fake.add_repo("acme", &format!("more{i}"));
    }
    // Links that point at another host are never followed: pages are asked of the configured
    // API by number, so neither the token nor any request goes elsewhere.
    let elsewhere = FakeGitHub::start().await;
    env.fake.set_link_base(&elsewhere.url);
    env.crawl_ok("acme", &["--github-token", "ghp_secret_value"]).await;
    env.assert_exact(&full).await;
    assert_eq!(env.fake.count("/orgs/acme/repos"), 2, "both listing pages came from the API");
    assert_eq!(env.fake.count("/repos/acme/auth/commits"), 3, "every commit page came from the API");
    assert!(elsewhere.requests().is_empty(), "nothing was sent elsewhere: {:?}", elsewhere.requests());
    let log = env.fake.requests();
    assert!(log.iter().all(|l| l.authorization.as_deref() == Some("Bearer ghp_secret_value")));
}

#[tokio::test]
async fn concurrency_crawls_every_repository_once() {
    let env = CrawlEnv::new().await;
    env.fake.add_org("many");
    for i in 0..12 {
        let full = format!("many/r{i}");
        env.fake.add_repo("many", &format!("r{i}"));
        grow(&env.fake, &full, 30 + i, 6, i as i64);
    }
    env.fake.set_latency(std::time::Duration::from_millis(5));
    env.crawl_ok("many", &["--crawl-concurrency", "4"]).await;
    for i in 0..12 {
        env.assert_exact(&format!("many/r{i}")).await;
        assert_eq!(env.fake.count(&format!("/repos/many/r{i}/commits")), 1);
    }
}
