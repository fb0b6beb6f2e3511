//! The ledger of GH Archive hour files: each hour is a unit that workers claim with a lease,
//! import once, and settle (imported or missing) with its counts.
use sea_orm::entity::prelude::*;

pub use crate::enums::HourStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "archive_hours")]
pub struct Model {
    /// Start of the hour (UTC); the file is `{YYYY-MM-DD}-{H}.json.gz`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub hour_at: DateTimeUtc,
    /// Days since 1970-01-01.
    pub day: i32,
    pub status: HourStatus,
    /// The archive job that queued it last.
    pub job_id: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub attempts: i32,
    /// Lines read, events counted (each id once), lines that were not events, repeated ids.
    pub lines: i64,
    pub events: i64,
    pub skipped_lines: i64,
    pub duplicate_events: i64,
    /// Compressed bytes of the file.
    pub bytes: i64,
    pub error: Option<String>,
    pub settled_at: Option<DateTimeUtc>,
    /// Its aggregates are in its day's rows (and its part deleted).
    pub applied: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
