//! Reading the archive aggregates for the API (docs/rules.md §7): days as they are, and
//! developers and repositories summed over a window of days, with their filters and orders.
use chrono::NaiveDate;
use entity::archive_day;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QueryResult,
    Statement, Value,
};
use serde::{Deserialize, Serialize};

use super::blocks::{self, Window};
use super::sql::{numbered, reading};
use crate::domain::archive::aggregate::{keep_latest, row_key};
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
            ", latest AS (SELECT actor_id, login_key FROM (SELECT actor_id, LOWER(login) AS login_key, \
             ROW_NUMBER() OVER (PARTITION BY actor_id ORDER BY seen_key DESC, login DESC) AS n \
             FROM archive_developer_rows WHERE {at}{bots}) AS x WHERE n = 1), \
             repo_owner AS (SELECT repo_id, owner_key FROM (SELECT repo_id, owner_key, \
             ROW_NUMBER() OVER (PARTITION BY repo_id ORDER BY seen_key DESC, name DESC) AS n \
             FROM archive_repository_rows WHERE {at}) AS x WHERE n = 1), \
             owners AS (SELECT owner_key, COUNT(*) AS n FROM repo_owner GROUP BY owner_key), \
             dev AS (SELECT agg.actor_id, agg.days, agg.pushes, agg.commits, COALESCE(owners.n, 0) AS owned \
             FROM agg JOIN latest ON latest.actor_id = agg.actor_id \
             LEFT JOIN owners ON owners.owner_key = latest.login_key)"
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
    db: &DatabaseConnection,
    filter: &DeveloperFilter,
    request: &PageRequest<DeveloperKey>,
) -> Result<Page<Developer>, StoreError> {
    let tx = reading(db).await?;
    let page = developers_in(&tx, filter, request).await?;
    tx.commit().await?;
    Ok(page)
}

async fn developers_in(
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
pub async fn developers_total(db: &DatabaseConnection, filter: &DeveloperFilter) -> Result<i64, StoreError> {
    let tx = reading(db).await?;
    let n = developers_total_in(&tx, filter).await?;
    tx.commit().await?;
    Ok(n)
}

async fn developers_total_in(db: &impl ConnectionTrait, filter: &DeveloperFilter) -> Result<i64, StoreError> {
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
    let mut latest: std::collections::HashMap<i64, (u64, String)> = Default::default();
    for r in db.query_all(sql.statement(db.get_database_backend())).await? {
        let (id, login, seen) = (i(&r, "actor_id")?, s(&r, "login")?, i(&r, "seen_key")? as u64);
        let (kept_seen, kept) = latest.entry(id).or_default();
        keep_latest(kept, kept_seen, &login, seen);
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
    let mut latest: std::collections::HashMap<i64, (u64, String)> = Default::default();
    for r in db.query_all(sql.statement(db.get_database_backend())).await? {
        let (id, owner, seen) = (i(&r, "repo_id")?, s(&r, "owner_key")?, i(&r, "seen_key")? as u64);
        let (kept_seen, kept) = latest.entry(id).or_default();
        keep_latest(kept, kept_seen, &owner, seen);
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
    let having = without_bots_only(filter.include_bots);
    // Members are lists of ids on each row: the distinct ids of the window.
    let ids = member_ids(backend, filter.include_bots, &window.clause_on("r"), "");
    format!(
        "agg AS (SELECT repo_id FROM archive_repository_rows WHERE {at} GROUP BY repo_id{having}), \
         mem AS (SELECT repo_id, COUNT(DISTINCT id) AS n FROM ({ids}) AS ids GROUP BY repo_id), \
         repo AS (SELECT agg.repo_id, COALESCE(mem.n, 0) AS members FROM agg LEFT JOIN mem ON mem.repo_id = agg.repo_id)"
    )
}

/// A repository's member count on one row (the two lists of a row are disjoint; the counts
/// are columns the database keeps from the lists).
fn row_members(include_bots: bool) -> &'static str {
    if include_bots {
        "(n_members + n_bot_members)"
    } else {
        "n_members"
    }
}

/// The CTE `repo` of the repositories that can be on a forward page, with exact members.
///
/// Counting a window's members means uniting each repository's lists of every piece of the
/// window, which is most of a query's time. Without it, each repository's members are known to
/// lie between `lb`, the largest list of one piece, and `ub`, the sum of its lists (exact when
/// only one piece has members). The `limit + 1` greatest `lb` among repositories certain to
/// belong after the cursor and to pass `minMembers` make a bar: those repositories have at
/// least that many members, so one whose `ub` is below it cannot be on the page. Only the
/// others have their lists united; the page is then chosen on exact counts as without this.
/// `page`: the rows a page takes (`limit + 1`); without it (a total) there is no bar.
fn pruned_repositories_cte(
    backend: DbBackend,
    filter: &RepositoryFilter,
    window: &Window,
    after: Option<&RepositoryKey>,
    page: Option<u64>,
    values: &mut Vec<Value>,
) -> String {
    let at = window.clause();
    let having = without_bots_only(filter.include_bots);
    let card = row_members(filter.include_bots);
    // Certain to belong: bounds that decide the conditions; possible: bounds that allow them.
    let (mut certain, mut possible) = (Vec::new(), Vec::new());
    let (mut certain_values, mut possible_values): (Vec<Value>, Vec<Value>) = (Vec::new(), Vec::new());
    if let Some(min) = filter.min_members {
        certain.push("lb >= ?".to_string());
        certain_values.push(min.into());
        possible.push("ub >= ?".to_string());
        possible_values.push(min.into());
    }
    if let Some(after) = after {
        certain.push("(ub < ? OR (lb = ub AND (lb < ? OR (lb = ? AND repo_id > ?))))".to_string());
        certain_values.extend([after.members.into(), after.members.into(), after.members.into(), after.repo_id.into()]);
        possible.push("(lb < ? OR (lb = ? AND repo_id > ?))".to_string());
        possible_values.extend([after.members.into(), after.members.into(), after.repo_id.into()]);
    }
    let and = |c: &Vec<String>| if c.is_empty() { String::new() } else { format!(" WHERE {}", c.join(" AND ")) };
    let (certain_sql, possible_sql) = (and(&certain), and(&possible));
    let (bar, at_bar) = match page {
        Some(rows) => {
            values.extend(certain_values);
            values.push((rows as i64 - 1).into());
            let join = if possible.is_empty() { " WHERE" } else { " AND" };
            (
                format!("bar AS (SELECT lb FROM agg{certain_sql} ORDER BY lb DESC LIMIT 1 OFFSET ?), "),
                format!("{join} ub >= COALESCE((SELECT lb FROM bar), 0)"),
            )
        }
        None => (String::new(), String::new()),
    };
    values.extend(possible_values);
    // Rows of the candidates are found by key (the primary key's last column).
    let ids = member_ids(
        backend,
        filter.include_bots,
        &window.clause_on("r"),
        " JOIN cand c ON r.repo_key = c.repo_key AND c.pieces > 1 AND c.lb < c.ub",
    );
    format!(
        "agg AS (SELECT repo_key, MAX(repo_id) AS repo_id, MAX({card}) AS lb, SUM({card}) AS ub, COUNT(*) AS pieces \
         FROM archive_repository_rows WHERE {at} GROUP BY repo_key{having}), \
         {bar}cand AS (SELECT * FROM agg{possible_sql}{at_bar}), \
         mem AS (SELECT repo_id, COUNT(DISTINCT id) AS n FROM ({ids}) AS ids GROUP BY repo_id), \
         repo AS (SELECT cand.repo_id, \
         CASE WHEN cand.pieces = 1 OR cand.lb = cand.ub THEN cand.lb ELSE COALESCE(mem.n, 0) END AS members \
         FROM cand LEFT JOIN mem ON mem.repo_id = cand.repo_id)"
    )
}

/// Without bots, the HAVING that drops repositories whose every event was a bot's.
fn without_bots_only(include_bots: bool) -> &'static str {
    if include_bots {
        ""
    } else {
        " HAVING SUM(events - b_events) > 0"
    }
}

/// `(repo_id, id)` of every member on the rows `r` of the window (`r_at`), joined by `join`.
fn member_ids(backend: DbBackend, include_bots: bool, r_at: &str, join: &str) -> String {
    let mut lists = vec!["member_ids"];
    if include_bots {
        lists.push("bot_member_ids");
    }
    lists
        .iter()
        .map(|list| match backend {
            DbBackend::Postgres => format!(
                "SELECT r.repo_id, m.id FROM archive_repository_rows r{join} CROSS JOIN LATERAL unnest(r.{list}) AS m(id) \
                 WHERE {r_at}"
            ),
            _ => format!(
                "SELECT r.repo_id, m.value AS id FROM archive_repository_rows r{join}, json_each(r.{list}) m WHERE {r_at}"
            ),
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// A page of the window's repositories by members.
pub async fn repositories(
    db: &DatabaseConnection,
    filter: &RepositoryFilter,
    request: &PageRequest<RepositoryKey>,
) -> Result<Page<Repository>, StoreError> {
    let tx = reading(db).await?;
    let page = repositories_in(&tx, filter, request).await?;
    tx.commit().await?;
    Ok(page)
}

async fn repositories_in(
    db: &impl ConnectionTrait,
    filter: &RepositoryFilter,
    request: &PageRequest<RepositoryKey>,
) -> Result<Page<Repository>, StoreError> {
    let window = blocks::window(db, filter.range).await?;
    let backend = db.get_database_backend();
    let mut values = Vec::new();
    // Forwards, only the repositories that can reach the page have their members counted;
    // backwards, all of them.
    let pruned = !request.from_end && request.before.is_none();
    let cte = if pruned {
        pruned_repositories_cte(backend, filter, &window, request.after.as_ref(), Some(request.limit + 1), &mut values)
    } else {
        repositories_cte(backend, filter, &window)
    };
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
        text: format!("WITH {cte} SELECT repo_id, members FROM repo{filter_sql} ORDER BY {order} LIMIT ?"),
        values,
    };
    let rows = db.query_all(sql.statement(db.get_database_backend())).await?;
    let mut found: Vec<(i64, i64)> =
        rows.iter().map(|r| Ok((i(r, "repo_id")?, i(r, "members")?))).collect::<Result<_, StoreError>>()?;
    let more = found.len() as u64 > request.limit;
    found.truncate(request.limit as usize);
    if request.from_end {
        found.reverse();
    }
    let details =
        page_details(db, &window, filter.include_bots, &found.iter().map(|f| f.0).collect::<Vec<_>>()).await?;
    let rows = found
        .into_iter()
        .map(|(repo_id, members)| {
            let (name, pushes, commits) = details.get(&repo_id).cloned().unwrap_or_default();
            Repository { repo_id, name, members, pushes, commits }
        })
        .collect();
    Ok(if request.from_end {
        Page { rows, has_previous: more, has_next: request.before.is_some() }
    } else {
        Page { rows, has_previous: request.after.is_some(), has_next: more }
    })
}

pub async fn repositories_total(db: &DatabaseConnection, filter: &RepositoryFilter) -> Result<i64, StoreError> {
    let tx = reading(db).await?;
    let n = repositories_total_in(&tx, filter).await?;
    tx.commit().await?;
    Ok(n)
}

async fn repositories_total_in(db: &impl ConnectionTrait, filter: &RepositoryFilter) -> Result<i64, StoreError> {
    let window = blocks::window(db, filter.range).await?;
    let backend = db.get_database_backend();
    let mut values = Vec::new();
    let text = match filter.min_members {
        // Every repository of the window: no members to count.
        None => format!(
            "SELECT COUNT(*) AS n FROM (SELECT repo_key FROM archive_repository_rows WHERE {} GROUP BY repo_key{}) AS agg",
            window.clause(),
            without_bots_only(filter.include_bots)
        ),
        // Members are counted only where the bounds do not decide `minMembers`.
        Some(min) => {
            let cte = pruned_repositories_cte(backend, filter, &window, None, None, &mut values);
            values.push(min.into());
            format!("WITH {cte} SELECT COUNT(*) AS n FROM repo WHERE members >= ?")
        }
    };
    let row = db.query_one(Sql { text, values }.statement(backend)).await?;
    row.map(|r| i(&r, "n")).transpose().map(|n| n.unwrap_or(0))
}

/// The latest name, pushes and commits in the window of each of the repositories `ids` (a
/// page): read by key for these rows only.
async fn page_details(
    db: &impl ConnectionTrait,
    window: &Window,
    include_bots: bool,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, (String, i64, i64)>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let list = ids.iter().map(|id| row_key(*id as u64).to_string()).collect::<Vec<_>>().join(",");
    let sql = Sql {
        text: format!(
            "SELECT repo_id, name, seen_key, pushes, b_pushes, commits, b_commits FROM archive_repository_rows \
             WHERE {} AND repo_key IN ({list})",
            window.clause()
        ),
        values: Vec::new(),
    };
    // (latest seen, name, pushes, commits)
    let mut found: std::collections::HashMap<i64, (u64, String, i64, i64)> = Default::default();
    for r in db.query_all(sql.statement(db.get_database_backend())).await? {
        let (id, name, seen) = (i(&r, "repo_id")?, s(&r, "name")?, i(&r, "seen_key")? as u64);
        let (mut pushes, mut commits) = (i(&r, "pushes")?, i(&r, "commits")?);
        if !include_bots {
            pushes -= i(&r, "b_pushes")?;
            commits -= i(&r, "b_commits")?;
        }
        let entry = found.entry(id).or_default();
        keep_latest(&mut entry.1, &mut entry.0, &name, seen);
        entry.2 += pushes;
        entry.3 += commits;
    }
    Ok(found.into_iter().map(|(id, (_, name, pushes, commits))| (id, (name, pushes, commits))).collect())
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
