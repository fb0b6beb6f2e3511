//! A contributor, identified per docs/rules.md §1: GitHub account id, else a hash of the email.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contributors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `gh:<id>` or `email:<sha256 of the normalized email>`; never a raw email.
    #[sea_orm(unique)]
    pub identity_key: String,
    pub github_id: Option<i64>,
    pub login: Option<String>,
    pub is_bot: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::first_contribution::Entity")]
    FirstContribution,
}

impl Related<super::first_contribution::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FirstContribution.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
