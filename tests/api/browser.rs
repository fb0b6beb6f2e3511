//! The dashboard and GraphiQL in headless Chromium (Debian's `chromium` and `chromium-driver`,
//! driven over WebDriver), on a service seeded through the fake GitHub and fake archive files.
//! The numbers on the page are compared with the API's, a refresh started with the admin token
//! must end SUCCEEDED on screen, and the browser's own log of its network requests must show
//! nothing but 127.0.0.1. Without Chromium the tests say so in one line and skip.
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::helpers::{skip, TestApp, ADMIN_TOKEN};
use crate::showcase::{Showcase, ACCOUNT, ARCHIVE_FROM, ARCHIVE_TO};

struct Browser {
    client: Client,
    _driver: tokio::process::Child,
}

fn binary(env: &str, default: &str) -> Option<String> {
    let path = std::env::var(env).unwrap_or_else(|_| default.to_string());
    std::path::Path::new(&path).exists().then_some(path)
}

/// Chromium behind chromedriver, or None (and a skip line) where they are not installed.
async fn browser(test: &str) -> Option<Browser> {
    let (Some(chromium), Some(driver)) =
        (binary("CHROMIUM", "/usr/bin/chromium"), binary("CHROMEDRIVER", "/usr/bin/chromedriver"))
    else {
        skip(test, "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver; .ci/run installs them)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-default-apps"],
        },
        "goog:loggingPrefs": {"performance": "ALL", "browser": "ALL"},
    });
    let caps = caps.as_object().unwrap().clone();
    for _ in 0..100 {
        let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        if let Ok(client) = builder.capabilities(caps.clone()).connect(&url).await {
            return Some(Browser { client, _driver: child });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url}");
}

/// ChromeDriver's log of one kind (`performance`: DevTools network events; `browser`: console).
#[derive(Debug)]
struct GetLog(&'static str);

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"type": self.0}).to_string()))
    }
}

impl Browser {
    async fn log(&self, kind: &'static str) -> Vec<Value> {
        let value = self.client.issue_cmd(GetLog(kind)).await.unwrap();
        value.as_array().cloned().unwrap_or_default()
    }

    /// Every URL the browser requested or opened a websocket to, so far.
    async fn requested_urls(&self) -> Vec<String> {
        let mut urls = Vec::new();
        for entry in self.log("performance").await {
            let message: Value = serde_json::from_str(entry["message"].as_str().unwrap_or("{}")).unwrap_or_default();
            let message = &message["message"];
            let url = match message["method"].as_str() {
                Some("Network.requestWillBeSent") => &message["params"]["request"]["url"],
                Some("Network.webSocketCreated") => &message["params"]["url"],
                _ => continue,
            };
            if let Some(url) = url.as_str() {
                urls.push(url.to_string());
            }
        }
        urls
    }

    /// Asserts that nothing left 127.0.0.1 and that the console holds no error and no CSP report.
    async fn assert_stayed_home(&self, app: &TestApp, seen: &mut Vec<String>) {
        seen.extend(self.requested_urls().await);
        assert!(seen.iter().any(|u| u.starts_with(&app.address) || u.contains(&app.address)), "{seen:?}");
        for url in seen.iter() {
            let parsed = url::Url::parse(url).unwrap();
            if matches!(parsed.scheme(), "http" | "https" | "ws" | "wss") {
                assert_eq!(parsed.host_str(), Some("127.0.0.1"), "a request left the machine: {url}");
            }
        }
        for entry in self.log("browser").await {
            let text = entry["message"].as_str().unwrap_or_default();
            assert!(!text.contains("Content Security Policy"), "CSP violation: {text}");
            assert_ne!(entry["level"], "SEVERE", "console error: {text}");
        }
    }

    /// Waits for `css` to match, then returns `script`'s value.
    async fn read(&self, css: &str, script: &str) -> Value {
        self.client.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(css)).await.unwrap_or_else(|e| {
            panic!("{css} never appeared: {e}");
        });
        self.client.execute(script, vec![]).await.unwrap()
    }
}

/// `[data-testid=…] tr[data-…]` rows as lists of the named data attributes.
fn rows_script(testid: &str, attrs: &[&str]) -> String {
    let picks = attrs.iter().map(|a| format!("r.dataset.{a}")).collect::<Vec<_>>().join(", ");
    format!(
        "return [...document.querySelectorAll('[data-testid=\"{testid}\"] tr[data-{first}]')].map(r => [{picks}]);",
        first = kebab(attrs[0])
    )
}

fn kebab(camel: &str) -> String {
    camel.chars().flat_map(|c| if c.is_uppercase() { vec!['-', c.to_ascii_lowercase()] } else { vec![c] }).collect()
}

fn strings(value: &Value) -> Vec<Vec<String>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect())
        .collect()
}

const MONTHS: &str = "query($owner: String!, $after: String) { monthlyFirstContributors(owner: $owner, first: 100, \
    after: $after) { pageInfo { hasNextPage endCursor } nodes { repoName month newContributors } } }";

#[tokio::test]
async fn the_dashboard_shows_the_apis_numbers_and_a_refresh_ends_succeeded_on_screen() {
    let test = "browser::the_dashboard_shows_the_apis_numbers_and_a_refresh_ends_succeeded_on_screen";
    let Some(b) = browser(test).await else { return };
    let show = Showcase::start().await;
    let app = &show.app;
    let mut seen = Vec::new();

    // The account: people new to it per month, and each repository's months.
    b.client.goto(&app.url(&format!("/#/account/{ACCOUNT}"))).await.unwrap();
    let shown =
        b.read("[data-testid=monthly-table] tr[data-month]", &rows_script("monthly-table", &["month", "count"])).await;
    let shown: BTreeMap<String, i64> =
        strings(&shown).into_iter().map(|r| (r[0].clone(), r[1].parse().unwrap())).collect();
    let api: BTreeMap<String, i64> = crate::account::account_months(app, ACCOUNT, false)
        .await
        .into_iter()
        .map(|(month, n)| (month[..7].to_string(), n))
        .collect();
    assert!(!api.is_empty());
    assert_eq!(shown, api, "the account chart's numbers are the API's");

    let shown = b
        .read(
            "[data-testid=monthly-breakdown-table] tr[data-month]",
            &rows_script("monthly-breakdown-table", &["month", "repo", "count"]),
        )
        .await;
    let mut shown = strings(&shown);
    let mut api = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app.data(MONTHS, json!({"owner": ACCOUNT, "after": after})).await;
        let c = &data["monthlyFirstContributors"];
        for n in c["nodes"].as_array().unwrap() {
            api.push(vec![
                n["month"].as_str().unwrap()[..7].to_string(),
                n["repoName"].as_str().unwrap().to_string(),
                n["newContributors"].as_i64().unwrap().to_string(),
            ]);
        }
        if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    shown.sort();
    api.sort();
    assert_eq!(shown, api, "the per-repository breakdown is the API's");
    if let Ok(path) = std::env::var("DASHBOARD_SCREENSHOT") {
        std::fs::write(path, b.client.screenshot().await.unwrap()).unwrap();
    }

    // The archive: developers by commits, per day.
    b.client.goto(&app.url(&format!("/#/archive?from={ARCHIVE_FROM}&to={ARCHIVE_TO}"))).await.unwrap();
    let shown = b
        .read(
            "[data-testid=archive-activity-table] tr[data-day]",
            &rows_script("archive-activity-table", &["day", "without", "one", "more"]),
        )
        .await;
    let api = app.data(crate::archive::ACTIVITY, json!({"from": ARCHIVE_FROM, "to": ARCHIVE_TO, "bots": false})).await;
    let api: Vec<Vec<String>> = api["archiveActivity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let n = |f: &str| d[f].as_i64().unwrap().to_string();
            vec![
                d["day"].as_str().unwrap().to_string(),
                n("developersWithoutCommits"),
                n("developersWithOneCommit"),
                n("developersWithMoreThanOneCommit"),
            ]
        })
        .collect();
    assert_eq!(api.len(), 2);
    assert_eq!(strings(&shown), api, "the archive chart's numbers are the API's");

    // At phone width nothing runs off the side.
    b.client.set_window_size(390, 844).await.unwrap();
    let overflow = b
        .client
        .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![])
        .await
        .unwrap();
    assert!(overflow.as_i64().unwrap() <= 0, "the page scrolls sideways at 390 px: {overflow}");
    b.client.set_window_size(1280, 800).await.unwrap();

    // A refresh with a wrong token, then the right one; the row ends SUCCEEDED, pushed live.
    b.client.goto(&app.url("/#/jobs")).await.unwrap();
    let before = b
        .read(
            "[data-testid=repo-form]",
            "return [...document.querySelectorAll('tr[data-job-id]')].map(r => r.dataset.jobId);",
        )
        .await;
    let before: Vec<String> = before.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    b.client.find(Locator::Css("#repo-owner")).await.unwrap().send_keys(ACCOUNT).await.unwrap();
    b.client.find(Locator::Css("#repo-name")).await.unwrap().send_keys("one").await.unwrap();
    b.client.find(Locator::Css("[data-testid=repo-form] button[type=submit]")).await.unwrap().click().await.unwrap();
    // The first dialog asks; the second (a new dialog) says why the token was refused.
    for (token, asked_again) in [("not-the-token", false), (ADMIN_TOKEN, true)] {
        let wait = b.client.wait().at_most(Duration::from_secs(10));
        let dialog = if asked_again { "[data-testid=token-error]" } else { "[data-testid=token-dialog]" };
        wait.for_element(Locator::Css(dialog)).await.unwrap();
        if asked_again {
            let error = b.client.find(Locator::Css("[data-testid=token-error]")).await.unwrap().text().await.unwrap();
            assert!(error.to_lowercase().contains("token"), "a wrong token is said so: {error}");
        }
        b.client
            .find(Locator::Css("[data-testid=token-dialog] #admin-token"))
            .await
            .unwrap()
            .send_keys(token)
            .await
            .unwrap();
        b.client
            .find(Locator::Css("[data-testid=token-dialog] button[value=ok]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    // Other jobs may come and go (the account's own); ours is the repository job the form queued.
    let mut done = None;
    'wait: for _ in 0..300 {
        let rows = b
            .client
            .execute(
                "return [...document.querySelectorAll('tr[data-job-id]')].map(r => [r.dataset.jobId, r.dataset.status]);",
                vec![],
            )
            .await
            .unwrap();
        for row in strings(&rows).into_iter().filter(|r| !before.contains(&r[0]) && r[1] == "SUCCEEDED") {
            let job = app
                .data("query($id: ID!) { refreshJob(id: $id) { status repo trigger } }", json!({"id": row[0]}))
                .await;
            if job["refreshJob"]["repo"] == "one" && job["refreshJob"]["trigger"] == "mutation" {
                assert_eq!(job["refreshJob"]["status"], "SUCCEEDED");
                done = Some(row);
                break 'wait;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done.is_some(), "the refresh's row shows SUCCEEDED");

    b.assert_stayed_home(app, &mut seen).await;
    b.client.close().await.unwrap();
}

#[tokio::test]
async fn graphiql_renders_and_runs_a_query_with_nothing_from_elsewhere() {
    let test = "browser::graphiql_renders_and_runs_a_query_with_nothing_from_elsewhere";
    let Some(b) = browser(test).await else { return };
    let app = crate::helpers::spawn_app().await;
    let mut seen = Vec::new();
    b.client.goto(&app.url("/graphql")).await.unwrap();
    b.read(".graphiql-query-editor .CodeMirror", "return 1;").await;
    b.client
        .execute(
            "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(arguments[0]); return 1;",
            vec![json!("{ repositories(first: 1) { totalCount } }")],
        )
        .await
        .unwrap();
    b.client.find(Locator::Css(".graphiql-execute-button")).await.unwrap().click().await.unwrap();
    let mut answer = String::new();
    for _ in 0..100 {
        answer = b
            .client
            .execute("return document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue();", vec![])
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string();
        if answer.contains("totalCount") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer: Value = serde_json::from_str(&answer).unwrap_or_else(|_| panic!("a JSON answer: {answer}"));
    assert_eq!(answer["data"]["repositories"]["totalCount"], 0, "{answer}");
    b.assert_stayed_home(&app, &mut seen).await;
    b.client.close().await.unwrap();
    app.stop().await;
}
