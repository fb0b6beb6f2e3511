//! GH Archive aggregates (docs/rules.md §7.5): one row per developer and per repository for each
//! day (`lvl` 0) and for each aligned block of 2^`lvl` days, built once all its days are in, so
//! that a window of days is summed from a few blocks rather than from every day. A repository
//! row carries its members as a list of ids (PostgreSQL `BIGINT[]`, SQLite a JSON array) instead
//! of a row per member, rows are keyed by shard then id (each shard of a day goes in in key
//! order), and nothing indexes repositories by owner. Days already summed move over; hour
//! aggregates are now stored by shard, and hours imported but not yet summed in the old format
//! are marked failed, so that the next import of their range reads them again (the ledger says
//! why).
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        let (text, ids, no_ids, without_rowid, ts) = if pg {
            ("TEXT COLLATE \"C\" NOT NULL", "BIGINT[] NOT NULL", "'{}'", "", "TIMESTAMPTZ")
        } else {
            ("TEXT NOT NULL", "TEXT NOT NULL", "'[]'", " WITHOUT ROWID", "TEXT")
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS archive_developer_rows (\
             lvl SMALLINT NOT NULL, start INTEGER NOT NULL, actor_key BIGINT NOT NULL, actor_id BIGINT NOT NULL, \
             login {text}, seen_key BIGINT NOT NULL, is_bot BOOLEAN NOT NULL, days INTEGER NOT NULL, \
             events INTEGER NOT NULL, pushes INTEGER NOT NULL, commits INTEGER NOT NULL, \
             pushes_unknown INTEGER NOT NULL, PRIMARY KEY (lvl, start, actor_key)){without_rowid}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS archive_repository_rows (\
             lvl SMALLINT NOT NULL, start INTEGER NOT NULL, repo_key BIGINT NOT NULL, repo_id BIGINT NOT NULL, \
             name {text}, owner_key {text}, seen_key BIGINT NOT NULL, events INTEGER NOT NULL, \
             b_events INTEGER NOT NULL, pushes INTEGER NOT NULL, b_pushes INTEGER NOT NULL, \
             commits INTEGER NOT NULL, b_commits INTEGER NOT NULL, \
             member_ids {ids} DEFAULT {no_ids}, bot_member_ids {ids} DEFAULT {no_ids}, \
             PRIMARY KEY (lvl, start, repo_key)){without_rowid}"
        ))
        .await?;

        // Days already summed move over; their members become lists. A row's key is its shard
        // (the id modulo 32) in the top bits, then the id (`domain::archive::aggregate::row_key`).
        let key = |id: &str| format!("(({id} % 32) * 288230376151711744 + {id})");
        let int = |col: &str| if pg { format!("LEAST({col}, 2147483647)") } else { format!("MIN({col}, 2147483647)") };
        db.execute_unprepared(&format!(
            "INSERT INTO archive_developer_rows (lvl, start, actor_key, actor_id, login, seen_key, is_bot, days, \
             events, pushes, commits, pushes_unknown) SELECT 0, start, {}, actor_id, login, seen_key, is_bot, 1, \
             events, pushes, {}, pushes_unknown FROM archive_developers WHERE lvl = 0",
            key("actor_id"),
            int("commits")
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
            "INSERT INTO archive_repository_rows (lvl, start, repo_key, repo_id, name, owner_key, seen_key, events, \
             b_events, pushes, b_pushes, commits, b_commits, member_ids, bot_member_ids) \
             SELECT 0, r.start, {}, r.repo_id, r.name, r.owner_key, r.seen_key, r.events, r.b_events, r.pushes, \
             r.b_pushes, {}, {}, {}, {} FROM archive_repositories r WHERE r.lvl = 0",
            key("r.repo_id"),
            int("r.commits"),
            int("r.b_commits"),
            list(false),
            list(true)
        ))
        .await?;
        for table in ["archive_blocks", "archive_members", "archive_repositories", "archive_developers"] {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}")).await?;
        }
        // Which blocks of days are built (their rows are then complete).
        db.execute_unprepared(&format!(
            "CREATE TABLE archive_blocks (lvl SMALLINT NOT NULL, start INTEGER NOT NULL, built_at {ts} NOT NULL, \
             PRIMARY KEY (lvl, start))"
        ))
        .await?;

        // Hour aggregates by shard. Those waiting in the old format are read again.
        db.execute_unprepared(
            "UPDATE archive_hours SET status = 'failed', error = 'read again: the stored format of hour aggregates \
             changed with an upgrade', lease_owner = NULL, lease_expires_at = NULL \
             WHERE status = 'imported' AND applied = FALSE",
        )
        .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS archive_hour_parts").await?;
        let bytes = if pg { "BYTEA" } else { "BLOB" };
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
            "the archive's rows cannot be turned back into member rows: restore a backup taken before the upgrade"
                .into(),
        ))
    }
}
