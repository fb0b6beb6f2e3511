//! GH Archive: hour files served by a fake archive, imported by the real service, the numbers of
//! docs/rules.md §7 checked against ones computed independently from the same events.
use std::time::Duration;

use chrono::NaiveDate;
use entity::refresh_job;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};

use crate::fake_archive::{day, file_name, Archive, Ev, FakeArchive, FileFault, Kind, Line};
use crate::helpers::{eventually, skip, spawn_app_on, TestApp, TestDb, ADMIN_TOKEN};
use crate::jobs::wait_done;

const IMPORT: &str =
    "mutation($from: Date!, $to: Date) { importArchive(from: $from, to: $to) { id kind owner repo status } }";

fn push(
    id: u64,
    actor: (u64, &str),
    repo: (u64, &str),
    at: &str,
    size: Option<u64>,
    distinct: Option<u64>,
    commits: Option<Vec<bool>>,
) -> Ev {
    Ev::new(id, Kind::Push { size, distinct_size: distinct, commits }, actor, repo, at)
}

/// Every rule of §7 in three days of two eras.
pub(crate) fn dataset() -> Archive {
    let mut a = Archive::default();
    let (d1, d2, d3) = (day("2024-05-01"), day("2024-05-02"), day("2025-11-03"));
    let ann = (1, "ann");
    let ben = (2, "ben");
    let cat = (3, "cat");
    let dan = (4, "dan");
    let bot = (9, "ci[bot]");
    // Hour 0: the three ways to count a push's commits, a duplicate, broken lines.
    a.event(
        d1,
        0,
        push(100, ann, (10, "ann/tool"), "2024-05-01T00:01:00Z", Some(5), Some(3), Some(vec![true, true, false])),
    );
    a.event(d1, 0, push(101, ben, (11, "ben/lib"), "2024-05-01T00:02:00Z", Some(2), None, Some(vec![true, false])));
    a.event(d1, 0, push(102, cat, (12, "org/big"), "2024-05-01T00:03:00Z", None, None, Some(vec![true, false, true])));
    a.event(d1, 0, push(100, ann, (10, "ann/tool"), "2024-05-01T00:01:00Z", Some(5), Some(3), None)); // the same id again
    a.add(d1, 0, Line::Raw("<html>502 Bad Gateway</html>".into()));
    let spliced = format!(
        "{}{}",
        push(103, dan, (13, "dan/x"), "2024-05-01T00:04:00Z", Some(1), None, None).json(),
        push(104, dan, (13, "dan/x"), "2024-05-01T00:04:00Z", Some(1), None, None).json()
    );
    a.add(d1, 0, Line::Raw(spliced));
    // NUL padding around an intact event: the event counts.
    a.add(d1, 0, Line::Padded(push(105, dan, (13, "dan/x"), "2024-05-01T00:05:00Z", Some(1), None, None)));
    // An event whose actor has no id (2015–2016 had such): not an event.
    a.add(d1, 0, Line::Raw(r#"{"id":"106","type":"WatchEvent","actor":{},"repo":{"id":13,"name":"dan/x"},"payload":{},"public":true,"created_at":"2024-05-01T00:06:00Z"}"#.into()));
    a.event(d1, 0, Ev::new(107, Kind::Other("PullRequestEvent"), dan, (14, "dan/y"), "2024-05-01T00:07:00Z"));
    a.event(d1, 0, push(108, bot, (12, "org/big"), "2024-05-01T00:08:00Z", Some(7), Some(7), None));
    // A truncated last line.
    let cut = push(109, cat, (11, "ben/lib"), "2024-05-01T00:09:00Z", Some(1), None, None).json();
    a.add(d1, 0, Line::Raw(cut[..cut.len() / 2].to_string()));
    // Hour 1: members added and removed, pull requests.
    a.event(
        d1,
        1,
        Ev::new(
            110,
            Kind::Member { action: "added", member: Some((2, "ben")) },
            cat,
            (12, "org/big"),
            "2024-05-01T01:00:00Z",
        ),
    );
    a.event(
        d1,
        1,
        Ev::new(
            111,
            Kind::Member { action: "removed", member: Some((4, "dan")) },
            cat,
            (12, "org/big"),
            "2024-05-01T01:01:00Z",
        ),
    );
    a.event(
        d1,
        1,
        Ev::new(
            112,
            Kind::Member { action: "added", member: Some((77, "helper[bot]")) },
            cat,
            (12, "org/big"),
            "2024-05-01T01:02:00Z",
        ),
    );
    // A person added by a bot: a member only with bots (docs/rules.md §7.1).
    a.event(
        d1,
        1,
        Ev::new(
            130,
            Kind::Member { action: "added", member: Some((5, "eve")) },
            bot,
            (11, "ben/lib"),
            "2024-05-01T01:02:30Z",
        ),
    );
    a.event(d1, 1, Ev::new(113, Kind::Other("IssueCommentEvent"), ben, (10, "ann/tool"), "2024-05-01T01:03:00Z"));
    a.event(d1, 1, push(114, dan, (14, "dan/y"), "2024-05-01T01:04:00Z", Some(2), Some(2), None));
    // Hour 3 (served after a cut connection): more of the same.
    a.event(d1, 3, push(115, ann, (10, "ann/tool"), "2024-05-01T03:00:00Z", Some(1), Some(1), None));
    a.event(d1, 3, push(116, ben, (12, "org/big"), "2024-05-01T03:01:00Z", Some(0), Some(0), Some(vec![])));
    // Hour 5: ann renamed, her repository with her; an event of the same second in a later file
    // wins over one of an earlier file (hour 3 carries a late event of 05:00:00).
    a.event(d1, 5, push(117, (1, "ann-new"), (10, "ann-new/tool"), "2024-05-01T05:00:00Z", Some(1), None, None));
    a.event(d1, 3, Ev::new(118, Kind::Other("WatchEvent"), (1, "ann-late-file"), (15, "x/y"), "2024-05-01T05:00:00Z"));
    // Day 2: ann-new owns two repositories now.
    a.event(d2, 0, push(120, (1, "ann-new"), (16, "ann-new/second"), "2024-05-02T00:00:00Z", Some(4), Some(4), None));
    a.event(d2, 0, push(121, ben, (12, "org/big"), "2024-05-02T00:01:00Z", Some(1), None, None));
    a.event(d2, 0, push(122, dan, (13, "dan/x"), "2024-05-02T00:02:00Z", None, None, Some(vec![true, true])));
    // After October 2025: pushes without any count add nothing to commits.
    let d3h = 12;
    a.event(d3, d3h, push(130, ann, (10, "ann/tool"), "2025-11-03T12:00:00Z", None, None, None));
    a.event(d3, d3h, push(131, ann, (10, "ann/tool"), "2025-11-03T12:01:00Z", None, None, None));
    a.event(d3, d3h, push(132, ben, (11, "ben/lib"), "2025-11-03T12:02:00Z", Some(2), None, None));
    a.event(d3, d3h, push(133, cat, (12, "org/big"), "2025-11-03T12:03:00Z", None, None, Some(vec![])));
    a.event(d3, d3h, push(134, bot, (12, "org/big"), "2025-11-03T12:04:00Z", None, None, None));
    a
}

pub(crate) async fn service(archive: &FakeArchive, db: TestDb, extra: &[&str]) -> TestApp {
    let mut flags =
        vec!["--archive-url", archive.url.as_str(), "--archive-retry-delay-ms", "5", "--archive-tries", "3"];
    flags.extend_from_slice(extra);
    spawn_app_on(db, &flags).await
}

pub(crate) async fn import(app: &TestApp, from: &str, to: &str) -> Value {
    let response = app.graphql_as(IMPORT, json!({"from": from, "to": to}), Some(ADMIN_TOKEN)).await;
    let job = response["data"]["importArchive"].clone();
    assert_eq!(job["kind"], "ARCHIVE", "{response}");
    wait_done(app, &job["id"], 60).await
}

pub(crate) const ACTIVITY: &str =
    "query($from: Date!, $to: Date!, $bots: Boolean) { archiveActivity(from: $from, to: $to, includeBots: $bots) { \
    day hoursImported hoursMissing events activeDevelopers developersWithoutCommits developersWithOneCommit \
    developersWithMoreThanOneCommit pushes commits pushesWithoutCommitCount } }";

async fn assert_activity(app: &TestApp, data: &Archive, from: NaiveDate, to: NaiveDate) {
    for bots in [false, true] {
        let got = app.data(ACTIVITY, json!({"from": from.to_string(), "to": to.to_string(), "bots": bots})).await;
        let days = got["archiveActivity"].as_array().unwrap();
        let expected_days: Vec<NaiveDate> = data
            .hours
            .keys()
            .map(|(d, _)| *d)
            .filter(|d| *d >= from && *d <= to)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(days.len(), expected_days.len(), "{got}");
        for (row, d) in days.iter().zip(expected_days) {
            assert_eq!(row["day"], d.to_string());
            let e = data.expected_day(d, bots);
            let g: Vec<i64> = [
                "events",
                "activeDevelopers",
                "developersWithoutCommits",
                "developersWithOneCommit",
                "developersWithMoreThanOneCommit",
                "pushes",
                "commits",
                "pushesWithoutCommitCount",
            ]
            .iter()
            .map(|k| row[*k].as_i64().unwrap())
            .collect();
            assert_eq!(g, e.to_vec(), "{d} (bots: {bots}): {row}");
            let files = data.hours.keys().filter(|(x, _)| *x == d).count() as i64;
            assert_eq!(row["hoursImported"], files);
            assert_eq!(row["hoursMissing"], 24 - files);
        }
    }
}

const DEVELOPERS: &str = "query($from: Date!, $to: Date!, $bots: Boolean, $min: Int, $above: Float, $below: Float, \
    $order: ArchiveDeveloperOrder, $first: Int, $after: String) { archiveDevelopers(from: $from, to: $to, includeBots: $bots, \
    minRepositoriesOwned: $min, commitsPerDayAbove: $above, commitsPerDayBelow: $below, orderBy: $order, first: $first, after: $after) { \
    totalCount pageInfo { hasNextPage endCursor } nodes { actorId login isBot activeDays pushes commits commitsPerDay repositoriesOwned } } }";

/// Every page of a developers query, two a page.
async fn all_developers(app: &TestApp, vars: Value) -> (Vec<Value>, i64) {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut v = vars.clone();
        v["first"] = json!(2);
        v["after"] = after;
        let data = app.data(DEVELOPERS, v).await;
        let c = &data["archiveDevelopers"];
        out.extend(c["nodes"].as_array().unwrap().iter().cloned());
        if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (out, c["totalCount"].as_i64().unwrap());
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
}

async fn assert_developers(app: &TestApp, data: &Archive, from: NaiveDate, to: NaiveDate) {
    let days = (to - from).num_days() + 1;
    for bots in [false, true] {
        let expected = data.expected_developers(from, to, bots);
        let base = json!({"from": from.to_string(), "to": to.to_string(), "bots": bots});
        // Default order: commits, most first; ties by id.
        let (nodes, total) = all_developers(app, base.clone()).await;
        let mut want: Vec<_> = expected.iter().collect();
        want.sort_by_key(|(id, e)| (std::cmp::Reverse(e.commits), **id));
        assert_eq!(total, want.len() as i64);
        let got: Vec<(u64, String, i64, i64, i64, i64)> = nodes
            .iter()
            .map(|n| {
                (
                    n["actorId"].as_u64().unwrap(),
                    n["login"].as_str().unwrap().to_string(),
                    n["activeDays"].as_i64().unwrap(),
                    n["pushes"].as_i64().unwrap(),
                    n["commits"].as_i64().unwrap(),
                    n["repositoriesOwned"].as_i64().unwrap(),
                )
            })
            .collect();
        let want_rows: Vec<(u64, String, i64, i64, i64, i64)> =
            want.iter().map(|(id, e)| (**id, e.login.clone(), e.active_days, e.pushes, e.commits, e.owned)).collect();
        assert_eq!(got, want_rows, "developers {from}..{to} bots {bots}");
        for n in &nodes {
            let cpd = n["commitsPerDay"].as_f64().unwrap();
            assert!((cpd - n["commits"].as_f64().unwrap() / days as f64).abs() < 1e-9);
            assert_eq!(n["isBot"], n["login"].as_str().unwrap().ends_with("[bot]"));
        }
        // Owners of two repositories or more, by repositories owned.
        let mut v = base.clone();
        v["min"] = json!(2);
        v["order"] = json!("REPOSITORIES_OWNED_DESC");
        let (owners, total) = all_developers(app, v).await;
        let mut want: Vec<(u64, i64)> =
            expected.iter().filter(|(_, e)| e.owned >= 2).map(|(id, e)| (*id, e.owned)).collect();
        want.sort_by_key(|(id, n)| (std::cmp::Reverse(*n), *id));
        let got: Vec<(u64, i64)> =
            owners.iter().map(|n| (n["actorId"].as_u64().unwrap(), n["repositoriesOwned"].as_i64().unwrap())).collect();
        assert_eq!(got, want);
        assert_eq!(total, want.len() as i64);
        // More, and less, than one commit a day.
        for (key, above) in [("above", true), ("below", false)] {
            let mut v = base.clone();
            v[key] = json!(1.0);
            let (found, total) = all_developers(app, v).await;
            let want: std::collections::BTreeSet<u64> = expected
                .iter()
                .filter(|(_, e)| {
                    let per_day = e.commits as f64 / days as f64;
                    if above {
                        per_day > 1.0
                    } else {
                        per_day < 1.0
                    }
                })
                .map(|(id, _)| *id)
                .collect();
            let got: std::collections::BTreeSet<u64> = found.iter().map(|n| n["actorId"].as_u64().unwrap()).collect();
            assert_eq!(got, want, "commitsPerDay {key} 1");
            assert_eq!(total, want.len() as i64);
        }
    }
}

const REPOSITORIES: &str = "query($from: Date!, $to: Date!, $bots: Boolean, $min: Int, $first: Int, $after: String) { \
    archiveRepositories(from: $from, to: $to, includeBots: $bots, minMembers: $min, first: $first, after: $after) { \
    totalCount pageInfo { hasNextPage endCursor } nodes { repoId name members pushes commits } } }";

async fn assert_repositories(app: &TestApp, data: &Archive, from: NaiveDate, to: NaiveDate) {
    for bots in [false, true] {
        let expected = data.expected_repositories(from, to, bots);
        for min in [None, Some(2)] {
            let mut nodes = Vec::new();
            let mut after = Value::Null;
            let total = loop {
                let v = json!({"from": from.to_string(), "to": to.to_string(), "bots": bots, "min": min, "first": 3, "after": after});
                let page = app.data(REPOSITORIES, v).await;
                let c = &page["archiveRepositories"];
                nodes.extend(c["nodes"].as_array().unwrap().iter().cloned());
                if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                    break c["totalCount"].as_i64().unwrap();
                }
                after = c["pageInfo"]["endCursor"].clone();
            };
            let mut want: Vec<(u64, String, i64, i64, i64)> = expected
                .iter()
                .filter(|(_, e)| min.is_none_or(|m| e.members >= m))
                .map(|(id, e)| (*id, e.name.clone(), e.members, e.pushes, e.commits))
                .collect();
            want.sort_by_key(|w| (std::cmp::Reverse(w.2), w.0));
            let got: Vec<(u64, String, i64, i64, i64)> = nodes
                .iter()
                .map(|n| {
                    (
                        n["repoId"].as_u64().unwrap(),
                        n["name"].as_str().unwrap().to_string(),
                        n["members"].as_i64().unwrap(),
                        n["pushes"].as_i64().unwrap(),
                        n["commits"].as_i64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, want, "repositories bots {bots} min {min:?}");
            assert_eq!(total, want.len() as i64);
        }
    }
}

#[tokio::test]
async fn an_import_counts_exactly_through_gaps_cut_connections_broken_lines_renames_and_bots() {
    let data = dataset();
    let fake = FakeArchive::start().await;
    fake.publish(&data);
    fake.fail(&file_name(day("2024-05-01"), 3), FileFault::Cut, 1);
    fake.fail(&file_name(day("2024-05-01"), 1), FileFault::Unavailable, 1);
    let app = service(&fake, TestDb::new().await, &[]).await;
    let done = import(&app, "2024-05-01", "2024-05-02").await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let job = app
        .data(
            "query($id: ID!) { refreshJob(id: $id) { hoursTotal hoursDone eventsImported owner } }",
            json!({"id": done["id"]}),
        )
        .await;
    let events: i64 = [day("2024-05-01"), day("2024-05-02")].iter().map(|d| data.expected_day(*d, true)[0]).sum();
    assert_eq!(
        job["refreshJob"],
        json!({"hoursTotal": 48, "hoursDone": 48, "eventsImported": events, "owner": "gharchive"})
    );
    assert_eq!(fake.count(&file_name(day("2024-05-01"), 3)), 2, "the cut file was read again, whole");
    let (from, to) = (day("2024-05-01"), day("2024-05-02"));
    assert_activity(&app, &data, from, to).await;
    assert_developers(&app, &data, from, to).await;
    assert_developers(&app, &data, from, from).await;
    assert_repositories(&app, &data, from, to).await;

    // The era without commit counts.
    let done = import(&app, "2025-11-03", "2025-11-03").await;
    assert_eq!(done["status"], "SUCCEEDED");
    let d3 = day("2025-11-03");
    assert_activity(&app, &data, d3, d3).await;
    assert_developers(&app, &data, d3, d3).await;
    let unknown = app.data(ACTIVITY, json!({"from": "2025-11-03", "to": "2025-11-03"})).await;
    assert_eq!(unknown["archiveActivity"][0]["pushesWithoutCommitCount"], 2, "ann's two pushes, never guessed");

    // Imported again: nothing is read twice or counted twice; missing hours are asked again.
    fake.clear_log();
    let again = import(&app, "2024-05-01", "2024-05-02").await;
    assert_eq!(again["status"], "SUCCEEDED");
    assert!(data.hours.keys().all(|(d, h)| fake.count(&file_name(*d, *h)) == 0), "{:?}", fake.requests());
    assert_eq!(fake.requests().len(), 48 - 5, "only the missing hours are asked again");
    assert_activity(&app, &data, from, to).await;
    assert_developers(&app, &data, from, to).await;
    app.stop().await;
}

#[tokio::test]
async fn an_hour_that_arrives_late_is_merged_into_its_day() {
    let data = dataset();
    let fake = FakeArchive::start().await;
    let mut first = data.clone();
    first.hours.remove(&(day("2024-05-01"), 5));
    fake.publish(&first);
    let app = service(&fake, TestDb::new().await, &[]).await;
    assert_eq!(import(&app, "2024-05-01", "2024-05-02").await["status"], "SUCCEEDED");
    let (d1, d2) = (day("2024-05-01"), day("2024-05-02"));
    assert_activity(&app, &first, d1, d1).await;
    // Both days are in: the two days are also one block, and a window of both reads it.
    assert_eq!(blocks(&app).await, vec![(1, 19_844)]);
    assert_developers(&app, &first, d1, d2).await;
    assert_repositories(&app, &first, d1, d2).await;
    // The archive publishes the missing hour later; importing the day again merges it, and the
    // block is built again from the changed day.
    fake.publish(&data);
    assert_eq!(import(&app, "2024-05-01", "2024-05-01").await["status"], "SUCCEEDED");
    let mut one_day = data.clone();
    one_day.hours.retain(|(d, _), _| *d == d1);
    assert_activity(&app, &one_day, d1, d1).await;
    assert_developers(&app, &one_day, d1, d1).await;
    assert_repositories(&app, &one_day, d1, d1).await;
    let mut both = data.clone();
    both.hours.retain(|(d, _), _| *d == d1 || *d == d2);
    assert_eq!(blocks(&app).await, vec![(1, 19_844)]);
    assert_developers(&app, &both, d1, d2).await;
    assert_repositories(&app, &both, d1, d2).await;
    app.stop().await;
}

/// The blocks of days built: (level, first day).
/// Repositories with members on several days of a window: a window read from blocks and days
/// unites each one's member lists, on every page, with and without `minMembers`, so that
/// people who pushed on several days count once.
#[tokio::test]
async fn repositories_spread_over_days_count_each_member_once_on_every_page() {
    let mut data = Archive::default();
    let logins: Vec<String> = (0..14).map(|a| format!("dev{a}")).collect();
    let names: Vec<String> = (0..30).map(|r| format!("org/r{r}")).collect();
    let mut id = 1000;
    for d in 0..6u64 {
        let on = day("2024-05-01") + chrono::Duration::days(d as i64);
        for r in 0..30u64 {
            // Some repositories rest on some days; members overlap from day to day.
            if (r + d) % 3 == 0 {
                continue;
            }
            for j in 0..(r % 4 + 1) {
                let a = ((r * 5 + d * 3 + j) % 14) as usize;
                id += 1;
                let at = format!("{on}T00:{:02}:00Z", (id % 60));
                let actor = (100 + a as u64, logins[a].as_str());
                data.event(on, 0, push(id, actor, (500 + r, names[r as usize].as_str()), &at, Some(1), None, None));
            }
        }
    }
    let fake = FakeArchive::start().await;
    fake.publish(&data);
    let app = service(&fake, TestDb::new().await, &[]).await;
    assert_eq!(import(&app, "2024-05-01", "2024-05-06").await["status"], "SUCCEEDED");
    let built = blocks(&app).await;
    assert!(built.contains(&(2, 19_844)) && built.contains(&(1, 19_848)), "{built:?}");
    // Read from a block of four days and one of two; then from a day and two blocks of two.
    assert_repositories(&app, &data, day("2024-05-01"), day("2024-05-06")).await;
    assert_repositories(&app, &data, day("2024-05-02"), day("2024-05-06")).await;
    assert_repositories(&app, &data, day("2024-05-03"), day("2024-05-04")).await;
    app.stop().await;
}

async fn blocks(app: &TestApp) -> Vec<(i64, i64)> {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = app
        .db
        .query_all(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT CAST(lvl AS BIGINT) AS lvl, CAST(start AS BIGINT) AS start FROM archive_blocks ORDER BY lvl, start",
        ))
        .await
        .unwrap();
    rows.iter().map(|r| (r.try_get("", "lvl").unwrap(), r.try_get("", "start").unwrap())).collect()
}

#[tokio::test]
async fn a_file_that_never_arrives_whole_fails_the_job_naming_the_hour_and_counts_nothing_of_it() {
    let data = dataset();
    let fake = FakeArchive::start().await;
    fake.publish(&data);
    let name = file_name(day("2024-05-02"), 0);
    fake.fail(&name, FileFault::Cut, 100);
    let app = service(&fake, TestDb::new().await, &[]).await;
    let done = import(&app, "2024-05-02", "2024-05-02").await;
    assert_eq!(done["status"], "FAILED");
    let error = done["error"].as_str().unwrap();
    assert!(error.contains("2024-05-02 00:00") && error.contains("3 tries"), "{error}");
    assert_eq!(fake.count(&name), 3);
    let activity = app.data(ACTIVITY, json!({"from": "2024-05-02", "to": "2024-05-02"})).await;
    assert_eq!(activity["archiveActivity"], json!([]), "nothing of the hour is counted");
    // A truncated gzip is the same: read again, then failed.
    let other = file_name(day("2025-11-03"), 12);
    let whole = data.file(day("2025-11-03"), 12).unwrap();
    fake.put(&other, whole[..whole.len() - 10].to_vec());
    let done = import(&app, "2025-11-03", "2025-11-03").await;
    assert_eq!(done["status"], "FAILED");
    assert!(done["error"].as_str().unwrap().contains("2025-11-03 12:00"), "{done}");
    // Once the file is whole, a new import counts it.
    fake.put(&other, whole);
    fake.fail(&name, FileFault::Cut, 0);
    assert_eq!(import(&app, "2025-11-03", "2025-11-03").await["status"], "SUCCEEDED");
    assert_activity(&app, &data, day("2025-11-03"), day("2025-11-03")).await;
    app.stop().await;
}

#[tokio::test]
async fn import_archive_refuses_bad_ranges_and_needs_the_admin_token() {
    let fake = FakeArchive::start().await;
    let app = service(&fake, TestDb::new().await, &[]).await;
    for (from, to) in [
        ("2014-12-31", "2015-01-02"),
        ("2020-02-02", "2020-02-01"),
        ("2020-01-01", "2021-01-01"),
        ("2020-13-01", "2020-01-01"),
    ] {
        let response = app.graphql_as(IMPORT, json!({"from": from, "to": to}), Some(ADMIN_TOKEN)).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{from}..{to}: {response}");
    }
    let response = app.graphql_as(IMPORT, json!({"from": "2020-01-01"}), None).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    for q in [
        "{ archiveActivity(from: \"2020-01-01\", to: \"2021-01-05\") { day } }",
        "{ archiveDevelopers(from: \"2014-01-01\", to: \"2014-01-05\") { totalCount } }",
        "{ archiveRepositories(from: \"2020-01-02\", to: \"2020-01-01\") { totalCount } }",
        "{ archiveDevelopers(from: \"2020-01-01\", to: \"2020-01-05\", commitsPerDayAbove: -1) { totalCount } }",
    ] {
        assert_eq!(app.error_code(q, json!({})).await, "BAD_USER_INPUT", "{q}");
    }
    assert_eq!(refresh_job::Entity::find().count(&app.db).await.unwrap(), 0, "nothing was queued");
    assert!(fake.requests().is_empty());
    // The same days asked for while queued or running share one job; a year is fine.
    let one = app.graphql_as(IMPORT, json!({"from": "2020-01-01", "to": "2020-12-31"}), Some(ADMIN_TOKEN)).await;
    let two = app.graphql_as(IMPORT, json!({"from": "2020-01-01", "to": "2020-12-31"}), Some(ADMIN_TOKEN)).await;
    assert_eq!(one["data"]["importArchive"]["id"], two["data"]["importArchive"]["id"]);
    app.stop().await;
}

#[tokio::test]
async fn a_kill_in_the_middle_of_an_import_leaves_nothing_behind_and_a_restart_finishes_exactly() {
    let data = dataset();
    let fake = FakeArchive::start().await;
    fake.publish(&data);
    // Slow files: the kill lands while hours are being read.
    fake.set_chunk_delay(Duration::from_millis(150));
    let db = TestDb::new().await;
    let flags = ["--job-lease-secs", "2", "--archive-concurrency", "2"];
    let first = service(&fake, TestDb::borrowed(&db), &flags).await;
    let response = first.graphql_as(IMPORT, json!({"from": "2024-05-01", "to": "2024-05-02"}), Some(ADMIN_TOKEN)).await;
    let id = response["data"]["importArchive"]["id"].clone();
    assert!(
        eventually(20, || async {
            fake.requests().iter().any(|r| data.hours.keys().any(|(d, h)| file_name(*d, *h) == *r))
        })
        .await
    );
    first.kill().await;
    fake.set_chunk_delay(Duration::ZERO);
    let second = service(&fake, TestDb::borrowed(&db), &flags).await;
    let done = wait_done(&second, &id, 60).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let (from, to) = (day("2024-05-01"), day("2024-05-02"));
    assert_activity(&second, &data, from, to).await;
    assert_developers(&second, &data, from, to).await;
    assert_repositories(&second, &data, from, to).await;
    second.stop().await;
}

#[tokio::test]
async fn two_replicas_import_different_hours_and_none_twice() {
    let db = TestDb::new().await;
    if !db.is_postgres() {
        return skip("two_replicas_import_different_hours_and_none_twice", "needs PostgreSQL (TEST_DATABASE_URL)");
    }
    let mut data = dataset();
    // Every hour of the two days has a file.
    for h in 0..24 {
        for d in [day("2024-05-01"), day("2024-05-02")] {
            if !data.hours.contains_key(&(d, h)) {
                data.event(
                    d,
                    h,
                    Ev::new(
                        10_000 + u64::from(h),
                        Kind::Other("WatchEvent"),
                        (50, "watcher"),
                        (90, "w/w"),
                        &format!("{d}T{h:02}:30:00Z"),
                    ),
                );
            }
        }
    }
    let fake = FakeArchive::start().await;
    fake.publish(&data);
    fake.set_chunk_delay(Duration::from_millis(20));
    let one = service(&fake, TestDb::borrowed(&db), &["--archive-concurrency", "1"]).await;
    let two = service(&fake, TestDb::borrowed(&db), &["--archive-concurrency", "1"]).await;
    let done = import(&one, "2024-05-01", "2024-05-02").await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    for (d, h) in data.hours.keys().filter(|(d, _)| *d <= day("2024-05-02")) {
        assert_eq!(fake.count(&file_name(*d, *h)), 1, "{d} {h} read once");
    }
    // Both replicas imported hours.
    for app in [&one, &two] {
        let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let imported: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("git_collector_archive_hours_total{status=\"imported\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(imported > 0, "a replica imported no hour:\n{text}");
    }
    let (from, to) = (day("2024-05-01"), day("2024-05-02"));
    assert_activity(&two, &data, from, to).await;
    assert_developers(&two, &data, from, to).await;
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn the_command_line_imports_with_progress_and_a_summary() {
    let data = dataset();
    let fake = FakeArchive::start().await;
    fake.publish(&data);
    let db = TestDb::new().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_git-collector"))
        .args(["archive", "import", "2025-11-03"])
        .env("DATABASE_URL", &db.url)
        .env("ARCHIVE_URL", &fake.url)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("hours: 24 (1 imported, 23 missing from the archive, 0 failed)"), "{stdout}");
    assert!(stdout.contains("events: 5"), "{stdout}");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_git-collector"))
        .args(["archive", "import", "2014-05-01"])
        .env("DATABASE_URL", &db.url)
        .env("ARCHIVE_URL", &fake.url)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("2015-01-01"));
}

#[tokio::test]
async fn the_upgrade_moves_summed_days_over_and_reads_unsummed_hours_again() {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    // The schema of the first archive version, with a summed day in it.
    Migrator::up(&db, Some(4)).await.unwrap();
    let (t, f) = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => ("TRUE", "FALSE"),
        _ => ("1", "0"),
    };
    let d = 19_858; // 2024-05-15
    let statements = [
        format!(
            "INSERT INTO archive_developers (lvl, start, actor_id, login, seen_key, is_bot, days, events, pushes, \
             commits, pushes_unknown) VALUES (0, {d}, 1, 'ann', 5, {f}, 1, 3, 2, 4, 0), \
             (0, {d}, 2, 'ben', 6, {f}, 1, 1, 1, 1, 0), (0, {d}, 9, 'ci[bot]', 7, {t}, 1, 1, 1, 1, 0), \
             (1, {d}, 1, 'ann', 5, {f}, 2, 9, 9, 9, 0)"
        ),
        format!(
            "INSERT INTO archive_repositories (lvl, start, repo_id, name, owner_key, seen_key, events, b_events, \
             pushes, b_pushes, commits, b_commits, members, b_members) VALUES \
             (0, {d}, 10, 'ann/tool', 'ann', 8, 5, 1, 4, 1, 6, 1, 3, 1)"
        ),
        format!(
            "INSERT INTO archive_members (lvl, start, repo_id, actor_id, is_bot) VALUES \
             (0, {d}, 10, 2, {f}), (0, {d}, 10, 1, {f}), (0, {d}, 10, 9, {t})"
        ),
        format!(
            "INSERT INTO archive_days (day, hours_imported, hours_missing, events, devs, devs_c0, devs_c1, devs_cn, \
             pushes, commits, b_events, b_devs, b_devs_c1, b_pushes, b_commits) \
             VALUES ({d}, 24, 0, 5, 3, 0, 2, 1, 4, 6, 1, 1, 1, 1, 1)"
        ),
        // An hour of the next day imported but not yet summed, in the old format.
        format!(
            "INSERT INTO archive_hours (hour_at, day, status, attempts, applied) VALUES \
             ('2024-05-16 03:00:00+00:00', {}, 'imported', 1, {f})",
            d + 1
        ),
    ];
    for sql in statements {
        db.execute(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    }
    let fake = FakeArchive::start().await;
    let app = service(&fake, TestDb::borrowed(&test_db), &[]).await;
    let day = "2024-05-15";
    let repos = app
        .data(
            "query($bots: Boolean) { archiveRepositories(from: \"2024-05-15\", to: \"2024-05-15\", includeBots: $bots) \
             { nodes { repoId name members pushes commits } } }",
            json!({"bots": false}),
        )
        .await;
    assert_eq!(
        repos["archiveRepositories"]["nodes"],
        json!([{"repoId": 10, "name": "ann/tool", "members": 2, "pushes": 3, "commits": 5}]),
        "{day}"
    );
    let with_bots = app
        .data(
            "{ archiveRepositories(from: \"2024-05-15\", to: \"2024-05-15\", includeBots: true) { nodes { members } } }",
            json!({}),
        )
        .await;
    assert_eq!(with_bots["archiveRepositories"]["nodes"][0]["members"], 3);
    let devs = app
        .data(
            "{ archiveDevelopers(from: \"2024-05-15\", to: \"2024-05-15\") { totalCount nodes { actorId login commits repositoriesOwned } } }",
            json!({}),
        )
        .await;
    assert_eq!(devs["archiveDevelopers"]["totalCount"], 2, "the block row is gone: {devs}");
    assert_eq!(
        devs["archiveDevelopers"]["nodes"][0],
        json!({"actorId": 1, "login": "ann", "commits": 4, "repositoriesOwned": 1})
    );
    let hour: (String, Option<String>) = {
        let row = app
            .db
            .query_one(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT status, error FROM archive_hours WHERE day = 19859",
            ))
            .await
            .unwrap()
            .unwrap();
        (row.try_get("", "status").unwrap(), row.try_get("", "error").unwrap())
    };
    assert_eq!(hour.0, "failed", "read again by the next import of its range");
    assert!(hour.1.unwrap_or_default().contains("read again"));
    app.stop().await;
}

#[tokio::test]
async fn the_schedule_imports_from_the_first_hour_not_imported_since_archive_from() {
    use entity::archive_hour::{self, HourStatus};
    use git_collector::domain::archive::{day_number, DayRange, Hour};
    use git_collector::domain::Target;
    use git_collector::jobs::schedule::archive_target;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    git_collector::store::db::migrate(&db).await.unwrap();
    let config = crate::helpers::test_config(&test_db.url, &["--archive-from", "2024-05-01"]);
    let now = chrono::DateTime::parse_from_rfc3339("2024-05-10T12:30:00Z").unwrap().to_utc();
    let range = |from: &str| Some(Target::Archive(DayRange::new(day(from), day("2024-05-10")).unwrap()));
    assert_eq!(archive_target(&config, &db, now).await.unwrap(), range("2024-05-01"), "nothing imported yet");
    let settle = |d: &str, status: HourStatus| {
        let d = day(d);
        (0..24).map(move |h| archive_hour::ActiveModel {
            hour_at: Set(Hour::of_day(d, h).start()),
            day: Set(day_number(d)),
            status: Set(status),
            attempts: Set(1),
            applied: Set(true),
            ..Default::default()
        })
    };
    // 05-01 imported, 05-02 not at all, 05-03 imported: the gap is imported, not skipped.
    for d in ["2024-05-01", "2024-05-03"] {
        archive_hour::Entity::insert_many(settle(d, HourStatus::Imported)).exec(&db).await.unwrap();
    }
    assert_eq!(archive_target(&config, &db, now).await.unwrap(), range("2024-05-02"));
    // A day whose hours all answered 404 is settled too; a failed hour is not.
    archive_hour::Entity::insert_many(settle("2024-05-02", HourStatus::Missing)).exec(&db).await.unwrap();
    let mut hours: Vec<_> = settle("2024-05-04", HourStatus::Imported).collect();
    hours[5].status = Set(HourStatus::Failed);
    archive_hour::Entity::insert_many(hours).exec(&db).await.unwrap();
    assert_eq!(archive_target(&config, &db, now).await.unwrap(), range("2024-05-04"));
    // All settled up to yesterday: the last two days are asked again (late hours), up to today.
    archive_hour::Entity::delete_many().exec(&db).await.unwrap();
    for d in 1..=9 {
        archive_hour::Entity::insert_many(settle(&format!("2024-05-{d:02}"), HourStatus::Imported))
            .exec(&db)
            .await
            .unwrap();
    }
    assert_eq!(archive_target(&config, &db, now).await.unwrap(), range("2024-05-08"));
    // Without ARCHIVE_FROM there is no scheduled import.
    let plain = crate::helpers::test_config(&test_db.url, &[]);
    assert_eq!(archive_target(&plain, &db, now).await.unwrap(), None);
}
