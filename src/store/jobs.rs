//! The refresh jobs table: the durable queue's statements (enqueue, claim with a lease,
//! heartbeat, finish, release) and the reads of the API.
use chrono::{DateTime, Utc};
use entity::refresh_job::{self, JobKind, JobStatus, JobTrigger};
use entity::schedule_firing;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};
use serde::{Deserialize, Serialize};

use super::db::begin_write;
use super::error::StoreError;
use super::page::{keyset, Direction, Page, PageRequest};
use crate::domain::archive::DayRange;
use crate::domain::{OwnerLogin, RepoName, RepoRef, Target};

/// Position of a job in the list (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobKey {
    pub id: i64,
}

impl JobKey {
    pub fn of(job: &refresh_job::Model) -> Self {
        Self { id: job.id }
    }
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<refresh_job::Model>, StoreError> {
    Ok(refresh_job::Entity::find_by_id(id).one(db).await?)
}

/// Jobs newest first, optionally of one status.
pub async fn page(
    db: &impl ConnectionTrait,
    status: Option<JobStatus>,
    request: &PageRequest<JobKey>,
) -> Result<Page<refresh_job::Model>, StoreError> {
    let mut base = refresh_job::Entity::find();
    if let Some(status) = status {
        base = base.filter(refresh_job::Column::Status.eq(status));
    }
    let request = request.bounds(|k| vec![k.id.into()]);
    Ok(keyset(db, base, &[Expr::col(refresh_job::Column::Id).into()], &request, Direction::Descending).await?)
}

pub async fn count(db: &impl ConnectionTrait, status: Option<JobStatus>) -> Result<u64, StoreError> {
    let mut select = refresh_job::Entity::find();
    if let Some(status) = status {
        select = select.filter(refresh_job::Column::Status.eq(status));
    }
    Ok(select.count(db).await?)
}

/// The target a stored job refreshes.
pub fn target(job: &refresh_job::Model) -> Result<Target, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("job {}: {what}", job.id));
    let owner = || OwnerLogin::parse(&job.owner).map_err(|e| corrupt(e.to_string()));
    match (job.kind, &job.repo) {
        (JobKind::Account, None) => Ok(Target::Account(owner()?)),
        (JobKind::Repository, Some(name)) => {
            let name = RepoName::parse(name).map_err(|e| corrupt(e.to_string()))?;
            Ok(Target::Repository(RepoRef::new(owner()?, name)))
        }
        (JobKind::Archive, None) => match (job.archive_from, job.archive_to) {
            (Some(from), Some(to)) => DayRange::new(from, to).map(Target::Archive).map_err(|e| corrupt(e.to_string())),
            _ => Err(corrupt("an archive job without its days".into())),
        },
        (kind, repo) => Err(corrupt(format!("a {kind:?} job with repository {repo:?}"))),
    }
}

/// The account of archive jobs, as the API shows it.
pub const ARCHIVE_OWNER: &str = "gharchive";

/// The columns that describe a target.
struct Described {
    kind: JobKind,
    owner: String,
    repo: Option<String>,
    days: Option<DayRange>,
}

fn describe(target: &Target) -> Described {
    let (kind, owner, repo, days) = match target {
        Target::Account(owner) => (JobKind::Account, owner.as_str().to_string(), None, None),
        Target::Repository(repo) => {
            (JobKind::Repository, repo.owner.as_str().to_string(), Some(repo.name.as_str().to_string()), None)
        }
        Target::Archive(range) => (JobKind::Archive, ARCHIVE_OWNER.to_string(), None, Some(*range)),
    };
    Described { kind, owner, repo, days }
}

impl Described {
    fn row(
        self,
        key: String,
        trigger: JobTrigger,
        parent_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> refresh_job::ActiveModel {
        refresh_job::ActiveModel {
            parent_id: Set(parent_id),
            kind: Set(self.kind),
            owner: Set(self.owner),
            repo: Set(self.repo),
            target_key: Set(key.clone()),
            active_key: Set(Some(key)),
            trigger: Set(trigger),
            status: Set(JobStatus::Queued),
            created_at: Set(now),
            updated_at: Set(now),
            attempts: Set(0),
            requests_made: Set(0),
            archive_from: Set(self.days.map(|d| d.from())),
            archive_to: Set(self.days.map(|d| d.to())),
            ..Default::default()
        }
    }
}

/// Progress columns of a running job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobProgress {
    pub repos_total: Option<i32>,
    pub repos_done: Option<i32>,
    pub requests_made: i64,
    pub hours_total: Option<i32>,
    pub hours_done: Option<i32>,
    pub events_imported: Option<i64>,
}

impl JobProgress {
    /// Sets the progress columns on an update.
    fn set(self, update: sea_orm::UpdateMany<refresh_job::Entity>) -> sea_orm::UpdateMany<refresh_job::Entity> {
        update
            .col_expr(refresh_job::Column::ReposTotal, Expr::value(self.repos_total))
            .col_expr(refresh_job::Column::ReposDone, Expr::value(self.repos_done))
            .col_expr(refresh_job::Column::RequestsMade, Expr::value(self.requests_made))
            .col_expr(refresh_job::Column::HoursTotal, Expr::value(self.hours_total))
            .col_expr(refresh_job::Column::HoursDone, Expr::value(self.hours_done))
            .col_expr(refresh_job::Column::EventsImported, Expr::value(self.events_imported))
    }
}

/// A job that ran this many times without finishing (its process died each time) is failed.
pub const MAX_ATTEMPTS: i32 = 5;

/// Queues a refresh of `target` unless one is queued or running: returns the job and whether
/// it is new. The unique `active_key` makes concurrent callers share one job.
pub async fn enqueue(
    db: &DatabaseConnection,
    target: &Target,
    trigger: JobTrigger,
    parent_id: Option<i64>,
) -> Result<(refresh_job::Model, bool), StoreError> {
    let key = target.key();
    for _ in 0..5 {
        let row = describe(target).row(key.clone(), trigger, parent_id, Utc::now());
        let tx = begin_write(db).await?;
        let inserted = refresh_job::Entity::insert(row)
            .on_conflict(OnConflict::column(refresh_job::Column::ActiveKey).do_nothing().to_owned())
            .exec_without_returning(&*tx)
            .await?;
        let active = refresh_job::Entity::find().filter(refresh_job::Column::ActiveKey.eq(&key)).one(&*tx).await?;
        tx.commit().await?;
        if let Some(job) = active {
            return Ok((job, inserted == 1));
        }
        // The active job ended between the two statements: try again.
    }
    Err(StoreError::Corrupt(format!("could not queue a refresh of {key}: its active job kept changing")))
}

/// Queues a job per target under `parent_id` in one transaction (an account's repositories),
/// sharing the jobs already queued or running for some of them. Returns the job of each target,
/// in the order given.
pub async fn enqueue_children(
    db: &DatabaseConnection,
    targets: &[Target],
    trigger: JobTrigger,
    parent_id: i64,
) -> Result<Vec<refresh_job::Model>, StoreError> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let keys: Vec<String> = targets.iter().map(Target::key).collect();
    let tx = begin_write(db).await?;
    for chunk in targets.chunks(super::BATCH_ROWS / 4) {
        let rows = chunk.iter().map(|target| describe(target).row(target.key(), trigger, Some(parent_id), now));
        refresh_job::Entity::insert_many(rows)
            .on_conflict(OnConflict::column(refresh_job::Column::ActiveKey).do_nothing().to_owned())
            .exec_without_returning(&*tx)
            .await?;
    }
    let mut active = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(super::BATCH_ROWS) {
        active.extend(
            refresh_job::Entity::find()
                .filter(refresh_job::Column::ActiveKey.is_in(chunk.iter().cloned()))
                .all(&*tx)
                .await?,
        );
    }
    tx.commit().await?;
    let mut by_key: std::collections::HashMap<String, refresh_job::Model> =
        active.into_iter().filter_map(|j| Some((j.active_key.clone()?, j))).collect();
    keys.iter()
        .map(|k| {
            by_key.remove(k).ok_or_else(|| StoreError::Corrupt(format!("the job of {k} vanished after it was queued")))
        })
        .collect()
}

/// Which jobs a worker pool may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimScope {
    /// Any queued job (a server).
    All,
    /// These jobs and their children only (a command in the foreground).
    Roots(Vec<i64>),
}

/// Takes the oldest queued job of `kind` within `scope`, or a running one whose lease expired
/// (its worker is gone), and leases it to `worker` until `lease_until`. On PostgreSQL
/// concurrent workers skip each other's rows (`FOR UPDATE SKIP LOCKED`).
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    kind: JobKind,
    scope: &ClaimScope,
    lease_until: DateTime<Utc>,
) -> Result<Option<refresh_job::Model>, StoreError> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    let (p, lock) = match backend {
        DbBackend::Postgres => (["$1", "$2", "$3", "$4", "$5", "$6"], " FOR UPDATE SKIP LOCKED"),
        _ => (["?1", "?2", "?3", "?4", "?5", "?6"], ""),
    };
    let scope_clause = match scope {
        ClaimScope::All => String::new(),
        ClaimScope::Roots(ids) => {
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let list = if list.is_empty() { "NULL".to_string() } else { list };
            format!(" AND (id IN ({list}) OR parent_id IN ({list}))")
        }
    };
    let sql = format!(
        "UPDATE refresh_jobs SET status = {running}, lease_owner = {w}, lease_expires_at = {until}, \
         started_at = COALESCE(started_at, {now}), attempts = attempts + 1, updated_at = {now} \
         WHERE id = (SELECT id FROM refresh_jobs WHERE kind = {kind} AND attempts < {max}{scope_clause} AND \
         (status = {queued} OR (status = {running} AND lease_expires_at < {now})) ORDER BY id LIMIT 1{lock}) \
         RETURNING *",
        w = p[0],
        until = p[1],
        now = p[2],
        kind = p[3],
        running = p[4],
        queued = p[5],
        max = MAX_ATTEMPTS,
    );
    let values: Vec<Value> = vec![
        worker.into(),
        lease_until.into(),
        now.into(),
        kind.into(),
        JobStatus::Running.into(),
        JobStatus::Queued.into(),
    ];
    let tx = begin_write(db).await?;
    let job = refresh_job::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .one(&*tx)
        .await?;
    tx.commit().await?;
    Ok(job)
}

/// When the first lease of a running job or archive hour expires (None: nothing runs), the
/// next moment a claim could find work that no notification announces.
pub async fn next_takeover_at(db: &DatabaseConnection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let job = next_lease_expiry(db).await?;
    let hour = super::archive::ledger::next_lease_expiry(db).await?;
    Ok(match (job, hour) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// Fails jobs whose process died `MAX_ATTEMPTS` times before finishing.
pub async fn fail_abandoned(db: &DatabaseConnection) -> Result<u64, StoreError> {
    let now = Utc::now();
    let tx = begin_write(db).await?;
    let result = refresh_job::Entity::update_many()
        .col_expr(refresh_job::Column::Status, Expr::value(JobStatus::Failed))
        .col_expr(refresh_job::Column::ActiveKey, Expr::value(Option::<String>::None))
        .col_expr(refresh_job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            refresh_job::Column::Error,
            Expr::value(format!("abandoned: its worker stopped {MAX_ATTEMPTS} times before finishing")),
        )
        .col_expr(refresh_job::Column::FinishedAt, Expr::value(now))
        .col_expr(refresh_job::Column::UpdatedAt, Expr::value(now))
        .filter(refresh_job::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
        .filter(refresh_job::Column::Attempts.gte(MAX_ATTEMPTS))
        .filter(
            Condition::any()
                .add(refresh_job::Column::Status.eq(JobStatus::Queued))
                .add(refresh_job::Column::LeaseExpiresAt.lt(now)),
        )
        .exec(&*tx)
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected)
}

/// When the earliest lease of a running job expires: the next moment a job may be taken over.
pub async fn next_lease_expiry(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(refresh_job::Entity::find()
        .select_only()
        .column_as(refresh_job::Column::LeaseExpiresAt.min(), "at")
        .filter(refresh_job::Column::Status.eq(JobStatus::Running))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten())
}

/// Renews the lease and records progress; false when the job is no longer this worker's.
pub async fn heartbeat(
    db: &DatabaseConnection,
    id: i64,
    worker: &str,
    lease_until: DateTime<Utc>,
    progress: JobProgress,
) -> Result<bool, StoreError> {
    let update = progress.set(
        refresh_job::Entity::update_many()
            .col_expr(refresh_job::Column::LeaseExpiresAt, Expr::value(lease_until))
            .col_expr(refresh_job::Column::UpdatedAt, Expr::value(Utc::now())),
    );
    update_held(db, id, worker, update).await
}

/// Applies `update` to job `id` only while `worker` holds it running; true if it did.
async fn update_held(
    db: &DatabaseConnection,
    id: i64,
    worker: &str,
    update: sea_orm::UpdateMany<refresh_job::Entity>,
) -> Result<bool, StoreError> {
    let tx = begin_write(db).await?;
    let result = update
        .filter(refresh_job::Column::Id.eq(id))
        .filter(refresh_job::Column::LeaseOwner.eq(worker))
        .filter(refresh_job::Column::Status.eq(JobStatus::Running))
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
    status: JobStatus,
    error: Option<String>,
    progress: JobProgress,
) -> Result<bool, StoreError> {
    let now = Utc::now();
    let update = progress.set(
        refresh_job::Entity::update_many()
            .col_expr(refresh_job::Column::Status, Expr::value(status))
            .col_expr(refresh_job::Column::Error, Expr::value(error))
            .col_expr(refresh_job::Column::ActiveKey, Expr::value(Option::<String>::None))
            .col_expr(refresh_job::Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(refresh_job::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(refresh_job::Column::FinishedAt, Expr::value(now))
            .col_expr(refresh_job::Column::UpdatedAt, Expr::value(now)),
    );
    update_held(db, id, worker, update).await
}

/// Puts a job this worker holds back in the queue, keeping its progress. `count_attempt`:
/// whether the attempt counts towards `MAX_ATTEMPTS` (a failed try does, a graceful shutdown
/// does not).
pub async fn release(db: &DatabaseConnection, id: i64, worker: &str, count_attempt: bool) -> Result<bool, StoreError> {
    let mut update = refresh_job::Entity::update_many()
        .col_expr(refresh_job::Column::Status, Expr::value(JobStatus::Queued))
        .col_expr(refresh_job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(refresh_job::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(refresh_job::Column::UpdatedAt, Expr::value(Utc::now()));
    if !count_attempt {
        update = update.col_expr(refresh_job::Column::Attempts, Expr::col(refresh_job::Column::Attempts).sub(1));
    }
    update_held(db, id, worker, update).await
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<refresh_job::Model>, StoreError> {
    Ok(refresh_job::Entity::find().filter(refresh_job::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Repository jobs created for an account job.
pub async fn children(db: &impl ConnectionTrait, parent_id: i64) -> Result<Vec<refresh_job::Model>, StoreError> {
    Ok(refresh_job::Entity::find().filter(refresh_job::Column::ParentId.eq(parent_id)).all(db).await?)
}

/// When a refresh of `target` last succeeded.
pub async fn last_success(db: &impl ConnectionTrait, target: &Target) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(refresh_job::Entity::find()
        .filter(refresh_job::Column::TargetKey.eq(target.key()))
        .filter(refresh_job::Column::Status.eq(JobStatus::Succeeded))
        .order_by_desc(refresh_job::Column::Id)
        .one(db)
        .await?
        .and_then(|j| j.finished_at))
}

/// Jobs per status, for metrics.
pub async fn count_by_status(db: &impl ConnectionTrait) -> Result<Vec<(JobStatus, i64)>, StoreError> {
    Ok(refresh_job::Entity::find()
        .select_only()
        .column(refresh_job::Column::Status)
        .column_as(refresh_job::Column::Id.count(), "n")
        .group_by(refresh_job::Column::Status)
        .into_tuple()
        .all(db)
        .await?)
}

/// Records one firing of the schedule named `schedule`; true for the first replica to record it.
pub async fn record_firing(
    db: &DatabaseConnection,
    schedule: schedule_firing::ScheduleTask,
    fired_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let tx = begin_write(db).await?;
    let row = schedule_firing::ActiveModel { schedule: Set(schedule), fired_at: Set(fired_at) };
    let inserted = schedule_firing::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([schedule_firing::Column::Schedule, schedule_firing::Column::FiredAt])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&*tx)
        .await?;
    tx.commit().await?;
    Ok(inserted == 1)
}
