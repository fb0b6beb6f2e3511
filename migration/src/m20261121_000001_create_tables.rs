//! The whole data model: tracked accounts, repositories, contributors, first contributions,
//! the monthly read model, refresh jobs and schedule ticks.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Login,
    LoginKey,
    Kind,
    ReposListedAt,
    ReposEtag,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Repositories {
    Table,
    Id,
    GithubId,
    AccountId,
    Owner,
    Name,
    OwnerKey,
    NameKey,
    IsFork,
    IsArchived,
    DefaultBranch,
    CreatedAt,
    PushedAt,
    HeadSha,
    CommitsEtag,
    LastRefreshedAt,
    LastOutcome,
    LastError,
    IsGone,
    IsTracked,
    FirstSeenAt,
    ListedAt,
    MonthlyRows,
    MonthlyRowsWithBots,
}

#[derive(DeriveIden)]
enum Contributors {
    Table,
    Id,
    IdentityKey,
    GithubId,
    Login,
    IsBot,
}

#[derive(DeriveIden)]
enum FirstContributions {
    Table,
    RepositoryId,
    ContributorId,
    FirstContributionAt,
    CommitCount,
}

#[derive(DeriveIden)]
enum MonthlyFirstContributors {
    Table,
    RepositoryId,
    IncludeBots,
    Month,
    MonthDescKey,
    Owner,
    RepoName,
    OwnerKey,
    NameKey,
    NewContributors,
}

#[derive(DeriveIden)]
enum MonthlyTotals {
    Table,
    IncludeBots,
    Month,
    Repositories,
}

#[derive(DeriveIden)]
enum RefreshJobs {
    Table,
    Id,
    ParentId,
    Owner,
    Repo,
    TargetKey,
    ActiveKey,
    Trigger,
    Status,
    CreatedAt,
    StartedAt,
    FinishedAt,
    UpdatedAt,
    LeaseOwner,
    LeaseExpiresAt,
    Attempts,
    Error,
    ReposTotal,
    ReposDone,
    RequestsMade,
}

#[derive(DeriveIden)]
enum ScheduleTicks {
    Table,
    TickAt,
}

/// Keys that keyset pagination orders by compare bytewise on both databases, so that the
/// order (and every cursor) means the same on SQLite and PostgreSQL whatever the locale.
fn key_column<T: IntoIden>(backend: DbBackend, name: T) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    col.string().not_null();
    if backend == DbBackend::Postgres {
        col.extra("COLLATE \"C\"");
    }
    col
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();

        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Accounts::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Accounts::Login).string().not_null())
                    .col(key_column(backend, Accounts::LoginKey).unique_key())
                    .col(ColumnDef::new(Accounts::Kind).string())
                    .col(ColumnDef::new(Accounts::ReposListedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Accounts::ReposEtag).string())
                    .col(ColumnDef::new(Accounts::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Repositories::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Repositories::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Repositories::GithubId).big_integer().not_null().unique_key())
                    .col(ColumnDef::new(Repositories::AccountId).big_integer())
                    .col(ColumnDef::new(Repositories::Owner).string().not_null())
                    .col(ColumnDef::new(Repositories::Name).string().not_null())
                    .col(key_column(backend, Repositories::OwnerKey))
                    .col(key_column(backend, Repositories::NameKey))
                    .col(ColumnDef::new(Repositories::IsFork).boolean().not_null().default(false))
                    .col(ColumnDef::new(Repositories::IsArchived).boolean().not_null().default(false))
                    .col(ColumnDef::new(Repositories::DefaultBranch).string())
                    .col(ColumnDef::new(Repositories::CreatedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Repositories::PushedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Repositories::HeadSha).string())
                    .col(ColumnDef::new(Repositories::CommitsEtag).string())
                    .col(ColumnDef::new(Repositories::LastRefreshedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Repositories::LastOutcome).string())
                    .col(ColumnDef::new(Repositories::LastError).text())
                    .col(ColumnDef::new(Repositories::IsGone).boolean().not_null().default(false))
                    .col(ColumnDef::new(Repositories::IsTracked).boolean().not_null().default(false))
                    .col(ColumnDef::new(Repositories::FirstSeenAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Repositories::ListedAt).timestamp_with_time_zone())
                    // Read-model rows of this repository (without / with bots), kept with the rows.
                    .col(ColumnDef::new(Repositories::MonthlyRows).integer().not_null().default(0))
                    .col(ColumnDef::new(Repositories::MonthlyRowsWithBots).integer().not_null().default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_repositories_account")
                            .from(Repositories::Table, Repositories::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_repositories_owner_name")
                    .table(Repositories::Table)
                    .col(Repositories::OwnerKey)
                    .col(Repositories::NameKey)
                    .col(Repositories::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_repositories_account")
                    .table(Repositories::Table)
                    .col(Repositories::AccountId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Contributors::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Contributors::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Contributors::IdentityKey).string().not_null().unique_key())
                    .col(ColumnDef::new(Contributors::GithubId).big_integer())
                    .col(ColumnDef::new(Contributors::Login).string())
                    .col(ColumnDef::new(Contributors::IsBot).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FirstContributions::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(FirstContributions::RepositoryId).big_integer().not_null())
                    .col(ColumnDef::new(FirstContributions::ContributorId).big_integer().not_null())
                    .col(ColumnDef::new(FirstContributions::FirstContributionAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(FirstContributions::CommitCount).big_integer().not_null())
                    .primary_key(
                        Index::create().col(FirstContributions::RepositoryId).col(FirstContributions::ContributorId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_first_contributions_repository")
                            .from(FirstContributions::Table, FirstContributions::RepositoryId)
                            .to(Repositories::Table, Repositories::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_first_contributions_contributor")
                            .from(FirstContributions::Table, FirstContributions::ContributorId)
                            .to(Contributors::Table, Contributors::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Repository.contributors pages in first-contribution order.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_first_contributions_repo_date")
                    .table(FirstContributions::Table)
                    .col(FirstContributions::RepositoryId)
                    .col(FirstContributions::FirstContributionAt)
                    .col(FirstContributions::ContributorId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_first_contributions_contributor")
                    .table(FirstContributions::Table)
                    .col(FirstContributions::ContributorId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MonthlyFirstContributors::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(MonthlyFirstContributors::RepositoryId).big_integer().not_null())
                    .col(ColumnDef::new(MonthlyFirstContributors::IncludeBots).boolean().not_null())
                    .col(ColumnDef::new(MonthlyFirstContributors::Month).date().not_null())
                    // -(year·12 + month): newest-first pages read an all-ascending index.
                    .col(ColumnDef::new(MonthlyFirstContributors::MonthDescKey).integer().not_null())
                    .col(ColumnDef::new(MonthlyFirstContributors::Owner).string().not_null())
                    .col(ColumnDef::new(MonthlyFirstContributors::RepoName).string().not_null())
                    .col(key_column(backend, MonthlyFirstContributors::OwnerKey))
                    .col(key_column(backend, MonthlyFirstContributors::NameKey))
                    .col(ColumnDef::new(MonthlyFirstContributors::NewContributors).integer().not_null())
                    .check(Expr::col(MonthlyFirstContributors::NewContributors).gt(0))
                    .primary_key(
                        Index::create()
                            .col(MonthlyFirstContributors::RepositoryId)
                            .col(MonthlyFirstContributors::IncludeBots)
                            .col(MonthlyFirstContributors::Month),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_monthly_repository")
                            .from(MonthlyFirstContributors::Table, MonthlyFirstContributors::RepositoryId)
                            .to(Repositories::Table, Repositories::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Keyset indexes, one per order the API reads in: GraphQL by month (ascending and
        // descending), the same within one owner, and REST (month, name, owner).
        use MonthlyFirstContributors as M;
        for (name, cols) in [
            ("idx_monthly_asc", [M::IncludeBots, M::Month, M::OwnerKey, M::NameKey, M::RepositoryId]),
            ("idx_monthly_desc", [M::IncludeBots, M::MonthDescKey, M::OwnerKey, M::NameKey, M::RepositoryId]),
            ("idx_monthly_owner_asc", [M::IncludeBots, M::OwnerKey, M::Month, M::NameKey, M::RepositoryId]),
            ("idx_monthly_owner_desc", [M::IncludeBots, M::OwnerKey, M::MonthDescKey, M::NameKey, M::RepositoryId]),
            ("idx_monthly_rest", [M::IncludeBots, M::Month, M::NameKey, M::OwnerKey, M::RepositoryId]),
        ] {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(M::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        // Read-model rows per month, kept in the same transaction as the rows: totals and deep
        // REST pages without scanning the read model.
        manager
            .create_table(
                Table::create()
                    .table(MonthlyTotals::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(MonthlyTotals::IncludeBots).boolean().not_null())
                    .col(ColumnDef::new(MonthlyTotals::Month).date().not_null())
                    .col(ColumnDef::new(MonthlyTotals::Repositories).integer().not_null())
                    .primary_key(Index::create().col(MonthlyTotals::IncludeBots).col(MonthlyTotals::Month))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshJobs::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(RefreshJobs::Id).big_integer().not_null().auto_increment().primary_key())
                    // The account job that this repository job is part of.
                    .col(ColumnDef::new(RefreshJobs::ParentId).big_integer())
                    .col(ColumnDef::new(RefreshJobs::Owner).string().not_null())
                    .col(ColumnDef::new(RefreshJobs::Repo).string())
                    .col(ColumnDef::new(RefreshJobs::TargetKey).string().not_null())
                    // Equals target_key while the job is queued or running, NULL once it ended:
                    // the unique index is what allows one active job per target.
                    .col(ColumnDef::new(RefreshJobs::ActiveKey).string().unique_key())
                    .col(ColumnDef::new(RefreshJobs::Trigger).string().not_null())
                    .col(ColumnDef::new(RefreshJobs::Status).string().not_null())
                    .col(ColumnDef::new(RefreshJobs::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(RefreshJobs::StartedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(RefreshJobs::FinishedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(RefreshJobs::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(RefreshJobs::LeaseOwner).string())
                    .col(ColumnDef::new(RefreshJobs::LeaseExpiresAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(RefreshJobs::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(RefreshJobs::Error).text())
                    .col(ColumnDef::new(RefreshJobs::ReposTotal).integer())
                    .col(ColumnDef::new(RefreshJobs::ReposDone).integer())
                    .col(ColumnDef::new(RefreshJobs::RequestsMade).big_integer().not_null().default(0))
                    .check(Expr::col(RefreshJobs::Status).is_in(["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]))
                    .check(
                        Expr::col(RefreshJobs::ActiveKey)
                            .is_null()
                            .or(Expr::col(RefreshJobs::Status).is_in(["QUEUED", "RUNNING"])),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_refresh_jobs_status_id")
                    .table(RefreshJobs::Table)
                    .col(RefreshJobs::Status)
                    .col(RefreshJobs::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_refresh_jobs_parent")
                    .table(RefreshJobs::Table)
                    .col(RefreshJobs::ParentId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_refresh_jobs_target")
                    .table(RefreshJobs::Table)
                    .col(RefreshJobs::TargetKey)
                    .col(RefreshJobs::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScheduleTicks::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(ScheduleTicks::TickAt).timestamp_with_time_zone().not_null().primary_key())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ScheduleTicks::Table.into_iden(),
            RefreshJobs::Table.into_iden(),
            MonthlyTotals::Table.into_iden(),
            MonthlyFirstContributors::Table.into_iden(),
            FirstContributions::Table.into_iden(),
            Contributors::Table.into_iden(),
            Repositories::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
