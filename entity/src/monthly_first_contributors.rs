//! The read model: first-time contributors of a repository in a month, with or without bots.
//! Owner and name are copied from the repository so that pages are read from one index.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "monthly_first_contributors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub repository_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub include_bots: bool,
    /// First day of the month.
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: Date,
    /// -(year·12 + month), for newest-first keyset pages.
    pub month_desc_key: i32,
    pub owner: String,
    pub repo_name: String,
    pub owner_key: String,
    pub name_key: String,
    pub new_contributors: i32,
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
}

impl Related<super::repository::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Repository.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
