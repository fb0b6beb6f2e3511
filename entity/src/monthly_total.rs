//! How many read-model rows each month has, with and without bots.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "monthly_totals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub include_bots: bool,
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: Date,
    /// Repositories with at least one first-time contributor that month.
    pub repositories: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
