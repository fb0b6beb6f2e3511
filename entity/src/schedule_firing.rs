//! One firing of a schedule (the crawl, the archive import); the primary key makes replicas
//! that fire together enqueue once.
use sea_orm::entity::prelude::*;

pub use crate::enums::ScheduleTask;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "schedule_firings")]
pub struct Model {
    /// Which schedule.
    #[sea_orm(primary_key, auto_increment = false)]
    pub schedule: ScheduleTask,
    #[sea_orm(primary_key, auto_increment = false)]
    pub fired_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
