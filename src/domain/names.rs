//! GitHub account logins and repository names, checked against GitHub's rules.
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "`{0}` is not a valid GitHub account name: 1 to 39 letters, digits or hyphens, not starting with a hyphen"
    )]
    Owner(String),
    #[error(
        "`{0}` is not a valid GitHub repository name: 1 to 100 letters, digits, `.`, `-` or `_`, and not `.` or `..`"
    )]
    Repo(String),
    #[error("`{0}` is neither OWNER nor OWNER/REPO")]
    Target(String),
}

/// An account login (organization or user). GitHub compares logins case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnerLogin(String);

impl OwnerLogin {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let v = value.trim();
        let ok = !v.is_empty()
            && v.len() <= 39
            && !v.starts_with('-')
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(v.to_string()))
        } else {
            Err(NameError::Owner(value.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The lowercase form stored for lookups.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for OwnerLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A repository name (without its owner).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoName(String);

impl RepoName {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let v = value.trim();
        let ok = !v.is_empty()
            && v.len() <= 100
            && v != "."
            && v != ".."
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if ok {
            Ok(Self(v.to_string()))
        } else {
            Err(NameError::Repo(value.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A repository by its current full name, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoRef {
    pub owner: OwnerLogin,
    pub name: RepoName,
}

impl RepoRef {
    pub fn new(owner: OwnerLogin, name: RepoName) -> Self {
        Self { owner, name }
    }

    /// `OWNER/REPO`.
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let value = value.trim();
        match value.split_once('/') {
            Some((owner, name)) if !name.contains('/') => {
                Ok(Self::new(OwnerLogin::parse(owner)?, RepoName::parse(name)?))
            }
            _ => Err(NameError::Target(value.to_string())),
        }
    }

    /// Lowercase `owner/name`: two references with the same key name the same repository.
    pub fn key(&self) -> String {
        format!("{}/{}", self.owner.key(), self.name.key())
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// What one job covers: a whole account, one repository, or a range of GH Archive days.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Account(OwnerLogin),
    Repository(RepoRef),
    Archive(super::archive::DayRange),
}

impl Target {
    /// `OWNER` or `OWNER/REPO`.
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let trimmed = value.trim();
        if trimmed.contains('/') {
            RepoRef::parse(trimmed).map(Target::Repository)
        } else {
            OwnerLogin::parse(trimmed).map(Target::Account)
        }
    }

    /// Lowercase key; two targets with the same key are the same job.
    pub fn key(&self) -> String {
        match self {
            Target::Account(owner) => owner.key(),
            Target::Repository(repo) => repo.key(),
            Target::Archive(range) => range.key(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Account(owner) => write!(f, "{owner}"),
            Target::Repository(repo) => write!(f, "{repo}"),
            Target::Archive(range) => write!(f, "GH Archive {range}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners() {
        for ok in ["facebook", "rust-lang", "a", "A1-b2", &"x".repeat(39)] {
            assert!(OwnerLogin::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-lead", "has space", "dot.ted", "under_score", "a/b", &"x".repeat(40), "é"] {
            assert!(OwnerLogin::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(OwnerLogin::parse("Facebook").unwrap().key(), "facebook");
    }

    #[test]
    fn repos() {
        for ok in ["react", ".github", "a_b-c.d", "x", &"r".repeat(100)] {
            assert!(RepoName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "a/b", "ü", &"r".repeat(101), "a;drop"] {
            assert!(RepoName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets() {
        assert_eq!(Target::parse("Facebook/React").unwrap().key(), "facebook/react");
        assert_eq!(Target::parse("facebook").unwrap().key(), "facebook");
        assert!(Target::parse("a/b/c").is_err());
        assert!(Target::parse("a/").is_err());
        assert!(Target::parse("/b").is_err());
    }
}
