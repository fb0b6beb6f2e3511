//! A repository row's member counts as columns of their own (docs/rules.md §7.5), kept by the
//! database from the lists: `n_members` (people) and `n_bot_members` (bots). The first page of
//! repositories bounds every repository's members by these counts over the window's rows
//! before it unites any list; reading a count no longer means reading (and, on PostgreSQL,
//! de-TOASTing) the list it counts. PostgreSQL stores them; SQLite computes them when read
//! (it can only add virtual generated columns to a table).
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        for (column, list) in [("n_members", "member_ids"), ("n_bot_members", "bot_member_ids")] {
            let sql = if pg {
                format!(
                    "ALTER TABLE archive_repository_rows ADD COLUMN IF NOT EXISTS {column} INTEGER \
                     GENERATED ALWAYS AS (cardinality({list})) STORED"
                )
            } else {
                format!(
                    "ALTER TABLE archive_repository_rows ADD COLUMN {column} INTEGER \
                     GENERATED ALWAYS AS (json_array_length({list})) VIRTUAL"
                )
            };
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for column in ["n_members", "n_bot_members"] {
            db.execute_unprepared(&format!("ALTER TABLE archive_repository_rows DROP COLUMN {column}")).await?;
        }
        Ok(())
    }
}
