//! The refresh jobs table: the durable queue's statements (enqueue, claim with a lease,
//! heartbeat, finish, release) and the reads of the API.
use chrono::{DateTime, Utc};
use entity::{refresh_job, schedule_tick};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};

use super::db::begin_write;
use super::page::{keyset, Page, PageRequest};

pub const QUEUED: &str = "QUEUED";
pub const RUNNING: &str = "RUNNING";
pub const SUCCEEDED: &str = "SUCCEEDED";
pub const FAILED: &str = "FAILED";

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<refresh_job::Model>, DbErr> {
    refresh_job::Entity::find_by_id(id).one(db).await
}

/// Jobs newest first, optionally of one status.
pub async fn page(
    db: &impl ConnectionTrait,
    status: Option<&str>,
    request: &PageRequest,
) -> Result<Page<refresh_job::Model>, DbErr> {
    let mut base = refresh_job::Entity::find();
    if let Some(status) = status {
        base = base.filter(refresh_job::Column::Status.eq(status));
    }
    keyset(db, base, &[Expr::col(refresh_job::Column::Id).into()], request).await
}

pub async fn count(db: &impl ConnectionTrait, status: Option<&str>) -> Result<u64, DbErr> {
    let mut select = refresh_job::Entity::find();
    if let Some(status) = status {
        select = select.filter(refresh_job::Column::Status.eq(status));
    }
    select.count(db).await
}

/// Progress columns of a running job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobProgress {
    pub repos_total: Option<i32>,
    pub repos_done: Option<i32>,
    pub requests_made: i64,
}

/// A job that ran this many times without finishing (its process died each time) is failed.
pub const MAX_ATTEMPTS: i32 = 5;

/// Queues a refresh of `target_key` unless one is queued or running: returns the job and
/// whether it is new. The unique `active_key` makes concurrent callers share one job.
pub async fn enqueue(
    db: &DatabaseConnection,
    owner: &str,
    repo: Option<&str>,
    target_key: &str,
    trigger: &str,
    parent_id: Option<i64>,
) -> Result<(refresh_job::Model, bool), DbErr> {
    for _ in 0..5 {
        let now = Utc::now();
        let row = refresh_job::ActiveModel {
            parent_id: Set(parent_id),
            owner: Set(owner.to_string()),
            repo: Set(repo.map(str::to_string)),
            target_key: Set(target_key.to_string()),
            active_key: Set(Some(target_key.to_string())),
            trigger: Set(trigger.to_string()),
            status: Set(QUEUED.to_string()),
            created_at: Set(now),
            updated_at: Set(now),
            attempts: Set(0),
            requests_made: Set(0),
            ..Default::default()
        };
        let tx = begin_write(db).await?;
        let inserted = refresh_job::Entity::insert(row)
            .on_conflict(OnConflict::column(refresh_job::Column::ActiveKey).do_nothing().to_owned())
            .exec_without_returning(&*tx)
            .await?;
        let active =
            refresh_job::Entity::find().filter(refresh_job::Column::ActiveKey.eq(target_key)).one(&*tx).await?;
        tx.commit().await?;
        if let Some(job) = active {
            return Ok((job, inserted == 1));
        }
        // The active job ended between the two statements: try again.
    }
    Err(DbErr::Custom(format!("could not queue a refresh of {target_key}")))
}

/// Which jobs a worker may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Account,
    Repository,
}

/// Takes the oldest queued job of `kind`, or a running one whose lease expired (its worker
/// is gone), and leases it to `worker` until `lease_until`. On PostgreSQL concurrent workers
/// skip each other's rows (`FOR UPDATE SKIP LOCKED`).
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    kind: JobKind,
    lease_until: DateTime<Utc>,
) -> Result<Option<refresh_job::Model>, DbErr> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    let kind_clause = match kind {
        JobKind::Account => "repo IS NULL",
        JobKind::Repository => "repo IS NOT NULL",
    };
    let (p, lock) = match backend {
        DbBackend::Postgres => (["$1", "$2", "$3", "$4"], " FOR UPDATE SKIP LOCKED"),
        _ => (["?", "?", "?", "?"], ""),
    };
    let sql = format!(
        "UPDATE refresh_jobs SET status = 'RUNNING', lease_owner = {w}, lease_expires_at = {until}, \
         started_at = COALESCE(started_at, {now}), attempts = attempts + 1, updated_at = {now} \
         WHERE id = (SELECT id FROM refresh_jobs WHERE {kind_clause} AND attempts < {max} AND \
         (status = 'QUEUED' OR (status = 'RUNNING' AND lease_expires_at < {now2})) ORDER BY id LIMIT 1{lock}) \
         RETURNING *",
        w = p[0],
        until = p[1],
        now = p[2],
        now2 = p[3],
        max = MAX_ATTEMPTS,
    );
    let values: Vec<Value> = vec![worker.into(), lease_until.into(), now.into(), now.into()];
    // SQLite numbers `?` in order: the same value is bound again for the second `now`.
    let values = if backend == DbBackend::Postgres {
        values
    } else {
        vec![values[0].clone(), values[1].clone(), values[2].clone(), values[2].clone(), values[3].clone()]
    };
    let tx = begin_write(db).await?;
    let job = refresh_job::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .one(&*tx)
        .await?;
    tx.commit().await?;
    Ok(job)
}

/// Fails running jobs whose lease expired after `MAX_ATTEMPTS` attempts.
pub async fn fail_abandoned(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let now = Utc::now();
    let tx = begin_write(db).await?;
    let result = refresh_job::Entity::update_many()
        .col_expr(refresh_job::Column::Status, Expr::value(FAILED))
        .col_expr(refresh_job::Column::ActiveKey, Expr::value(Option::<String>::None))
        .col_expr(refresh_job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            refresh_job::Column::Error,
            Expr::value(format!("abandoned: its worker stopped {MAX_ATTEMPTS} times before finishing")),
        )
        .col_expr(refresh_job::Column::FinishedAt, Expr::value(now))
        .col_expr(refresh_job::Column::UpdatedAt, Expr::value(now))
        .filter(refresh_job::Column::Status.is_in([QUEUED, RUNNING]))
        .filter(refresh_job::Column::Attempts.gte(MAX_ATTEMPTS))
        .filter(
            Condition::any()
                .add(refresh_job::Column::Status.eq(QUEUED))
                .add(refresh_job::Column::LeaseExpiresAt.lt(now)),
        )
        .exec(&*tx)
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected)
}

/// Renews the lease and records progress; false when the job is no longer this worker's.
pub async fn heartbeat(
    db: &DatabaseConnection,
    id: i64,
    worker: &str,
    lease_until: DateTime<Utc>,
    progress: JobProgress,
) -> Result<bool, DbErr> {
    let update = refresh_job::Entity::update_many()
        .col_expr(refresh_job::Column::LeaseExpiresAt, Expr::value(lease_until))
        .col_expr(refresh_job::Column::ReposTotal, Expr::value(progress.repos_total))
        .col_expr(refresh_job::Column::ReposDone, Expr::value(progress.repos_done))
        .col_expr(refresh_job::Column::RequestsMade, Expr::value(progress.requests_made))
        .col_expr(refresh_job::Column::UpdatedAt, Expr::value(Utc::now()));
    update_held(db, id, worker, update).await
}

/// Applies `update` to job `id` only while `worker` holds it running; true if it did.
async fn update_held(
    db: &DatabaseConnection,
    id: i64,
    worker: &str,
    update: sea_orm::UpdateMany<refresh_job::Entity>,
) -> Result<bool, DbErr> {
    let tx = begin_write(db).await?;
    let result = update
        .filter(refresh_job::Column::Id.eq(id))
        .filter(refresh_job::Column::LeaseOwner.eq(worker))
        .filter(refresh_job::Column::Status.eq(RUNNING))
        .exec(&*tx)
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected == 1)
}

/// Ends the job (SUCCEEDED or FAILED) if this worker still holds it.
pub async fn finish(
    db: &DatabaseConnection,
    id: i64,
    worker: &str,
    status: &str,
    error: Option<String>,
    progress: JobProgress,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let update = refresh_job::Entity::update_many()
        .col_expr(refresh_job::Column::Status, Expr::value(status))
        .col_expr(refresh_job::Column::Error, Expr::value(error))
        .col_expr(refresh_job::Column::ActiveKey, Expr::value(Option::<String>::None))
        .col_expr(refresh_job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(refresh_job::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(refresh_job::Column::FinishedAt, Expr::value(now))
        .col_expr(refresh_job::Column::UpdatedAt, Expr::value(now))
        .col_expr(refresh_job::Column::ReposTotal, Expr::value(progress.repos_total))
        .col_expr(refresh_job::Column::ReposDone, Expr::value(progress.repos_done))
        .col_expr(refresh_job::Column::RequestsMade, Expr::value(progress.requests_made));
    update_held(db, id, worker, update).await
}

/// Puts a job this worker holds back in the queue (graceful shutdown), keeping its progress.
pub async fn release(db: &DatabaseConnection, id: i64, worker: &str) -> Result<bool, DbErr> {
    let update = refresh_job::Entity::update_many()
        .col_expr(refresh_job::Column::Status, Expr::value(QUEUED))
        .col_expr(refresh_job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(refresh_job::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(refresh_job::Column::Attempts, Expr::col(refresh_job::Column::Attempts).sub(1))
        .col_expr(refresh_job::Column::UpdatedAt, Expr::value(Utc::now()));
    update_held(db, id, worker, update).await
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<refresh_job::Model>, DbErr> {
    refresh_job::Entity::find().filter(refresh_job::Column::Id.is_in(ids.iter().copied())).all(db).await
}

/// Repository jobs created for an account job.
pub async fn children(db: &impl ConnectionTrait, parent_id: i64) -> Result<Vec<refresh_job::Model>, DbErr> {
    refresh_job::Entity::find().filter(refresh_job::Column::ParentId.eq(parent_id)).all(db).await
}

/// When a refresh of `target_key` last succeeded.
pub async fn last_success(db: &impl ConnectionTrait, target_key: &str) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(refresh_job::Entity::find()
        .filter(refresh_job::Column::TargetKey.eq(target_key))
        .filter(refresh_job::Column::Status.eq(SUCCEEDED))
        .order_by_desc(refresh_job::Column::Id)
        .one(db)
        .await?
        .and_then(|j| j.finished_at))
}

/// Jobs per status, for metrics.
pub async fn count_by_status(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    refresh_job::Entity::find()
        .select_only()
        .column(refresh_job::Column::Status)
        .column_as(refresh_job::Column::Id.count(), "n")
        .group_by(refresh_job::Column::Status)
        .into_tuple()
        .all(db)
        .await
}

/// Records one firing of the schedule; true for the first replica to record it.
pub async fn record_tick(db: &DatabaseConnection, tick_at: DateTime<Utc>) -> Result<bool, DbErr> {
    let tx = begin_write(db).await?;
    let inserted = schedule_tick::Entity::insert(schedule_tick::ActiveModel { tick_at: Set(tick_at) })
        .on_conflict(OnConflict::column(schedule_tick::Column::TickAt).do_nothing().to_owned())
        .exec_without_returning(&*tx)
        .await?;
    tx.commit().await?;
    Ok(inserted == 1)
}
