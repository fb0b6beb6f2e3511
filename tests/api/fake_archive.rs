//! A fake GH Archive over real HTTP: hour files made in the test (gzip, JSON lines) from events
//! described here, broken lines among them, 404s for the hours it does not have, connections
//! cut in the middle of a file, and the expected numbers of docs/rules.md §7 computed from the
//! same events independently of git-collector.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDate};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};

/// What an event does, as far as the rules care.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A push with the fields the archive gave (all None: after October 2025).
    Push { size: Option<u64>, distinct_size: Option<u64>, commits: Option<Vec<bool>> },
    /// A MemberEvent: its action and the member.
    Member { action: &'static str, member: Option<(u64, &'static str)> },
    /// Anything else (WatchEvent, PullRequestEvent with a big payload, …).
    Other(&'static str),
}

#[derive(Debug, Clone)]
pub struct Ev {
    pub id: u64,
    pub kind: Kind,
    pub actor: (u64, String),
    pub repo: (u64, String),
    pub created_at: String,
}

impl Ev {
    pub fn new(id: u64, kind: Kind, actor: (u64, &str), repo: (u64, &str), created_at: &str) -> Self {
        Self {
            id,
            kind,
            actor: (actor.0, actor.1.into()),
            repo: (repo.0, repo.1.into()),
            created_at: created_at.into(),
        }
    }

    /// The event as a line of the archive.
    pub fn json(&self) -> String {
        let (kind, payload) = match &self.kind {
            Kind::Push { size, distinct_size, commits } => {
                let mut p = json!({"repository_id": self.repo.0, "push_id": self.id * 7, "ref": "refs/heads/main",
                    "head": "0123456789abcdef0123456789abcdef01234567", "before": "fedcba9876543210fedcba9876543210fedcba98"});
                if let Some(s) = size {
                    p["size"] = json!(s);
                }
                if let Some(d) = distinct_size {
                    p["distinct_size"] = json!(d);
                }
                if let Some(list) = commits {
                    p["commits"] = Value::Array(
                        list.iter()
                            .enumerate()
                            .map(|(i, distinct)| json!({"sha": format!("{i:040x}"), "author": {"email": "x@y", "name": "X {}"},
                                "message": "fix \"it\" } ] [ {", "distinct": distinct, "url": "https://api.github.com/x"}))
                            .collect(),
                    );
                }
                ("PushEvent", p)
            }
            Kind::Member { action, member } => {
                let mut p = json!({"action": action});
                if let Some((id, login)) = member {
                    p["member"] = json!({"id": id, "login": login, "type": "User", "site_admin": false});
                }
                ("MemberEvent", p)
            }
            Kind::Other(kind) => {
                // Big nested payloads with their own ids, logins and dates, as pull requests have.
                let body = "Lorem ipsum {dolor} [sit] \"amet\" \\ ".repeat(40);
                (
                    *kind,
                    json!({"action": "opened", "number": 5, "pull_request": {"id": 999, "created_at": "2001-01-01T00:00:00Z",
                    "user": {"login": "someone-else", "id": 424242}, "body": body, "labels": [[], [{"x": [1, 2]}]]}}),
                )
            }
        };
        json!({"id": self.id.to_string(), "type": kind,
            "actor": {"id": self.actor.0, "login": self.actor.1, "display_login": self.actor.1, "gravatar_id": "",
                      "url": format!("https://api.github.com/users/{}", self.actor.1), "avatar_url": "https://x/y"},
            "repo": {"id": self.repo.0, "name": self.repo.1, "url": format!("https://api.github.com/repos/{}", self.repo.1)},
            "payload": payload, "public": true, "created_at": self.created_at,
            "org": {"id": 1, "login": "org", "gravatar_id": "", "url": "u", "avatar_url": "a"}})
        .to_string()
    }

    /// Commits counted by the rules; None when unknown.
    fn commits(&self) -> Option<u64> {
        match &self.kind {
            Kind::Push { size, distinct_size, commits } => {
                distinct_size.or(*size).or_else(|| commits.as_ref().map(|c| c.iter().filter(|d| **d).count() as u64))
            }
            _ => Some(0),
        }
    }
}

/// A line of an hour file: an event, an event with NUL padding around it (it counts), or
/// anything else.
#[derive(Debug, Clone)]
pub enum Line {
    Event(Ev),
    Padded(Ev),
    Raw(String),
}

/// The hour files of a test, and what the rules make of them.
#[derive(Debug, Clone, Default)]
pub struct Archive {
    /// (day, hour) → lines.
    pub hours: BTreeMap<(NaiveDate, u32), Vec<Line>>,
}

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn file_name(day: NaiveDate, hour: u32) -> String {
    format!("{}-{hour}.json.gz", day.format("%Y-%m-%d"))
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

impl Archive {
    pub fn add(&mut self, day: NaiveDate, hour: u32, line: Line) {
        self.hours.entry((day, hour)).or_default().push(line);
    }

    pub fn event(&mut self, day: NaiveDate, hour: u32, ev: Ev) {
        self.add(day, hour, Line::Event(ev));
    }

    /// The hour's file, as the archive serves it.
    pub fn file(&self, day: NaiveDate, hour: u32) -> Option<Vec<u8>> {
        let lines = self.hours.get(&(day, hour))?;
        let text: Vec<String> = lines
            .iter()
            .map(|l| match l {
                Line::Event(e) => e.json(),
                Line::Padded(e) => format!("\0\0\0{}\0\0", e.json()),
                Line::Raw(r) => r.clone(),
            })
            .collect();
        Some(gzip(&(text.join("\n") + "\n")))
    }

    /// The events counted: each id once per file, in archive order (file, then line).
    fn counted(&self) -> Vec<(NaiveDate, u32, usize, &Ev)> {
        let mut out = Vec::new();
        for ((d, h), lines) in &self.hours {
            let mut seen = BTreeSet::new();
            for (i, line) in lines.iter().enumerate() {
                if let Line::Event(e) | Line::Padded(e) = line {
                    if seen.insert(e.id) {
                        out.push((*d, *h, i, e));
                    }
                }
            }
        }
        out
    }

    /// archiveActivity of one day: (events, active, without, one, more, pushes, commits,
    /// pushes without count).
    pub fn expected_day(&self, on: NaiveDate, bots: bool) -> [i64; 8] {
        let mut per_dev: HashMap<u64, (i64, bool)> = HashMap::new();
        let (mut events, mut pushes, mut commits, mut unknown) = (0, 0, 0, 0);
        for (d, _, _, e) in self.counted() {
            if d != on || (!bots && is_bot(&e.actor.1)) {
                continue;
            }
            events += 1;
            let dev = per_dev.entry(e.actor.0).or_insert((0, false));
            if let Kind::Push { .. } = e.kind {
                pushes += 1;
                match e.commits() {
                    Some(n) => {
                        commits += n as i64;
                        dev.0 += n as i64;
                    }
                    None => unknown += 1,
                }
            }
        }
        let count = |f: &dyn Fn(i64) -> bool| per_dev.values().filter(|(c, _)| f(*c)).count() as i64;
        [
            events,
            per_dev.len() as i64,
            count(&|c| c == 0),
            count(&|c| c == 1),
            count(&|c| c > 1),
            pushes,
            commits,
            unknown,
        ]
    }

    /// Latest (created_at, file, line) first wins.
    fn order_key(d: NaiveDate, h: u32, i: usize, e: &Ev) -> Order {
        let at = DateTime::parse_from_rfc3339(&e.created_at).map(|t| t.timestamp()).unwrap_or(0);
        (at, d, h, i)
    }

    /// archiveDevelopers over [from, to], by actor id.
    pub fn expected_developers(&self, from: NaiveDate, to: NaiveDate, bots: bool) -> BTreeMap<u64, ExpectedDeveloper> {
        let in_window: Vec<_> = self.counted().into_iter().filter(|(d, ..)| *d >= from && *d <= to).collect();
        let mut devs: BTreeMap<u64, DevSoFar> = BTreeMap::new();
        let mut repos: BTreeMap<u64, (Order, String)> = BTreeMap::new();
        for (d, h, i, e) in &in_window {
            let key = Self::order_key(*d, *h, *i, e);
            let repo = repos.entry(e.repo.0).or_insert((key, e.repo.1.clone()));
            if key >= repo.0 {
                *repo = (key, e.repo.1.clone());
            }
            if !bots && is_bot(&e.actor.1) {
                continue;
            }
            let dev = devs.entry(e.actor.0).or_insert((key, e.actor.1.clone(), BTreeSet::new(), 0, 0));
            if key >= dev.0 {
                dev.0 = key;
                dev.1 = e.actor.1.clone();
            }
            dev.2.insert(*d);
            if let Kind::Push { .. } = e.kind {
                dev.3 += 1;
                dev.4 += e.commits().unwrap_or(0) as i64;
            }
        }
        devs.into_iter()
            .map(|(id, (_, login, days, pushes, commits))| {
                let owned = repos
                    .values()
                    .filter(|(_, name)| name.split('/').next().unwrap().eq_ignore_ascii_case(&login))
                    .count() as i64;
                (id, ExpectedDeveloper { login, active_days: days.len() as i64, pushes, commits, owned })
            })
            .collect()
    }

    /// archiveRepositories over [from, to], by repository id.
    pub fn expected_repositories(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        bots: bool,
    ) -> BTreeMap<u64, ExpectedRepository> {
        let mut repos: BTreeMap<u64, RepoSoFar> = BTreeMap::new();
        for (d, h, i, e) in self.counted() {
            if d < from || d > to {
                continue;
            }
            let key = Self::order_key(d, h, i, e);
            let repo = repos.entry(e.repo.0).or_insert((key, e.repo.1.clone(), BTreeSet::new(), 0, 0, false));
            if key >= repo.0 {
                repo.0 = key;
                repo.1 = e.repo.1.clone();
            }
            let bot = is_bot(&e.actor.1);
            if !bots && bot {
                continue;
            }
            repo.5 = true; // an event that counts
            match &e.kind {
                Kind::Push { .. } => {
                    repo.2.insert(e.actor.0);
                    repo.3 += 1;
                    repo.4 += e.commits().unwrap_or(0) as i64;
                }
                Kind::Member { action: "added", member: Some((id, login)) } if bots || !is_bot(login) => {
                    repo.2.insert(*id);
                }
                _ => {}
            }
        }
        repos
            .into_iter()
            .filter(|(_, r)| r.5)
            .map(|(id, (_, name, members, pushes, commits, _))| {
                (id, ExpectedRepository { name, members: members.len() as i64, pushes, commits })
            })
            .collect()
    }
}

/// Where an event is in time and archive order: created_at, then file, then line.
type Order = (i64, NaiveDate, u32, usize);
/// A repository being summed: latest, its name, members, pushes, commits, counted at all.
type RepoSoFar = (Order, String, BTreeSet<u64>, i64, i64, bool);
/// A developer being summed: latest, their login, active days, pushes, commits.
type DevSoFar = (Order, String, BTreeSet<NaiveDate>, i64, i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedDeveloper {
    pub login: String,
    pub active_days: i64,
    pub pushes: i64,
    pub commits: i64,
    pub owned: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRepository {
    pub name: String,
    pub members: i64,
    pub pushes: i64,
    pub commits: i64,
}

fn is_bot(login: &str) -> bool {
    login.ends_with("[bot]")
}

/// How the fake answers a file for a while.
#[derive(Debug, Clone, Copy)]
pub enum FileFault {
    /// Sends part of the file, then drops the connection.
    Cut,
    /// Sends a 503.
    Unavailable,
}

#[derive(Default)]
struct World {
    files: HashMap<String, Vec<u8>>,
    faults: HashMap<String, (FileFault, u32)>,
    requests: Vec<String>,
    /// Pause between the chunks of a file.
    chunk_delay: Duration,
}

#[derive(Clone)]
pub struct FakeArchive {
    pub url: String,
    world: Arc<Mutex<World>>,
}

impl FakeArchive {
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let app = Router::new().route("/{file}", get(serve)).with_state(world.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, world }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves every file of `archive` (the others answer 404).
    pub fn publish(&self, archive: &Archive) {
        let mut w = self.world();
        for (d, h) in archive.hours.keys() {
            w.files.insert(file_name(*d, *h), archive.file(*d, *h).unwrap());
        }
    }

    /// Serves raw bytes as a file (a truncated gzip, say).
    pub fn put(&self, name: &str, bytes: Vec<u8>) {
        self.world().files.insert(name.to_string(), bytes);
    }

    /// The next `times` requests of `name` get `fault`.
    pub fn fail(&self, name: &str, fault: FileFault, times: u32) {
        self.world().faults.insert(name.to_string(), (fault, times));
    }

    pub fn set_chunk_delay(&self, delay: Duration) {
        self.world().chunk_delay = delay;
    }

    pub fn requests(&self) -> Vec<String> {
        self.world().requests.clone()
    }

    pub fn count(&self, name: &str) -> usize {
        self.world().requests.iter().filter(|r| *r == name).count()
    }

    pub fn clear_log(&self) {
        self.world().requests.clear();
    }
}

async fn serve(State(world): State<Arc<Mutex<World>>>, Path(file): Path<String>) -> Response {
    let (bytes, fault, delay) = {
        let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
        w.requests.push(file.clone());
        let fault = match w.faults.get_mut(&file) {
            Some((fault, n)) if *n > 0 => {
                *n -= 1;
                Some(*fault)
            }
            _ => None,
        };
        (w.files.get(&file).cloned(), fault, w.chunk_delay)
    };
    let Some(bytes) = bytes else { return StatusCode::NOT_FOUND.into_response() };
    match fault {
        Some(FileFault::Unavailable) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Some(FileFault::Cut) => {
            let half = Bytes::from(bytes[..bytes.len() / 2].to_vec());
            let chunks: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(half), Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut"))];
            Response::builder()
                .header("content-length", bytes.len().to_string())
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .unwrap()
        }
        None => {
            let chunks: Vec<Bytes> = bytes.chunks(4096).map(Bytes::copy_from_slice).collect();
            let stream = futures::stream::iter(chunks).then(move |c| async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Ok::<_, std::io::Error>(c)
            });
            Response::builder()
                .header("content-length", bytes.len().to_string())
                .body(Body::from_stream(stream))
                .unwrap()
        }
    }
}

use futures::StreamExt;
