//! A GitHub repository, keyed by GitHub's numeric id (names change on rename and transfer).
use sea_orm::entity::prelude::*;

use crate::enums::RefreshOutcome;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repositories")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub github_id: i64,
    pub account_id: Option<i64>,
    pub owner: String,
    pub name: String,
    pub owner_key: String,
    pub name_key: String,
    pub is_fork: bool,
    pub is_archived: bool,
    pub default_branch: Option<String>,
    pub created_at: Option<DateTimeUtc>,
    pub pushed_at: Option<DateTimeUtc>,
    /// Head of the default branch that the stored contributions were computed from.
    pub head_sha: Option<String>,
    pub commits_etag: Option<String>,
    pub last_refreshed_at: Option<DateTimeUtc>,
    pub last_outcome: Option<RefreshOutcome>,
    pub last_error: Option<String>,
    pub is_gone: bool,
    /// Added on demand (refreshRepo) and kept refreshed by the schedule.
    pub is_tracked: bool,
    pub first_seen_at: DateTimeUtc,
    /// When GitHub last described this repository (listing or lookup).
    pub listed_at: Option<DateTimeUtc>,
    /// Read-model rows of this repository without bots.
    pub monthly_rows: i32,
    /// Read-model rows of this repository with bots.
    pub monthly_rows_with_bots: i32,
    /// The identity rules its contributions were computed with (see `domain::IDENTITY_RULES`).
    pub identity_version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id",
        on_delete = "SetNull"
    )]
    Account,
    #[sea_orm(has_many = "super::first_contribution::Entity")]
    FirstContribution,
    #[sea_orm(has_many = "super::monthly_first_contributors::Entity")]
    MonthlyFirstContributors,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::first_contribution::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FirstContribution.def()
    }
}

impl Related<super::monthly_first_contributors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MonthlyFirstContributors.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
