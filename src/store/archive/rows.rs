//! Reading and writing developer and repository rows of a day or of a block of days
//! (`archive_developer_rows`, `archive_repository_rows`). Rows are prepared (summed, and turned
//! into COPY text or INSERT statements) on a blocking thread, then written in the caller's
//! transaction.
use super::sql::{copy_text, ids_json, Bind, WriteTx};
use crate::domain::archive::aggregate::{row_key, DayCounts, DevRow, RepoRow, ShardRows, SHARDS};
use crate::store::StoreError;

/// Rows per INSERT on SQLite (its limit is 32,766 parameters).
const SQLITE_ROWS: usize = 2_000;
/// Ids per `IN (…)` list when stored rows are read back.
const KEYS_PER_QUERY: usize = 1_000;

/// Where rows belong: a day (`lvl` 0, `start` the day) or the block of 2^`lvl` days from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub lvl: i16,
    pub start: i32,
}

/// How rows are written.
#[derive(Debug, Clone, Copy)]
pub enum Write {
    /// New rows, on PostgreSQL: `COPY`.
    Copy,
    /// New rows, on SQLite: multi-row INSERTs.
    Insert,
    /// Rows replacing stored ones of the same keys (summed into them): INSERT … ON CONFLICT.
    Replace { postgres: bool },
}

impl Write {
    /// New rows on this database.
    pub fn new_rows(postgres: bool) -> Self {
        if postgres {
            Write::Copy
        } else {
            Write::Insert
        }
    }
}

/// Rows ready to be written, and their developers' counts (everyone, bots).
pub struct Prepared {
    pub counts: (DayCounts, DayCounts),
    copy: Option<(Vec<u8>, Vec<u8>)>,
    statements: Vec<(String, Vec<Bind>)>,
}

const DEV_COLUMNS: &str =
    "lvl, start, actor_key, actor_id, login, seen_key, is_bot, days, events, pushes, commits, pushes_unknown";
const REPO_COLUMNS: &str = "lvl, start, repo_key, repo_id, name, owner_key, seen_key, events, b_events, pushes, \
                            b_pushes, commits, b_commits, member_ids, bot_member_ids";

/// Turns rows into their writes (on a blocking thread: the values are moved, not copied).
pub fn prepare(place: Place, rows: ShardRows, how: Write) -> Prepared {
    let counts = DayCounts::of(&rows.devs);
    match how {
        Write::Copy => Prepared { counts, copy: Some(copy_lines(place, &rows)), statements: Vec::new() },
        Write::Insert => Prepared { counts, copy: None, statements: insert_statements(place, rows, None) },
        Write::Replace { postgres } => {
            Prepared { counts, copy: None, statements: insert_statements(place, rows, Some(postgres)) }
        }
    }
}

/// Writes prepared rows in `tx`.
pub async fn write(tx: &mut WriteTx, prepared: Prepared) -> Result<(), StoreError> {
    if let Some((devs, repos)) = prepared.copy {
        if !devs.is_empty() {
            tx.copy_in(&format!("archive_developer_rows ({DEV_COLUMNS})"), devs).await?;
        }
        if !repos.is_empty() {
            tx.copy_in(&format!("archive_repository_rows ({REPO_COLUMNS})"), repos).await?;
        }
    }
    for (sql, binds) in prepared.statements {
        tx.execute_owned(&sql, binds).await?;
    }
    Ok(())
}

/// Which stored rows to read.
pub enum Stored<'a> {
    /// Rows of one place with these ids.
    Ids { place: Place, actors: &'a [u64], repos: &'a [u64] },
    /// Every row of these places in one shard.
    Shard { places: &'a [Place], shard: usize },
}

/// Stored rows, as one run per place (each sorted by id within its shard).
pub async fn read(tx: &mut WriteTx, which: Stored<'_>) -> Result<ShardRows, StoreError> {
    let mut rows = ShardRows::default();
    match which {
        Stored::Ids { place, actors, repos } => {
            let at = place_clause(&[place]);
            for chunk in actors.chunks(KEYS_PER_QUERY) {
                let list = chunk.iter().map(|id| row_key(*id).to_string()).collect::<Vec<_>>().join(",");
                rows.devs.extend(read_devs(tx, &format!("{at} AND actor_key IN ({list})")).await?);
            }
            for chunk in repos.chunks(KEYS_PER_QUERY) {
                let list = chunk.iter().map(|id| row_key(*id).to_string()).collect::<Vec<_>>().join(",");
                rows.repos.extend(read_repos(tx, &format!("{at} AND repo_key IN ({list})")).await?);
            }
        }
        Stored::Shard { places, shard } => {
            let at = place_clause(places);
            let (lo, hi) = (row_key_floor(shard), row_key_floor(shard + 1));
            rows.devs = read_devs(tx, &format!("{at} AND actor_key >= {lo} AND actor_key < {hi}")).await?;
            rows.repos = read_repos(tx, &format!("{at} AND repo_key >= {lo} AND repo_key < {hi}")).await?;
        }
    }
    Ok(rows)
}

/// The smallest key of a shard (`SHARDS`: past the last one).
fn row_key_floor(shard: usize) -> i64 {
    if shard >= SHARDS {
        i64::MAX
    } else {
        (shard as i64) << 58
    }
}

/// `(lvl = … AND start = …) OR …`: the places are given as numbers, never text.
pub fn place_clause(places: &[Place]) -> String {
    let places = places.iter().map(|p| format!("(lvl = {} AND start = {})", p.lvl, p.start)).collect::<Vec<_>>();
    format!("({})", places.join(" OR "))
}

async fn read_devs(tx: &mut WriteTx, filter: &str) -> Result<Vec<DevRow>, StoreError> {
    let sql = format!(
        "SELECT actor_id, login, seen_key, is_bot, CAST(days AS BIGINT), CAST(events AS BIGINT), \
         CAST(pushes AS BIGINT), CAST(commits AS BIGINT), CAST(pushes_unknown AS BIGINT) \
         FROM archive_developer_rows WHERE {filter}"
    );
    tx.fetch(&sql, &[], |row| {
        Ok(DevRow {
            actor: row.i64(0)? as u64,
            login: row.text(1)?,
            seen: row.i64(2)? as u64,
            bot: row.bool(3)?,
            days: row.i64(4)? as u32,
            events: row.i64(5)? as u32,
            pushes: row.i64(6)? as u32,
            commits: row.i64(7)? as u64,
            pushes_unknown: row.i64(8)? as u32,
        })
    })
    .await
}

async fn read_repos(tx: &mut WriteTx, filter: &str) -> Result<Vec<RepoRow>, StoreError> {
    let sql = format!(
        "SELECT repo_id, name, seen_key, CAST(events AS BIGINT), CAST(b_events AS BIGINT), CAST(pushes AS BIGINT), \
         CAST(b_pushes AS BIGINT), CAST(commits AS BIGINT), CAST(b_commits AS BIGINT), member_ids, bot_member_ids \
         FROM archive_repository_rows WHERE {filter}"
    );
    tx.fetch(&sql, &[], |row| {
        Ok(RepoRow {
            repo: row.i64(0)? as u64,
            name: row.text(1)?,
            seen: row.i64(2)? as u64,
            events: row.i64(3)? as u32,
            b_events: row.i64(4)? as u32,
            pushes: row.i64(5)? as u32,
            b_pushes: row.i64(6)? as u32,
            commits: row.i64(7)? as u64,
            b_commits: row.i64(8)? as u64,
            members: row.ids(9)?,
            bot_members: row.ids(10)?,
        })
    })
    .await
}

/// A count as stored (INTEGER).
fn int(n: u64) -> i64 {
    n.min(i32::MAX as u64) as i64
}

/// COPY text (PostgreSQL) of rows.
fn copy_lines(place: Place, rows: &ShardRows) -> (Vec<u8>, Vec<u8>) {
    let mut devs = Vec::with_capacity(rows.devs.len() * 72);
    for d in &rows.devs {
        let mut line = Line::new(&mut devs);
        line.int(place.lvl).int(place.start).int(row_key(d.actor)).int(d.actor).text(&d.login).int(d.seen);
        line.bool(d.bot).int(d.days).int(d.events).int(d.pushes).int(int(d.commits)).int(d.pushes_unknown).end();
    }
    let mut repos = Vec::with_capacity(rows.repos.len() * 88);
    for r in &rows.repos {
        let mut line = Line::new(&mut repos);
        line.int(place.lvl).int(place.start).int(row_key(r.repo)).int(r.repo).text(&r.name);
        line.text(&owner_key(&r.name)).int(r.seen).int(r.events).int(r.b_events).int(r.pushes).int(r.b_pushes);
        line.int(int(r.commits)).int(int(r.b_commits)).ids(&r.members).ids(&r.bot_members).end();
    }
    (devs, repos)
}

/// One line of PostgreSQL's COPY text format.
struct Line<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Line<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, first: true }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(b'\t');
        }
        self.first = false;
    }

    fn int(&mut self, n: impl itoa::Integer) -> &mut Self {
        self.sep();
        self.out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self
    }

    fn bool(&mut self, b: bool) -> &mut Self {
        self.sep();
        self.out.push(if b { b't' } else { b'f' });
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.sep();
        copy_text(self.out, s);
        self
    }

    /// A `BIGINT[]`: `{1,2,3}`.
    fn ids(&mut self, ids: &[u64]) -> &mut Self {
        self.sep();
        self.out.push(b'{');
        let mut buffer = itoa::Buffer::new();
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(buffer.format(*id).as_bytes());
        }
        self.out.push(b'}');
        self
    }

    fn end(&mut self) {
        self.out.push(b'\n');
    }
}

/// Multi-row INSERTs of rows (the values moved into them). `replace` (with whether the database
/// is PostgreSQL) overwrites stored rows of the same keys; without it, the database is SQLite.
fn insert_statements(place: Place, rows: ShardRows, replace: Option<bool>) -> Vec<(String, Vec<Bind>)> {
    let dev_conflict = if replace.is_some() {
        " ON CONFLICT (lvl, start, actor_key) DO UPDATE SET login = excluded.login, seen_key = excluded.seen_key, \
         is_bot = excluded.is_bot, days = excluded.days, events = excluded.events, pushes = excluded.pushes, \
         commits = excluded.commits, pushes_unknown = excluded.pushes_unknown"
    } else {
        ""
    };
    let repo_conflict = if replace.is_some() {
        " ON CONFLICT (lvl, start, repo_key) DO UPDATE SET name = excluded.name, owner_key = excluded.owner_key, \
         seen_key = excluded.seen_key, events = excluded.events, b_events = excluded.b_events, \
         pushes = excluded.pushes, b_pushes = excluded.b_pushes, commits = excluded.commits, \
         b_commits = excluded.b_commits, member_ids = excluded.member_ids, bot_member_ids = excluded.bot_member_ids"
    } else {
        ""
    };
    let ids = |list: Vec<u64>| if replace == Some(true) { Bind::Ids(list) } else { Bind::Text(ids_json(&list)) };
    let mut statements = Vec::new();
    let mut devs = rows.devs.into_iter().peekable();
    while devs.peek().is_some() {
        let chunk: Vec<DevRow> = devs.by_ref().take(SQLITE_ROWS).collect();
        let mut binds = Vec::with_capacity(chunk.len() * 12);
        let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(",");
        for d in chunk {
            binds.extend([
                Bind::I32(i32::from(place.lvl)),
                Bind::I32(place.start),
                Bind::I64(row_key(d.actor)),
                Bind::I64(d.actor as i64),
                Bind::Text(d.login),
                Bind::I64(d.seen as i64),
                Bind::Bool(d.bot),
                Bind::I64(i64::from(d.days)),
                Bind::I64(i64::from(d.events)),
                Bind::I64(i64::from(d.pushes)),
                Bind::I64(int(d.commits)),
                Bind::I64(i64::from(d.pushes_unknown)),
            ]);
        }
        statements
            .push((format!("INSERT INTO archive_developer_rows ({DEV_COLUMNS}) VALUES {values}{dev_conflict}"), binds));
    }
    let mut repos = rows.repos.into_iter().peekable();
    while repos.peek().is_some() {
        let chunk: Vec<RepoRow> = repos.by_ref().take(SQLITE_ROWS).collect();
        let mut binds = Vec::with_capacity(chunk.len() * 15);
        let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(",");
        for r in chunk {
            let owner = owner_key(&r.name);
            binds.extend([
                Bind::I32(i32::from(place.lvl)),
                Bind::I32(place.start),
                Bind::I64(row_key(r.repo)),
                Bind::I64(r.repo as i64),
                Bind::Text(r.name),
                Bind::Text(owner),
                Bind::I64(r.seen as i64),
                Bind::I64(i64::from(r.events)),
                Bind::I64(i64::from(r.b_events)),
                Bind::I64(i64::from(r.pushes)),
                Bind::I64(i64::from(r.b_pushes)),
                Bind::I64(int(r.commits)),
                Bind::I64(int(r.b_commits)),
                ids(r.members),
                ids(r.bot_members),
            ]);
        }
        statements.push((
            format!("INSERT INTO archive_repository_rows ({REPO_COLUMNS}) VALUES {values}{repo_conflict}"),
            binds,
        ));
    }
    statements
}

/// The lowercase owner part of `owner/name`.
pub fn owner_key(name: &str) -> String {
    name.split('/').next().unwrap_or_default().to_ascii_lowercase()
}
