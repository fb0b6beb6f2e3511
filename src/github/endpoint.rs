//! The GitHub endpoints git-collector calls, as types: each builds its URL from path segments
//! (names are escaped, never pasted into a string) under the configured API base URL.
use url::Url;

use crate::domain::{AccountKind, OwnerLogin, RepoRef};

/// Items per page: GitHub's maximum.
pub const PER_PAGE: u32 = 100;

#[derive(Debug, Clone, Copy)]
pub enum Endpoint<'a> {
    /// `GET /orgs/{org}/repos` or `GET /users/{user}/repos`.
    AccountRepos { kind: AccountKind, owner: &'a OwnerLogin, page: u32 },
    /// `GET /repos/{owner}/{repo}`.
    Repository(&'a RepoRef),
    /// `GET /repos/{owner}/{repo}/commits?sha=`: the history from a branch or a commit.
    Commits { repo: &'a RepoRef, sha: Option<&'a str>, page: u32 },
    /// `GET /repos/{owner}/{repo}/compare/{base}...{head}`.
    Compare { repo: &'a RepoRef, base: &'a str, head: &'a str, page: u32 },
    /// `GET /repos/{owner}/{repo}/stats/contributors`.
    ContributorStats(&'a RepoRef),
}

impl Endpoint<'_> {
    /// The request URL under `base` (which may carry a path, as GitHub Enterprise's `/api/v3`).
    pub fn url(&self, base: &Url) -> Url {
        let mut url = base.clone();
        url.set_query(None);
        url.set_fragment(None);
        let page = {
            let Ok(mut segments) = url.path_segments_mut() else {
                // A base URL that cannot be a base (validated by the configuration) has no path.
                return url;
            };
            segments.pop_if_empty();
            match self {
                Endpoint::AccountRepos { kind, owner, page } => {
                    segments.extend([account_segment(*kind), owner.as_str(), "repos"]);
                    Some(*page)
                }
                Endpoint::Repository(repo) => {
                    segments.extend(["repos", repo.owner.as_str(), repo.name.as_str()]);
                    None
                }
                Endpoint::Commits { repo, page, .. } => {
                    segments.extend(["repos", repo.owner.as_str(), repo.name.as_str(), "commits"]);
                    Some(*page)
                }
                Endpoint::Compare { repo, base, head, page } => {
                    segments.extend(["repos", repo.owner.as_str(), repo.name.as_str(), "compare"]);
                    segments.push(&format!("{base}...{head}"));
                    Some(*page)
                }
                Endpoint::ContributorStats(repo) => {
                    segments.extend(["repos", repo.owner.as_str(), repo.name.as_str(), "stats", "contributors"]);
                    None
                }
            }
        };
        if let Some(page) = page {
            let mut query = url.query_pairs_mut();
            query.append_pair("per_page", &PER_PAGE.to_string());
            if let Endpoint::Commits { sha: Some(sha), .. } = self {
                query.append_pair("sha", sha);
            }
            if page > 1 {
                query.append_pair("page", &page.to_string());
            }
        }
        url
    }

    /// Whether 204 or 409 means "nothing yet" here: `/commits` of an empty repository (409),
    /// statistics of one without commits (204). Elsewhere they are unexpected and retried.
    pub fn empty_is_an_answer(&self) -> bool {
        matches!(self, Endpoint::Commits { .. } | Endpoint::ContributorStats(_))
    }
}

fn account_segment(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Organization => "orgs",
        AccountKind::User => "users",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RepoName;

    fn repo() -> RepoRef {
        RepoRef::new(OwnerLogin::parse("acme").unwrap(), RepoName::parse("rocket.rs").unwrap())
    }

    #[test]
    fn urls_are_built_from_segments() {
        let base = Url::parse("https://api.github.com").unwrap();
        let r = repo();
        assert_eq!(
            Endpoint::Commits { repo: &r, sha: Some("feature/a b"), page: 1 }.url(&base).as_str(),
            "https://api.github.com/repos/acme/rocket.rs/commits?per_page=100&sha=feature%2Fa+b"
        );
        assert_eq!(
            Endpoint::Compare { repo: &r, base: "abc", head: "def", page: 3 }.url(&base).as_str(),
            "https://api.github.com/repos/acme/rocket.rs/compare/abc...def?per_page=100&page=3"
        );
        let owner = OwnerLogin::parse("Acme").unwrap();
        assert_eq!(
            Endpoint::AccountRepos { kind: AccountKind::User, owner: &owner, page: 2 }.url(&base).as_str(),
            "https://api.github.com/users/Acme/repos?per_page=100&page=2"
        );
    }

    #[test]
    fn an_enterprise_base_path_is_kept() {
        let base = Url::parse("https://ghe.example.com/api/v3/").unwrap();
        assert_eq!(
            Endpoint::ContributorStats(&repo()).url(&base).as_str(),
            "https://ghe.example.com/api/v3/repos/acme/rocket.rs/stats/contributors"
        );
    }
}
