//! `RefreshJob`, `JobStatus` and the `refreshJobs` connection.
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, Object, ID};
use entity::refresh_job;
use sea_orm::DatabaseConnection;

use super::cursor::{self, PageArgs};
use super::error::{ApiError, ApiResult};
use super::scalars::DateTime;
use crate::store;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_db(self) -> &'static str {
        match self {
            JobStatus::Queued => store::jobs::QUEUED,
            JobStatus::Running => store::jobs::RUNNING,
            JobStatus::Succeeded => store::jobs::SUCCEEDED,
            JobStatus::Failed => store::jobs::FAILED,
        }
    }

    fn from_db(value: &str) -> Self {
        match value {
            store::jobs::RUNNING => JobStatus::Running,
            store::jobs::SUCCEEDED => JobStatus::Succeeded,
            store::jobs::FAILED => JobStatus::Failed,
            _ => JobStatus::Queued,
        }
    }
}

/// A refresh of one repository or of a whole account.
#[derive(Clone)]
pub struct RefreshJob(pub refresh_job::Model);

#[Object]
impl RefreshJob {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> JobStatus {
        JobStatus::from_db(&self.0.status)
    }
    async fn owner(&self) -> &str {
        &self.0.owner
    }
    /// Null: the whole account.
    async fn repo(&self) -> Option<&str> {
        self.0.repo.as_deref()
    }
    /// "schedule", "startup" or "mutation".
    async fn trigger(&self) -> &str {
        &self.0.trigger
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn started_at(&self) -> Option<DateTime> {
        self.0.started_at.map(DateTime)
    }
    async fn finished_at(&self) -> Option<DateTime> {
        self.0.finished_at.map(DateTime)
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn repos_total(&self) -> Option<i32> {
        self.0.repos_total
    }
    async fn repos_done(&self) -> Option<i32> {
        self.0.repos_done
    }
    async fn requests_made(&self) -> i64 {
        self.0.requests_made
    }
}

/// A job id from the API: the decimal id.
pub fn parse_id(id: &ID) -> ApiResult<i64> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| ApiError::bad_input(format!("`{}` is not a job id", id.0)))
}

pub struct JobTotal {
    status: Option<JobStatus>,
}

#[Object]
impl JobTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(store::jobs::count(db, self.status.map(JobStatus::as_db)).await? as i64)
    }
}

pub type RefreshJobConnection = Connection<String, RefreshJob, JobTotal>;

/// Jobs, newest first.
pub async fn connection(
    db: &DatabaseConnection,
    status: Option<JobStatus>,
    page: PageArgs,
) -> ApiResult<RefreshJobConnection> {
    let scope = cursor::scope(&[status.map(JobStatus::as_db).unwrap_or_default()]);
    let window = page.window(|c| {
        let parts = cursor::decode(c, "jobs", &scope, 1)?;
        let id = parts[0].parse::<i64>().map_err(|_| ApiError::bad_input("malformed cursor"))?;
        Ok(vec![sea_orm::Value::from(id)])
    })?;
    let request = window.into_request(true);
    let page = store::jobs::page(db, status.map(JobStatus::as_db), &request).await?;
    let mut connection = Connection::with_additional_fields(page.has_previous, page.has_next, JobTotal { status });
    connection.edges.extend(
        page.rows
            .into_iter()
            .map(|job| Edge::new(cursor::encode("jobs", &scope, &[job.id.to_string()]), RefreshJob(job))),
    );
    Ok(connection)
}
