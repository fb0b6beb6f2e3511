//! The closed sets of values stored as text: each is a SeaORM active enum (an unknown stored
//! value is an error when a row is read, never a default) and, where the API shows it, a
//! GraphQL enum too.
use sea_orm::entity::prelude::*;

/// Where a refresh job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum JobStatus {
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "RUNNING")]
    Running,
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

impl JobStatus {
    /// The stored (and shown) name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "QUEUED",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
        }
    }

    /// Queued or running: the job still holds its target.
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// What a job refreshes: a whole account, one repository, or a range of GH Archive hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum JobKind {
    #[sea_orm(string_value = "account")]
    Account,
    #[sea_orm(string_value = "repository")]
    Repository,
    #[sea_orm(string_value = "archive")]
    Archive,
}

/// Why a job was queued. Shown by the API as a plain string (`trigger: String!`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum JobTrigger {
    /// The cron schedule fired.
    #[sea_orm(string_value = "schedule")]
    Schedule,
    /// `CRAWL_ON_START` found the data older than the schedule period.
    #[sea_orm(string_value = "startup")]
    Startup,
    /// An admin asked for it over GraphQL.
    #[sea_orm(string_value = "mutation")]
    Mutation,
    /// An operator ran `git-collector crawl` or `git-collector archive import`.
    #[sea_orm(string_value = "cli")]
    Cli,
}

impl JobTrigger {
    /// The stored (and shown) text.
    pub fn as_str(self) -> &'static str {
        match self {
            JobTrigger::Schedule => "schedule",
            JobTrigger::Startup => "startup",
            JobTrigger::Mutation => "mutation",
            JobTrigger::Cli => "cli",
        }
    }
}

/// How the last refresh of a repository ended. Shown in lowercase, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[graphql(rename_items = "lowercase")]
pub enum RefreshOutcome {
    /// New contributions were read and written.
    #[sea_orm(string_value = "updated")]
    Updated,
    /// Nothing changed since the last refresh.
    #[sea_orm(string_value = "unchanged")]
    Unchanged,
    /// The repository has no commits yet.
    #[sea_orm(string_value = "empty")]
    Empty,
    /// GitHub no longer serves it (404, 410); its history is kept.
    #[sea_orm(string_value = "gone")]
    Gone,
    /// GitHub refuses it (401, 451).
    #[sea_orm(string_value = "blocked")]
    Blocked,
    /// Retries ran out or the database failed; the previous data is kept.
    #[sea_orm(string_value = "failed")]
    Failed,
}

/// What kind of GitHub account owns repositories: its repositories are listed under
/// `/orgs/{login}/repos` or `/users/{login}/repos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AccountKind {
    #[sea_orm(string_value = "Organization")]
    Organization,
    #[sea_orm(string_value = "User")]
    User,
}

/// Where a GH Archive hour file is in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum HourStatus {
    /// Waiting for a worker.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Being imported under a lease.
    #[sea_orm(string_value = "running")]
    Running,
    /// Counted, once.
    #[sea_orm(string_value = "imported")]
    Imported,
    /// The archive answered 404: a gap, never "zero events".
    #[sea_orm(string_value = "missing")]
    Missing,
    /// Could not be read whole after every retry; nothing of it is counted.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl HourStatus {
    /// Imported or missing: nothing more to do for this hour.
    pub fn is_settled(self) -> bool {
        matches!(self, HourStatus::Imported | HourStatus::Missing)
    }
}

/// What a schedule does when it fires (its firings are recorded under it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ScheduleTask {
    /// Refresh every account of GITHUB_OWNERS and every repository added with refreshRepo.
    #[sea_orm(string_value = "crawl")]
    Crawl,
    /// Import GH Archive from ARCHIVE_FROM up to the last complete hour.
    #[sea_orm(string_value = "archive")]
    Archive,
}
