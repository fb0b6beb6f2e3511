//! One day of GH Archive, summed: counters of everyone, and (`b_`) of bots alone.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "archive_days")]
pub struct Model {
    /// Days since 1970-01-01.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i32,
    pub hours_imported: i32,
    pub hours_missing: i32,
    pub events: i64,
    pub b_events: i64,
    /// Developers with an event that day, and by commits that day: none, one, more.
    pub devs: i64,
    pub b_devs: i64,
    pub devs_c0: i64,
    pub b_devs_c0: i64,
    pub devs_c1: i64,
    pub b_devs_c1: i64,
    pub devs_cn: i64,
    pub b_devs_cn: i64,
    /// Developers with a push whose commit count is unknown.
    pub devs_unknown: i64,
    pub b_devs_unknown: i64,
    pub pushes: i64,
    pub b_pushes: i64,
    pub commits: i64,
    pub b_commits: i64,
    pub pushes_unknown: i64,
    pub b_pushes_unknown: i64,
    pub rolled_up_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
