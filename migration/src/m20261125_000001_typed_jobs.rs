//! Jobs carry their kind in a column of their own (account, repository, and archive next)
//! instead of "repo IS NULL"; schedule firings are recorded per schedule (the crawl and the
//! archive import may fire at the same instant).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshJobs {
    Table,
    Kind,
    Status,
    Id,
}

#[derive(DeriveIden)]
enum ScheduleTicks {
    Table,
}

#[derive(DeriveIden)]
enum ScheduleFirings {
    Table,
    Schedule,
    FiredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshJobs::Table)
                    .add_column(ColumnDef::new(RefreshJobs::Kind).string().not_null().default("repository"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE refresh_jobs SET kind = 'account' WHERE repo IS NULL").await?;
        // Workers claim by kind and status, oldest first.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_refresh_jobs_claim")
                    .table(RefreshJobs::Table)
                    .col(RefreshJobs::Kind)
                    .col(RefreshJobs::Status)
                    .col(RefreshJobs::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScheduleFirings::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(ScheduleFirings::Schedule).string().not_null())
                    .col(ColumnDef::new(ScheduleFirings::FiredAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(ScheduleFirings::Schedule).col(ScheduleFirings::FiredAt))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO schedule_firings (schedule, fired_at) SELECT 'crawl', tick_at FROM schedule_ticks",
        )
        .await?;
        manager.drop_table(Table::drop().table(ScheduleTicks::Table).to_owned()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ScheduleFirings::Table).if_exists().to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(ScheduleTicks::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Alias::new("tick_at")).timestamp_with_time_zone().not_null().primary_key())
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name("idx_refresh_jobs_claim").table(RefreshJobs::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(RefreshJobs::Table).drop_column(RefreshJobs::Kind).to_owned()).await
    }
}
