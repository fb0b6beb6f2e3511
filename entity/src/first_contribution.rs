//! A contributor's earliest contribution to a repository, and how many commits they made there.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "first_contributions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub repository_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub contributor_id: i64,
    pub first_contribution_at: DateTimeUtc,
    pub commit_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::repository::Entity",
        from = "Column::RepositoryId",
        to = "super::repository::Column::Id",
        on_delete = "Cascade"
    )]
    Repository,
    #[sea_orm(
        belongs_to = "super::contributor::Entity",
        from = "Column::ContributorId",
        to = "super::contributor::Column::Id",
        on_delete = "Cascade"
    )]
    Contributor,
}

impl Related<super::repository::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Repository.def()
    }
}

impl Related<super::contributor::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contributor.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
