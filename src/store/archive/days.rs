//! Putting imported hours into their day's rows (docs/rules.md §7.3), in one transaction per day.
//!
//! A day is summed shard by shard (`aggregate::SHARDS`): the hours' aggregates of a shard are
//! decoded and summed on a blocking thread while the shard before is written, so memory holds a
//! few shards of a day, not the day, and every core works. A day written for the first time is
//! loaded in bulk (`COPY` on PostgreSQL, multi-row INSERTs on SQLite); its shards go in in key
//! order. Hours that arrive after their day was written are summed with the stored rows of the
//! same keys, which are then replaced, and the blocks of days that contain the day are dropped
//! (built again from the days). In the same transaction the hours are marked applied, their
//! stored aggregates deleted, and the day's summary written.
use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use entity::archive_hour::HourStatus;
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection};

use super::blocks;
use super::rows::{self, Place, Prepared, Stored, Write};
use super::sql::{Bind, WriteTx};
use crate::domain::archive::aggregate::{DayCounts, ShardRows, SHARDS};
use crate::store::StoreError;

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

/// Puts the imported hours of `day` that are not applied yet into its rows.
pub async fn apply(db: &DatabaseConnection, day: i32) -> Result<Applied, StoreError> {
    let mut tx = WriteTx::begin(db).await?;
    if !tx.is_postgres() {
        // A page cache for the day's rows (this connection's, for this transaction).
        tx.execute("PRAGMA cache_size = -16384", &[]).await?;
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

    let place = Place { lvl: 0, start: day };
    let how = if had_rows { Write::Replace { postgres: tx.is_postgres() } } else { Write::new_rows(tx.is_postgres()) };
    let mut counts = (DayCounts::default(), DayCounts::default());
    let mut summing: VecDeque<tokio::task::JoinHandle<Result<Prepared, StoreError>>> = VecDeque::new();
    for shard in 0..SHARDS {
        // Read on another connection: on SQLite the writer's page cache then holds only the rows
        // being written. The parts are committed, and the day's lock keeps them.
        let parts = if to_apply.is_empty() { Vec::new() } else { read_parts(db, &to_apply, shard).await? };
        let stored =
            if had_rows && !parts.is_empty() { Some(stored_rows(&mut tx, place, &parts).await?) } else { None };
        summing.push_back(tokio::task::spawn_blocking(move || sum_shard(place, parts, stored, how)));
        if summing.len() > AHEAD {
            write_next(&mut tx, &mut summing, &mut counts).await?;
        }
    }
    while !summing.is_empty() {
        write_next(&mut tx, &mut summing, &mut counts).await?;
    }

    if !to_apply.is_empty() {
        let list = vec!["?"; to_apply.len()].join(",");
        let hour_binds: Vec<Bind> = to_apply.iter().map(|h| Bind::Time(*h)).collect();
        let mut binds = vec![Bind::Bool(true)];
        binds.extend(hour_binds.iter().cloned());
        tx.execute(&format!("UPDATE archive_hours SET applied = ? WHERE hour_at IN ({list})"), &binds).await?;
        tx.execute(&format!("DELETE FROM archive_hour_parts WHERE hour_at IN ({list})"), &hour_binds).await?;
    }
    if had_rows {
        blocks::drop_containing(&mut tx, day).await?;
    }
    let (all, bots) = if had_rows { recount(&mut tx, day).await? } else { counts };
    write_summary(&mut tx, day, imported, missing, all, bots).await?;
    if !tx.is_postgres() {
        tx.execute("PRAGMA cache_size = -2000", &[]).await?;
    }
    tx.commit().await?;
    Ok(Applied { hours: to_apply.len() as u64, merged: had_rows })
}

async fn write_next(
    tx: &mut WriteTx,
    summing: &mut VecDeque<tokio::task::JoinHandle<Result<Prepared, StoreError>>>,
    counts: &mut (DayCounts, DayCounts),
) -> Result<(), StoreError> {
    let Some(task) = summing.pop_front() else { return Ok(()) };
    let prepared = task.await.map_err(|e| StoreError::Corrupt(format!("summing a day stopped: {e}")))??;
    counts.0.add(&prepared.counts.0);
    counts.1.add(&prepared.counts.1);
    rows::write(tx, prepared).await
}

/// Decodes a shard's hour aggregates, sums them (with the day's stored rows of the same keys,
/// when there are any) and prepares their writing. Runs on a blocking thread.
fn sum_shard(place: Place, parts: Vec<Vec<u8>>, stored: Option<ShardRows>, how: Write) -> Result<Prepared, StoreError> {
    let mut runs = parts.iter().map(|data| decode(data)).collect::<Result<Vec<_>, _>>()?;
    drop(parts);
    runs.extend(stored);
    let mut rows = ShardRows::sum(runs);
    // The hours of one day: one day.
    for dev in &mut rows.devs {
        dev.days = 1;
    }
    Ok(rows::prepare(place, rows, how))
}

fn decode(data: &[u8]) -> Result<ShardRows, StoreError> {
    ShardRows::decode(data).map_err(|e| StoreError::Corrupt(format!("an hour's aggregates: {e}")))
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
async fn stored_rows(tx: &mut WriteTx, place: Place, parts: &[Vec<u8>]) -> Result<ShardRows, StoreError> {
    let (mut actors, mut repos) = (Vec::new(), Vec::new());
    for data in parts {
        let run = decode(data)?;
        actors.extend(run.devs.iter().map(|d| d.actor));
        repos.extend(run.repos.iter().map(|r| r.repo));
    }
    for keys in [&mut actors, &mut repos] {
        keys.sort_unstable();
        keys.dedup();
    }
    rows::read(tx, Stored::Ids { place, actors: &actors, repos: &repos }).await
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
                     FROM archive_developer_rows WHERE lvl = 0 AND start = ?{filter}"
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
