//! A generated GH Archive day shaped like a real one (ARCHIVE-FACTS in the project's issue and
//! docs/archive.md): 24 hour files of gzip JSON lines with the real mix of event types and sizes
//! (pull requests with whole repository objects, pushes with up to 20 commits), skewed activity,
//! bots, renames, duplicates and a few broken lines. It is written once into a directory and
//! reused; the numbers §7 gives for it are computed here, independently of git-collector, and
//! kept beside the files.
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use flate2::write::GzEncoder;
use flate2::Compression;

/// `write!` into a `Vec<u8>`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySpec {
    pub day: NaiveDate,
    pub events: usize,
    pub developers: usize,
    pub repositories: usize,
}

impl DaySpec {
    fn manifest_header(&self) -> String {
        format!(
            "version=5 day={} events={} developers={} repositories={}",
            self.day, self.events, self.developers, self.repositories
        )
    }
}

/// The day's numbers by docs/rules.md §7, bots included and bots alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected {
    pub events: u64,
    pub devs: u64,
    pub devs_c0: u64,
    pub devs_c1: u64,
    pub devs_cn: u64,
    pub pushes: u64,
    pub commits: u64,
    pub repos: u64,
    pub skipped_lines: u64,
}

impl Expected {
    const FIELDS: [&'static str; 9] =
        ["events", "devs", "devs_c0", "devs_c1", "devs_cn", "pushes", "commits", "repos", "skipped_lines"];

    fn values(&self) -> [u64; 9] {
        [
            self.events,
            self.devs,
            self.devs_c0,
            self.devs_c1,
            self.devs_cn,
            self.pushes,
            self.commits,
            self.repos,
            self.skipped_lines,
        ]
    }

    fn to_line(self, prefix: &str) -> String {
        Self::FIELDS.iter().zip(self.values()).map(|(k, v)| format!("{prefix}{k}={v}")).collect::<Vec<_>>().join(" ")
    }

    fn from_pairs(pairs: &HashMap<String, u64>, prefix: &str) -> Option<Self> {
        let v = |k: &str| pairs.get(&format!("{prefix}{k}")).copied();
        Some(Self {
            events: v("events")?,
            devs: v("devs")?,
            devs_c0: v("devs_c0")?,
            devs_c1: v("devs_c1")?,
            devs_cn: v("devs_cn")?,
            pushes: v("pushes")?,
            commits: v("commits")?,
            repos: v("repos")?,
            skipped_lines: v("skipped_lines")?,
        })
    }
}

/// A generated day on disk.
#[derive(Debug, Clone)]
pub struct Generated {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub json_bytes: u64,
    pub gzip_bytes: u64,
    pub all: Expected,
    pub bots: Expected,
}

/// The day of `spec` in `dir`: read back when it was generated before, else generated now.
pub fn ensure(dir: &Path, spec: &DaySpec) -> std::io::Result<Generated> {
    if let Some(done) = read_manifest(dir, spec) {
        return Ok(done);
    }
    std::fs::create_dir_all(dir)?;
    let _ = std::fs::remove_file(dir.join("MANIFEST"));
    let started = std::time::Instant::now();
    eprintln!("generating {} events of {} into {} (once; reused afterwards)…", spec.events, spec.day, dir.display());
    let world = World::new(spec);
    let plan = world.plan(spec);
    let (all, bots) = world.expected(&plan);
    let hours: Vec<u32> = (0..24).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let sizes = std::sync::Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&hour) = hours.get(i) else { break };
                let path = dir.join(file_name(spec.day, hour));
                let size = world.write_hour(&plan, hour, &path).expect("write an hour file");
                sizes.lock().expect("sizes").push(size);
            });
        }
    });
    let sizes = sizes.into_inner().expect("sizes");
    let json_bytes: u64 = sizes.iter().map(|s| s.0).sum();
    let gzip_bytes: u64 = sizes.iter().map(|s| s.1).sum();
    let manifest = format!(
        "{}\njson_bytes={json_bytes} gzip_bytes={gzip_bytes}\n{}\n{}\n",
        spec.manifest_header(),
        all.to_line(""),
        bots.to_line("b_")
    );
    std::fs::write(dir.join("MANIFEST"), manifest)?;
    eprintln!("generated in {:.0} s", started.elapsed().as_secs_f64());
    read_manifest(dir, spec).ok_or_else(|| std::io::Error::other("cannot read back the manifest just written"))
}

pub fn file_name(day: NaiveDate, hour: u32) -> String {
    format!("{}-{hour}.json.gz", day.format("%Y-%m-%d"))
}

fn read_manifest(dir: &Path, spec: &DaySpec) -> Option<Generated> {
    let text = std::fs::read_to_string(dir.join("MANIFEST")).ok()?;
    let mut lines = text.lines();
    if lines.next()? != spec.manifest_header() {
        return None;
    }
    let pairs: HashMap<String, u64> = lines
        .flat_map(|l| l.split_whitespace())
        .filter_map(|kv| kv.split_once('=').and_then(|(k, v)| Some((k.to_string(), v.parse().ok()?))))
        .collect();
    let files: Vec<PathBuf> = (0..24).map(|h| dir.join(file_name(spec.day, h))).collect();
    if !files.iter().all(|f| f.exists()) {
        return None;
    }
    Some(Generated {
        dir: dir.to_path_buf(),
        files,
        json_bytes: *pairs.get("json_bytes")?,
        gzip_bytes: *pairs.get("gzip_bytes")?,
        all: Expected::from_pairs(&pairs, "")?,
        bots: Expected::from_pairs(&pairs, "b_")?,
    })
}

/// splitmix64: small, fast, deterministic.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A skewed index in 0..n: low indices are much more likely (a few very active accounts).
    fn skewed(&mut self, n: usize) -> usize {
        ((self.unit().powf(2.6)) * n as f64) as usize % n
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Push,
    Create,
    PullRequest,
    IssueComment,
    Watch,
    Delete,
    Review,
    Issues,
    ReviewComment,
    Fork,
    Release,
    Member,
    Gollum,
    Public,
}

/// The mix of a 2023 day (ARCHIVE-FACTS), in tenths of a percent.
const MIX: [(Kind, u32); 14] = [
    (Kind::Push, 530),
    (Kind::Create, 140),
    (Kind::PullRequest, 80),
    (Kind::IssueComment, 60),
    (Kind::Watch, 50),
    (Kind::Delete, 35),
    (Kind::Review, 30),
    (Kind::Issues, 20),
    (Kind::ReviewComment, 25),
    (Kind::Fork, 15),
    (Kind::Release, 5),
    (Kind::Member, 3),
    (Kind::Gollum, 4),
    (Kind::Public, 3),
];

impl Kind {
    fn pick(rng: &mut Rng) -> Kind {
        let mut x = rng.below(1000) as u32;
        for (kind, share) in MIX {
            if x < share {
                return kind;
            }
            x -= share;
        }
        Kind::Push
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Push => "PushEvent",
            Kind::Create => "CreateEvent",
            Kind::PullRequest => "PullRequestEvent",
            Kind::IssueComment => "IssueCommentEvent",
            Kind::Watch => "WatchEvent",
            Kind::Delete => "DeleteEvent",
            Kind::Review => "PullRequestReviewEvent",
            Kind::Issues => "IssuesEvent",
            Kind::ReviewComment => "PullRequestReviewCommentEvent",
            Kind::Fork => "ForkEvent",
            Kind::Release => "ReleaseEvent",
            Kind::Member => "MemberEvent",
            Kind::Gollum => "GollumEvent",
            Kind::Public => "PublicEvent",
        }
    }
}

/// One planned event.
#[derive(Clone, Copy)]
struct Planned {
    actor: u32,
    repo: u32,
    kind: Kind,
    /// Pushes: the commit count (`size`/`distinct_size`); members: the member added.
    n: u32,
    /// Pushes: `distinct_size` is smaller than `size` by this.
    less: u8,
    /// 0: a plain line; 1: the same event again right after it (a duplicate).
    dup: bool,
}

struct World {
    day: NaiveDate,
    developers: usize,
    repositories: usize,
    /// The owner (a developer) of each repository, or None for an organization's.
    owner: Vec<Option<u32>>,
    owned: HashMap<u32, Vec<u32>>,
    text: Vec<u8>,
}

/// Renamed accounts and repositories use their old name in the first half of the day.
fn renamed(index: u32) -> bool {
    index % 997 == 5
}

fn is_bot(dev: u32) -> bool {
    dev % 50 == 7
}

impl World {
    fn new(spec: &DaySpec) -> Self {
        let mut rng = Rng(0x5EED_0001);
        let owners = (spec.developers / 3).max(1) as u64;
        let mut owner = Vec::with_capacity(spec.repositories);
        let mut owned: HashMap<u32, Vec<u32>> = HashMap::new();
        for r in 0..spec.repositories as u32 {
            if r % 10 < 7 {
                let dev = rng.below(owners) as u32;
                owner.push(Some(dev));
                owned.entry(dev).or_default().push(r);
            } else {
                owner.push(None);
            }
        }
        Self {
            day: spec.day,
            developers: spec.developers,
            repositories: spec.repositories,
            owner,
            owned,
            text: word_pool(&mut rng),
        }
    }

    fn login(&self, dev: u32, early: bool) -> String {
        let base = if is_bot(dev) { format!("app-{dev:x}[bot]") } else { format!("dev-{dev:x}") };
        if early && renamed(dev) {
            format!("old-{base}")
        } else {
            base
        }
    }

    fn repo_name(&self, repo: u32, early: bool) -> String {
        let owner = match self.owner[repo as usize] {
            Some(dev) => self.login(dev, early),
            None => format!("org-{:x}", repo % 40_000),
        };
        let name = if early && renamed(repo) { format!("old-proj-{repo}") } else { format!("proj-{repo}") };
        format!("{owner}/{name}")
    }

    /// Every event of the day, in order; each developer and repository appears at least once.
    fn plan(&self, spec: &DaySpec) -> Vec<Planned> {
        let mut rng = Rng(0x5EED_0002);
        let n = spec.events;
        let mut actors: Vec<u32> =
            (0..n).map(|i| if i < self.developers { i as u32 } else { rng.skewed(self.developers) as u32 }).collect();
        let mut repos: Vec<u32> = (0..n)
            .map(|i| if i < self.repositories { i as u32 } else { rng.skewed(self.repositories) as u32 })
            .collect();
        shuffle(&mut actors, &mut rng);
        shuffle(&mut repos, &mut rng);
        actors
            .into_iter()
            .zip(repos)
            .map(|(actor, mut repo)| {
                let kind = Kind::pick(&mut rng);
                let mut n = 0;
                let mut less = 0;
                match kind {
                    Kind::Push => {
                        // Half of the pushes go to the pusher's own repository, if any.
                        if let Some(own) = self.owned.get(&actor) {
                            if rng.below(2) == 0 {
                                repo = own[rng.below(own.len() as u64) as usize];
                            }
                        }
                        n = match rng.below(100) {
                            0..=59 => 1,
                            60..=89 => 2 + rng.below(4) as u32,
                            90..=97 => 6 + rng.below(15) as u32,
                            _ => 21 + rng.below(400) as u32,
                        };
                        if n > 1 && rng.below(10) == 0 {
                            less = 1;
                        }
                    }
                    Kind::Member => n = rng.below(self.developers as u64) as u32,
                    _ => {}
                }
                Planned { actor, repo, kind, n, less, dup: rng.below(10_000) == 0 }
            })
            .collect()
    }

    /// §7's numbers for the planned events, computed independently.
    fn expected(&self, plan: &[Planned]) -> (Expected, Expected) {
        let mut commits: HashMap<u32, u64> = HashMap::new();
        let mut events: HashMap<u32, u64> = HashMap::new();
        let mut repos: HashSet<u32> = HashSet::new();
        let mut all = Expected::default();
        let mut bots = Expected::default();
        for p in plan {
            *events.entry(p.actor).or_default() += 1;
            repos.insert(p.repo);
            let c = commits.entry(p.actor).or_default();
            if p.kind == Kind::Push {
                *c += u64::from(p.n - u32::from(p.less));
                all.pushes += 1;
                all.commits += u64::from(p.n - u32::from(p.less));
                if is_bot(p.actor) {
                    bots.pushes += 1;
                    bots.commits += u64::from(p.n - u32::from(p.less));
                }
            }
        }
        for (dev, c) in &commits {
            for e in std::iter::once(&mut all).chain(is_bot(*dev).then_some(&mut bots)) {
                e.devs += 1;
                e.events += events[dev];
                match c {
                    0 => e.devs_c0 += 1,
                    1 => e.devs_c1 += 1,
                    _ => e.devs_cn += 1,
                }
            }
        }
        all.repos = repos.len() as u64;
        all.skipped_lines = 24 * BROKEN_PER_HOUR;
        (all, bots)
    }

    /// Writes the hour file; returns (JSON bytes, gzip bytes).
    fn write_hour(&self, plan: &[Planned], hour: u32, path: &Path) -> std::io::Result<(u64, u64)> {
        let start = plan.len() * hour as usize / 24;
        let end = plan.len() * (hour as usize + 1) / 24;
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let mut gz = GzEncoder::new(file, Compression::new(6));
        let mut rng = Rng(0xD1CE_0000 + u64::from(hour));
        let mut line = Vec::with_capacity(64 * 1024);
        let mut json = 0u64;
        let count = end - start;
        for (k, i) in (start..end).enumerate() {
            let p = plan[i];
            let second = (k * 3600 / count.max(1)) as u32;
            line.clear();
            self.event(&mut line, &mut rng, i as u64, p, hour, second);
            line.push(b'\n');
            gz.write_all(&line)?;
            json += line.len() as u64;
            if p.dup {
                gz.write_all(&line)?;
                json += line.len() as u64;
            }
            // Broken lines, spread over the hour (ARCHIVE-FACTS: truncated, spliced, padded).
            let step = (count / BROKEN_PER_HOUR as usize).max(1);
            if k % step == 3 && k / step < BROKEN_PER_HOUR as usize {
                let broken: &[u8] = match k % 3 {
                    0 => &line[..line.len() / 2],
                    1 => b"\0\0\0\0\0\0\0\0",
                    _ => b"{\"id\":\"1\",\"type\":\"PushEvent\"}{\"id\":\"2\"}",
                };
                gz.write_all(broken)?;
                gz.write_all(b"\n")?;
                json += broken.len() as u64 + 1;
            }
        }
        let file = gz.finish()?;
        let mut file = file.into_inner().map_err(|e| e.into_error())?;
        file.flush()?;
        let gzip = file.metadata()?.len();
        Ok((json, gzip))
    }

    fn event(&self, out: &mut Vec<u8>, rng: &mut Rng, id: u64, p: Planned, hour: u32, second: u32) {
        let early = hour < 12;
        let login = self.login(p.actor, early);
        let repo = self.repo_name(p.repo, early);
        let id = 26_000_000_000 + id;
        let at = format!("{}T{hour:02}:{:02}:{:02}Z", self.day, second / 60, second % 60);
        w!(out, "{{\"id\":\"{id}\",\"type\":\"{}\",", p.kind.name());
        w!(out, "\"actor\":");
        user(out, p.actor, &login, true);
        w!(out, ",\"repo\":{{\"id\":{},\"name\":\"{repo}\",\"url\":\"https://api.github.com/repos/{repo}\"}},", p.repo);
        w!(out, "\"payload\":");
        self.payload(out, rng, p, &login, &repo, &at);
        w!(out, ",\"public\":true,\"created_at\":\"{at}\"");
        if self.owner[p.repo as usize].is_none() {
            let org = repo.split('/').next().unwrap_or_default();
            w!(out, ",\"org\":{{\"id\":{},\"login\":\"{org}\",\"gravatar_id\":\"\",\"url\":\"https://api.github.com/orgs/{org}\",\"avatar_url\":\"https://avatars.githubusercontent.com/u/{}?\"}}", 90_000_000 + p.repo % 40_000, 90_000_000 + p.repo % 40_000);
        }
        w!(out, "}}");
    }

    fn payload(&self, out: &mut Vec<u8>, rng: &mut Rng, p: Planned, login: &str, repo: &str, at: &str) {
        match p.kind {
            Kind::Push => {
                let head = sha(rng);
                w!(out, "{{\"repository_id\":{},\"push_id\":{},\"size\":{},\"distinct_size\":{},\"ref\":\"refs/heads/main\",\"head\":\"{head}\",\"before\":\"{}\",\"commits\":[", p.repo, 17_000_000_000u64 + rng.below(1 << 30), p.n, p.n - u32::from(p.less), sha(rng));
                for c in 0..p.n.min(20) {
                    if c > 0 {
                        out.push(b',');
                    }
                    let s = sha(rng);
                    w!(out, "{{\"sha\":\"{s}\",\"author\":{{\"email\":\"{login}@users.noreply.github.com\",\"name\":\"{login}\"}},\"message\":\"");
                    self.words(out, rng, 30, 220);
                    let distinct = !(p.less == 1 && c == 0);
                    w!(out, "\",\"distinct\":{distinct},\"url\":\"https://api.github.com/repos/{repo}/commits/{s}\"}}");
                }
                w!(out, "]}}");
            }
            Kind::Create | Kind::Delete => {
                w!(
                    out,
                    "{{\"ref\":\"feature-{}\",\"ref_type\":\"branch\",\"master_branch\":\"main\",\"description\":\"",
                    rng.below(10_000)
                );
                self.words(out, rng, 40, 200);
                w!(out, "\",\"pusher_type\":\"user\"}}");
            }
            Kind::Watch => w!(out, "{{\"action\":\"started\"}}"),
            Kind::Member => {
                w!(out, "{{\"member\":");
                user(out, p.n, &self.login(p.n, false), false);
                w!(out, ",\"action\":\"added\"}}");
            }
            Kind::PullRequest | Kind::Review | Kind::ReviewComment => {
                w!(out, "{{\"action\":\"opened\",\"number\":{},\"pull_request\":", rng.below(5_000));
                self.pull_request(out, rng, p, login, repo, at);
                if p.kind != Kind::PullRequest {
                    w!(out, ",\"review\":{{\"id\":{},\"user\":", rng.below(1 << 40));
                    user(out, p.actor, login, false);
                    w!(out, ",\"body\":\"");
                    self.words(out, rng, 0, 600);
                    w!(out, "\",\"state\":\"commented\",\"html_url\":\"https://github.com/{repo}/pull/1#pullrequestreview-1\"}}");
                }
                w!(out, "}}");
            }
            Kind::IssueComment | Kind::Issues => {
                w!(out, "{{\"action\":\"created\",\"issue\":{{\"url\":\"https://api.github.com/repos/{repo}/issues/1\",\"repository_url\":\"https://api.github.com/repos/{repo}\",\"labels_url\":\"https://api.github.com/repos/{repo}/issues/1/labels{{/name}}\",\"comments_url\":\"https://api.github.com/repos/{repo}/issues/1/comments\",\"events_url\":\"https://api.github.com/repos/{repo}/issues/1/events\",\"html_url\":\"https://github.com/{repo}/issues/1\",\"id\":{},\"number\":1,\"title\":\"", rng.below(1 << 40));
                self.words(out, rng, 10, 80);
                w!(out, "\",\"user\":");
                user(out, p.actor, login, false);
                w!(out, ",\"labels\":[],\"state\":\"open\",\"locked\":false,\"comments\":{},\"created_at\":\"{at}\",\"updated_at\":\"{at}\",\"author_association\":\"NONE\",\"body\":\"", rng.below(40));
                self.words(out, rng, 50, 1_200);
                w!(out, "\",\"reactions\":{{\"url\":\"https://api.github.com/repos/{repo}/issues/1/reactions\",\"total_count\":0,\"+1\":0,\"-1\":0,\"laugh\":0,\"hooray\":0,\"confused\":0,\"heart\":0,\"rocket\":0,\"eyes\":0}}}}");
                if p.kind == Kind::IssueComment {
                    w!(out, ",\"comment\":{{\"url\":\"https://api.github.com/repos/{repo}/issues/comments/1\",\"id\":{},\"user\":", rng.below(1 << 40));
                    user(out, p.actor, login, false);
                    w!(out, ",\"created_at\":\"{at}\",\"body\":\"");
                    self.words(out, rng, 20, 800);
                    w!(out, "\"}}");
                }
                w!(out, "}}");
            }
            Kind::Fork => {
                w!(out, "{{\"forkee\":");
                repo_object(
                    out,
                    rng,
                    p.actor,
                    &format!("{login}/{}", repo.split('/').nth(1).unwrap_or("x")),
                    login,
                    at,
                );
                w!(out, "}}");
            }
            Kind::Release => {
                w!(out, "{{\"action\":\"published\",\"release\":{{\"url\":\"https://api.github.com/repos/{repo}/releases/1\",\"tag_name\":\"v1.{}\",\"author\":", rng.below(100));
                user(out, p.actor, login, false);
                w!(out, ",\"body\":\"");
                self.words(out, rng, 200, 3_000);
                w!(out, "\"}}}}");
            }
            Kind::Gollum | Kind::Public => w!(out, "{{}}"),
        }
    }

    fn pull_request(&self, out: &mut Vec<u8>, rng: &mut Rng, p: Planned, login: &str, repo: &str, at: &str) {
        w!(out, "{{\"url\":\"https://api.github.com/repos/{repo}/pulls/1\",\"id\":{},\"node_id\":\"PR_kwDO{}\",\"html_url\":\"https://github.com/{repo}/pull/1\",\"diff_url\":\"https://github.com/{repo}/pull/1.diff\",\"patch_url\":\"https://github.com/{repo}/pull/1.patch\",\"issue_url\":\"https://api.github.com/repos/{repo}/issues/1\",\"number\":1,\"state\":\"open\",\"locked\":false,\"title\":\"", rng.below(1 << 40), rng.below(1 << 40));
        self.words(out, rng, 10, 90);
        w!(out, "\",\"user\":");
        user(out, p.actor, login, false);
        w!(out, ",\"body\":\"## Description\\r\\n\\r\\n");
        self.words(out, rng, 0, 1_500);
        w!(out, "\\r\\n\\r\\n## Checklist\\r\\n\\r\\n- [x] I have read the contributing guidelines\\r\\n- [x] Tests pass locally\\r\\n- [ ] Documentation updated\\r\\n\",\"created_at\":\"{at}\",\"updated_at\":\"{at}\",\"merge_commit_sha\":\"{}\",\"assignees\":[", sha(rng));
        for k in 0..1 + rng.below(3) as u32 {
            if k > 0 {
                out.push(b',');
            }
            let other = (p.actor + 1 + k * 7919) % self.developers as u32;
            user(out, other, &self.login(other, false), false);
        }
        w!(out, "],\"merged_by\":");
        user(out, p.actor, login, false);
        w!(out, ",\"requested_reviewers\":[");
        let reviewer = (p.actor + 104_729) % self.developers as u32;
        user(out, reviewer, &self.login(reviewer, false), false);
        w!(out, "],\"labels\":[");
        for (k, label) in ["bug", "enhancement", "dependencies", "good first issue"]
            .iter()
            .enumerate()
            .take(1 + rng.below(4) as usize)
        {
            if k > 0 {
                out.push(b',');
            }
            w!(out, "{{\"id\":{},\"node_id\":\"LA_kwDO{}\",\"url\":\"https://api.github.com/repos/{repo}/labels/{label}\",\"name\":\"{label}\",\"color\":\"d73a4a\",\"default\":true,\"description\":\"Something about {label}\"}}", rng.below(1 << 40), rng.below(1 << 40));
        }
        w!(out, "],\"milestone\":{{\"url\":\"https://api.github.com/repos/{repo}/milestones/1\",\"html_url\":\"https://github.com/{repo}/milestone/1\",\"labels_url\":\"https://api.github.com/repos/{repo}/milestones/1/labels\",\"id\":{},\"number\":1,\"title\":\"v1.0\",\"creator\":", rng.below(1 << 40));
        user(out, p.actor, login, false);
        w!(out, ",\"open_issues\":{},\"closed_issues\":{},\"state\":\"open\",\"created_at\":\"2024-01-01T00:00:00Z\"}},\"head\":", rng.below(50), rng.below(50));
        w!(out, "{{\"label\":\"{login}:fix\",\"ref\":\"fix\",\"sha\":\"{}\",\"user\":", sha(rng));

        user(out, p.actor, login, false);
        w!(out, ",\"repo\":");
        repo_object(out, rng, p.repo, repo, login, at);
        w!(out, "}},\"base\":{{\"label\":\"base:main\",\"ref\":\"main\",\"sha\":\"{}\",\"user\":", sha(rng));
        user(out, p.actor, login, false);
        w!(out, ",\"repo\":");
        repo_object(out, rng, p.repo, repo, login, at);
        w!(out, "}},\"_links\":{{\"self\":{{\"href\":\"https://api.github.com/repos/{repo}/pulls/1\"}},\"html\":{{\"href\":\"https://github.com/{repo}/pull/1\"}},\"issue\":{{\"href\":\"https://api.github.com/repos/{repo}/issues/1\"}},\"comments\":{{\"href\":\"https://api.github.com/repos/{repo}/issues/1/comments\"}}}},\"author_association\":\"CONTRIBUTOR\",\"auto_merge\":null,\"active_lock_reason\":null,\"merged\":false,\"mergeable\":null,\"rebaseable\":null,\"mergeable_state\":\"unknown\",\"commits_url\":\"https://api.github.com/repos/{repo}/pulls/1/commits\",\"review_comments_url\":\"https://api.github.com/repos/{repo}/pulls/1/comments\",\"review_comment_url\":\"https://api.github.com/repos/{repo}/pulls/comments{{/number}}\",\"comments_url\":\"https://api.github.com/repos/{repo}/issues/1/comments\",\"statuses_url\":\"https://api.github.com/repos/{repo}/statuses/0123456789abcdef\",\"review_comments\":0,\"maintainer_can_modify\":false,\"comments\":{},\"commits\":{},\"additions\":{},\"deletions\":{},\"changed_files\":{}}}", rng.below(30), rng.below(30), rng.below(3000), rng.below(3000), rng.below(60));
    }

    /// Random words from the pool (between `min` and `max` bytes), JSON-safe, with an escape now
    /// and then.
    fn words(&self, out: &mut Vec<u8>, rng: &mut Rng, min: u64, max: u64) {
        let len = (min + rng.below(max - min + 1)) as usize;
        if len == 0 {
            return;
        }
        let start = rng.below((self.text.len() - len) as u64) as usize;
        out.extend_from_slice(&self.text[start..start + len]);
        if len > 200 {
            out.extend_from_slice(b"\\r\\n\\r\\n\\\"quoted\\\" `code {x}`");
        }
    }
}

fn sha(rng: &mut Rng) -> String {
    format!("{:016x}{:016x}{:08x}", rng.next(), rng.next(), rng.next() as u32)
}

fn user(out: &mut Vec<u8>, id: u32, login: &str, short: bool) {
    let id = 1_000_000 + u64::from(id);
    if short {
        let display = login.trim_end_matches("[bot]");
        w!(out, "{{\"id\":{id},\"login\":\"{login}\",\"display_login\":\"{display}\",\"gravatar_id\":\"\",\"url\":\"https://api.github.com/users/{login}\",\"avatar_url\":\"https://avatars.githubusercontent.com/u/{id}?\"}}");
    } else {
        w!(out, "{{\"login\":\"{login}\",\"id\":{id},\"node_id\":\"U_kgDO{id}\",\"avatar_url\":\"https://avatars.githubusercontent.com/u/{id}?v=4\",\"gravatar_id\":\"\",\"url\":\"https://api.github.com/users/{login}\",\"html_url\":\"https://github.com/{login}\",\"followers_url\":\"https://api.github.com/users/{login}/followers\",\"following_url\":\"https://api.github.com/users/{login}/following{{/other_user}}\",\"gists_url\":\"https://api.github.com/users/{login}/gists{{/gist_id}}\",\"starred_url\":\"https://api.github.com/users/{login}/starred{{/owner}}{{/repo}}\",\"subscriptions_url\":\"https://api.github.com/users/{login}/subscriptions\",\"organizations_url\":\"https://api.github.com/users/{login}/orgs\",\"repos_url\":\"https://api.github.com/users/{login}/repos\",\"events_url\":\"https://api.github.com/users/{login}/events{{/privacy}}\",\"received_events_url\":\"https://api.github.com/users/{login}/received_events\",\"type\":\"User\",\"site_admin\":false}}");
    }
}

/// A whole repository object, as pull requests and forks carry it.
fn repo_object(out: &mut Vec<u8>, rng: &mut Rng, id: u32, repo: &str, login: &str, at: &str) {
    let api = format!("https://api.github.com/repos/{repo}");
    w!(out, "{{\"id\":{id},\"node_id\":\"R_kgDO{id}\",\"name\":\"{}\",\"full_name\":\"{repo}\",\"private\":false,\"owner\":", repo.split('/').nth(1).unwrap_or("x"));
    user(out, id, login, false);
    w!(out, ",\"html_url\":\"https://github.com/{repo}\",\"description\":\"project number {}\",\"fork\":false,\"url\":\"{api}\"", rng.below(1 << 30));
    for key in [
        "forks",
        "keys{/key_id}",
        "collaborators{/collaborator}",
        "teams",
        "hooks",
        "issues/events{/number}",
        "events",
        "assignees{/user}",
        "branches{/branch}",
        "tags",
        "blobs{/sha}",
        "git/tags{/sha}",
        "git/refs{/sha}",
        "git/trees{/sha}",
        "statuses/{sha}",
        "languages",
        "stargazers",
        "contributors",
        "subscribers",
        "subscription",
        "commits{/sha}",
        "git/commits{/sha}",
        "comments{/number}",
        "issues/comments{/number}",
        "contents/{+path}",
        "compare/{base}...{head}",
        "merges",
        "{archive_format}{/ref}",
        "downloads",
        "issues{/number}",
        "pulls{/number}",
        "milestones{/number}",
        "notifications{?since,all,participating}",
        "labels{/name}",
        "releases{/id}",
        "deployments",
    ] {
        let name = key.split(['{', '/']).next().unwrap_or(key);
        w!(out, ",\"{name}_url\":\"{api}/{key}\"");
    }
    w!(out, ",\"created_at\":\"2019-0{}-1{}T10:00:00Z\",\"updated_at\":\"{at}\",\"pushed_at\":\"{at}\",\"git_url\":\"git://github.com/{repo}.git\",\"ssh_url\":\"git@github.com:{repo}.git\",\"clone_url\":\"https://github.com/{repo}.git\",\"svn_url\":\"https://github.com/{repo}\",\"homepage\":null,\"size\":{},\"stargazers_count\":{},\"watchers_count\":{},\"language\":\"Rust\",\"has_issues\":true,\"has_projects\":true,\"has_downloads\":true,\"has_wiki\":true,\"has_pages\":false,\"forks_count\":{},\"archived\":false,\"disabled\":false,\"open_issues_count\":{},\"license\":{{\"key\":\"mit\",\"name\":\"MIT License\",\"spdx_id\":\"MIT\"}},\"topics\":[],\"visibility\":\"public\",\"default_branch\":\"main\"}}", 1 + rng.below(9), rng.below(10), rng.below(100_000), rng.below(5_000), rng.below(5_000), rng.below(500), rng.below(300));
}

/// Words of a made-up language: compresses like prose (a few bits a letter).
fn word_pool(rng: &mut Rng) -> Vec<u8> {
    const LETTERS: &[u8] = b"etaoinshrdlcumwfgypbvkjxqz";
    let vocabulary: Vec<Vec<u8>> = (0..6_000)
        .map(|_| {
            let len = 2 + rng.below(9) as usize;
            (0..len).map(|_| LETTERS[rng.skewed(LETTERS.len())]).collect()
        })
        .collect();
    let mut text = Vec::with_capacity(8 << 20);
    while text.len() < 8 << 20 {
        text.extend_from_slice(&vocabulary[rng.skewed(vocabulary.len())]);
        text.push(match rng.below(14) {
            0 => b'.',
            1 => b',',
            _ => b' ',
        });
    }
    text
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// Broken lines added to each hour file.
const BROKEN_PER_HOUR: u64 = 6;
