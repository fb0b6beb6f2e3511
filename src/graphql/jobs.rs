//! `RefreshJob` and the `refreshJobs` connection.
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, ID};
use entity::refresh_job::{self, JobKind, JobStatus};
use sea_orm::DatabaseConnection;

use super::cursor::{Cursor, PageArgs, Scope};
use super::error::{ApiError, ApiResult};
use super::scalars::DateTime;
use crate::store::{self, jobs::JobKey};

/// A refresh of one repository or of a whole account.
#[derive(Clone)]
pub struct RefreshJob(pub refresh_job::Model);

#[Object]
impl RefreshJob {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> JobKind {
        self.0.kind
    }
    async fn status(&self) -> JobStatus {
        self.0.status
    }
    async fn owner(&self) -> &str {
        &self.0.owner
    }
    /// Null: the whole account (or an archive job, whose owner is "gharchive").
    async fn repo(&self) -> Option<&str> {
        self.0.repo.as_deref()
    }
    /// "schedule", "startup", "mutation", or "cli" (the command line).
    async fn trigger(&self) -> &'static str {
        self.0.trigger.as_str()
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
    /// An archive job's hours (of its days, complete when it started).
    async fn hours_total(&self) -> Option<i32> {
        self.0.hours_total
    }
    /// An archive job's hours imported or found missing.
    async fn hours_done(&self) -> Option<i32> {
        self.0.hours_done
    }
    /// Events counted from an archive job's hours.
    async fn events_imported(&self) -> Option<i64> {
        self.0.events_imported
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
        Ok(store::jobs::count(db, self.status).await? as i64)
    }
}

pub type RefreshJobConnection = Connection<Cursor<JobKey>, RefreshJob, JobTotal>;

/// Jobs, newest first.
pub async fn connection(
    db: &DatabaseConnection,
    status: Option<JobStatus>,
    page: PageArgs,
) -> ApiResult<RefreshJobConnection> {
    let scope = Scope::of(&[status.map(JobStatus::as_str).unwrap_or_default()]);
    let request = page.window::<JobKey>(&scope)?;
    let page = store::jobs::page(db, status, &request).await?;
    let mut connection = Connection::with_additional_fields(page.has_previous, page.has_next, JobTotal { status });
    connection
        .edges
        .extend(page.rows.into_iter().map(|job| Edge::new(Cursor::new(&scope, JobKey::of(&job)), RefreshJob(job))));
    Ok(connection)
}
