//! Who a commit's author is, per docs/rules.md §1: GitHub account id, else the id in a noreply
//! email, else a SHA-256 of the normalized email. Never a login, never a name.
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContributorKey {
    GithubId(i64),
    EmailHash(String),
}

impl ContributorKey {
    /// Identity from the commit's linked account id (if any) and its author email.
    pub fn identify(account_id: Option<i64>, email: Option<&str>) -> Option<Self> {
        if let Some(id) = account_id {
            return Some(Self::GithubId(id));
        }
        let email = email?.trim().to_lowercase();
        if email.is_empty() {
            return None;
        }
        if let Some((id, _login)) = parse_noreply(&email) {
            return Some(Self::GithubId(id));
        }
        Some(Self::EmailHash(hex::encode(Sha256::digest(email.as_bytes()))))
    }

    /// The form stored in `contributors.identity_key`.
    pub fn storage_key(&self) -> String {
        match self {
            Self::GithubId(id) => format!("gh:{id}"),
            Self::EmailHash(h) => format!("email:{h}"),
        }
    }

    pub fn github_id(&self) -> Option<i64> {
        match self {
            Self::GithubId(id) => Some(*id),
            Self::EmailHash(_) => None,
        }
    }
}

/// `ID+login@users.noreply.github.com` gives the account id and login.
pub fn parse_noreply(email: &str) -> Option<(i64, String)> {
    let local = email.trim().to_lowercase();
    let local = local.strip_suffix("@users.noreply.github.com")?;
    let (id, login) = local.split_once('+')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || login.is_empty() {
        return None;
    }
    Some((id.parse().ok()?, login.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_wins() {
        assert_eq!(
            ContributorKey::identify(Some(7), Some("12+x@users.noreply.github.com")),
            Some(ContributorKey::GithubId(7))
        );
    }

    #[test]
    fn noreply_email_gives_the_id() {
        assert_eq!(
            ContributorKey::identify(None, Some(" 583231+Octocat@Users.NoReply.GitHub.com ")),
            Some(ContributorKey::GithubId(583231))
        );
        // The old form without an id is just an email.
        assert!(matches!(
            ContributorKey::identify(None, Some("octocat@users.noreply.github.com")),
            Some(ContributorKey::EmailHash(_))
        ));
    }

    #[test]
    fn emails_are_normalized_and_hashed() {
        let a = ContributorKey::identify(None, Some("  Jane@Example.COM")).unwrap();
        let b = ContributorKey::identify(None, Some("jane@example.com")).unwrap();
        assert_eq!(a, b);
        assert!(!a.storage_key().contains('@'));
        assert_eq!(ContributorKey::identify(None, Some("  ")), None);
        assert_eq!(ContributorKey::identify(None, None), None);
    }
}
