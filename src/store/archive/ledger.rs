//! The ledger of hour files: planned by archive jobs, claimed by workers under a lease, settled
//! once (imported with its aggregates, or missing) in one transaction with the hour's row.
use chrono::{DateTime, NaiveDate, Utc};
use entity::archive_hour::{self, HourStatus};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, Value,
};

use crate::domain::archive::aggregate::HourPart;
use crate::domain::archive::{day_date, day_number, DayRange, Hour};
use crate::store::db::begin_write;
use crate::store::{StoreError, BATCH_ROWS};

/// An hour that started this many times without settling (its process died each time) fails.
pub const MAX_ATTEMPTS: i32 = 5;

/// Which missing hours a plan asks the archive for again.
#[derive(Debug, Clone, Copy)]
pub enum Recheck {
    /// Every missing hour (an explicit request).
    AllMissing,
    /// Missing hours from this instant on (the schedule: the archive may publish late).
    MissingSince(DateTime<Utc>),
}

/// Queues the hours of `job_id` that are not imported: new ones, failed ones, and missing ones
/// per `recheck`. Hours queued or running for another job are left to it.
pub async fn plan(db: &DatabaseConnection, job_id: i64, hours: &[Hour], recheck: Recheck) -> Result<(), StoreError> {
    let recheck_from = match recheck {
        Recheck::AllMissing => DateTime::<Utc>::UNIX_EPOCH,
        Recheck::MissingSince(at) => at,
    };
    for chunk in hours.chunks(BATCH_ROWS) {
        let rows = chunk.iter().map(|hour| archive_hour::ActiveModel {
            hour_at: Set(hour.start()),
            day: Set(day_number(hour.day())),
            status: Set(HourStatus::Queued),
            job_id: Set(Some(job_id)),
            attempts: Set(0),
            ..Default::default()
        });
        let requeue = OnConflict::column(archive_hour::Column::HourAt)
            .values([
                (archive_hour::Column::Status, Expr::value(HourStatus::Queued)),
                (archive_hour::Column::JobId, Expr::value(job_id)),
                (archive_hour::Column::Attempts, Expr::value(0)),
                (archive_hour::Column::Error, Expr::value(Option::<String>::None)),
            ])
            .action_and_where(
                Expr::col((archive_hour::Entity, archive_hour::Column::Status)).eq(HourStatus::Failed).or(Expr::col((
                    archive_hour::Entity,
                    archive_hour::Column::Status,
                ))
                .eq(HourStatus::Missing)
                .and(Expr::col((archive_hour::Entity, archive_hour::Column::HourAt)).gte(recheck_from))),
            )
            .to_owned();
        let tx = begin_write(db).await?;
        archive_hour::Entity::insert_many(rows).on_conflict(requeue).exec_without_returning(&*tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Takes the oldest queued hour within `ranges` (any, when None), or a running one whose lease
/// expired, and leases it to `worker`.
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    ranges: Option<&[DayRange]>,
    lease_until: DateTime<Utc>,
) -> Result<Option<archive_hour::Model>, StoreError> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    let (p, lock) = match backend {
        DbBackend::Postgres => (["$1", "$2", "$3", "$4", "$5"], " FOR UPDATE SKIP LOCKED"),
        _ => (["?1", "?2", "?3", "?4", "?5"], ""),
    };
    let mut values: Vec<Value> =
        vec![worker.into(), lease_until.into(), now.into(), HourStatus::Running.into(), HourStatus::Queued.into()];
    let scope = match ranges {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_string(),
        Some(ranges) => {
            let mut clauses = Vec::with_capacity(ranges.len());
            for range in ranges {
                let n = values.len();
                let (a, b) = match backend {
                    DbBackend::Postgres => (format!("${}", n + 1), format!("${}", n + 2)),
                    _ => (format!("?{}", n + 1), format!("?{}", n + 2)),
                };
                clauses.push(format!("(hour_at >= {a} AND hour_at < {b})"));
                values.push(Hour::of_day(range.from(), 0).start().into());
                values.push(Hour::of_day(range.to(), 23).plus(1).start().into());
            }
            format!(" AND ({})", clauses.join(" OR "))
        }
    };
    let sql = format!(
        "UPDATE archive_hours SET status = {running}, lease_owner = {w}, lease_expires_at = {until}, \
         attempts = attempts + 1 \
         WHERE hour_at = (SELECT hour_at FROM archive_hours WHERE attempts < {max}{scope} AND \
         (status = {queued} OR (status = {running} AND lease_expires_at < {now})) ORDER BY hour_at LIMIT 1{lock}) \
         RETURNING *",
        w = p[0],
        until = p[1],
        now = p[2],
        running = p[3],
        queued = p[4],
        max = MAX_ATTEMPTS,
    );
    let tx = begin_write(db).await?;
    let hour = archive_hour::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .one(&*tx)
        .await?;
    tx.commit().await?;
    Ok(hour)
}

/// When the first lease of an hour being imported expires (None: none is).
pub async fn next_lease_expiry(db: &DatabaseConnection) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(archive_hour::Entity::find()
        .filter(archive_hour::Column::Status.eq(HourStatus::Running))
        .select_only()
        .column_as(archive_hour::Column::LeaseExpiresAt.min(), "at")
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten())
}

/// Fails hours whose process died `MAX_ATTEMPTS` times before they settled.
pub async fn fail_abandoned(db: &DatabaseConnection) -> Result<u64, StoreError> {
    let tx = begin_write(db).await?;
    let result = archive_hour::Entity::update_many()
        .col_expr(archive_hour::Column::Status, Expr::value(HourStatus::Failed))
        .col_expr(archive_hour::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            archive_hour::Column::Error,
            Expr::value(format!("abandoned: its worker stopped {MAX_ATTEMPTS} times before it was imported")),
        )
        .filter(archive_hour::Column::Status.is_in([HourStatus::Queued, HourStatus::Running]))
        .filter(archive_hour::Column::Attempts.gte(MAX_ATTEMPTS))
        .filter(
            Condition::any()
                .add(archive_hour::Column::Status.eq(HourStatus::Queued))
                .add(archive_hour::Column::LeaseExpiresAt.lt(Utc::now())),
        )
        .exec(&*tx)
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected)
}

/// Renews an hour's lease; false when it is no longer this worker's.
pub async fn renew(
    db: &DatabaseConnection,
    hour: Hour,
    worker: &str,
    lease_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let tx = begin_write(db).await?;
    let result = held(archive_hour::Entity::update_many(), hour, worker)
        .col_expr(archive_hour::Column::LeaseExpiresAt, Expr::value(lease_until))
        .exec(&*tx)
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected == 1)
}

fn held(
    update: sea_orm::UpdateMany<archive_hour::Entity>,
    hour: Hour,
    worker: &str,
) -> sea_orm::UpdateMany<archive_hour::Entity> {
    update
        .filter(archive_hour::Column::HourAt.eq(hour.start()))
        .filter(archive_hour::Column::LeaseOwner.eq(worker))
        .filter(archive_hour::Column::Status.eq(HourStatus::Running))
}

/// Settles an imported hour: its counts and its aggregates (`bytes`: the size of its file), in
/// one transaction, while `worker` holds it. False (and nothing written) when the lease passed
/// to another worker.
pub async fn settle_imported(
    db: &DatabaseConnection,
    hour: Hour,
    worker: &str,
    part: &HourPart,
    bytes: u64,
) -> Result<bool, StoreError> {
    let shards: Vec<(i16, Vec<u8>)> = part
        .shards
        .iter()
        .enumerate()
        .filter(|(_, rows)| !rows.devs.is_empty() || !rows.repos.is_empty())
        .map(|(i, rows)| (i as i16, rows.encode()))
        .collect();
    let tx = begin_write(db).await?;
    let settled = held(archive_hour::Entity::update_many(), hour, worker)
        .col_expr(archive_hour::Column::Status, Expr::value(HourStatus::Imported))
        .col_expr(archive_hour::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(archive_hour::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(archive_hour::Column::Lines, Expr::value(part.lines as i64))
        .col_expr(archive_hour::Column::Events, Expr::value(part.events as i64))
        .col_expr(archive_hour::Column::SkippedLines, Expr::value(part.skipped_lines as i64))
        .col_expr(archive_hour::Column::DuplicateEvents, Expr::value(part.duplicate_events as i64))
        .col_expr(archive_hour::Column::Bytes, Expr::value(bytes as i64))
        .col_expr(archive_hour::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(archive_hour::Column::SettledAt, Expr::value(Utc::now()))
        .col_expr(archive_hour::Column::Applied, Expr::value(false))
        .exec(&*tx)
        .await?;
    if settled.rows_affected != 1 {
        return Ok(false);
    }
    let backend = db.get_database_backend();
    let clear = match backend {
        DbBackend::Postgres => "DELETE FROM archive_hour_parts WHERE hour_at = $1",
        _ => "DELETE FROM archive_hour_parts WHERE hour_at = ?",
    };
    tx.execute(Statement::from_sql_and_values(backend, clear, [hour.start().into()])).await?;
    let sql = match backend {
        DbBackend::Postgres => "INSERT INTO archive_hour_parts (hour_at, shard, data) VALUES ($1, $2, $3)",
        _ => "INSERT INTO archive_hour_parts (hour_at, shard, data) VALUES (?, ?, ?)",
    };
    for (shard, data) in shards {
        tx.execute(Statement::from_sql_and_values(
            backend,
            sql,
            [hour.start().into(), Value::SmallInt(Some(shard)), Value::Bytes(Some(Box::new(data)))],
        ))
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Settles an hour the archive does not have (404).
pub async fn settle_missing(db: &DatabaseConnection, hour: Hour, worker: &str) -> Result<bool, StoreError> {
    end(db, hour, worker, HourStatus::Missing, None).await
}

/// Fails an hour that could not be read whole after every try; nothing of it is counted.
pub async fn fail(db: &DatabaseConnection, hour: Hour, worker: &str, error: String) -> Result<bool, StoreError> {
    end(db, hour, worker, HourStatus::Failed, Some(error)).await
}

/// Puts an hour this worker holds back in the queue (shutdown, or an unreachable database).
pub async fn release(
    db: &DatabaseConnection,
    hour: Hour,
    worker: &str,
    count_attempt: bool,
) -> Result<bool, StoreError> {
    let mut update = held(archive_hour::Entity::update_many(), hour, worker)
        .col_expr(archive_hour::Column::Status, Expr::value(HourStatus::Queued))
        .col_expr(archive_hour::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(archive_hour::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None));
    if !count_attempt {
        update = update.col_expr(archive_hour::Column::Attempts, Expr::col(archive_hour::Column::Attempts).sub(1));
    }
    let tx = begin_write(db).await?;
    let result = update.exec(&*tx).await?;
    tx.commit().await?;
    Ok(result.rows_affected == 1)
}

async fn end(
    db: &DatabaseConnection,
    hour: Hour,
    worker: &str,
    status: HourStatus,
    error: Option<String>,
) -> Result<bool, StoreError> {
    let tx = begin_write(db).await?;
    let result = held(archive_hour::Entity::update_many(), hour, worker)
        .col_expr(archive_hour::Column::Status, Expr::value(status))
        .col_expr(archive_hour::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(archive_hour::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(archive_hour::Column::Error, Expr::value(error))
        .col_expr(archive_hour::Column::SettledAt, Expr::value(Utc::now()))
        .exec(&*tx)
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected == 1)
}

/// Where the hours of a range stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeProgress {
    /// Hours planned in the range.
    pub planned: u64,
    pub imported: u64,
    pub missing: u64,
    pub failed: u64,
    /// Queued or running.
    pub pending: u64,
    /// Events of the imported hours.
    pub events: u64,
}

impl RangeProgress {
    pub fn settled(&self) -> u64 {
        self.imported + self.missing
    }
}

/// The hours of `range` up to `until` (exclusive), by status.
pub async fn progress(db: &impl ConnectionTrait, range: DayRange) -> Result<RangeProgress, StoreError> {
    let rows: Vec<(HourStatus, i64, Option<i64>)> = archive_hour::Entity::find()
        .select_only()
        .column(archive_hour::Column::Status)
        .column_as(archive_hour::Column::HourAt.count(), "n")
        .column_as(Expr::cust("CAST(SUM(events) AS BIGINT)"), "events")
        .filter(in_range(range))
        .group_by(archive_hour::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut progress = RangeProgress::default();
    for (status, n, events) in rows {
        let n = n.max(0) as u64;
        progress.planned += n;
        match status {
            HourStatus::Imported => {
                progress.imported += n;
                progress.events += events.unwrap_or(0).max(0) as u64;
            }
            HourStatus::Missing => progress.missing += n,
            HourStatus::Failed => progress.failed += n,
            HourStatus::Queued | HourStatus::Running => progress.pending += n,
        }
    }
    Ok(progress)
}

fn in_range(range: DayRange) -> Condition {
    Condition::all()
        .add(archive_hour::Column::HourAt.gte(Hour::of_day(range.from(), 0).start()))
        .add(archive_hour::Column::HourAt.lt(Hour::of_day(range.to(), 23).plus(1).start()))
}

/// The hours of `range` that failed, with why.
pub async fn failures(db: &impl ConnectionTrait, range: DayRange) -> Result<Vec<(Hour, String)>, StoreError> {
    Ok(archive_hour::Entity::find()
        .filter(in_range(range))
        .filter(archive_hour::Column::Status.eq(HourStatus::Failed))
        .order_by_asc(archive_hour::Column::HourAt)
        .all(db)
        .await?
        .into_iter()
        .map(|h| (Hour::from(h.hour_at), h.error.unwrap_or_else(|| "failed".into())))
        .collect())
}

/// Days of `range` with imported hours not yet in the day's rows.
pub async fn days_to_apply(db: &impl ConnectionTrait, range: DayRange) -> Result<Vec<i32>, StoreError> {
    Ok(archive_hour::Entity::find()
        .select_only()
        .column(archive_hour::Column::Day)
        .distinct()
        .filter(in_range(range))
        .filter(archive_hour::Column::Status.eq(HourStatus::Imported))
        .filter(archive_hour::Column::Applied.eq(false))
        .order_by_asc(archive_hour::Column::Day)
        .into_tuple()
        .all(db)
        .await?)
}

/// Whether any hour of `day` is still queued or running.
pub async fn day_pending(db: &impl ConnectionTrait, day: i32) -> Result<bool, StoreError> {
    Ok(archive_hour::Entity::find()
        .filter(archive_hour::Column::Day.eq(day))
        .filter(archive_hour::Column::Status.is_in([HourStatus::Queued, HourStatus::Running]))
        .one(db)
        .await?
        .is_some())
}

/// The first day from `from` on with an hour that is neither imported nor missing: where the
/// schedule goes on from.
pub async fn first_unsettled_day(db: &impl ConnectionTrait, from: NaiveDate) -> Result<NaiveDate, StoreError> {
    let settled: Vec<(i32, i64)> = archive_hour::Entity::find()
        .select_only()
        .column(archive_hour::Column::Day)
        .column_as(archive_hour::Column::HourAt.count(), "n")
        .filter(archive_hour::Column::Day.gte(day_number(from)))
        .filter(archive_hour::Column::Status.is_in([HourStatus::Imported, HourStatus::Missing]))
        .group_by(archive_hour::Column::Day)
        .order_by_asc(archive_hour::Column::Day)
        .into_tuple()
        .all(db)
        .await?;
    let mut day = day_number(from);
    for (settled_day, hours) in settled {
        if settled_day != day || hours < 24 {
            break;
        }
        day += 1;
    }
    Ok(day_date(day))
}
