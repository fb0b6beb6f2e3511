//! GH Archive aggregates, one row per developer-day and per repository-day (docs/rules.md §7).
//! A repository-day carries its members as a list of ids (PostgreSQL `BIGINT[]`, SQLite a JSON
//! array) instead of a row per member, and nothing indexes repositories by owner: a day is
//! written in a third of the rows and index entries it took before. Unused blocks of days are
//! dropped. Hour aggregates are now stored by shard; hours imported but not yet summed into
//! their day under the old format are marked failed, so that the next import of their range
//! reads them again (the ledger names why).
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        let (text, ids, no_ids, without_rowid) = if pg {
            ("TEXT COLLATE \"C\" NOT NULL", "BIGINT[] NOT NULL", "'{}'", "")
        } else {
            ("TEXT NOT NULL", "TEXT NOT NULL", "'[]'", " WITHOUT ROWID")
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS archive_developer_days (\
             day INTEGER NOT NULL, actor_key BIGINT NOT NULL, actor_id BIGINT NOT NULL, login {text}, \
             seen_key BIGINT NOT NULL, is_bot BOOLEAN NOT NULL, events INTEGER NOT NULL, pushes INTEGER NOT NULL, \
             commits BIGINT NOT NULL, pushes_unknown INTEGER NOT NULL, PRIMARY KEY (day, actor_key)){without_rowid}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS archive_repository_days (\
             day INTEGER NOT NULL, repo_key BIGINT NOT NULL, repo_id BIGINT NOT NULL, name {text}, owner_key {text}, \
             seen_key BIGINT NOT NULL, \
             events INTEGER NOT NULL, b_events INTEGER NOT NULL, pushes INTEGER NOT NULL, b_pushes INTEGER NOT NULL, \
             commits BIGINT NOT NULL, b_commits BIGINT NOT NULL, \
             member_ids {ids} DEFAULT {no_ids}, bot_member_ids {ids} DEFAULT {no_ids}, \
             PRIMARY KEY (day, repo_key)){without_rowid}"
        ))
        .await?;

        // Days already summed move over; their members become lists. A row's key is its shard
        // (the id modulo 32) in the top bits, then the id (`domain::archive::aggregate::row_key`).
        let key = |id: &str| format!("(({id} % 32) * 288230376151711744 + {id})");
        db.execute_unprepared(&format!(
            "INSERT INTO archive_developer_days (day, actor_key, actor_id, login, seen_key, is_bot, events, pushes, \
             commits, pushes_unknown) SELECT start, {}, actor_id, login, seen_key, is_bot, events, pushes, commits, \
             pushes_unknown FROM archive_developers WHERE lvl = 0",
            key("actor_id")
        ))
        .await?;
        let list = |bots: bool| {
            let filter = if bots { "m.is_bot" } else { "NOT m.is_bot" };
            if pg {
                format!(
                    "COALESCE((SELECT array_agg(m.actor_id ORDER BY m.actor_id) FROM archive_members m \
                     WHERE m.lvl = 0 AND m.start = r.start AND m.repo_id = r.repo_id AND {filter}), '{{}}')"
                )
            } else {
                format!(
                    "(SELECT json_group_array(actor_id) FROM (SELECT m.actor_id FROM archive_members m \
                     WHERE m.lvl = 0 AND m.start = r.start AND m.repo_id = r.repo_id AND {filter} ORDER BY m.actor_id))"
                )
            }
        };
        db.execute_unprepared(&format!(
            "INSERT INTO archive_repository_days (day, repo_key, repo_id, name, owner_key, seen_key, events, \
             b_events, pushes, b_pushes, commits, b_commits, member_ids, bot_member_ids) \
             SELECT r.start, {}, r.repo_id, r.name, r.owner_key, r.seen_key, r.events, r.b_events, r.pushes, r.b_pushes, \
             r.commits, r.b_commits, {}, {} FROM archive_repositories r WHERE r.lvl = 0",
            key("r.repo_id"),
            list(false),
            list(true)
        ))
        .await?;
        for table in ["archive_blocks", "archive_members", "archive_repositories", "archive_developers"] {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}")).await?;
        }

        // Hour aggregates by shard. Those waiting in the old format are read again.
        db.execute_unprepared(
            "UPDATE archive_hours SET status = 'failed', error = 'read again: the stored format of hour aggregates \
             changed with an upgrade', lease_owner = NULL, lease_expires_at = NULL \
             WHERE status = 'imported' AND applied = FALSE",
        )
        .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS archive_hour_parts").await?;
        let (ts, bytes) = if pg { ("TIMESTAMPTZ", "BYTEA") } else { ("TEXT", "BLOB") };
        db.execute_unprepared(&format!(
            "CREATE TABLE archive_hour_parts (hour_at {ts} NOT NULL, shard SMALLINT NOT NULL, data {bytes} NOT NULL, \
             PRIMARY KEY (hour_at, shard), \
             CONSTRAINT fk_archive_hour_parts_hour FOREIGN KEY (hour_at) REFERENCES archive_hours (hour_at) \
             ON DELETE CASCADE)"
        ))
        .await?;
        if pg {
            // Already compact: no compression on the way in and out.
            db.execute_unprepared("ALTER TABLE archive_hour_parts ALTER COLUMN data SET STORAGE EXTERNAL").await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the archive's day rows cannot be turned back into member rows and blocks: restore a backup".into(),
        ))
    }
}
