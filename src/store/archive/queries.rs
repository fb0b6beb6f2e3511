//! Reading the archive aggregates for the API (docs/rules.md §7): days as they are, and
//! developers and repositories summed over a window of days, with their filters and orders.
use chrono::NaiveDate;
use entity::archive_day;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QueryResult, Statement, Value,
};
use serde::{Deserialize, Serialize};

use super::blocks::{self, Window};
use super::sql::numbered;
use crate::domain::archive::aggregate::row_key;
use crate::domain::archive::{day_number, DayRange};
use crate::store::page::{Page, PageRequest};
use crate::store::StoreError;

/// A day of the archive, with or without bots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub day: NaiveDate,
    pub hours_imported: i32,
    pub hours_missing: i32,
    pub events: i64,
    pub active_developers: i64,
    pub developers_without_commits: i64,
    pub developers_with_one_commit: i64,
    pub developers_with_more_than_one_commit: i64,
    pub developers_with_unknown_commits: i64,
    pub pushes: i64,
    pub commits: i64,
    pub pushes_without_commit_count: i64,
}

/// Every imported day of `range`, oldest first.
pub async fn activity(db: &impl ConnectionTrait, range: DayRange, include_bots: bool) -> Result<Vec<Day>, StoreError> {
    let rows = archive_day::Entity::find()
        .filter(archive_day::Column::Day.between(day_number(range.from()), day_number(range.to())))
        .filter(archive_day::Column::HoursImported.gt(0))
        .order_by_asc(archive_day::Column::Day)
        .all(db)
        .await?;
    let less = |all: i64, bots: i64| if include_bots { all } else { all - bots };
    Ok(rows
        .into_iter()
        .map(|d| Day {
            day: crate::domain::archive::day_date(d.day),
            hours_imported: d.hours_imported,
            hours_missing: d.hours_missing,
            events: less(d.events, d.b_events),
            active_developers: less(d.devs, d.b_devs),
            developers_without_commits: less(d.devs_c0, d.b_devs_c0),
            developers_with_one_commit: less(d.devs_c1, d.b_devs_c1),
            developers_with_more_than_one_commit: less(d.devs_cn, d.b_devs_cn),
            developers_with_unknown_commits: less(d.devs_unknown, d.b_devs_unknown),
            pushes: less(d.pushes, d.b_pushes),
            commits: less(d.commits, d.b_commits),
            pushes_without_commit_count: less(d.pushes_unknown, d.b_pushes_unknown),
        })
        .collect())
}

/// How developers are ordered: by commits or by repositories owned, descending; ties by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeveloperOrder {
    Commits,
    RepositoriesOwned,
}

#[derive(Debug, Clone)]
pub struct DeveloperFilter {
    pub range: DayRange,
    pub include_bots: bool,
    pub min_repositories_owned: Option<i64>,
    pub commits_per_day_above: Option<f64>,
    pub commits_per_day_below: Option<f64>,
    pub order: DeveloperOrder,
}

/// Position of a developer in a list: the ordering value, then the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeveloperKey {
    pub value: i64,
    pub actor_id: i64,
}

/// A developer over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Developer {
    pub actor_id: i64,
    pub login: String,
    pub is_bot: bool,
    pub active_days: i64,
    pub pushes: i64,
    pub commits: i64,
    pub commits_per_day: f64,
    pub repositories_owned: i64,
}

impl Developer {
    pub fn key(&self, order: DeveloperOrder) -> DeveloperKey {
        let value = match order {
            DeveloperOrder::Commits => self.commits,
            DeveloperOrder::RepositoriesOwned => self.repositories_owned,
        };
        DeveloperKey { value, actor_id: self.actor_id }
    }
}

/// Statement text with `?` placeholders, and its values.
struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn statement(self, backend: DbBackend) -> Statement {
        let text = match backend {
            DbBackend::Postgres => numbered(&self.text),
            _ => self.text,
        };
        Statement::from_sql_and_values(backend, text, self.values)
    }
}

/// The developers of the window, summed, with (when `owned`) the repositories they own, as a CTE
/// `dev` (actor_id, days, pushes, commits, owned).
fn developers_cte(filter: &DeveloperFilter, window: &Window, owned: bool) -> String {
    let at = window.clause();
    let bots = if filter.include_bots { "" } else { " AND NOT is_bot" };
    let mut sql = format!(
        "agg AS (SELECT actor_id, CAST(SUM(days) AS BIGINT) AS days, CAST(SUM(pushes) AS BIGINT) AS pushes, \
         CAST(SUM(commits) AS BIGINT) AS commits, MAX(seen_key) AS seen \
         FROM archive_developer_rows WHERE {at}{bots} GROUP BY actor_id)"
    );
    if owned {
        // Each developer's latest login and each repository's latest owner in the window (equal
        // keys, possible only across days, keep the greater text, as summing does).
        sql.push_str(&format!(
            ", latest AS (SELECT agg.actor_id, MAX(LOWER(d.login)) AS login_key FROM agg \
             JOIN archive_developer_rows d ON {d_at} AND d.actor_id = agg.actor_id \
             AND d.seen_key = agg.seen GROUP BY agg.actor_id), \
             repo_seen AS (SELECT repo_id, MAX(seen_key) AS seen FROM archive_repository_rows \
             WHERE {at} GROUP BY repo_id), \
             repo_owner AS (SELECT r.repo_id, MAX(r.owner_key) AS owner_key FROM repo_seen \
             JOIN archive_repository_rows r ON {r_at} AND r.repo_id = repo_seen.repo_id \
             AND r.seen_key = repo_seen.seen GROUP BY r.repo_id), \
             owners AS (SELECT owner_key, COUNT(*) AS n FROM repo_owner GROUP BY owner_key), \
             dev AS (SELECT agg.actor_id, agg.days, agg.pushes, agg.commits, COALESCE(owners.n, 0) AS owned \
             FROM agg JOIN latest ON latest.actor_id = agg.actor_id \
             LEFT JOIN owners ON owners.owner_key = latest.login_key)",
            d_at = window.clause_on("d"),
            r_at = window.clause_on("r"),
        ));
    } else {
        sql.push_str(", dev AS (SELECT actor_id, days, pushes, commits, 0 AS owned FROM agg)");
    }
    sql
}

/// The WHERE clause of the filters (on `dev`). Commits per day are compared as the API shows
/// them: commits ÷ days, in floating point.
fn developer_conditions(filter: &DeveloperFilter, values: &mut Vec<Value>) -> Vec<String> {
    let days = filter.range.days() as f64;
    let mut conditions = Vec::new();
    if let Some(min) = filter.min_repositories_owned {
        conditions.push("owned >= ?".to_string());
        values.push(min.into());
    }
    for (bound, op) in [(filter.commits_per_day_above, ">"), (filter.commits_per_day_below, "<")] {
        if let Some(bound) = bound {
            conditions.push(format!("CAST(commits AS DOUBLE PRECISION) / ? {op} ?"));
            values.extend([days.into(), bound.into()]);
        }
    }
    conditions
}

fn needs_owned(filter: &DeveloperFilter) -> bool {
    filter.min_repositories_owned.is_some() || filter.order == DeveloperOrder::RepositoriesOwned
}

/// A page of the window's developers.
pub async fn developers(
    db: &impl ConnectionTrait,
    filter: &DeveloperFilter,
    request: &PageRequest<DeveloperKey>,
) -> Result<Page<Developer>, StoreError> {
    let owned = needs_owned(filter);
    let window = blocks::window(db, filter.range).await?;
    let mut values = Vec::new();
    let cte = developers_cte(filter, &window, owned);
    let mut conditions = developer_conditions(filter, &mut values);
    let value = match filter.order {
        DeveloperOrder::Commits => "commits",
        DeveloperOrder::RepositoriesOwned => "owned",
    };
    // The list runs value DESC, id ASC; "after" a key is a smaller value, or an equal one with a
    // greater id.
    if let Some(after) = &request.after {
        conditions.push(format!("({value} < ? OR ({value} = ? AND actor_id > ?))"));
        values.extend([after.value.into(), after.value.into(), after.actor_id.into()]);
    }
    if let Some(before) = &request.before {
        conditions.push(format!("({value} > ? OR ({value} = ? AND actor_id < ?))"));
        values.extend([before.value.into(), before.value.into(), before.actor_id.into()]);
    }
    let order =
        if request.from_end { format!("{value} ASC, actor_id DESC") } else { format!("{value} DESC, actor_id ASC") };
    let filter_sql = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    values.push(((request.limit + 1) as i64).into());
    let sql = Sql {
        text: format!(
            "WITH {cte} SELECT actor_id, days, pushes, commits, owned FROM dev{filter_sql} ORDER BY {order} LIMIT ?"
        ),
        values,
    };
    let rows = db.query_all(sql.statement(db.get_database_backend())).await?;
    let mut found: Vec<(i64, i64, i64, i64, i64)> = rows
        .iter()
        .map(|r| Ok((i(r, "actor_id")?, i(r, "days")?, i(r, "pushes")?, i(r, "commits")?, i(r, "owned")?)))
        .collect::<Result<_, StoreError>>()?;
    let more = found.len() as u64 > request.limit;
    found.truncate(request.limit as usize);
    if request.from_end {
        found.reverse();
    }
    let ids: Vec<i64> = found.iter().map(|f| f.0).collect();
    let logins = latest_logins(db, &window, &ids).await?;
    let owned_counts = if owned { Default::default() } else { owned_by(db, &window, &logins).await? };
    let days = filter.range.days() as f64;
    let rows = found
        .into_iter()
        .map(|(actor_id, active_days, pushes, commits, owned_n)| {
            let login = logins.get(&actor_id).cloned().unwrap_or_default();
            let owned_here =
                if owned { owned_n } else { owned_counts.get(&login.to_lowercase()).copied().unwrap_or(0) };
            Developer {
                actor_id,
                is_bot: login.ends_with("[bot]"),
                login,
                active_days,
                pushes,
                commits,
                commits_per_day: commits as f64 / days,
                repositories_owned: owned_here,
            }
        })
        .collect();
    // Forwards, the cursor's own row is before the page; backwards, after it.
    Ok(if request.from_end {
        Page { rows, has_previous: more, has_next: request.before.is_some() }
    } else {
        Page { rows, has_previous: request.after.is_some(), has_next: more }
    })
}

/// How many developers the filters select.
pub async fn developers_total(db: &impl ConnectionTrait, filter: &DeveloperFilter) -> Result<i64, StoreError> {
    let window = blocks::window(db, filter.range).await?;
    let mut values = Vec::new();
    let cte = developers_cte(filter, &window, needs_owned(filter));
    let conditions = developer_conditions(filter, &mut values);
    let filter_sql = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let sql = Sql { text: format!("WITH {cte} SELECT COUNT(*) AS n FROM dev{filter_sql}"), values };
    let row = db.query_one(sql.statement(db.get_database_backend())).await?;
    row.map(|r| i(&r, "n")).transpose().map(|n| n.unwrap_or(0))
}

/// The latest login in the window of each of `ids`.
async fn latest_logins(
    db: &impl ConnectionTrait,
    window: &Window,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let list = ids.iter().map(|id| row_key(*id as u64).to_string()).collect::<Vec<_>>().join(",");
    let sql = Sql {
        text: format!(
            "SELECT actor_id, login, seen_key FROM archive_developer_rows WHERE {} AND actor_key IN ({list})",
            window.clause()
        ),
        values: Vec::new(),
    };
    let mut latest: std::collections::HashMap<i64, (i64, String)> = Default::default();
    for r in db.query_all(sql.statement(db.get_database_backend())).await? {
        let (id, login, seen) = (i(&r, "actor_id")?, s(&r, "login")?, i(&r, "seen_key")?);
        let entry = latest.entry(id).or_insert((seen, login.clone()));
        if seen > entry.0 || (seen == entry.0 && login > entry.1) {
            *entry = (seen, login);
        }
    }
    Ok(latest.into_iter().map(|(id, (_, login))| (id, login)).collect())
}

/// Repositories with an event in the window owned (by their latest name) by each login.
async fn owned_by(
    db: &impl ConnectionTrait,
    window: &Window,
    logins: &std::collections::HashMap<i64, String>,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let keys: std::collections::BTreeSet<String> = logins.values().map(|l| l.to_lowercase()).collect();
    if keys.is_empty() {
        return Ok(Default::default());
    }
    let at = window.clause();
    let marks = vec!["?"; keys.len()].join(",");
    // Repositories that carried one of these owners some day of the window; then each one's
    // owner by its latest name.
    let sql = Sql {
        text: format!(
            "SELECT repo_id, owner_key, seen_key FROM archive_repository_rows WHERE {at} \
             AND repo_key IN (SELECT repo_key FROM archive_repository_rows WHERE {at} AND owner_key IN ({marks}))"
        ),
        values: keys.iter().map(|k| Value::from(k.clone())).collect(),
    };
    let mut latest: std::collections::HashMap<i64, (i64, String)> = Default::default();
    for r in db.query_all(sql.statement(db.get_database_backend())).await? {
        let (id, owner, seen) = (i(&r, "repo_id")?, s(&r, "owner_key")?, i(&r, "seen_key")?);
        let entry = latest.entry(id).or_insert((seen, owner.clone()));
        if seen > entry.0 || (seen == entry.0 && owner > entry.1) {
            *entry = (seen, owner);
        }
    }
    let mut counts: std::collections::HashMap<String, i64> = Default::default();
    for (_, owner) in latest.into_values() {
        if keys.contains(&owner) {
            *counts.entry(owner).or_default() += 1;
        }
    }
    Ok(counts)
}

#[derive(Debug, Clone)]
pub struct RepositoryFilter {
    pub range: DayRange,
    pub include_bots: bool,
    pub min_members: Option<i64>,
}

/// Position of a repository in the list: members, then the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryKey {
    pub members: i64,
    pub repo_id: i64,
}

/// A repository over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub repo_id: i64,
    pub name: String,
    pub members: i64,
    pub pushes: i64,
    pub commits: i64,
}

fn repositories_cte(backend: DbBackend, filter: &RepositoryFilter, window: &Window) -> String {
    let at = window.clause();
    let (pushes, commits, having) = if filter.include_bots {
        ("CAST(SUM(pushes) AS BIGINT)", "CAST(SUM(commits) AS BIGINT)", "")
    } else {
        (
            "CAST(SUM(pushes - b_pushes) AS BIGINT)",
            "CAST(SUM(commits - b_commits) AS BIGINT)",
            " HAVING SUM(events - b_events) > 0",
        )
    };
    // Members are lists of ids on each row: the distinct ids of the window.
    let mut lists = vec!["member_ids"];
    if filter.include_bots {
        lists.push("bot_member_ids");
    }
    let r_at = window.clause_on("r");
    let ids = lists
        .iter()
        .map(|list| match backend {
            DbBackend::Postgres => format!(
                "SELECT r.repo_id, m.id FROM archive_repository_rows r CROSS JOIN LATERAL unnest(r.{list}) AS m(id) \
                 WHERE {r_at}"
            ),
            _ => format!(
                "SELECT r.repo_id, m.value AS id FROM archive_repository_rows r, json_each(r.{list}) m WHERE {r_at}"
            ),
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    format!(
        "agg AS (SELECT repo_id, {pushes} AS pushes, {commits} AS commits FROM archive_repository_rows \
         WHERE {at} GROUP BY repo_id{having}), \
         mem AS (SELECT repo_id, COUNT(DISTINCT id) AS n FROM ({ids}) AS ids GROUP BY repo_id), \
         repo AS (SELECT agg.repo_id, agg.pushes, agg.commits, COALESCE(mem.n, 0) AS members \
         FROM agg LEFT JOIN mem ON mem.repo_id = agg.repo_id)"
    )
}

/// A page of the window's repositories by members.
pub async fn repositories(
    db: &impl ConnectionTrait,
    filter: &RepositoryFilter,
    request: &PageRequest<RepositoryKey>,
) -> Result<Page<Repository>, StoreError> {
    let window = blocks::window(db, filter.range).await?;
    let mut values = Vec::new();
    let cte = repositories_cte(db.get_database_backend(), filter, &window);
    let mut conditions = Vec::new();
    if let Some(min) = filter.min_members {
        conditions.push("members >= ?".to_string());
        values.push(min.into());
    }
    if let Some(after) = &request.after {
        conditions.push("(members < ? OR (members = ? AND repo_id > ?))".to_string());
        values.extend([after.members.into(), after.members.into(), after.repo_id.into()]);
    }
    if let Some(before) = &request.before {
        conditions.push("(members > ? OR (members = ? AND repo_id < ?))".to_string());
        values.extend([before.members.into(), before.members.into(), before.repo_id.into()]);
    }
    let order = if request.from_end { "members ASC, repo_id DESC" } else { "members DESC, repo_id ASC" };
    let filter_sql = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    values.push(((request.limit + 1) as i64).into());
    let sql = Sql {
        text: format!(
            "WITH {cte} SELECT repo_id, pushes, commits, members FROM repo{filter_sql} ORDER BY {order} LIMIT ?"
        ),
        values,
    };
    let rows = db.query_all(sql.statement(db.get_database_backend())).await?;
    let mut found: Vec<(i64, i64, i64, i64)> = rows
        .iter()
        .map(|r| Ok((i(r, "repo_id")?, i(r, "pushes")?, i(r, "commits")?, i(r, "members")?)))
        .collect::<Result<_, StoreError>>()?;
    let more = found.len() as u64 > request.limit;
    found.truncate(request.limit as usize);
    if request.from_end {
        found.reverse();
    }
    let names = latest_names(db, &window, &found.iter().map(|f| f.0).collect::<Vec<_>>()).await?;
    let rows = found
        .into_iter()
        .map(|(repo_id, pushes, commits, members)| Repository {
            repo_id,
            name: names.get(&repo_id).cloned().unwrap_or_default(),
            members,
            pushes,
            commits,
        })
        .collect();
    Ok(if request.from_end {
        Page { rows, has_previous: more, has_next: request.before.is_some() }
    } else {
        Page { rows, has_previous: request.after.is_some(), has_next: more }
    })
}

pub async fn repositories_total(db: &impl ConnectionTrait, filter: &RepositoryFilter) -> Result<i64, StoreError> {
    let window = blocks::window(db, filter.range).await?;
    let mut values = Vec::new();
    let cte = repositories_cte(db.get_database_backend(), filter, &window);
    let condition = match filter.min_members {
        Some(min) => {
            values.push(min.into());
            " WHERE members >= ?"
        }
        None => "",
    };
    let sql = Sql { text: format!("WITH {cte} SELECT COUNT(*) AS n FROM repo{condition}"), values };
    let row = db.query_one(sql.statement(db.get_database_backend())).await?;
    row.map(|r| i(&r, "n")).transpose().map(|n| n.unwrap_or(0))
}

async fn latest_names(
    db: &impl ConnectionTrait,
    window: &Window,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let list = ids.iter().map(|id| row_key(*id as u64).to_string()).collect::<Vec<_>>().join(",");
    let sql = Sql {
        text: format!(
            "SELECT repo_id, name, seen_key FROM archive_repository_rows WHERE {} AND repo_key IN ({list})",
            window.clause()
        ),
        values: Vec::new(),
    };
    let mut latest: std::collections::HashMap<i64, (i64, String)> = Default::default();
    for r in db.query_all(sql.statement(db.get_database_backend())).await? {
        let (id, name, seen) = (i(&r, "repo_id")?, s(&r, "name")?, i(&r, "seen_key")?);
        let entry = latest.entry(id).or_insert((seen, name.clone()));
        if seen > entry.0 || (seen == entry.0 && name > entry.1) {
            *entry = (seen, name);
        }
    }
    Ok(latest.into_iter().map(|(id, (_, name))| (id, name)).collect())
}

fn i(row: &QueryResult, column: &str) -> Result<i64, StoreError> {
    // Sums are cast to BIGINT; plain columns may be INTEGER.
    match row.try_get::<i64>("", column) {
        Ok(v) => Ok(v),
        Err(_) => Ok(i64::from(row.try_get::<i32>("", column)?)),
    }
}

fn s(row: &QueryResult, column: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<String>("", column)?)
}
