//! Listing an account's repositories (`/orgs/{o}/repos`, else `/users/{u}/repos`), every page,
//! reused for `REPO_CACHE_TTL_HOURS`. Every page is asked for with its own ETag: an unchanged
//! account of any size costs only 304s (docs/rules.md §3).
use chrono::Utc;
use entity::repository;
use sea_orm::DatabaseConnection;

use super::{repo_info, CrawlError};
use crate::domain::{AccountKind, OwnerLogin};
use crate::github::{dto, Fetched, GitHub, GitHubError, Validator, PER_PAGE};
use crate::store::{self, db::begin_write, StoreError};

/// The account's current repositories: from the database while the last listing is fresh or
/// GitHub says it is unchanged, else listed again (repositories no longer listed are flagged
/// gone).
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
    // An unknown account is tried as an organization first.
    let kinds: &[AccountKind] = match account.kind {
        Some(AccountKind::User) => &[AccountKind::User],
        Some(AccountKind::Organization) => &[AccountKind::Organization],
        None => &[AccountKind::Organization, AccountKind::User],
    };
    let mut last_error = None;
    for &kind in kinds {
        // Validators of the previous listing, one per page, if it was of this kind.
        let known = match account.kind == Some(kind) {
            true => account.repos_etag.as_deref().and_then(KnownPages::parse).unwrap_or_default(),
            false => KnownPages::default(),
        };
        match list(github, kind, owner, &known).await {
            Ok(Listing::Unchanged) => {
                let tx = begin_write(db).await.map_err(StoreError::from)?;
                store::accounts::mark_listed(
                    &*tx,
                    account.id,
                    &account.login,
                    kind,
                    account.repos_etag.clone(),
                    Utc::now(),
                )
                .await?;
                tx.commit().await.map_err(StoreError::from)?;
                return Ok(store::repositories::of_account(db, account.id).await?);
            }
            Ok(Listing::Pages { repos, validators, last_page_items }) => {
                let tx = begin_write(db).await.map_err(StoreError::from)?;
                store::account_model::lock(&*tx, account.id).await?;
                let mut ids = Vec::with_capacity(repos.len());
                for repo in repos {
                    ids.push(repo.id);
                    store::repositories::upsert(&*tx, account.id, &repo_info(repo, owner.as_str()), false).await?;
                }
                let gone = store::repositories::mark_gone_except(&*tx, account.id, &ids).await?;
                if gone > 0 {
                    tracing::info!(%owner, gone, "repositories no longer listed by GitHub are flagged gone");
                }
                let stored = KnownPages::from_listing(&validators, last_page_items).map(|k| k.to_stored());
                store::accounts::mark_listed(&*tx, account.id, owner.as_str(), kind, stored, Utc::now()).await?;
                tx.commit().await.map_err(StoreError::from)?;
                return Ok(store::repositories::of_account(db, account.id).await?);
            }
            Err(err @ GitHubError::Permanent { status: 404, .. }) => last_error = Some(err),
            Err(source) => return Err(CrawlError::Listing { owner: owner.to_string(), source }),
        }
    }
    let source = last_error.unwrap_or_else(|| GitHubError::NoContent { path: format!("/orgs/{owner}/repos") });
    Err(CrawlError::Listing { owner: owner.to_string(), source })
}

enum Listing {
    /// Every page answered 304 and the last known page still ends the list.
    Unchanged,
    /// The whole list, with each page's validator (None when GitHub sent no ETag).
    Pages { repos: Vec<dto::Repo>, validators: Vec<Option<Validator>>, last_page_items: usize },
}

/// Asks for every page with its validator. While pages answer 304 nothing is read; once one
/// changed, the whole list is read (pages that answered 304 again without validator), because
/// a change on one page can move repositories to the next.
async fn list(
    github: &GitHub,
    kind: AccountKind,
    owner: &OwnerLogin,
    known: &KnownPages,
) -> Result<Listing, GitHubError> {
    let mut repos = Vec::new();
    let mut validators = Vec::new();
    let mut unchanged_pages = 0u32;
    let mut page = 1u32;
    loop {
        // Conditional only while every page before this one was unchanged.
        let condition = if unchanged_pages + 1 == page { known.pages.get(page as usize - 1) } else { None };
        match github.account_repos(kind, owner, page, condition).await? {
            Fetched::NotModified => {
                unchanged_pages = page;
                page += 1;
                // The last known page is unchanged. If it was full, a page may have been added
                // after it (its ETag covers its body, not its Link header): one more request.
                if page as usize > known.pages.len() {
                    if known.last_page_items < PER_PAGE as usize {
                        return Ok(Listing::Unchanged);
                    }
                    match github.account_repos(kind, owner, page, None).await? {
                        Fetched::Ok { body, .. } if body.is_empty() => return Ok(Listing::Unchanged),
                        Fetched::NotModified | Fetched::Empty => return Ok(Listing::Unchanged),
                        // Not reusable as is: read the whole list below, from its first page.
                        Fetched::Ok { .. } => {}
                    }
                }
            }
            Fetched::Ok { body, validator, has_next } => {
                if unchanged_pages > 0 {
                    // Read the pages that answered 304 too: the list changed after them.
                    let earlier = unchanged_pages;
                    unchanged_pages = 0;
                    for number in 1..=earlier {
                        match github.account_repos(kind, owner, number, None).await? {
                            Fetched::Ok { body, validator, .. } => {
                                repos.extend(body);
                                validators.push(validator);
                            }
                            Fetched::NotModified | Fetched::Empty => return Err(no_content(kind, owner, number)),
                        }
                    }
                }
                let items = body.len();
                repos.extend(body);
                validators.push(validator);
                if !has_next {
                    return Ok(Listing::Pages { repos, validators, last_page_items: items });
                }
                page += 1;
            }
            Fetched::Empty => return Err(no_content(kind, owner, page)),
        }
    }
}

fn no_content(kind: AccountKind, owner: &OwnerLogin, page: u32) -> GitHubError {
    let segment = if kind == AccountKind::User { "users" } else { "orgs" };
    GitHubError::NoContent { path: format!("/{segment}/{owner}/repos?page={page}") }
}

/// What is kept of the last listing: each page's validator (`token:etag`) and how many
/// repositories its last page held. Stored as JSON in `accounts.repos_etag`.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct KnownPages {
    #[serde(with = "stored_validators")]
    pages: Vec<Validator>,
    last_page_items: usize,
}

impl KnownPages {
    /// None when a page had no ETag: the next listing is then read whole.
    fn from_listing(validators: &[Option<Validator>], last_page_items: usize) -> Option<Self> {
        let pages: Option<Vec<Validator>> = validators.iter().cloned().collect();
        Some(Self { pages: pages?, last_page_items })
    }

    /// None for a value this code did not write (an older single ETag): no validator is used.
    fn parse(stored: &str) -> Option<Self> {
        serde_json::from_str(stored).ok()
    }

    fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

mod stored_validators {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::github::Validator;

    pub fn serialize<S: Serializer>(pages: &[Validator], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(pages.iter().map(Validator::to_stored))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Validator>, D::Error> {
        let raw = Vec::<String>::deserialize(d)?;
        raw.iter()
            .map(|v| Validator::from_stored(v).ok_or_else(|| serde::de::Error::custom("not a stored validator")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::TokenId;

    #[test]
    fn validators_round_trip_and_old_values_are_ignored() {
        let v = |e: &str| Some(Validator { token: TokenId::parse("anonymous").unwrap(), etag: e.into() });
        let known = KnownPages::from_listing(&[v("W/\"a\""), v("W/\"b\"")], 30).unwrap();
        let parsed = KnownPages::parse(&known.to_stored()).unwrap();
        assert_eq!(parsed, known);
        assert_eq!(parsed.pages.len(), 2);
        assert_eq!(KnownPages::from_listing(&[v("x"), None], 5), None);
        assert_eq!(KnownPages::parse("W/\"legacy-single-etag\""), None);
    }
}
