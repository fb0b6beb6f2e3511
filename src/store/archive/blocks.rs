//! Blocks of days (docs/rules.md §7.5): once every hour of an aligned block of 2^`lvl` days is
//! settled, the rows of its two halves are summed into rows of the block. A window of days is
//! then read from a few blocks and the days at its edges instead of from every day: the rows
//! to sum grow with the distinct developers of the window rather than with its days. A day that
//! changes (an hour that arrives late) drops the blocks that contain it; they are built again
//! when complete.
use std::collections::HashSet;

use chrono::Utc;
use entity::archive_hour::HourStatus;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::rows::{self, Place, Stored, Write};
use super::sql::{query, Bind, WriteTx};
use crate::domain::archive::aggregate::{ShardRows, SHARDS};
use crate::domain::archive::{day_number, DayRange};
use crate::store::StoreError;

/// The largest blocks: 2^8 = 256 days.
pub const MAX_LEVEL: i16 = 8;

/// Builds the blocks that `day` completes, smallest first; how many were built.
pub async fn build_after(db: &DatabaseConnection, day: i32) -> Result<u32, StoreError> {
    let mut built = 0;
    for lvl in 1..=MAX_LEVEL {
        let len = 1i32 << lvl;
        let start = day - day.rem_euclid(len);
        let half = len / 2;
        let children = if lvl == 1 {
            true
        } else {
            let have = built_blocks(db, start, start + len - 1).await?;
            have.contains(&(lvl - 1, start)) && have.contains(&(lvl - 1, start + half))
        };
        if !children || !settled(db, start, len).await? {
            break;
        }
        if build(db, Place { lvl, start }).await? {
            built += 1;
        }
    }
    Ok(built)
}

/// Whether every hour of the `len` days from `start` is settled: missing, or imported and in
/// its day's rows.
async fn settled(db: &DatabaseConnection, start: i32, len: i32) -> Result<bool, StoreError> {
    let rows = query(
        db,
        "SELECT COUNT(*) AS n FROM archive_hours WHERE day BETWEEN ? AND ? AND (status = ? OR (status = ? AND applied = ?))",
        vec![
            start.into(),
            (start + len - 1).into(),
            HourStatus::Missing.into(),
            HourStatus::Imported.into(),
            true.into(),
        ],
    )
    .await?;
    let n: i64 = match rows.first() {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n == i64::from(len) * 24)
}

/// Builds the block at `place` from its two halves, unless another worker did; true when built.
pub async fn build(db: &DatabaseConnection, place: Place) -> Result<bool, StoreError> {
    let mut tx = WriteTx::begin(db).await?;
    // The block's entry is its lock: a second builder finds it and stops.
    let claimed = tx
        .execute(
            "INSERT INTO archive_blocks (lvl, start, built_at) VALUES (?, ?, ?) ON CONFLICT (lvl, start) DO NOTHING",
            &[Bind::I32(i32::from(place.lvl)), Bind::I32(place.start), Bind::Time(Utc::now())],
        )
        .await?;
    if claimed != 1 {
        tx.commit().await?;
        return Ok(false);
    }
    let half = 1i32 << (place.lvl - 1);
    let children =
        [Place { lvl: place.lvl - 1, start: place.start }, Place { lvl: place.lvl - 1, start: place.start + half }];
    let how = Write::new_rows(tx.is_postgres());
    for shard in 0..SHARDS {
        let stored = rows::read(&mut tx, Stored::Shard { places: &children, shard }).await?;
        let prepared = tokio::task::spawn_blocking(move || rows::prepare(place, ShardRows::sum(vec![stored]), how))
            .await
            .map_err(|e| StoreError::Corrupt(format!("summing a block stopped: {e}")))?;
        rows::write(&mut tx, prepared).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Drops the blocks that contain `day` (in the transaction that changes it).
pub async fn drop_containing(tx: &mut WriteTx, day: i32) -> Result<(), StoreError> {
    for table in ["archive_developer_rows", "archive_repository_rows", "archive_blocks"] {
        // lvl > 0: the block [start, start + 2^lvl) contains the day.
        let sql = format!("DELETE FROM {table} WHERE lvl > 0 AND start <= ? AND start + (1 << lvl) > ?");
        tx.execute(&sql, &[Bind::I32(day), Bind::I32(day)]).await?;
    }
    Ok(())
}

async fn built_blocks(db: &impl ConnectionTrait, from: i32, to: i32) -> Result<HashSet<(i16, i32)>, StoreError> {
    let rows = query(
        db,
        "SELECT CAST(lvl AS INTEGER) AS lvl, start FROM archive_blocks WHERE start BETWEEN ? AND ?",
        vec![from.into(), to.into()],
    )
    .await?;
    rows.iter().map(|row| Ok((row.try_get::<i32>("", "lvl")? as i16, row.try_get::<i32>("", "start")?))).collect()
}

/// The rows a window of days is read from: ranges of days, and built blocks inside the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub days: Vec<(i32, i32)>,
    pub blocks: Vec<Place>,
}

impl Window {
    /// The SQL condition on `lvl` and `start` (numbers only, never text).
    pub fn clause(&self) -> String {
        self.clause_on("")
    }

    /// The condition on the columns of table alias `alias` (`""`: unqualified).
    pub fn clause_on(&self, alias: &str) -> String {
        let p = if alias.is_empty() { String::new() } else { format!("{alias}.") };
        let mut parts: Vec<String> =
            self.days.iter().map(|(a, b)| format!("({p}lvl = 0 AND {p}start BETWEEN {a} AND {b})")).collect();
        parts.extend(self.blocks.iter().map(|b| format!("({p}lvl = {} AND {p}start = {})", b.lvl, b.start)));
        if parts.is_empty() {
            "(1 = 0)".into()
        } else {
            format!("({})", parts.join(" OR "))
        }
    }
}

/// The window of `range`: from each day on, the largest built block that starts there and fits,
/// else the day itself.
pub async fn window(db: &impl ConnectionTrait, range: DayRange) -> Result<Window, StoreError> {
    let (from, to) = (day_number(range.from()), day_number(range.to()));
    let built = built_blocks(db, from, to).await?;
    Ok(cover(from, to, &built))
}

fn cover(from: i32, to: i32, built: &HashSet<(i16, i32)>) -> Window {
    let mut window = Window { days: Vec::new(), blocks: Vec::new() };
    let mut day = from;
    while day <= to {
        let lvl = (1..=MAX_LEVEL)
            .rev()
            .find(|&lvl| {
                let len = 1i32 << lvl;
                day.rem_euclid(len) == 0 && day + len - 1 <= to && built.contains(&(lvl, day))
            })
            .unwrap_or(0);
        if lvl == 0 {
            match window.days.last_mut() {
                Some((_, end)) if *end == day - 1 => *end = day,
                _ => window.days.push((day, day)),
            }
            day += 1;
        } else {
            window.blocks.push(Place { lvl, start: day });
            day += 1 << lvl;
        }
    }
    window
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_takes_the_largest_built_blocks_and_days_between() {
        let built: HashSet<(i16, i32)> = [(1, 4), (1, 6), (2, 4), (3, 8), (1, 16)].into_iter().collect();
        // Days 3..=18: 3, [4..8) as one block of 4, [8..16) a block of 8, [16..18) a block of 2, 18.
        let w = cover(3, 18, &built);
        assert_eq!(w.days, vec![(3, 3), (18, 18)]);
        assert_eq!(w.blocks, vec![Place { lvl: 2, start: 4 }, Place { lvl: 3, start: 8 }, Place { lvl: 1, start: 16 }]);
        // A block that does not fit the window is not used.
        let w = cover(5, 9, &built);
        assert_eq!(w.days, vec![(5, 5), (8, 9)]);
        assert_eq!(w.blocks, vec![Place { lvl: 1, start: 6 }]);
        assert_eq!(cover(5, 9, &HashSet::new()).days, vec![(5, 9)]);
        assert_eq!(cover(5, 9, &HashSet::new()).clause(), "((lvl = 0 AND start BETWEEN 5 AND 9))");
    }
}
