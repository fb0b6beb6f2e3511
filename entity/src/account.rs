//! An account (organization or user) whose repositories are crawled.
use sea_orm::entity::prelude::*;

pub use crate::enums::AccountKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub login: String,
    #[sea_orm(unique)]
    pub login_key: String,
    /// Organization or user, as GitHub reports it; unknown until first listed.
    pub kind: Option<AccountKind>,
    pub repos_listed_at: Option<DateTimeUtc>,
    /// Validators of the last listing's pages (JSON), see `crawler/listing.rs`.
    pub repos_etag: Option<String>,
    pub created_at: DateTimeUtc,
    /// Rows of the account read model without bots.
    pub monthly_rows: i32,
    /// Rows of the account read model with bots.
    pub monthly_rows_with_bots: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::repository::Entity")]
    Repository,
}

impl Related<super::repository::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Repository.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
