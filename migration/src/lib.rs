//! Database migrations of git-collector. One set runs on SQLite and on PostgreSQL.
// async_trait cannot express the elided lifetime of `&SchemaManager`.
#![allow(elided_lifetimes_in_paths)]
pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_tables;
mod m20261125_000001_typed_jobs;
mod m20261125_000002_account_model;
mod m20261125_000003_archive;
mod m20261204_000001_archive_day_rows;
mod m20261204_000002_archive_member_counts;
mod m20261204_000003_queue_notifications;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_tables::Migration),
            Box::new(m20261125_000001_typed_jobs::Migration),
            Box::new(m20261125_000002_account_model::Migration),
            Box::new(m20261125_000003_archive::Migration),
            Box::new(m20261204_000001_archive_day_rows::Migration),
            Box::new(m20261204_000002_archive_member_counts::Migration),
            Box::new(m20261204_000003_queue_notifications::Migration),
        ]
    }
}
