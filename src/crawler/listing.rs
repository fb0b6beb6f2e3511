//! Listing an account's repositories (`/orgs/{o}/repos`, else `/users/{u}/repos`), every page,
//! reused for `REPO_CACHE_TTL_HOURS`.
use chrono::Utc;
use entity::repository;
use sea_orm::DatabaseConnection;

use super::{repo_info, CrawlError};
use crate::domain::OwnerLogin;
use crate::github::{dto, Fetched, GitHub, GitHubError};
use crate::store::{self, db::begin_write};

/// The account's current repositories: from the database while the last listing is fresh,
/// else listed again from GitHub (repositories no longer listed are flagged gone).
pub async fn repositories(
    db: &DatabaseConnection,
    github: &GitHub,
    owner: &OwnerLogin,
    ttl: chrono::Duration,
) -> Result<Vec<repository::Model>, CrawlError> {
    let account = store::accounts::get_or_create(db, owner).await?;
    if account.repos_listed_at.is_some_and(|at| Utc::now() - at < ttl) {
        return Ok(store::repositories::of_account(db, account.id).await?);
    }
    // (path segment, kind) to try: an unknown account is tried as an organization first.
    let kinds: &[(&str, &str)] = match account.kind.as_deref() {
        Some("User") => &[("users", "User")],
        Some("Organization") => &[("orgs", "Organization")],
        _ => &[("orgs", "Organization"), ("users", "User")],
    };
    let mut last_error = None;
    for (segment, kind) in kinds {
        let first = github.url(&format!("/{segment}/{owner}/repos?per_page=100"));
        // The stored ETag is only kept for one-page listings (see below), so a 304 means the
        // whole list is unchanged.
        let etag = account.repos_etag.as_deref().filter(|_| account.kind.as_deref() == Some(*kind));
        match list_pages(github, &first, etag).await {
            Ok(None) => {
                store::accounts::mark_listed(
                    db,
                    account.id,
                    &account.login,
                    kind,
                    account.repos_etag.clone(),
                    Utc::now(),
                )
                .await?;
                return Ok(store::repositories::of_account(db, account.id).await?);
            }
            Ok(Some((repos, etag, pages))) => {
                let tx = begin_write(db).await?;
                let mut ids = Vec::with_capacity(repos.len());
                for repo in repos {
                    ids.push(repo.id);
                    store::repositories::upsert(&*tx, Some(account.id), &repo_info(repo, owner.as_str()), false)
                        .await?;
                }
                let gone = store::repositories::mark_gone_except(&*tx, account.id, &ids).await?;
                if gone > 0 {
                    tracing::info!(%owner, gone, "repositories no longer listed by GitHub are flagged gone");
                }
                let etag = etag.filter(|_| pages == 1);
                store::accounts::mark_listed(&*tx, account.id, owner.as_str(), kind, etag, Utc::now()).await?;
                tx.commit().await?;
                return Ok(store::repositories::of_account(db, account.id).await?);
            }
            Err(err @ GitHubError::Permanent { status: 404, .. }) => last_error = Some(err),
            Err(err) => return Err(CrawlError::Listing { owner: owner.to_string(), source: err }),
        }
    }
    let source = last_error.unwrap_or_else(|| GitHubError::Invalid("no listing endpoint".into()));
    Err(CrawlError::Listing { owner: owner.to_string(), source })
}

/// Every page from `first`: None when the first page is unchanged (304), else the repositories,
/// the first page's ETag and the number of pages.
async fn list_pages(
    github: &GitHub,
    first: &str,
    etag: Option<&str>,
) -> Result<Option<(Vec<dto::Repo>, Option<String>, usize)>, GitHubError> {
    let mut repos = Vec::new();
    let mut first_etag = None;
    let mut url = Some(first.to_string());
    let mut pages = 0usize;
    while let Some(current) = url.take() {
        let condition = if pages == 0 { etag } else { None };
        match github.get::<Vec<dto::Repo>>(&current, condition).await? {
            Fetched::NotModified if pages == 0 => return Ok(None),
            Fetched::Ok { body, etag, next } => {
                if pages == 0 {
                    first_etag = etag;
                }
                repos.extend(body);
                url = next;
            }
            Fetched::NotModified | Fetched::Empty => {
                return Err(GitHubError::Invalid(format!("GitHub answered no content for {current}")));
            }
        }
        pages += 1;
    }
    Ok(Some((repos, first_etag, pages)))
}
