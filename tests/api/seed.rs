//! Filling the read model through the real write path, with contributors made up per month.
use chrono::{NaiveDate, TimeZone, Utc};
use entity::enums::RefreshOutcome;
use git_collector::domain::ContributorKey;
use git_collector::store::contributions::{apply_refresh, ApplyMode, ContributorFirst, RepoState};
use git_collector::store::repositories::{upsert, RepoInfo};
use sea_orm::DatabaseConnection;

/// One repository's history: (month, human first-timers, bot first-timers).
#[derive(Debug, Clone)]
pub struct SeedRepo {
    pub owner: String,
    pub name: String,
    pub months: Vec<(NaiveDate, i32, i32)>,
}

/// A row of the expected read model.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub month: NaiveDate,
    pub owner: String,
    pub name: String,
    pub count: i32,
}

pub async fn seed(db: &DatabaseConnection, repos: &[SeedRepo]) {
    let mut next_person = 0u64;
    for (i, repo) in repos.iter().enumerate() {
        let info = RepoInfo {
            github_id: 10_000 + i as i64,
            owner: repo.owner.clone(),
            name: repo.name.clone(),
            is_fork: false,
            is_archived: false,
            default_branch: Some("main".into()),
            created_at: None,
            pushed_at: None,
        };
        let owner = git_collector::domain::OwnerLogin::parse(&repo.owner).unwrap();
        let account = git_collector::store::accounts::get_or_create(db, &owner).await.unwrap().id;
        let tx = git_collector::store::db::begin_write(db).await.unwrap();
        let stored = upsert(&*tx, account, &info, false).await.unwrap();
        tx.commit().await.unwrap();
        let mut firsts = Vec::new();
        for (month, humans, bots) in &repo.months {
            for k in 0..(humans + bots) {
                next_person += 1;
                let at =
                    Utc.from_utc_datetime(&month.and_hms_opt(0, 0, 0).unwrap()) + chrono::Duration::hours(k as i64 + 1);
                firsts.push(ContributorFirst {
                    key: ContributorKey::EmailHash(format!("{next_person:064x}")),
                    login: None,
                    is_bot: k >= *humans,
                    first_at: at,
                    commits: 1,
                });
            }
        }
        let state =
            RepoState { head_sha: Some("x".into()), etag: None, outcome: RefreshOutcome::Updated, at: Utc::now() };
        apply_refresh(db, stored.id, None, ApplyMode::Replace, firsts, state).await.unwrap();
    }
}

/// The read model these repositories must give, in MONTH_ASC order.
pub fn expected(repos: &[SeedRepo], include_bots: bool) -> Vec<Row> {
    let mut rows: Vec<Row> = repos
        .iter()
        .flat_map(|r| {
            r.months.iter().filter_map(move |(month, humans, bots)| {
                let count = if include_bots { humans + bots } else { *humans };
                (count > 0).then(|| Row { month: *month, owner: r.owner.clone(), name: r.name.clone(), count })
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.month, a.owner.to_lowercase(), a.name.to_lowercase()).cmp(&(
            b.month,
            b.owner.to_lowercase(),
            b.name.to_lowercase(),
        ))
    });
    rows
}

pub fn month(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap()
}
