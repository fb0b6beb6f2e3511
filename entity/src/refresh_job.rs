//! A refresh of one repository or of a whole account (or an import of GH Archive hours),
//! queued, running or ended.
use sea_orm::entity::prelude::*;

pub use crate::enums::{JobKind, JobStatus, JobTrigger};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The account job this repository job is part of.
    pub parent_id: Option<i64>,
    pub kind: JobKind,
    /// The account (or `gharchive` for archive jobs).
    pub owner: String,
    /// The repository name of a repository job; None for the other kinds.
    pub repo: Option<String>,
    pub target_key: String,
    /// `target_key` while QUEUED or RUNNING, None after; unique in the database.
    #[sea_orm(unique)]
    pub active_key: Option<String>,
    pub trigger: JobTrigger,
    pub status: JobStatus,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub attempts: i32,
    pub error: Option<String>,
    pub repos_total: Option<i32>,
    pub repos_done: Option<i32>,
    pub requests_made: i64,
    /// The first and last day of an archive job.
    pub archive_from: Option<Date>,
    pub archive_to: Option<Date>,
    /// An archive job's hours, and how many of them are settled (imported or missing).
    pub hours_total: Option<i32>,
    pub hours_done: Option<i32>,
    /// Events counted from the hours of an archive job.
    pub events_imported: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
