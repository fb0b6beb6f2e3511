//! Putting imported hours into their day's rows, in one transaction per day: the hours'
//! aggregates are summed in memory and written, the hours marked applied and their stored
//! aggregates deleted, the day's summary written. A day written for the first time is loaded in
//! bulk (`COPY` on PostgreSQL); hours that arrive after their day was written are merged into
//! its rows. Blocks of days that contain the day are dropped (built again from the days).
use std::collections::BTreeSet;

use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::sql::{copy_text, Bind, WriteTx};
use crate::archive::fold::{DayCounts, DayFold, DayRows, HourPart};
use crate::store::StoreError;

/// Rows per INSERT on SQLite (its limit is 32,766 parameters).
const SQLITE_ROWS: usize = 2_000;
/// Bytes of COPY data sent at once.
const COPY_CHUNK: usize = 8 * 1024 * 1024;

/// What applying a day did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Hours newly put into the day's rows.
    pub hours: u64,
    /// The day had rows already: the hours were merged into them.
    pub merged: bool,
}

/// Puts the imported hours of `day` that are not applied yet into its rows.
pub async fn apply(db: &DatabaseConnection, day: i32) -> Result<Applied, StoreError> {
    let mut tx = WriteTx::begin(db).await?;
    // The day's summary row is the day's lock: applications of one day take turns.
    tx.execute("INSERT INTO archive_days (day) VALUES (?) ON CONFLICT (day) DO NOTHING", &[Bind::I32(day)]).await?;
    if tx.is_postgres() {
        tx.execute("SELECT day FROM archive_days WHERE day = ? FOR UPDATE", &[Bind::I32(day)]).await?;
    }
    let hours: Vec<(chrono::DateTime<Utc>, String, bool)> = tx
        .fetch("SELECT hour_at, status, applied FROM archive_hours WHERE day = ?", &[Bind::I32(day)], |row| {
            Ok((row.time(0)?, row.text(1)?, row.bool(2)?))
        })
        .await?;
    let to_apply: Vec<chrono::DateTime<Utc>> =
        hours.iter().filter(|(_, status, applied)| status == "imported" && !applied).map(|h| h.0).collect();
    let had_rows = hours.iter().any(|(_, status, applied)| status == "imported" && *applied);
    let missing = hours.iter().filter(|(_, status, _)| status == "missing").count() as i32;
    let known_missing: Vec<i32> = tx
        .fetch("SELECT CAST(hours_missing AS BIGINT) FROM archive_days WHERE day = ?", &[Bind::I32(day)], |row| {
            Ok(row.i64(0)? as i32)
        })
        .await?;
    if to_apply.is_empty() && known_missing.first() == Some(&missing) {
        // Nothing new: another worker summed these hours already.
        tx.commit().await?;
        return Ok(Applied::default());
    }
    let imported = hours.iter().filter(|(_, status, _)| status == "imported").count() as i32;

    let mut fold = DayFold::default();
    for hour in &to_apply {
        // One part at a time: memory holds the day's sums and one hour.
        let data = tx
            .fetch("SELECT data FROM archive_hour_parts WHERE hour_at = ?", &[Bind::Time(*hour)], |row| row.bytes(0))
            .await?;
        let Some(data) = data.into_iter().next() else {
            return Err(StoreError::Corrupt(format!("the aggregates of the imported hour {hour} are gone")));
        };
        let part = HourPart::decode(&data).map_err(|e| StoreError::Corrupt(format!("hour {hour}: {e}")))?;
        fold.add(part);
    }
    let rows = fold.finish();
    if had_rows {
        merge(&mut tx, day, &rows).await?;
    } else {
        load(&mut tx, day, &rows).await?;
    }
    drop_blocks(&mut tx, day).await?;
    for hour in &to_apply {
        tx.execute("UPDATE archive_hours SET applied = ? WHERE hour_at = ?", &[Bind::Bool(true), Bind::Time(*hour)])
            .await?;
        tx.execute("DELETE FROM archive_hour_parts WHERE hour_at = ?", &[Bind::Time(*hour)]).await?;
    }
    let (all, bots) = if had_rows { recount(&mut tx, day).await? } else { (rows.all, rows.bots) };
    write_summary(&mut tx, day, imported, missing, all, bots).await?;
    tx.commit().await?;
    Ok(Applied { hours: to_apply.len() as u64, merged: had_rows })
}

/// A day written for the first time: its rows in bulk.
async fn load(tx: &mut WriteTx, day: i32, rows: &DayRows) -> Result<(), StoreError> {
    if tx.is_postgres() {
        let mut data = Vec::with_capacity(COPY_CHUNK + 4096);
        let cols = "archive_developers (lvl, start, actor_id, login, seen_key, is_bot, days, events, pushes, commits, pushes_unknown)";
        for d in &rows.devs {
            line(
                &mut data,
                &[
                    &0i32 as &dyn Cell,
                    &day,
                    &d.actor,
                    &d.login.as_str(),
                    &d.seen,
                    &d.bot,
                    &1i32,
                    &d.events,
                    &d.pushes,
                    &d.commits,
                    &d.pushes_unknown,
                ],
            );
            flush_if_full(tx, cols, &mut data).await?;
        }
        flush(tx, cols, &mut data).await?;
        let cols = "archive_repositories (lvl, start, repo_id, name, owner_key, seen_key, events, b_events, pushes, b_pushes, commits, b_commits, members, b_members)";
        for r in &rows.repos {
            let row = &r.row;
            let owner = owner_key(&row.name);
            line(
                &mut data,
                &[
                    &0i32 as &dyn Cell,
                    &day,
                    &row.repo,
                    &row.name.as_str(),
                    &owner.as_str(),
                    &row.seen,
                    &row.events,
                    &row.b_events,
                    &row.pushes,
                    &row.b_pushes,
                    &row.commits,
                    &row.b_commits,
                    &r.members,
                    &r.b_members,
                ],
            );
            flush_if_full(tx, cols, &mut data).await?;
        }
        flush(tx, cols, &mut data).await?;
        let cols = "archive_members (lvl, start, repo_id, actor_id, is_bot)";
        for m in &rows.members {
            line(&mut data, &[&0i32 as &dyn Cell, &day, &m.repo, &m.actor, &m.bot]);
            flush_if_full(tx, cols, &mut data).await?;
        }
        flush(tx, cols, &mut data).await?;
        return Ok(());
    }
    insert_rows(tx, day, rows, "").await
}

/// Hours that arrive after their day was written: their rows merged into the day's.
async fn merge(tx: &mut WriteTx, day: i32, rows: &DayRows) -> Result<(), StoreError> {
    insert_rows(tx, day, rows, "merge").await?;
    // Member counts of the repositories touched, from their members.
    let touched: BTreeSet<u64> = rows.repos.iter().map(|r| r.row.repo).collect();
    let ids: Vec<u64> = touched.into_iter().collect();
    for chunk in ids.chunks(SQLITE_ROWS) {
        let list = chunk.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        tx.execute(
            &format!(
                "UPDATE archive_repositories SET \
                 members = (SELECT COUNT(*) FROM archive_members m WHERE m.lvl = 0 AND m.start = archive_repositories.start \
                            AND m.repo_id = archive_repositories.repo_id), \
                 b_members = (SELECT COUNT(*) FROM archive_members m WHERE m.lvl = 0 AND m.start = archive_repositories.start \
                            AND m.repo_id = archive_repositories.repo_id AND m.is_bot = ?) \
                 WHERE lvl = 0 AND start = ? AND repo_id IN ({list})"
            ),
            &[Bind::Bool(true), Bind::I32(day)],
        )
        .await?;
    }
    Ok(())
}

/// Multi-row INSERTs of a day's rows; `mode` "merge" adds to rows already there.
async fn insert_rows(tx: &mut WriteTx, day: i32, rows: &DayRows, mode: &str) -> Result<(), StoreError> {
    let merge = mode == "merge";
    let dev_conflict = if merge {
        " ON CONFLICT (lvl, start, actor_id) DO UPDATE SET \
         login = CASE WHEN excluded.seen_key > archive_developers.seen_key THEN excluded.login ELSE archive_developers.login END, \
         is_bot = CASE WHEN excluded.seen_key > archive_developers.seen_key THEN excluded.is_bot ELSE archive_developers.is_bot END, \
         seen_key = CASE WHEN excluded.seen_key > archive_developers.seen_key THEN excluded.seen_key ELSE archive_developers.seen_key END, \
         events = archive_developers.events + excluded.events, pushes = archive_developers.pushes + excluded.pushes, \
         commits = archive_developers.commits + excluded.commits, \
         pushes_unknown = archive_developers.pushes_unknown + excluded.pushes_unknown"
    } else {
        ""
    };
    for chunk in rows.devs.chunks(SQLITE_ROWS) {
        let mut binds = Vec::with_capacity(chunk.len() * 9);
        for d in chunk {
            binds.extend([
                Bind::I32(day),
                Bind::I64(d.actor as i64),
                Bind::Text(d.login.clone()),
                Bind::I64(d.seen as i64),
                Bind::Bool(d.bot),
                Bind::I64(i64::from(d.events)),
                Bind::I64(i64::from(d.pushes)),
                Bind::I64(d.commits.min(i64::MAX as u64) as i64),
                Bind::I64(i64::from(d.pushes_unknown)),
            ]);
        }
        let values = vec!["(0, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)"; chunk.len()].join(",");
        tx.execute(
            &format!(
                "INSERT INTO archive_developers (lvl, start, actor_id, login, seen_key, is_bot, days, events, pushes, \
                 commits, pushes_unknown) VALUES {values}{dev_conflict}"
            ),
            &binds,
        )
        .await?;
    }
    let repo_conflict = if merge {
        " ON CONFLICT (lvl, start, repo_id) DO UPDATE SET \
         name = CASE WHEN excluded.seen_key > archive_repositories.seen_key THEN excluded.name ELSE archive_repositories.name END, \
         owner_key = CASE WHEN excluded.seen_key > archive_repositories.seen_key THEN excluded.owner_key ELSE archive_repositories.owner_key END, \
         seen_key = CASE WHEN excluded.seen_key > archive_repositories.seen_key THEN excluded.seen_key ELSE archive_repositories.seen_key END, \
         events = archive_repositories.events + excluded.events, b_events = archive_repositories.b_events + excluded.b_events, \
         pushes = archive_repositories.pushes + excluded.pushes, b_pushes = archive_repositories.b_pushes + excluded.b_pushes, \
         commits = archive_repositories.commits + excluded.commits, b_commits = archive_repositories.b_commits + excluded.b_commits"
    } else {
        ""
    };
    for chunk in rows.repos.chunks(SQLITE_ROWS) {
        let mut binds = Vec::with_capacity(chunk.len() * 13);
        for r in chunk {
            let row = &r.row;
            binds.extend([
                Bind::I32(day),
                Bind::I64(row.repo as i64),
                Bind::Text(row.name.clone()),
                Bind::Text(owner_key(&row.name)),
                Bind::I64(row.seen as i64),
                Bind::I64(i64::from(row.events)),
                Bind::I64(i64::from(row.b_events)),
                Bind::I64(i64::from(row.pushes)),
                Bind::I64(i64::from(row.b_pushes)),
                Bind::I64(row.commits.min(i64::MAX as u64) as i64),
                Bind::I64(row.b_commits.min(i64::MAX as u64) as i64),
                Bind::I64(i64::from(r.members)),
                Bind::I64(i64::from(r.b_members)),
            ]);
        }
        let values = vec!["(0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(",");
        tx.execute(
            &format!(
                "INSERT INTO archive_repositories (lvl, start, repo_id, name, owner_key, seen_key, events, b_events, \
                 pushes, b_pushes, commits, b_commits, members, b_members) VALUES {values}{repo_conflict}"
            ),
            &binds,
        )
        .await?;
    }
    let member_conflict = if merge {
        " ON CONFLICT (lvl, start, repo_id, actor_id) DO UPDATE SET \
         is_bot = (archive_members.is_bot OR excluded.is_bot)"
    } else {
        ""
    };
    for chunk in rows.members.chunks(SQLITE_ROWS * 2) {
        let mut binds = Vec::with_capacity(chunk.len() * 4);
        for m in chunk {
            binds.extend([Bind::I32(day), Bind::I64(m.repo as i64), Bind::I64(m.actor as i64), Bind::Bool(m.bot)]);
        }
        let values = vec!["(0, ?, ?, ?, ?)"; chunk.len()].join(",");
        tx.execute(
            &format!(
                "INSERT INTO archive_members (lvl, start, repo_id, actor_id, is_bot) VALUES {values}{member_conflict}"
            ),
            &binds,
        )
        .await?;
    }
    Ok(())
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
                     FROM archive_developers WHERE lvl = 0 AND start = ?{filter}"
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

/// Blocks of days that contain `day` no longer hold: dropped, to be built again.
async fn drop_blocks(tx: &mut WriteTx, day: i32) -> Result<(), StoreError> {
    for table in ["archive_developers", "archive_repositories", "archive_members", "archive_blocks"] {
        // lvl > 0: the block [start, start + 2^lvl) contains the day.
        let sql = format!("DELETE FROM {table} WHERE lvl > 0 AND start <= ? AND start + (1 << lvl) > ?");
        tx.execute(&sql, &[Bind::I32(day), Bind::I32(day)]).await?;
    }
    Ok(())
}

/// The lowercase owner part of `owner/name`.
pub fn owner_key(name: &str) -> String {
    name.split('/').next().unwrap_or_default().to_ascii_lowercase()
}

/// One value of a COPY line.
trait Cell {
    fn write(&self, out: &mut Vec<u8>);
}

macro_rules! number_cell {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn write(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(self.to_string().as_bytes());
            }
        }
    )*};
}
number_cell!(i32, u32, u64);

impl Cell for bool {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(if *self { b't' } else { b'f' });
    }
}

impl Cell for &str {
    fn write(&self, out: &mut Vec<u8>) {
        copy_text(out, self);
    }
}

fn line(out: &mut Vec<u8>, cells: &[&dyn Cell]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        cell.write(out);
    }
    out.push(b'\n');
}

async fn flush_if_full(tx: &mut WriteTx, cols: &str, data: &mut Vec<u8>) -> Result<(), StoreError> {
    if data.len() >= COPY_CHUNK {
        flush(tx, cols, data).await?;
    }
    Ok(())
}

async fn flush(tx: &mut WriteTx, cols: &str, data: &mut Vec<u8>) -> Result<(), StoreError> {
    if !data.is_empty() {
        tx.copy_in(cols, std::mem::take(data)).await?;
        data.reserve(COPY_CHUNK + 4096);
    }
    Ok(())
}
