//! On PostgreSQL, a notification on channel `git_collector_queue` whenever a job or an archive
//! hour becomes claimable (inserted or set back to queued), so that idle workers wait for it
//! instead of polling (README, Jobs and replicas). PostgreSQL folds identical notifications of
//! one transaction into one: an account job that queues a thousand repository jobs sends one.
//! SQLite has no notifications: its workers poll.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The channel idle workers listen on (`src/jobs/notify.rs` names it too).
const CHANNEL: &str = "git_collector_queue";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE OR REPLACE FUNCTION git_collector_notify_queued() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
        ))
        .await?;
        for (table, queued) in [("refresh_jobs", "QUEUED"), ("archive_hours", "queued")] {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_queued ON {table}")).await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_queued AFTER INSERT OR UPDATE OF status ON {table} FOR EACH ROW \
                 WHEN (NEW.status = '{queued}') EXECUTE FUNCTION git_collector_notify_queued()"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for table in ["refresh_jobs", "archive_hours"] {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_queued ON {table}")).await?;
        }
        db.execute_unprepared("DROP FUNCTION IF EXISTS git_collector_notify_queued()").await?;
        Ok(())
    }
}
