//! People new to a whole account (docs/rules.md §1.2): each contributor's first contribution to
//! any counting repository of an account, and the monthly read model derived from it, with
//! their row counts. Every repository belongs to the account named by its owner. Backfilled
//! from the stored contributions. Also: the identity rules a repository's contributions were
//! computed with, so that a refresh can redo those computed with older rules.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    MonthlyRows,
    MonthlyRowsWithBots,
}

#[derive(DeriveIden)]
enum Repositories {
    Table,
    IdentityVersion,
}

#[derive(DeriveIden)]
enum AccountFirstContributors {
    Table,
    AccountId,
    ContributorId,
    FirstContributionAt,
    IsBot,
}

#[derive(DeriveIden)]
enum AccountMonthlyFirstContributors {
    Table,
    AccountId,
    IncludeBots,
    Month,
    NewContributors,
}

#[derive(DeriveIden)]
enum Contributors {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        for column in [Accounts::MonthlyRows, Accounts::MonthlyRowsWithBots] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Accounts::Table)
                        .add_column(ColumnDef::new(column).integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
        }
        // 1: the rules before identity by author name; a repository below the current version
        // is crawled again in full at its next refresh.
        manager
            .alter_table(
                Table::alter()
                    .table(Repositories::Table)
                    .add_column(ColumnDef::new(Repositories::IdentityVersion).integer().not_null().default(1))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AccountFirstContributors::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(AccountFirstContributors::AccountId).big_integer().not_null())
                    .col(ColumnDef::new(AccountFirstContributors::ContributorId).big_integer().not_null())
                    .col(
                        ColumnDef::new(AccountFirstContributors::FirstContributionAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // The bot flag the row was counted with.
                    .col(ColumnDef::new(AccountFirstContributors::IsBot).boolean().not_null())
                    .primary_key(
                        Index::create()
                            .col(AccountFirstContributors::AccountId)
                            .col(AccountFirstContributors::ContributorId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_firsts_account")
                            .from(AccountFirstContributors::Table, AccountFirstContributors::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_firsts_contributor")
                            .from(AccountFirstContributors::Table, AccountFirstContributors::ContributorId)
                            .to(Contributors::Table, Contributors::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        use AccountMonthlyFirstContributors as M;
        manager
            .create_table(
                Table::create()
                    .table(M::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(M::AccountId).big_integer().not_null())
                    .col(ColumnDef::new(M::IncludeBots).boolean().not_null())
                    .col(ColumnDef::new(M::Month).date().not_null())
                    .col(ColumnDef::new(M::NewContributors).integer().not_null())
                    .check(Expr::col(M::NewContributors).gt(0))
                    .primary_key(Index::create().col(M::AccountId).col(M::IncludeBots).col(M::Month))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_monthly_account")
                            .from(M::Table, M::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Pages in either order read the primary key (forwards or backwards).
        backfill(db, backend).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AccountMonthlyFirstContributors::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(AccountFirstContributors::Table).if_exists().to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(Repositories::Table).drop_column(Repositories::IdentityVersion).to_owned(),
            )
            .await?;
        for column in [Accounts::MonthlyRows, Accounts::MonthlyRowsWithBots] {
            manager.alter_table(Table::alter().table(Accounts::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

/// Links every repository to the account of its owner (created when missing), then computes
/// the account model from the stored first contributions, in SQL.
async fn backfill(db: &SchemaManagerConnection<'_>, backend: DbBackend) -> Result<(), DbErr> {
    let (now, truth, falsity) = match backend {
        DbBackend::Postgres => ("CURRENT_TIMESTAMP", "TRUE", "FALSE"),
        _ => ("strftime('%Y-%m-%d %H:%M:%S+00:00', 'now')", "1", "0"),
    };
    db.execute_unprepared(&format!(
        "INSERT INTO accounts (login, login_key, created_at) \
         SELECT MIN(owner), owner_key, {now} FROM repositories WHERE 1 = 1 GROUP BY owner_key \
         ON CONFLICT (login_key) DO NOTHING"
    ))
    .await?;
    db.execute_unprepared(
        "UPDATE repositories SET account_id = (SELECT a.id FROM accounts a WHERE a.login_key = repositories.owner_key) \
         WHERE account_id IS NULL OR account_id <> (SELECT a.id FROM accounts a WHERE a.login_key = repositories.owner_key)",
    )
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO account_first_contributors (account_id, contributor_id, first_contribution_at, is_bot) \
         SELECT r.account_id, fc.contributor_id, MIN(fc.first_contribution_at), MAX(CASE WHEN c.is_bot = {truth} THEN 1 ELSE 0 END) = 1 \
         FROM first_contributions fc \
         JOIN repositories r ON r.id = fc.repository_id \
         JOIN contributors c ON c.id = fc.contributor_id \
         WHERE r.account_id IS NOT NULL AND r.is_gone <> {truth} \
         GROUP BY r.account_id, fc.contributor_id"
    ))
    .await?;
    let month = match backend {
        DbBackend::Postgres => "CAST(date_trunc('month', first_contribution_at AT TIME ZONE 'UTC') AS DATE)",
        _ => "strftime('%Y-%m-01', first_contribution_at)",
    };
    for (include_bots, filter) in [(truth, String::new()), (falsity, format!("WHERE is_bot <> {truth}"))] {
        db.execute_unprepared(&format!(
            "INSERT INTO account_monthly_first_contributors \
             (account_id, include_bots, month, new_contributors) \
             SELECT account_id, {include_bots}, {month}, COUNT(*) \
             FROM account_first_contributors {filter} \
             GROUP BY account_id, {month}"
        ))
        .await?;
    }
    db.execute_unprepared(&format!(
        "UPDATE accounts SET \
         monthly_rows = (SELECT COUNT(*) FROM account_monthly_first_contributors m \
                         WHERE m.account_id = accounts.id AND m.include_bots <> {truth}), \
         monthly_rows_with_bots = (SELECT COUNT(*) FROM account_monthly_first_contributors m \
                         WHERE m.account_id = accounts.id AND m.include_bots = {truth})"
    ))
    .await?;
    Ok(())
}
