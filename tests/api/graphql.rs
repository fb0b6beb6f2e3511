//! The GraphQL API over real HTTP: keyset pages both ways, filters, order, cursors, bad input.
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::seed::{expected, month, seed, Row, SeedRepo};

const PAGE: &str = r#"
query($owner: String, $repo: String, $from: Date, $to: Date, $bots: Boolean, $order: MonthlyOrder,
      $first: Int, $after: String, $last: Int, $before: String) {
  monthlyFirstContributors(owner: $owner, repo: $repo, from: $from, to: $to, includeBots: $bots,
      orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { owner repoName month newContributors } }
    nodes { repoName }
  }
}"#;

fn rows_of(connection: &Value) -> Vec<Row> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Row {
            month: chrono::NaiveDate::parse_from_str(e["node"]["month"].as_str().unwrap(), "%Y-%m-%d").unwrap(),
            owner: e["node"]["owner"].as_str().unwrap().to_string(),
            name: e["node"]["repoName"].as_str().unwrap().to_string(),
            count: e["node"]["newContributors"].as_i64().unwrap() as i32,
        })
        .collect()
}

/// Every page forward, then every page backward, with `size`; both must give `all`.
async fn walk_both_ways(app: &TestApp, vars: Value, size: i64, all: &[Row]) {
    let mut forward = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let mut v = vars.clone();
        v["first"] = json!(size);
        v["after"] = after.clone();
        let data = app.data(PAGE, v).await;
        let c = &data["monthlyFirstContributors"];
        assert_eq!(c["totalCount"].as_i64().unwrap(), all.len() as i64);
        assert_eq!(c["pageInfo"]["hasPreviousPage"].as_bool().unwrap(), pages > 0 && !forward.is_empty());
        forward.extend(rows_of(c));
        pages += 1;
        if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
        assert!(pages <= all.len() + 1, "paging must end");
    }
    assert_eq!(forward, all, "forward pages of {size}");

    let mut backward: Vec<Row> = Vec::new();
    let mut before = Value::Null;
    loop {
        let mut v = vars.clone();
        v["last"] = json!(size);
        v["before"] = before.clone();
        let data = app.data(PAGE, v).await;
        let c = &data["monthlyFirstContributors"];
        let mut rows = rows_of(c);
        rows.extend(backward);
        backward = rows;
        if !c["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        before = c["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(backward, all, "backward pages of {size}");
}

fn desc(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| {
        b.month
            .cmp(&a.month)
            .then((a.owner.to_lowercase(), a.name.to_lowercase()).cmp(&(b.owner.to_lowercase(), b.name.to_lowercase())))
    });
    rows
}

fn dataset() -> impl Strategy<Value = (Vec<SeedRepo>, Vec<i64>)> {
    let months = prop::collection::vec((0u32..30, 0i32..4, 0i32..3), 0..12);
    let repo = ("[a-c]", "[a-dA-D][a-z0-9._-]{0,6}", months);
    (prop::collection::vec(repo, 1..7), prop::collection::vec(1i64..9, 2..4)).prop_map(|(repos, sizes)| {
        let mut seen = std::collections::HashSet::new();
        let repos = repos
            .into_iter()
            .filter(|(o, n, _)| seen.insert(format!("{o}/{}", n.to_lowercase())))
            .map(|(owner, name, months)| {
                let mut by_month = std::collections::BTreeMap::new();
                for (m, h, b) in months {
                    by_month.insert(month(2015 + (m / 12) as i32, m % 12 + 1), (h, b));
                }
                SeedRepo { owner, name, months: by_month.into_iter().map(|(m, (h, b))| (m, h, b)).collect() }
            })
            .collect();
        (repos, sizes)
    })
}

#[tokio::test]
async fn paging_forward_and_backward_gives_exactly_the_ordered_list() {
    let mut runner = TestRunner::new(ProptestConfig { cases: 5, ..ProptestConfig::default() });
    for _ in 0..5 {
        let (repos, sizes) = dataset().new_tree(&mut runner).unwrap().current();
        let app = spawn_app().await;
        seed(&app.db, &repos).await;
        for bots in [false, true] {
            let all = expected(&repos, bots);
            for size in &sizes {
                walk_both_ways(&app, json!({"bots": bots}), *size, &all).await;
                walk_both_ways(&app, json!({"bots": bots, "order": "MONTH_DESC"}), *size, &desc(all.clone())).await;
            }
            // Filtered by owner, and by a month range.
            let of_a: Vec<Row> = all.iter().filter(|r| r.owner == "a").cloned().collect();
            walk_both_ways(&app, json!({"bots": bots, "owner": "a"}), sizes[0], &of_a).await;
            walk_both_ways(&app, json!({"bots": bots, "owner": "A", "order": "MONTH_DESC"}), sizes[0], &desc(of_a))
                .await;
            let ranged: Vec<Row> =
                all.iter().filter(|r| r.month >= month(2015, 6) && r.month <= month(2016, 3)).cloned().collect();
            let vars = json!({"bots": bots, "from": "2015-06-15", "to": "2016-03-01"});
            walk_both_ways(&app, vars, sizes[1], &ranged).await;
        }
        app.stop().await;
    }
}

fn sample() -> Vec<SeedRepo> {
    vec![
        SeedRepo {
            owner: "facebook".into(),
            name: "react".into(),
            months: vec![(month(2016, 1), 2, 1), (month(2016, 3), 1, 0)],
        },
        SeedRepo {
            owner: "facebook".into(),
            name: "buck".into(),
            months: vec![(month(2016, 1), 1, 0), (month(2016, 2), 0, 2)],
        },
        SeedRepo { owner: "Apache".into(), name: "react".into(), months: vec![(month(2016, 1), 4, 0)] },
    ]
}

#[tokio::test]
async fn filters_and_totals() {
    let app = spawn_app().await;
    seed(&app.db, &sample()).await;
    let page = |vars: Value| {
        let app = &app;
        async move { app.data(PAGE, vars).await["monthlyFirstContributors"].clone() }
    };
    let all = page(json!({})).await;
    assert_eq!(all["totalCount"], 4);
    let names: Vec<String> = rows_of(&all).iter().map(|r| format!("{}/{}", r.owner, r.name)).collect();
    assert_eq!(
        names,
        ["Apache/react", "facebook/buck", "facebook/react", "facebook/react"],
        "month, then owner, then name"
    );
    assert_eq!(page(json!({"bots": true})).await["totalCount"], 5, "bots add buck's February");
    assert_eq!(page(json!({"owner": "FACEBOOK"})).await["totalCount"], 3);
    let react = page(json!({"repo": "react"})).await;
    assert_eq!(react["totalCount"], 3);
    let fb_react = page(json!({"owner": "facebook", "repo": "react"})).await;
    assert_eq!(rows_of(&fb_react).iter().map(|r| r.count).collect::<Vec<_>>(), [2, 1]);
    let fb_react_bots = page(json!({"owner": "facebook", "repo": "react", "bots": true})).await;
    assert_eq!(rows_of(&fb_react_bots).iter().map(|r| r.count).collect::<Vec<_>>(), [3, 1]);
    assert_eq!(page(json!({"from": "2016-02-01"})).await["totalCount"], 1);
    assert_eq!(page(json!({"from": "2016-02-01", "bots": true})).await["totalCount"], 2);
    assert_eq!(page(json!({"to": "2016-01-31", "owner": "facebook"})).await["totalCount"], 2);
    assert_eq!(page(json!({"repo": "nothing-here"})).await["totalCount"], 0);
    assert_eq!(page(json!({"owner": "nobody"})).await["edges"], json!([]));
}

#[tokio::test]
async fn cursors_of_another_filter_or_list_are_rejected() {
    let app = spawn_app().await;
    seed(&app.db, &sample()).await;
    let first = app.data(PAGE, json!({"first": 1})).await;
    let cursor = first["monthlyFirstContributors"]["pageInfo"]["endCursor"].clone();
    for vars in [
        json!({"first": 1, "after": cursor, "owner": "facebook"}),
        json!({"first": 1, "after": cursor, "bots": true}),
        json!({"first": 1, "after": cursor, "order": "MONTH_DESC"}),
        json!({"first": 1, "after": "bm90IGEgY3Vyc29y"}),
        json!({"first": 1, "after": "%%%"}),
    ] {
        assert_eq!(app.error_code(PAGE, vars.clone()).await, "BAD_USER_INPUT", "{vars}");
    }
    let repos = app.data("{ repositories(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let repo_cursor = repos["repositories"]["pageInfo"]["endCursor"].clone();
    assert_eq!(app.error_code(PAGE, json!({"first": 1, "after": repo_cursor})).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn bad_input_answers_bad_user_input() {
    let app = spawn_app().await;
    seed(&app.db, &sample()).await;
    for vars in [
        json!({"first": 1000}),
        json!({"last": 101}),
        json!({"first": 2, "last": 2}),
        json!({"first": -1}),
        json!({"last": -5}),
        json!({"from": "2016-13-01"}),
        json!({"from": "01/02/2016"}),
        json!({"to": "2016-1-1"}),
        json!({"from": "2016-05-01", "to": "2016-01-01"}),
        json!({"owner": "-bad"}),
        json!({"owner": "has space"}),
        json!({"repo": "a/b"}),
        json!({"repo": ".."}),
        json!({"order": "SIDEWAYS"}),
    ] {
        assert_eq!(app.error_code(PAGE, vars.clone()).await, "BAD_USER_INPUT", "{vars}");
    }
    let code = app.error_code("{ repository(owner: \"x y\", name: \"z\") { id } }", json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    let code = app.error_code("{ refreshJob(id: \"abc\") { id } }", json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    let code = app.error_code("{ nope }", json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    // Nothing changed: the data reads the same.
    assert_eq!(app.data(PAGE, json!({})).await["monthlyFirstContributors"]["totalCount"], 4);
}

#[tokio::test]
async fn depth_and_complexity_are_limited() {
    let app = spawn_app().await;
    seed(&app.db, &sample()).await;
    let deep = "{ monthlyFirstContributors(first: 1) { nodes { repository { monthlyFirstContributors(first: 1) { nodes { \
                repository { monthlyFirstContributors(first: 1) { nodes { repository { monthlyFirstContributors(first: 1) { \
                nodes { month } } } } } } } } } } } }";
    let response = app.graphql(deep, json!({})).await;
    assert!(response["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("deep"), "{response}");
    let wide =
        "{ monthlyFirstContributors(first: 100) { nodes { repository { contributors(first: 100) { nodes { login } } \
                monthlyFirstContributors(first: 100) { nodes { month } } } } } }";
    let response = app.graphql(wide, json!({})).await;
    assert!(response["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("complex"), "{response}");
    assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn repositories_repository_and_nested_connections() {
    let app = spawn_app().await;
    seed(&app.db, &sample()).await;
    let data = app
        .data(
            r#"{ repositories(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { fullName } }
                 repository(owner: "FaceBook", name: "REACT") {
                   githubId owner name fullName isFork isArchived isGone defaultBranch lastRefreshedAt
                   contributorCount withBots: contributorCount(includeBots: true)
                   monthlyFirstContributors(first: 1) { totalCount nodes { month newContributors repository { name } } }
                   contributors(first: 2) { totalCount pageInfo { hasNextPage } nodes { login githubId isBot firstContributionAt commitCount } }
                 }
                 missing: repository(owner: "facebook", name: "nope") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["repositories"]["totalCount"], 3);
    assert_eq!(data["repositories"]["nodes"], json!([{"fullName": "Apache/react"}, {"fullName": "facebook/buck"}]));
    assert_eq!(data["repositories"]["pageInfo"]["hasNextPage"], true);
    let react = &data["repository"];
    assert_eq!(react["fullName"], "facebook/react");
    assert_eq!(react["contributorCount"], 3);
    assert_eq!(react["withBots"], 4);
    assert_eq!(react["monthlyFirstContributors"]["totalCount"], 2);
    assert_eq!(
        react["monthlyFirstContributors"]["nodes"][0],
        json!({"month": "2016-01-01", "newContributors": 2, "repository": {"name": "react"}})
    );
    assert_eq!(react["contributors"]["totalCount"], 3);
    assert_eq!(react["contributors"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(react["contributors"]["nodes"][0]["firstContributionAt"], "2016-01-01T01:00:00Z");
    assert_eq!(data["missing"], Value::Null);

    let after = data["repositories"]["pageInfo"]["endCursor"].clone();
    let next = app.data("query($a: String) { repositories(first: 2, after: $a) { nodes { fullName } pageInfo { hasNextPage hasPreviousPage } } }", json!({"a": after})).await;
    assert_eq!(next["repositories"]["nodes"], json!([{"fullName": "facebook/react"}]));
    assert_eq!(next["repositories"]["pageInfo"], json!({"hasNextPage": false, "hasPreviousPage": true}));
    let fb = app.data("{ repositories(owner: \"facebook\") { totalCount } }", json!({})).await;
    assert_eq!(fb["repositories"]["totalCount"], 2);
}

#[tokio::test]
async fn graphql_over_http() {
    let app = spawn_app().await;
    seed(&app.db, &sample()).await;
    // GET with a query.
    let response = app
        .http
        .get(app.url("/graphql"))
        .query(&[("query", "{ monthlyFirstContributors { totalCount } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["monthlyFirstContributors"]["totalCount"], 4);

    // The GraphQL response media type when asked for, and 400 for a request that cannot run.
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({"query": "{ monthlyFirstContributors { totalCount "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/graphql-response+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Not JSON, wrong media type, mutation over GET.
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response =
        app.http.post(app.url("/graphql")).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(response.status(), 415);
    let response = app
        .http
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { refreshOwner(owner: \"x\") { id } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);

    // Bodies over the limit are refused.
    let huge = format!("{{\"query\": \"{{ __typename }}\", \"x\": \"{}\"}}", "a".repeat(200_000));
    let response =
        app.http.post(app.url("/graphql")).header("content-type", "application/json").body(huge).send().await.unwrap();
    assert_eq!(response.status(), 413);
}

/// The SDL clients build against: a change shows as a diff to review (`cargo insta review`).
#[test]
fn schema_snapshot_is_current() {
    insta::assert_snapshot!("schema", git_collector::graphql::sdl());
}

#[tokio::test]
async fn nested_fields_of_a_page_cost_a_constant_number_of_queries() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let app = spawn_app().await;
    let repos: Vec<SeedRepo> = (0..60)
        .map(|i| SeedRepo {
            owner: "acme".into(),
            name: format!("r{i:02}"),
            months: vec![(month(2016, 1 + i % 3), 1, 1)],
        })
        .collect();
    seed(&app.db, &repos).await;
    // A connection of our own to the same database, counting every statement.
    let mut db = app.test_db.connect().await;
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let schema = git_collector::graphql::build_schema(Some(git_collector::jobs::JobQueue::new(db)));
    let mut costs = Vec::new();
    for size in [5, 50] {
        statements.store(0, Ordering::SeqCst);
        let query = format!(
            "{{ monthlyFirstContributors(first: {size}) {{ nodes {{ month repository {{ name contributorCount \
             withBots: contributorCount(includeBots: true) }} }} }} }}"
        );
        let response = schema.execute(query.as_str()).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let nodes = response.data.into_json().unwrap()["monthlyFirstContributors"]["nodes"].as_array().unwrap().len();
        assert_eq!(nodes, size);
        costs.push(statements.load(Ordering::SeqCst));
    }
    // One statement per node and field would be 1 + 3 × 50 = 151 for the page of 50. Batches
    // gather the keys requested within a few milliseconds, so a slow machine may split one.
    assert!(costs[0] <= 6, "a page of 5 with its repositories and counts: {costs:?}");
    assert!(costs[1] <= 10, "a page of 50 costs about what a page of 5 does: {costs:?}");
    app.stop().await;
}

/// The compiled path (src/graphql/compiled.rs) answers byte for byte as the executor does. The
/// executor's answer comes from the same selection spread from a fragment, a shape the compiled
/// path leaves to the executor and that means the same.
#[tokio::test]
async fn the_compiled_path_answers_as_the_executor_does() {
    let app = spawn_app().await;
    let mut repos = sample();
    repos.push(SeedRepo { owner: "apache".into(), name: "kafka".into(), months: vec![(month(2016, 2), 3, 1)] });
    seed(&app.db, &repos).await;
    let compiled = git_collector::graphql::Compiled::default();
    let post = |query: String, variables: Value, operation: Option<&'static str>| {
        let app = &app;
        async move {
            let response = app
                .http
                .post(app.url("/graphql"))
                .json(&json!({"query": query, "variables": variables, "operationName": operation}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let content_type = response.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_owned();
            (status, content_type, response.text().await.unwrap())
        }
    };
    let vars = "($owner: String, $repo: String, $from: Date, $to: Date, $bots: Boolean, $order: MonthlyOrder, \
                $first: Int, $after: String, $last: Int, $before: String)";
    let args = "owner: $owner, repo: $repo, from: $from, to: $to, includeBots: $bots, orderBy: $order, \
                first: $first, after: $after, last: $last, before: $before";
    let full = format!(
        "monthlyFirstContributors({args}) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} \
         edges {{ cursor node {{ owner repoName month newContributors }} }} nodes {{ repoName }} }}"
    );
    let first = app.data(&format!("query{vars} {{ {full} }}"), json!({"first": 2})).await;
    let cursor = first["monthlyFirstContributors"]["pageInfo"]["endCursor"].clone();
    let cases: Vec<(String, String, Value, Option<&'static str>)> = vec![
        (format!("query{vars}"), full.clone(), json!({}), None),
        (format!("query{vars}"), full.clone(), json!({"first": 2, "after": cursor}), None),
        (format!("query{vars}"), full.clone(), json!({"last": 2, "before": cursor}), None),
        (format!("query{vars}"), full.clone(), json!({"last": 1}), None),
        (format!("query{vars}"), full.clone(), json!({"bots": true, "order": "MONTH_DESC", "first": 3}), None),
        (format!("query{vars}"), full.clone(), json!({"owner": "FACEBOOK", "repo": "react"}), None),
        (format!("query{vars}"), full.clone(), json!({"from": "2016-02-10", "to": "2016-03-01", "bots": true}), None),
        (format!("query{vars}"), full.clone(), json!({"owner": "nobody"}), None),
        (format!("query{vars}"), full.clone(), json!({"repo": "nothing-here"}), None),
        (format!("query{vars}"), full.clone(), json!({"first": 0}), None),
        (
            "query Page($n: Int = 2, $o: String = \"apache\")".into(),
            "m: monthlyFirstContributors(owner: $o, first: $n, orderBy: MONTH_DESC) { __typename t: totalCount \
             pageInfo { __typename s: startCursor e: endCursor hasPreviousPage } \
             edges { __typename c: cursor n: node { __typename month o: owner k: newContributors } } }"
                .into(),
            json!({}),
            Some("Page"),
        ),
        (
            "query Page($n: Int = 2, $o: String = \"apache\")".into(),
            "m: monthlyFirstContributors(owner: $o, first: $n) { nodes { owner repoName } totalCount }".into(),
            json!({"n": 1, "o": null}),
            Some("Page"),
        ),
        (
            "query($n: Int!)".into(),
            "monthlyFirstContributors(first: $n, includeBots: true, from: \"2016-01-01\") { totalCount nodes { month } }"
                .into(),
            json!({"n": 10}),
            None,
        ),
    ];
    for (head, selection, variables, operation) in cases {
        let query = format!("{head} {{ {selection} }}");
        assert!(compiled.compiles(&query, operation), "not of the compiled shape: {query}");
        let twin = format!("{head} {{ ...Q }} fragment Q on Query {{ {selection} }}");
        assert!(!compiled.compiles(&twin, operation));
        let fast = post(query.clone(), variables.clone(), operation).await;
        let slow = post(twin, variables.clone(), operation).await;
        assert_eq!(fast, slow, "{query} with {variables}");
    }
    // Values the compiled path declines reach the executor, which refuses them as before.
    let query = format!("query{vars} {{ {full} }}");
    for variables in [json!({"first": 1000}), json!({"first": "3"}), json!({"after": "x"}), json!({"to": "2016-1-1"})] {
        assert_eq!(app.error_code(&query, variables.clone()).await, "BAD_USER_INPUT", "{variables}");
    }
    app.stop().await;
}
