//! The parts of GitHub's JSON that git-collector reads. Unknown fields are ignored; fields
//! that GitHub sometimes omits are optional.
use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::Deserialize;

/// A user or organization as embedded in other objects; `{}` deserializes to all `None`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserRef {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl UserRef {
    pub fn is_bot(&self) -> bool {
        self.kind.as_deref() == Some("Bot") || self.login.as_deref().is_some_and(|l| l.ends_with("[bot]"))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Repo {
    pub id: i64,
    pub name: String,
    pub owner: UserRef,
    #[serde(default)]
    pub fork: bool,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub pushed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GitActor {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Kept as text: one unparseable date must not fail a whole page.
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommitDetail {
    #[serde(default)]
    pub author: Option<GitActor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Commit {
    pub sha: String,
    pub commit: CommitDetail,
    /// The linked GitHub account: a user object, `null`, or `{}`.
    #[serde(default)]
    pub author: Option<UserRef>,
    /// Only their number matters: more than one makes a merge commit.
    #[serde(default)]
    pub parents: Vec<IgnoredAny>,
}

impl Commit {
    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }
}

/// How the head of a comparison relates to its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareStatus {
    Ahead,
    Identical,
    Behind,
    Diverged,
    #[serde(other)]
    Unknown,
}

/// `GET /repos/{o}/{r}/compare/{base}...{head}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Comparison {
    pub status: CompareStatus,
    #[serde(default)]
    pub commits: Vec<Commit>,
}

/// One entry of `GET /repos/{o}/{r}/stats/contributors`.
#[derive(Debug, Clone, Deserialize)]
pub struct ContributorStats {
    #[serde(default)]
    pub author: Option<UserRef>,
    #[serde(default)]
    pub total: i64,
    #[serde(default)]
    pub weeks: Vec<WeekStats>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WeekStats {
    /// Start of the week, Unix seconds.
    pub w: i64,
    /// Commits that week.
    #[serde(default)]
    pub c: i64,
}
