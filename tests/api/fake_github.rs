//! A fake GitHub REST API over real HTTP: organizations and users, repositories with a real
//! commit graph, `Link` pagination, ETags and 304s, rate-limit headers, compare, statistics,
//! and injectable faults (202, 5xx, garbage bodies, primary and secondary rate limits).
//! Shared by the integration tests and the benchmark.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The linked GitHub account of a commit, as the top-level `author` field shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Account {
    User {
        id: i64,
        login: String,
    },
    Bot {
        id: i64,
        login: String,
    },
    /// `"author": null`: the email matches no account.
    Null,
    /// `"author": {}`.
    Empty,
}

#[derive(Debug, Clone)]
pub struct Author {
    pub name: String,
    pub email: String,
    pub account: Account,
}

impl Author {
    pub fn user(id: i64, login: &str, email: &str) -> Self {
        Self {
            name: format!("{login} (name)"),
            email: email.into(),
            account: Account::User { id, login: login.into() },
        }
    }
    pub fn bot(id: i64, login: &str) -> Self {
        Self {
            name: login.into(),
            email: format!("{id}+{login}@users.noreply.github.com"),
            account: Account::Bot { id, login: login.into() },
        }
    }
    pub fn email_only(email: &str) -> Self {
        Self { name: "Someone".into(), email: email.into(), account: Account::Null }
    }
    pub fn empty_account(email: &str) -> Self {
        Self { name: "Someone".into(), email: email.into(), account: Account::Empty }
    }
    /// No linked account and an empty email: only the name says who it is (`""` for none).
    pub fn name_only(name: &str) -> Self {
        Self { name: name.into(), email: String::new(), account: Account::Null }
    }
}

#[derive(Debug, Clone)]
pub struct FakeCommit {
    pub sha: String,
    pub parents: Vec<String>,
    pub author: Author,
    pub date: String,
}

#[derive(Debug, Clone)]
pub struct FakeRepo {
    pub id: i64,
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    pub fork: bool,
    pub archived: bool,
    pub head: Option<String>,
    pub commits: HashMap<String, FakeCommit>,
    /// Answer this status to everything about the repository (404, 451…).
    pub status: Option<u16>,
    /// The last push (a commit, or a moved head), as the listing shows it.
    pub pushed_at: DateTime<Utc>,
    /// `/stats/contributors` answers 202 this many times before computing.
    pub stats_pending: u32,
}

#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    /// A 200 whose body is not JSON.
    Garbage,
    /// A 200 whose JSON is cut in the middle.
    Truncated,
    /// 403 with `x-ratelimit-remaining: 0`, resetting in this many seconds.
    PrimaryLimit {
        reset_in_secs: i64,
    },
    /// 403 "secondary rate limit", with or without `retry-after`.
    SecondaryLimit {
        retry_after: Option<u64>,
    },
    /// Answer normally after this delay.
    Delay(Duration),
}

struct FaultRule {
    path_contains: String,
    fault: Fault,
    remaining: u32,
}

#[derive(Debug, Clone)]
pub struct Logged {
    pub path: String,
    pub status: u16,
    pub authorization: Option<String>,
    pub at: std::time::Instant,
}

/// A token's own rate limit, as the fake keeps it.
#[derive(Debug, Clone)]
pub struct TokenBudget {
    pub remaining: i64,
    pub reset_in_secs: i64,
    pub revoked: bool,
}

#[derive(Default)]
struct World {
    /// Budgets of the tokens a test set up (`Bearer <token>` → budget).
    tokens: HashMap<String, TokenBudget>,
    /// login key → (login, "Organization" | "User")
    accounts: HashMap<String, (String, String)>,
    /// "owner/name" lowercased → repo
    repos: HashMap<String, FakeRepo>,
    /// repos of each account, in creation order
    account_repos: HashMap<String, Vec<String>>,
    faults: Vec<FaultRule>,
    log: Vec<Logged>,
    next_id: i64,
    next_sha: u64,
    rate_remaining: i64,
    latency: Duration,
    /// Commits in listing order, per head SHA.
    order_cache: HashMap<String, Arc<Vec<String>>>,
    /// Base URL written into `Link` headers (default: this server's own).
    link_base: Option<String>,
}

#[derive(Clone)]
pub struct FakeGitHub {
    pub url: String,
    world: Arc<Mutex<World>>,
}

fn key(s: &str) -> String {
    s.to_ascii_lowercase()
}

impl FakeGitHub {
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World { next_id: 1000, rate_remaining: 5000, ..Default::default() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake GitHub");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = Router::new()
            .route("/orgs/{owner}/repos", get(list_org_repos))
            .route("/users/{owner}/repos", get(list_user_repos))
            .route("/repos/{owner}/{repo}", get(get_repo))
            .route("/repos/{owner}/{repo}/commits", get(list_commits))
            .route("/repos/{owner}/{repo}/compare/{range}", get(compare))
            .route("/repos/{owner}/{repo}/stats/contributors", get(stats))
            .with_state(Server { world: world.clone(), url: url.clone() });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, world }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add_org(&self, login: &str) {
        self.world().accounts.insert(key(login), (login.into(), "Organization".into()));
    }

    pub fn add_user(&self, login: &str) {
        self.world().accounts.insert(key(login), (login.into(), "User".into()));
    }

    /// Adds an empty repository to an existing account; returns its GitHub id.
    pub fn add_repo(&self, owner: &str, name: &str) -> i64 {
        let mut w = self.world();
        w.next_id += 1;
        let id = w.next_id;
        let owner_login = w.accounts.get(&key(owner)).map(|a| a.0.clone()).unwrap_or_else(|| owner.to_string());
        w.repos.insert(
            key(&format!("{owner}/{name}")),
            FakeRepo {
                id,
                owner: owner_login,
                name: name.into(),
                default_branch: "main".into(),
                fork: false,
                archived: false,
                head: None,
                commits: HashMap::new(),
                status: None,
                stats_pending: 0,
                pushed_at: Utc::now(),
            },
        );
        w.account_repos.entry(key(owner)).or_default().push(key(&format!("{owner}/{name}")));
        id
    }

    /// Removes the repository from its account's listing and answers 404 for it.
    pub fn delete_repo(&self, full: &str) {
        let mut w = self.world();
        for repos in w.account_repos.values_mut() {
            repos.retain(|r| r != &key(full));
        }
        if let Some(repo) = w.repos.get_mut(&key(full)) {
            repo.status = Some(404);
        }
    }

    /// Moves the repository to another account: listed there under the same id, no longer here.
    pub fn transfer(&self, full: &str, to: &str) {
        let mut w = self.world();
        w.order_cache.clear();
        let Some(mut repo) = w.repos.remove(&key(full)) else { panic!("no fake repository {full}") };
        for repos in w.account_repos.values_mut() {
            repos.retain(|r| r != &key(full));
        }
        let owner = w.accounts.get(&key(to)).map(|a| a.0.clone()).unwrap_or_else(|| to.to_string());
        repo.owner = owner;
        repo.pushed_at = Utc::now();
        let moved = key(&format!("{to}/{}", repo.name));
        w.repos.insert(moved.clone(), repo);
        w.account_repos.entry(key(to)).or_default().push(moved);
    }

    pub fn set_status(&self, full: &str, status: Option<u16>) {
        self.with_repo(full, |r| r.status = status);
    }

    pub fn set_stats_pending(&self, full: &str, times: u32) {
        self.with_repo(full, |r| r.stats_pending = times);
    }

    pub fn with_repo<T>(&self, full: &str, f: impl FnOnce(&mut FakeRepo) -> T) -> T {
        let mut w = self.world();
        w.order_cache.clear();
        let repo = w.repos.get_mut(&key(full)).unwrap_or_else(|| panic!("no fake repository {full}"));
        f(repo)
    }

    /// A commit on the default branch (parent: the current head), which becomes the head.
    pub fn commit(&self, full: &str, author: &Author, date: &str) -> String {
        let head = self.with_repo(full, |r| r.head.clone());
        let parents = head.into_iter().collect();
        let sha = self.commit_with_parents(full, parents, author, date);
        self.set_head(full, &sha);
        sha
    }

    /// A commit with explicit parents (a branch, or a merge with two); the head does not move.
    pub fn commit_with_parents(&self, full: &str, parents: Vec<String>, author: &Author, date: &str) -> String {
        let sha = {
            let mut w = self.world();
            w.next_sha += 1;
            hex::encode(Sha256::digest(format!("{full}-{}", w.next_sha).as_bytes()))[..40].to_string()
        };
        let commit = FakeCommit { sha: sha.clone(), parents, author: author.clone(), date: date.into() };
        self.with_repo(full, |r| r.commits.insert(sha.clone(), commit));
        sha
    }

    pub fn set_head(&self, full: &str, sha: &str) {
        self.with_repo(full, |r| {
            r.head = Some(sha.to_string());
            r.pushed_at = Utc::now();
        });
    }

    /// Gives `token` a rate limit of its own: `remaining` requests, reset in `reset_in_secs`.
    pub fn set_token_budget(&self, token: &str, remaining: i64, reset_in_secs: i64) {
        self.world().tokens.insert(token.to_string(), TokenBudget { remaining, reset_in_secs, revoked: false });
    }

    /// GitHub answers 401 for `token` from now on.
    pub fn revoke_token(&self, token: &str) {
        let mut w = self.world();
        let budget = w.tokens.entry(token.to_string()).or_insert(TokenBudget {
            remaining: 5000,
            reset_in_secs: 3600,
            revoked: false,
        });
        budget.revoked = true;
    }

    /// Requests that carried `token`.
    pub fn count_with_token(&self, token: &str) -> usize {
        let header = format!("Bearer {token}");
        self.world().log.iter().filter(|l| l.authorization.as_deref() == Some(header.as_str())).count()
    }

    pub fn head(&self, full: &str) -> Option<String> {
        self.with_repo(full, |r| r.head.clone())
    }

    /// The next `times` requests whose path contains `path_contains` get `fault`.
    pub fn fail(&self, path_contains: &str, fault: Fault, times: u32) {
        self.world().faults.push(FaultRule { path_contains: path_contains.into(), fault, remaining: times });
    }

    /// Writes `base` instead of this server's URL into `Link` headers, as a hostile or broken
    /// server might.
    pub fn set_link_base(&self, base: &str) {
        self.world().link_base = Some(base.to_string());
    }

    pub fn set_latency(&self, latency: Duration) {
        self.world().latency = latency;
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.world().log.clone()
    }

    /// Requests whose path contains `part`.
    pub fn count(&self, part: &str) -> usize {
        self.world().log.iter().filter(|l| l.path.contains(part)).count()
    }

    pub fn clear_log(&self) {
        self.world().log.clear();
    }

    /// First-time contributors per month, computed independently of git-collector from the
    /// commits reachable from the head: month "YYYY-MM-01" → count.
    fn firsts(&self, full: &str) -> HashMap<String, (DateTime<Utc>, bool)> {
        let repo = self.with_repo(full, |r| r.clone());
        let mut first: HashMap<String, (DateTime<Utc>, bool)> = HashMap::new();
        for sha in reachable(&repo, repo.head.as_deref()) {
            let c = &repo.commits[&sha];
            if c.parents.len() > 1 {
                continue;
            }
            let date = DateTime::parse_from_rfc3339(&c.date).expect("fake date").with_timezone(&Utc);
            let Some((identity, bot)) = identity(&c.author) else { continue };
            let entry = first.entry(identity).or_insert((date, bot));
            if date < entry.0 {
                entry.0 = date;
            }
            entry.1 |= bot;
        }
        first
    }

    pub fn expected_monthly(&self, full: &str, include_bots: bool) -> BTreeMap<String, i64> {
        by_month(self.firsts(full).values(), include_bots)
    }

    /// People new to the whole account per month, computed independently from the commits of
    /// every repository the account lists: month "YYYY-MM-01" → count.
    pub fn expected_account_monthly(&self, owner: &str, include_bots: bool) -> BTreeMap<String, i64> {
        let repos: Vec<String> = {
            let w = self.world();
            w.account_repos
                .get(&key(owner))
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|r| w.repos.get(r).is_some_and(|repo| repo.status.is_none()))
                .collect()
        };
        let mut first: HashMap<String, (DateTime<Utc>, bool)> = HashMap::new();
        for repo in repos {
            for (identity, (date, bot)) in self.firsts(&repo) {
                let entry = first.entry(identity).or_insert((date, bot));
                entry.0 = entry.0.min(date);
                entry.1 |= bot;
            }
        }
        by_month(first.values(), include_bots)
    }

    /// Distinct contributors (with or without bots), computed independently.
    pub fn expected_total(&self, full: &str, include_bots: bool) -> i64 {
        self.expected_monthly(full, include_bots).values().sum()
    }
}

/// Who wrote a commit, by the identity rules, written again here without git-collector's code:
/// account id, else the id of a noreply email, else the email, else the name; and whether a bot.
fn identity(author: &Author) -> Option<(String, bool)> {
    match &author.account {
        Account::User { id, login } => Some((format!("id:{id}"), login.ends_with("[bot]"))),
        Account::Bot { id, .. } => Some((format!("id:{id}"), true)),
        Account::Null | Account::Empty => {
            let email = author.email.trim().to_lowercase();
            if email.is_empty() {
                let name = author.name.trim().to_lowercase();
                return (!name.is_empty()).then(|| (format!("name:{name}"), false));
            }
            let noreply = email
                .strip_suffix("@users.noreply.github.com")
                .and_then(|local| local.split_once('+'))
                .filter(|(id, _)| !id.is_empty() && id.chars().all(|ch| ch.is_ascii_digit()));
            Some(match noreply {
                Some((id, login)) => (format!("id:{id}"), login.ends_with("[bot]")),
                None => (format!("email:{email}"), false),
            })
        }
    }
}

fn by_month<'a>(firsts: impl Iterator<Item = &'a (DateTime<Utc>, bool)>, include_bots: bool) -> BTreeMap<String, i64> {
    let mut months = BTreeMap::new();
    for (date, bot) in firsts {
        if *bot && !include_bots {
            continue;
        }
        *months.entry(format!("{:04}-{:02}-01", date.year(), date.month())).or_insert(0) += 1;
    }
    months
}

fn reachable(repo: &FakeRepo, from: Option<&str>) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut stack: Vec<String> = from.map(|s| vec![s.to_string()]).unwrap_or_default();
    while let Some(sha) = stack.pop() {
        if !seen.insert(sha.clone()) {
            continue;
        }
        if let Some(c) = repo.commits.get(&sha) {
            stack.extend(c.parents.iter().cloned());
        }
    }
    seen
}

#[derive(Clone)]
struct Server {
    world: Arc<Mutex<World>>,
    url: String,
}

impl Server {
    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn link_base(&self) -> String {
        self.world().link_base.clone().unwrap_or_else(|| self.url.clone())
    }
}

fn parse_query(raw: &Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes()).into_owned().collect()
}

fn full_path(path: &str, raw: &Option<String>) -> String {
    match raw {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

/// Everything common to every answer: latency, faults, the log, rate-limit headers, ETags.
async fn answer(
    server: &Server,
    path: String,
    headers: &HeaderMap,
    produce: impl FnOnce(&mut World) -> Produced,
) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let token = authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")).map(str::to_string);
    // A token of its own: revoked (401), or out of budget (403 with its reset).
    let budget = token.as_ref().and_then(|t| server.world().tokens.get(t).cloned());
    if let Some(budget) = &budget {
        let now = Utc::now().timestamp();
        if budget.revoked {
            let r = json_response(StatusCode::UNAUTHORIZED, json!({"message": "Bad credentials"}).to_string());
            return log(server, path, headers, r);
        }
        if budget.remaining <= 0 {
            let mut r = json_response(StatusCode::FORBIDDEN, json!({"message": "API rate limit exceeded"}).to_string());
            r.headers_mut().insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            r.headers_mut().insert("x-ratelimit-reset", HeaderValue::from(now + budget.reset_in_secs));
            return log(server, path, headers, r);
        }
    }
    let (latency, fault) = {
        let mut w = server.world();
        let fault = w.faults.iter_mut().find(|f| f.remaining > 0 && path.contains(&f.path_contains)).map(|f| {
            f.remaining -= 1;
            f.fault.clone()
        });
        (w.latency, fault)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let now = Utc::now().timestamp();
    let response = match fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(Fault::Status(status)) => Some(json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            json!({"message": "fault injected"}).to_string(),
        )),
        Some(Fault::Garbage) => {
            Some(json_response(StatusCode::OK, "<html>Unicorn! We're having trouble</html>".into()))
        }
        Some(Fault::Truncated) => Some(json_response(StatusCode::OK, "[{\"sha\": \"abc\", \"commit\": {".into())),
        Some(Fault::PrimaryLimit { reset_in_secs }) => {
            let mut r = json_response(StatusCode::FORBIDDEN, json!({"message": "API rate limit exceeded"}).to_string());
            r.headers_mut().insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            r.headers_mut().insert("x-ratelimit-reset", HeaderValue::from(now + reset_in_secs));
            return log(server, path, headers, r);
        }
        Some(Fault::SecondaryLimit { retry_after }) => {
            let mut r = json_response(
                StatusCode::FORBIDDEN,
                json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}).to_string(),
            );
            if let Some(secs) = retry_after {
                r.headers_mut().insert("retry-after", HeaderValue::from(secs));
            }
            return log(server, path, headers, r);
        }
        None => None,
    };
    let response = match response {
        Some(r) => r,
        None => {
            let produced = produce(&mut server.world());
            // Like GitHub's, an ETag depends on the token that asked.
            let tagged = format!("{}{}", produced.body, authorization.as_deref().unwrap_or_default());
            let etag = format!("W/\"{}\"", &hex::encode(Sha256::digest(tagged.as_bytes()))[..32]);
            let matches = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str());
            if produced.status == StatusCode::OK && matches {
                let mut r = StatusCode::NOT_MODIFIED.into_response();
                r.headers_mut().insert(header::ETAG, HeaderValue::from_str(&etag).expect("etag"));
                r
            } else {
                let mut r = json_response(produced.status, produced.body);
                if produced.status == StatusCode::OK {
                    r.headers_mut().insert(header::ETAG, HeaderValue::from_str(&etag).expect("etag"));
                }
                if let Some(link) = produced.link {
                    r.headers_mut().insert(header::LINK, HeaderValue::from_str(&link).expect("link"));
                }
                r
            }
        }
    };
    let mut response = response;
    {
        let mut w = server.world();
        // 304s do not count against the rate limit, as on GitHub.
        let counts = response.status() != StatusCode::NOT_MODIFIED;
        let (remaining, reset_in) = match token.as_ref().and_then(|t| w.tokens.get_mut(t)) {
            Some(budget) => {
                if counts {
                    budget.remaining -= 1;
                }
                (budget.remaining.max(0), budget.reset_in_secs)
            }
            None => {
                if counts {
                    w.rate_remaining = (w.rate_remaining - 1).max(1);
                }
                (w.rate_remaining, 3600)
            }
        };
        response.headers_mut().insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
        response.headers_mut().insert("x-ratelimit-remaining", HeaderValue::from(remaining));
        response.headers_mut().insert("x-ratelimit-reset", HeaderValue::from(now + reset_in));
    }
    log(server, path, headers, response)
}

fn log(server: &Server, path: String, headers: &HeaderMap, response: Response) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    server.world().log.push(Logged {
        path,
        status: response.status().as_u16(),
        authorization,
        at: std::time::Instant::now(),
    });
    response
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}

struct Produced {
    status: StatusCode,
    body: String,
    link: Option<String>,
}

impl Produced {
    fn ok(body: Value) -> Self {
        Self { status: StatusCode::OK, body: body.to_string(), link: None }
    }
    fn status(status: u16, message: &str) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: json!({"message": message}).to_string(),
            link: None,
        }
    }
}

/// One page of `total` items (item `i` made by `item`) with GitHub's `Link` header.
fn paginate(
    base_url: &str,
    path: &str,
    query: &HashMap<String, String>,
    total: usize,
    item: impl Fn(usize) -> Value,
    wrap: impl FnOnce(Vec<Value>) -> Value,
) -> Produced {
    let per_page: usize = query.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30).clamp(1, 100);
    let page: usize = query.get("page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let pages = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = ((page - 1) * per_page..(page * per_page).min(total)).map(item).collect();
    let link_to = |p: usize| {
        let mut q: Vec<(String, String)> =
            query.iter().filter(|(k, _)| *k != "page").map(|(k, v)| (k.clone(), v.clone())).collect();
        q.sort();
        q.push(("page".into(), p.to_string()));
        let qs = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(q).finish();
        format!("{base_url}{path}?{qs}")
    };
    let link =
        (page < pages).then(|| format!("<{}>; rel=\"next\", <{}>; rel=\"last\"", link_to(page + 1), link_to(pages)));
    Produced { status: StatusCode::OK, body: wrap(slice).to_string(), link }
}

fn repo_json(r: &FakeRepo) -> Value {
    json!({
        "id": r.id, "name": r.name, "full_name": format!("{}/{}", r.owner, r.name),
        "owner": {"login": r.owner, "id": 1, "type": "Organization"},
        "fork": r.fork, "archived": r.archived, "default_branch": r.default_branch,
        "created_at": "2015-01-01T00:00:00Z", "pushed_at": r.pushed_at.to_rfc3339(), "private": false
    })
}

fn commit_json(c: &FakeCommit) -> Value {
    let author = match &c.author.account {
        Account::User { id, login } => json!({"login": login, "id": id, "type": "User"}),
        Account::Bot { id, login } => json!({"login": login, "id": id, "type": "Bot"}),
        Account::Null => Value::Null,
        Account::Empty => json!({}),
    };
    json!({
        "sha": c.sha,
        "commit": {
            "author": {"name": c.author.name, "email": c.author.email, "date": c.date},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": c.date},
            "message": "change"
        },
        "author": author,
        "committer": null,
        "parents": c.parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>(),
    })
}

async fn list_org_repos(
    State(s): State<Server>,
    Path(owner): Path<String>,
    RawQuery(q): RawQuery,
    h: HeaderMap,
) -> Response {
    list_repos(s, owner, q, h, "Organization", "orgs").await
}

async fn list_user_repos(
    State(s): State<Server>,
    Path(owner): Path<String>,
    RawQuery(q): RawQuery,
    h: HeaderMap,
) -> Response {
    list_repos(s, owner, q, h, "User", "users").await
}

async fn list_repos(
    s: Server,
    owner: String,
    raw: Option<String>,
    h: HeaderMap,
    kind: &str,
    segment: &str,
) -> Response {
    let path = format!("/{segment}/{owner}/repos");
    let base = s.link_base();
    answer(&s, full_path(&path, &raw), &h, |w| {
        match w.accounts.get(&key(&owner)) {
            Some((_, k)) if k == kind => {}
            _ => return Produced::status(404, "Not Found"),
        }
        let items: Vec<Value> = w
            .account_repos
            .get(&key(&owner))
            .map(|names| names.iter().filter_map(|n| w.repos.get(n)).map(repo_json).collect())
            .unwrap_or_default();
        paginate(&base, &path, &parse_query(&raw), items.len(), |i| items[i].clone(), Value::Array)
    })
    .await
}

async fn get_repo(
    State(s): State<Server>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    h: HeaderMap,
) -> Response {
    let path = format!("/repos/{owner}/{repo}");
    answer(&s, full_path(&path, &q), &h, |w| match w.repos.get(&key(&format!("{owner}/{repo}"))) {
        Some(r) if r.status.is_none() => Produced::ok(repo_json(r)),
        Some(r) => Produced::status(r.status.unwrap_or(404), "Not Found"),
        None => Produced::status(404, "Not Found"),
    })
    .await
}

fn listing_order(w: &mut World, full: &str) -> Option<Arc<Vec<String>>> {
    let repo = w.repos.get(full)?;
    let head = repo.head.clone()?;
    if let Some(cached) = w.order_cache.get(&head) {
        return Some(cached.clone());
    }
    let mut shas: Vec<String> = reachable(repo, Some(&head)).into_iter().filter(|s| *s != head).collect();
    shas.sort_by(|a, b| repo.commits[b].date.cmp(&repo.commits[a].date).then(a.cmp(b)));
    shas.insert(0, head.clone());
    let order = Arc::new(shas);
    w.order_cache.insert(head, order.clone());
    Some(order)
}

async fn list_commits(
    State(s): State<Server>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    h: HeaderMap,
) -> Response {
    let path = format!("/repos/{owner}/{repo}/commits");
    let base = s.link_base();
    answer(&s, full_path(&path, &q), &h, |w| {
        let full = key(&format!("{owner}/{repo}"));
        let Some(r) = w.repos.get(&full) else { return Produced::status(404, "Not Found") };
        if let Some(status) = r.status {
            return Produced::status(status, "Unavailable");
        }
        if r.head.is_none() {
            return Produced::status(409, "Git Repository is empty.");
        }
        let order = listing_order(w, &full).unwrap_or_default();
        let r = &w.repos[&full];
        paginate(&base, &path, &parse_query(&q), order.len(), |i| commit_json(&r.commits[&order[i]]), Value::Array)
    })
    .await
}

async fn compare(
    State(s): State<Server>,
    Path((owner, repo, range)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    h: HeaderMap,
) -> Response {
    let path = format!("/repos/{owner}/{repo}/compare/{range}");
    let base_url = s.link_base();
    answer(&s, full_path(&path, &q), &h, |w| {
        let Some(r) = w.repos.get(&key(&format!("{owner}/{repo}"))) else { return Produced::status(404, "Not Found") };
        let Some((base, head)) = range.split_once("...") else { return Produced::status(404, "Not Found") };
        if !r.commits.contains_key(base) || !r.commits.contains_key(head) {
            return Produced::status(404, "No common ancestor between base and head.");
        }
        let from_head = reachable(r, Some(head));
        let from_base = reachable(r, Some(base));
        let mut ahead: Vec<&FakeCommit> = from_head.difference(&from_base).map(|s| &r.commits[s]).collect();
        let behind = from_base.difference(&from_head).count();
        ahead.sort_by(|a, b| a.date.cmp(&b.date).then(a.sha.cmp(&b.sha)));
        let status = match (ahead.is_empty(), behind == 0) {
            (true, true) => "identical",
            (false, true) => "ahead",
            (true, false) => "behind",
            (false, false) => "diverged",
        };
        let (ahead_by, total) = (ahead.len(), ahead.len());
        paginate(&base_url, &path, &parse_query(&q), ahead.len(), |i| commit_json(ahead[i]), |commits| {
            json!({"status": status, "ahead_by": ahead_by, "behind_by": behind, "total_commits": total, "commits": commits, "files": []})
        })
    })
    .await
}

async fn stats(
    State(s): State<Server>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    h: HeaderMap,
) -> Response {
    let path = format!("/repos/{owner}/{repo}/stats/contributors");
    answer(&s, full_path(&path, &q), &h, |w| {
        let full = key(&format!("{owner}/{repo}"));
        let Some(r) = w.repos.get_mut(&full) else { return Produced::status(404, "Not Found") };
        if let Some(status) = r.status {
            return Produced::status(status, "Unavailable");
        }
        if r.stats_pending > 0 {
            r.stats_pending -= 1;
            return Produced { status: StatusCode::ACCEPTED, body: "{}".into(), link: None };
        }
        if r.head.is_none() {
            return Produced { status: StatusCode::NO_CONTENT, body: String::new(), link: None };
        }
        // Per account: commits per week (Sunday start), like GitHub, top 100 by total.
        let r = &w.repos[&full];
        let mut per: HashMap<i64, (Value, BTreeMap<i64, i64>, i64)> = HashMap::new();
        for sha in reachable(r, r.head.as_deref()) {
            let c = &r.commits[&sha];
            if c.parents.len() > 1 {
                continue;
            }
            let (id, author) = match &c.author.account {
                Account::User { id, login } => (*id, json!({"login": login, "id": id, "type": "User"})),
                Account::Bot { id, login } => (*id, json!({"login": login, "id": id, "type": "Bot"})),
                _ => continue,
            };
            let t = DateTime::parse_from_rfc3339(&c.date).expect("fake date").timestamp();
            let days = t.div_euclid(86_400);
            // 1970-01-01 was a Thursday: Sunday-start weeks begin 4 days earlier.
            let week = (days + 4).div_euclid(7) * 7 - 4;
            let e = per.entry(id).or_insert((author, BTreeMap::new(), 0));
            *e.1.entry(week * 86_400).or_insert(0) += 1;
            e.2 += 1;
        }
        let mut entries: Vec<(Value, BTreeMap<i64, i64>, i64)> = per.into_values().collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.2));
        entries.truncate(100);
        let body: Vec<Value> = entries
            .into_iter()
            .map(|(author, weeks, total)| {
                json!({"author": author, "total": total,
                       "weeks": weeks.into_iter().map(|(w, c)| json!({"w": w, "a": 0, "d": 0, "c": c})).collect::<Vec<_>>()})
            })
            .collect();
        Produced::ok(Value::Array(body))
    })
    .await
}
