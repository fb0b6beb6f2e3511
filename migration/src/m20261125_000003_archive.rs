//! GH Archive (docs/rules.md §7): the ledger of hour files (each a claimable unit with a lease),
//! each imported hour's aggregates until its day is complete, and the aggregates the queries
//! read, per day (`lvl` 0) and for longer aligned blocks of days (`lvl` > 0). Archive jobs
//! carry their day range and progress.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshJobs {
    Table,
    ArchiveFrom,
    ArchiveTo,
    HoursTotal,
    HoursDone,
    EventsImported,
}

#[derive(DeriveIden)]
enum ArchiveHours {
    Table,
    HourAt,
    Day,
    Status,
    JobId,
    LeaseOwner,
    LeaseExpiresAt,
    Attempts,
    Lines,
    Events,
    SkippedLines,
    DuplicateEvents,
    Bytes,
    Error,
    SettledAt,
    Applied,
}

#[derive(DeriveIden)]
enum ArchiveHourParts {
    Table,
    HourAt,
    Data,
}

#[derive(DeriveIden)]
enum ArchiveDays {
    Table,
    Day,
    HoursImported,
    HoursMissing,
    RolledUpAt,
}

/// The day summary's counters: all, and (`b_`) of bots only.
const DAY_COUNTERS: [&str; 9] =
    ["events", "devs", "devs_c0", "devs_c1", "devs_cn", "devs_unknown", "pushes", "commits", "pushes_unknown"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        for column in [RefreshJobs::ArchiveFrom, RefreshJobs::ArchiveTo] {
            manager
                .alter_table(
                    Table::alter().table(RefreshJobs::Table).add_column(ColumnDef::new(column).date()).to_owned(),
                )
                .await?;
        }
        for column in [RefreshJobs::HoursTotal, RefreshJobs::HoursDone] {
            manager
                .alter_table(
                    Table::alter().table(RefreshJobs::Table).add_column(ColumnDef::new(column).integer()).to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshJobs::Table)
                    .add_column(ColumnDef::new(RefreshJobs::EventsImported).big_integer())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ArchiveHours::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(ArchiveHours::HourAt).timestamp_with_time_zone().not_null().primary_key())
                    // Days since 1970-01-01 (UTC).
                    .col(ColumnDef::new(ArchiveHours::Day).integer().not_null())
                    .col(ColumnDef::new(ArchiveHours::Status).string().not_null())
                    .col(ColumnDef::new(ArchiveHours::JobId).big_integer())
                    .col(ColumnDef::new(ArchiveHours::LeaseOwner).string())
                    .col(ColumnDef::new(ArchiveHours::LeaseExpiresAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(ArchiveHours::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(ArchiveHours::Lines).big_integer().not_null().default(0))
                    .col(ColumnDef::new(ArchiveHours::Events).big_integer().not_null().default(0))
                    .col(ColumnDef::new(ArchiveHours::SkippedLines).big_integer().not_null().default(0))
                    .col(ColumnDef::new(ArchiveHours::DuplicateEvents).big_integer().not_null().default(0))
                    .col(ColumnDef::new(ArchiveHours::Bytes).big_integer().not_null().default(0))
                    .col(ColumnDef::new(ArchiveHours::Error).text())
                    .col(ColumnDef::new(ArchiveHours::SettledAt).timestamp_with_time_zone())
                    // Its aggregates are in the day's rows (and its part deleted).
                    .col(ColumnDef::new(ArchiveHours::Applied).boolean().not_null().default(false))
                    .check(
                        Expr::col(ArchiveHours::Status).is_in(["queued", "running", "imported", "missing", "failed"]),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_archive_hours_claim", [ArchiveHours::Status, ArchiveHours::HourAt]),
            ("idx_archive_hours_day", [ArchiveHours::Day, ArchiveHours::Status]),
            ("idx_archive_hours_job", [ArchiveHours::JobId, ArchiveHours::Status]),
        ] {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(ArchiveHours::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        // An imported hour's aggregates, kept until its day is complete and summed.
        let mut data = ColumnDef::new(ArchiveHourParts::Data);
        data.binary().not_null();
        manager
            .create_table(
                Table::create()
                    .table(ArchiveHourParts::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(ArchiveHourParts::HourAt).timestamp_with_time_zone().not_null().primary_key())
                    .col(data)
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_archive_hour_parts_hour")
                            .from(ArchiveHourParts::Table, ArchiveHourParts::HourAt)
                            .to(ArchiveHours::Table, ArchiveHours::HourAt)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        if backend == DbBackend::Postgres {
            // Already compact: no compression on the way in and out.
            db.execute_unprepared("ALTER TABLE archive_hour_parts ALTER COLUMN data SET STORAGE EXTERNAL").await?;
        }

        let mut days = Table::create();
        days.table(ArchiveDays::Table)
            .if_not_exists()
            .col(ColumnDef::new(ArchiveDays::Day).integer().not_null().primary_key())
            .col(ColumnDef::new(ArchiveDays::HoursImported).integer().not_null().default(0))
            .col(ColumnDef::new(ArchiveDays::HoursMissing).integer().not_null().default(0));
        for counter in DAY_COUNTERS {
            days.col(ColumnDef::new(Alias::new(counter)).big_integer().not_null().default(0));
            days.col(ColumnDef::new(Alias::new(format!("b_{counter}"))).big_integer().not_null().default(0));
        }
        days.col(ColumnDef::new(ArchiveDays::RolledUpAt).timestamp_with_time_zone());
        manager.create_table(days.to_owned()).await?;

        // Aggregates by (lvl, start, …): lvl 0 is a day (start: days since 1970-01-01), lvl L
        // the aligned block of 2^L days from start. Text that is grouped or compared is bytewise.
        let text = |name: &str| match backend {
            DbBackend::Postgres => format!("{name} TEXT COLLATE \"C\" NOT NULL"),
            _ => format!("{name} TEXT NOT NULL"),
        };
        let (without_rowid, boolean) = match backend {
            DbBackend::Postgres => ("", "BOOLEAN"),
            _ => (" WITHOUT ROWID", "BOOLEAN"),
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS archive_developers (\
             lvl SMALLINT NOT NULL, start INTEGER NOT NULL, actor_id BIGINT NOT NULL, {login}, \
             seen_key BIGINT NOT NULL, is_bot {boolean} NOT NULL, days INTEGER NOT NULL, events INTEGER NOT NULL, \
             pushes INTEGER NOT NULL, commits BIGINT NOT NULL, pushes_unknown INTEGER NOT NULL, \
             PRIMARY KEY (lvl, start, actor_id)){without_rowid}",
            login = text("login")
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS archive_repositories (\
             lvl SMALLINT NOT NULL, start INTEGER NOT NULL, repo_id BIGINT NOT NULL, {name}, {owner}, \
             seen_key BIGINT NOT NULL, events INTEGER NOT NULL, b_events INTEGER NOT NULL, \
             pushes INTEGER NOT NULL, b_pushes INTEGER NOT NULL, commits BIGINT NOT NULL, b_commits BIGINT NOT NULL, \
             members INTEGER NOT NULL, b_members INTEGER NOT NULL, \
             PRIMARY KEY (lvl, start, repo_id)){without_rowid}",
            name = text("name"),
            owner = text("owner_key")
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS archive_members (\
             lvl SMALLINT NOT NULL, start INTEGER NOT NULL, repo_id BIGINT NOT NULL, actor_id BIGINT NOT NULL, \
             is_bot {boolean} NOT NULL, PRIMARY KEY (lvl, start, repo_id, actor_id)){without_rowid}"
        ))
        .await?;
        // Repositories by owner, for `repositoriesOwned`.
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_archive_repositories_owner \
             ON archive_repositories (lvl, start, owner_key, repo_id)",
        )
        .await?;
        // Which blocks of days are built.
        db.execute_unprepared(
            "CREATE TABLE IF NOT EXISTS archive_blocks (lvl SMALLINT NOT NULL, start INTEGER NOT NULL, \
             days INTEGER NOT NULL, PRIMARY KEY (lvl, start))",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in [
            "archive_blocks",
            "archive_members",
            "archive_repositories",
            "archive_developers",
            "archive_days",
            "archive_hour_parts",
            "archive_hours",
        ] {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}")).await?;
        }
        for column in [
            RefreshJobs::ArchiveFrom,
            RefreshJobs::ArchiveTo,
            RefreshJobs::HoursTotal,
            RefreshJobs::HoursDone,
            RefreshJobs::EventsImported,
        ] {
            manager.alter_table(Table::alter().table(RefreshJobs::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
