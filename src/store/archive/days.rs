//! Putting imported hours into their day's rows (docs/rules.md §7), in one transaction per day.
//!
//! A day is summed shard by shard (`aggregate::SHARDS`): the hours' aggregates of a shard are
//! decoded and summed on a blocking thread while the shard before is written, so memory holds a
//! few shards of a day, not the day, and every core works. A day written for the first time is
//! loaded in bulk (`COPY` on PostgreSQL, multi-row INSERTs on SQLite). Hours that arrive after
//! their day was written are summed with the stored rows of the same keys, which are then
//! replaced. In the same transaction the hours are marked applied, their stored aggregates
//! deleted, and the day's summary written.
use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use entity::archive_hour::HourStatus;
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection};

use super::sql::{copy_text, ids_json, Bind, WriteTx};
use crate::domain::archive::aggregate::{row_key, DayCounts, DevRow, RepoRow, ShardRows, SHARDS};
use crate::store::StoreError;

/// Rows per INSERT on SQLite (its limit is 32,766 parameters).
const SQLITE_ROWS: usize = 2_000;
/// Ids per `IN (…)` list when stored rows are read back.
const KEYS_PER_QUERY: usize = 1_000;
/// Shards summed ahead of the one being written.
const AHEAD: usize = 1;

/// What applying a day did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Hours newly put into the day's rows.
    pub hours: u64,
    /// The day had rows already: the hours were merged into them.
    pub merged: bool,
}

const DEV_COLUMNS: &str = "day, actor_key, actor_id, login, seen_key, is_bot, events, pushes, commits, pushes_unknown";
const REPO_COLUMNS: &str = "day, repo_key, repo_id, name, owner_key, seen_key, events, b_events, pushes, b_pushes, \
                            commits, b_commits, member_ids, bot_member_ids";
/// The columns read back, INTEGER ones as BIGINT (PostgreSQL's driver reads each type as itself).
const DEV_SELECT: &str = "day, actor_key, actor_id, login, seen_key, is_bot, CAST(events AS BIGINT), \
                          CAST(pushes AS BIGINT), commits, CAST(pushes_unknown AS BIGINT)";
const REPO_SELECT: &str = "day, repo_key, repo_id, name, owner_key, seen_key, CAST(events AS BIGINT), \
                           CAST(b_events AS BIGINT), CAST(pushes AS BIGINT), CAST(b_pushes AS BIGINT), commits, b_commits, \
                           member_ids, bot_member_ids";

/// Puts the imported hours of `day` that are not applied yet into its rows.
pub async fn apply(db: &DatabaseConnection, day: i32) -> Result<Applied, StoreError> {
    let mut tx = WriteTx::begin(db).await?;
    if !tx.is_postgres() {
        // A page cache large enough for a day's rows (this connection's, for this transaction).
        tx.execute("PRAGMA cache_size = -65536", &[]).await?;
    }
    // The day's summary row is the day's lock: applications of one day take turns.
    tx.execute("INSERT INTO archive_days (day) VALUES (?) ON CONFLICT (day) DO NOTHING", &[Bind::I32(day)]).await?;
    if tx.is_postgres() {
        tx.execute("SELECT day FROM archive_days WHERE day = ? FOR UPDATE", &[Bind::I32(day)]).await?;
    }
    let hours: Vec<(DateTime<Utc>, HourStatus, bool)> = tx
        .fetch("SELECT hour_at, status, applied FROM archive_hours WHERE day = ?", &[Bind::I32(day)], |row| {
            let status = HourStatus::try_from_value(&row.text(1)?)?;
            Ok((row.time(0)?, status, row.bool(2)?))
        })
        .await?;
    let to_apply: Vec<DateTime<Utc>> =
        hours.iter().filter(|(_, status, applied)| *status == HourStatus::Imported && !applied).map(|h| h.0).collect();
    let had_rows = hours.iter().any(|(_, status, applied)| *status == HourStatus::Imported && *applied);
    let missing = hours.iter().filter(|(_, status, _)| *status == HourStatus::Missing).count() as i32;
    let imported = hours.iter().filter(|(_, status, _)| *status == HourStatus::Imported).count() as i32;
    let known_missing: Vec<i64> = tx
        .fetch("SELECT CAST(hours_missing AS BIGINT) FROM archive_days WHERE day = ?", &[Bind::I32(day)], |row| {
            row.i64(0)
        })
        .await?;
    if to_apply.is_empty() && known_missing.first() == Some(&i64::from(missing)) {
        // Nothing new: another worker summed these hours already.
        tx.commit().await?;
        return Ok(Applied::default());
    }

    let hour_list = vec!["?"; to_apply.len()].join(",");
    let hour_binds: Vec<Bind> = to_apply.iter().map(|h| Bind::Time(*h)).collect();
    let how = match (tx.is_postgres(), had_rows) {
        (_, true) => Write::Replace { postgres: tx.is_postgres() },
        (true, false) => Write::Copy,
        (false, false) => Write::Insert,
    };
    let mut counts = (DayCounts::default(), DayCounts::default());
    let mut summing: VecDeque<tokio::task::JoinHandle<Result<Summed, StoreError>>> = VecDeque::new();
    for shard in 0..SHARDS {
        // Read on another connection: on SQLite the writer's page cache then holds only the rows
        // being written. The parts are committed, and the day's lock keeps them.
        let parts = if to_apply.is_empty() { Vec::new() } else { read_parts(db, &to_apply, shard).await? };
        let stored = if had_rows && !parts.is_empty() { Some(stored_rows(&mut tx, day, &parts).await?) } else { None };
        summing.push_back(tokio::task::spawn_blocking(move || sum_shard(day, parts, stored, how)));
        if summing.len() > AHEAD {
            write_summed(&mut tx, next(&mut summing).await?, &mut counts).await?;
        }
    }
    while !summing.is_empty() {
        write_summed(&mut tx, next(&mut summing).await?, &mut counts).await?;
    }

    if !to_apply.is_empty() {
        let mut binds = vec![Bind::Bool(true)];
        binds.extend(hour_binds.iter().cloned());
        tx.execute(&format!("UPDATE archive_hours SET applied = ? WHERE hour_at IN ({hour_list})"), &binds).await?;
        tx.execute(&format!("DELETE FROM archive_hour_parts WHERE hour_at IN ({hour_list})"), &hour_binds).await?;
    }
    let (all, bots) = if had_rows { recount(&mut tx, day).await? } else { counts };
    write_summary(&mut tx, day, imported, missing, all, bots).await?;
    if !tx.is_postgres() {
        tx.execute("PRAGMA cache_size = -2000", &[]).await?;
    }
    tx.commit().await?;
    Ok(Applied { hours: to_apply.len() as u64, merged: had_rows })
}

/// How a day's rows are written.
#[derive(Debug, Clone, Copy)]
enum Write {
    /// The day's first rows, on PostgreSQL: `COPY`.
    Copy,
    /// The day's first rows, on SQLite: multi-row INSERTs.
    Insert,
    /// Rows summed with the day's stored ones, replacing them: INSERT … ON CONFLICT.
    Replace { postgres: bool },
}

/// A shard of a day, summed and ready to be written: its developers' counts, and the writes.
struct Summed {
    counts: (DayCounts, DayCounts),
    copy: Option<(Vec<u8>, Vec<u8>)>,
    statements: Vec<(String, Vec<Bind>)>,
}

async fn next(
    summing: &mut VecDeque<tokio::task::JoinHandle<Result<Summed, StoreError>>>,
) -> Result<Summed, StoreError> {
    match summing.pop_front() {
        Some(task) => task.await.map_err(|e| StoreError::Corrupt(format!("summing a day stopped: {e}")))?,
        None => Err(StoreError::Corrupt("no shard is being summed".into())),
    }
}

/// Decodes a shard's hour aggregates, sums them (with the day's stored rows of the same keys,
/// when there are any) and prepares their writing. Runs on a blocking thread.
fn sum_shard(day: i32, parts: Vec<Vec<u8>>, stored: Option<ShardRows>, how: Write) -> Result<Summed, StoreError> {
    let mut runs = parts
        .iter()
        .map(|data| ShardRows::decode(data).map_err(|e| StoreError::Corrupt(format!("an hour's aggregates: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    drop(parts);
    runs.extend(stored);
    let rows = ShardRows::sum(runs);
    let counts = DayCounts::of(&rows.devs);
    Ok(match how {
        Write::Copy => Summed { counts, copy: Some(copy_lines(day, &rows)), statements: Vec::new() },
        Write::Insert => Summed { counts, copy: None, statements: insert_statements(day, rows, None) },
        Write::Replace { postgres } => {
            Summed { counts, copy: None, statements: insert_statements(day, rows, Some(postgres)) }
        }
    })
}

async fn write_summed(tx: &mut WriteTx, summed: Summed, counts: &mut (DayCounts, DayCounts)) -> Result<(), StoreError> {
    counts.0.add(&summed.counts.0);
    counts.1.add(&summed.counts.1);
    if let Some((devs, repos)) = summed.copy {
        if !devs.is_empty() {
            tx.copy_in(&format!("archive_developer_days ({DEV_COLUMNS})"), devs).await?;
        }
        if !repos.is_empty() {
            tx.copy_in(&format!("archive_repository_days ({REPO_COLUMNS})"), repos).await?;
        }
    }
    for (sql, binds) in summed.statements {
        tx.execute_owned(&sql, binds).await?;
    }
    Ok(())
}

/// The stored aggregates of shard `shard` of `hours`.
async fn read_parts(
    db: &DatabaseConnection,
    hours: &[DateTime<Utc>],
    shard: usize,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let backend = db.get_database_backend();
    let list = vec!["?"; hours.len()].join(",");
    let mut values: Vec<sea_orm::Value> = hours.iter().map(|h| (*h).into()).collect();
    values.push((shard as i32).into());
    let sql = format!("SELECT data FROM archive_hour_parts WHERE hour_at IN ({list}) AND shard = ?");
    let sql = match backend {
        sea_orm::DbBackend::Postgres => super::sql::numbered(&sql),
        _ => sql,
    };
    let rows = db.query_all(sea_orm::Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(rows.iter().map(|r| r.try_get::<Vec<u8>>("", "data")).collect::<Result<_, _>>()?)
}

/// The day's stored rows with the keys of `parts` (an hour that came late), as one more run.
async fn stored_rows(tx: &mut WriteTx, day: i32, parts: &[Vec<u8>]) -> Result<ShardRows, StoreError> {
    let (mut actors, mut repos) = (Vec::new(), Vec::new());
    for data in parts {
        let run = ShardRows::decode(data).map_err(|e| StoreError::Corrupt(format!("an hour's aggregates: {e}")))?;
        actors.extend(run.devs.iter().map(|d| d.actor));
        repos.extend(run.repos.iter().map(|r| r.repo));
    }
    for keys in [&mut actors, &mut repos] {
        keys.sort_unstable();
        keys.dedup();
    }
    let mut stored = ShardRows::default();
    for chunk in actors.chunks(KEYS_PER_QUERY) {
        let list = chunk.iter().map(|id| row_key(*id).to_string()).collect::<Vec<_>>().join(",");
        let sql = format!("SELECT {DEV_SELECT} FROM archive_developer_days WHERE day = ? AND actor_key IN ({list})");
        stored.devs.extend(
            tx.fetch(&sql, &[Bind::I32(day)], |row| {
                Ok(DevRow {
                    actor: row.i64(2)? as u64,
                    login: row.text(3)?,
                    seen: row.i64(4)? as u64,
                    bot: row.bool(5)?,
                    events: row.i64(6)? as u32,
                    pushes: row.i64(7)? as u32,
                    commits: row.i64(8)? as u64,
                    pushes_unknown: row.i64(9)? as u32,
                })
            })
            .await?,
        );
    }
    for chunk in repos.chunks(KEYS_PER_QUERY) {
        let list = chunk.iter().map(|id| row_key(*id).to_string()).collect::<Vec<_>>().join(",");
        let sql = format!("SELECT {REPO_SELECT} FROM archive_repository_days WHERE day = ? AND repo_key IN ({list})");
        stored.repos.extend(
            tx.fetch(&sql, &[Bind::I32(day)], |row| {
                Ok(RepoRow {
                    repo: row.i64(2)? as u64,
                    name: row.text(3)?,
                    seen: row.i64(5)? as u64,
                    events: row.i64(6)? as u32,
                    b_events: row.i64(7)? as u32,
                    pushes: row.i64(8)? as u32,
                    b_pushes: row.i64(9)? as u32,
                    commits: row.i64(10)? as u64,
                    b_commits: row.i64(11)? as u64,
                    members: row.ids(12)?,
                    bot_members: row.ids(13)?,
                })
            })
            .await?,
        );
    }
    stored.devs.sort_by_key(|d| d.actor);
    stored.repos.sort_by_key(|r| r.repo);
    Ok(stored)
}

/// COPY text (PostgreSQL) of a shard's developer and repository rows.
fn copy_lines(day: i32, rows: &ShardRows) -> (Vec<u8>, Vec<u8>) {
    let mut devs = Vec::with_capacity(rows.devs.len() * 64);
    for d in &rows.devs {
        let mut line = Line::new(&mut devs);
        line.int(day).int(row_key(d.actor)).int(d.actor).text(&d.login).int(d.seen).bool(d.bot);
        line.int(d.events).int(d.pushes).int(d.commits).int(d.pushes_unknown).end();
    }
    let mut repos = Vec::with_capacity(rows.repos.len() * 80);
    for r in &rows.repos {
        let mut line = Line::new(&mut repos);
        line.int(day).int(row_key(r.repo)).int(r.repo).text(&r.name).text(&owner_key(&r.name)).int(r.seen);
        line.int(r.events).int(r.b_events).int(r.pushes).int(r.b_pushes).int(r.commits).int(r.b_commits);
        line.ids(&r.members).ids(&r.bot_members).end();
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

/// Multi-row INSERTs of a shard's rows (the values moved into them). `replace` (with whether
/// the database is PostgreSQL) overwrites the day's rows of the same keys, which were summed
/// into these; without it, the database is SQLite.
fn insert_statements(day: i32, rows: ShardRows, replace: Option<bool>) -> Vec<(String, Vec<Bind>)> {
    let dev_conflict = if replace.is_some() {
        " ON CONFLICT (day, actor_key) DO UPDATE SET login = excluded.login, seen_key = excluded.seen_key, \
         is_bot = excluded.is_bot, events = excluded.events, pushes = excluded.pushes, commits = excluded.commits, \
         pushes_unknown = excluded.pushes_unknown"
    } else {
        ""
    };
    let repo_conflict = if replace.is_some() {
        " ON CONFLICT (day, repo_key) DO UPDATE SET name = excluded.name, owner_key = excluded.owner_key, \
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
        let mut binds = Vec::with_capacity(chunk.len() * 10);
        let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(",");
        for d in chunk {
            binds.extend([
                Bind::I32(day),
                Bind::I64(row_key(d.actor)),
                Bind::I64(d.actor as i64),
                Bind::Text(d.login),
                Bind::I64(d.seen as i64),
                Bind::Bool(d.bot),
                Bind::I64(i64::from(d.events)),
                Bind::I64(i64::from(d.pushes)),
                Bind::I64(d.commits.min(i64::MAX as u64) as i64),
                Bind::I64(i64::from(d.pushes_unknown)),
            ]);
        }
        statements
            .push((format!("INSERT INTO archive_developer_days ({DEV_COLUMNS}) VALUES {values}{dev_conflict}"), binds));
    }
    let mut repos = rows.repos.into_iter().peekable();
    while repos.peek().is_some() {
        let chunk: Vec<RepoRow> = repos.by_ref().take(SQLITE_ROWS).collect();
        let mut binds = Vec::with_capacity(chunk.len() * 14);
        let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(",");
        for r in chunk {
            let owner = owner_key(&r.name);
            binds.extend([
                Bind::I32(day),
                Bind::I64(row_key(r.repo)),
                Bind::I64(r.repo as i64),
                Bind::Text(r.name),
                Bind::Text(owner),
                Bind::I64(r.seen as i64),
                Bind::I64(i64::from(r.events)),
                Bind::I64(i64::from(r.b_events)),
                Bind::I64(i64::from(r.pushes)),
                Bind::I64(i64::from(r.b_pushes)),
                Bind::I64(r.commits.min(i64::MAX as u64) as i64),
                Bind::I64(r.b_commits.min(i64::MAX as u64) as i64),
                ids(r.members),
                ids(r.bot_members),
            ]);
        }
        statements.push((
            format!("INSERT INTO archive_repository_days ({REPO_COLUMNS}) VALUES {values}{repo_conflict}"),
            binds,
        ));
    }
    statements
}

/// The day's summary counted again from its rows (after a merge).
async fn recount(tx: &mut WriteTx, day: i32) -> Result<(DayCounts, DayCounts), StoreError> {
    let mut out = Vec::new();
    for bots_only in [false, true] {
        let filter = if bots_only { " AND is_bot = ?" } else { "" };
        let mut binds = vec![Bind::I32(day)];
        if bots_only {
            binds.push(Bind::Bool(true));
        }
        let counts = tx
            .fetch(
                &format!(
                    "SELECT COUNT(*), CAST(SUM(events) AS BIGINT), \
                     CAST(SUM(CASE WHEN commits = 0 THEN 1 ELSE 0 END) AS BIGINT), \
                     CAST(SUM(CASE WHEN commits = 1 THEN 1 ELSE 0 END) AS BIGINT), \
                     CAST(SUM(CASE WHEN commits > 1 THEN 1 ELSE 0 END) AS BIGINT), \
                     CAST(SUM(CASE WHEN pushes_unknown > 0 THEN 1 ELSE 0 END) AS BIGINT), \
                     CAST(SUM(pushes) AS BIGINT), CAST(SUM(commits) AS BIGINT), CAST(SUM(pushes_unknown) AS BIGINT) \
                     FROM archive_developer_days WHERE day = ?{filter}"
                ),
                &binds,
                |row| {
                    let n = |i| row.opt_i64(i).map(|v| v.unwrap_or(0).max(0) as u64);
                    Ok(DayCounts {
                        devs: n(0)?,
                        events: n(1)?,
                        devs_c0: n(2)?,
                        devs_c1: n(3)?,
                        devs_cn: n(4)?,
                        devs_unknown: n(5)?,
                        pushes: n(6)?,
                        commits: n(7)?,
                        pushes_unknown: n(8)?,
                    })
                },
            )
            .await?;
        out.push(counts.into_iter().next().unwrap_or_default());
    }
    Ok((out[0], out[1]))
}

async fn write_summary(
    tx: &mut WriteTx,
    day: i32,
    imported: i32,
    missing: i32,
    all: DayCounts,
    bots: DayCounts,
) -> Result<(), StoreError> {
    let n = |v: u64| Bind::I64(v.min(i64::MAX as u64) as i64);
    tx.execute(
        "UPDATE archive_days SET hours_imported = ?, hours_missing = ?, \
         events = ?, b_events = ?, devs = ?, b_devs = ?, devs_c0 = ?, b_devs_c0 = ?, devs_c1 = ?, b_devs_c1 = ?, \
         devs_cn = ?, b_devs_cn = ?, devs_unknown = ?, b_devs_unknown = ?, pushes = ?, b_pushes = ?, \
         commits = ?, b_commits = ?, pushes_unknown = ?, b_pushes_unknown = ?, rolled_up_at = ? WHERE day = ?",
        &[
            Bind::I32(imported),
            Bind::I32(missing),
            n(all.events),
            n(bots.events),
            n(all.devs),
            n(bots.devs),
            n(all.devs_c0),
            n(bots.devs_c0),
            n(all.devs_c1),
            n(bots.devs_c1),
            n(all.devs_cn),
            n(bots.devs_cn),
            n(all.devs_unknown),
            n(bots.devs_unknown),
            n(all.pushes),
            n(bots.pushes),
            n(all.commits),
            n(bots.commits),
            n(all.pushes_unknown),
            n(bots.pushes_unknown),
            Bind::Time(Utc::now()),
            Bind::I32(day),
        ],
    )
    .await?;
    Ok(())
}

/// The lowercase owner part of `owner/name`.
pub fn owner_key(name: &str) -> String {
    name.split('/').next().unwrap_or_default().to_ascii_lowercase()
}
