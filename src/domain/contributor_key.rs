//! Who a commit's author is, per docs/rules.md §1: GitHub account id, else the id in a noreply
//! email, else a SHA-256 of the normalized email, else (no email) of the normalized author name.
//! Never a login, and never a name while there is an email.
use sha2::{Digest, Sha256};

/// The version of these rules. Contributions computed with an older version (stored on the
/// repository) are recomputed by a full crawl at the repository's next refresh.
pub const IDENTITY_RULES: i32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContributorKey {
    GithubId(i64),
    EmailHash(String),
    /// Rule 4: no linked account and an empty email.
    NameHash(String),
}

impl ContributorKey {
    /// Identity from the commit's linked account id (if any), its author email and name.
    pub fn identify(account_id: Option<i64>, email: Option<&str>, name: Option<&str>) -> Option<Self> {
        if let Some(id) = account_id {
            return Some(Self::GithubId(id));
        }
        let email = email.map(|e| e.trim().to_lowercase()).unwrap_or_default();
        if !email.is_empty() {
            if let Some((id, _login)) = parse_noreply(&email) {
                return Some(Self::GithubId(id));
            }
            return Some(Self::EmailHash(hex::encode(Sha256::digest(email.as_bytes()))));
        }
        let name = name.map(|n| n.trim().to_lowercase()).unwrap_or_default();
        if name.is_empty() {
            return None;
        }
        Some(Self::NameHash(hex::encode(Sha256::digest(name.as_bytes()))))
    }

    /// The form stored in `contributors.identity_key`.
    pub fn storage_key(&self) -> String {
        match self {
            Self::GithubId(id) => format!("gh:{id}"),
            Self::EmailHash(h) => format!("email:{h}"),
            Self::NameHash(h) => format!("name:{h}"),
        }
    }

    pub fn github_id(&self) -> Option<i64> {
        match self {
            Self::GithubId(id) => Some(*id),
            Self::EmailHash(_) | Self::NameHash(_) => None,
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
            ContributorKey::identify(Some(7), Some("12+x@users.noreply.github.com"), Some("X")),
            Some(ContributorKey::GithubId(7))
        );
    }

    #[test]
    fn noreply_email_gives_the_id() {
        assert_eq!(
            ContributorKey::identify(None, Some(" 583231+Octocat@Users.NoReply.GitHub.com "), None),
            Some(ContributorKey::GithubId(583231))
        );
        // The old form without an id is just an email.
        assert!(matches!(
            ContributorKey::identify(None, Some("octocat@users.noreply.github.com"), None),
            Some(ContributorKey::EmailHash(_))
        ));
    }

    #[test]
    fn emails_are_normalized_and_hashed() {
        let a = ContributorKey::identify(None, Some("  Jane@Example.COM"), Some("Jane")).unwrap();
        let b = ContributorKey::identify(None, Some("jane@example.com"), Some("J. Doe")).unwrap();
        assert_eq!(a, b, "the email wins over the name");
        assert!(!a.storage_key().contains('@'));
        assert_eq!(ContributorKey::identify(None, Some("  "), None), None);
        assert_eq!(ContributorKey::identify(None, None, Some(" ")), None);
    }

    #[test]
    fn without_email_the_name_identifies() {
        let a = ContributorKey::identify(None, Some(""), Some(" Linus Torvalds ")).unwrap();
        let b = ContributorKey::identify(None, None, Some("linus torvalds")).unwrap();
        assert_eq!(a, b);
        assert!(matches!(a, ContributorKey::NameHash(_)));
        assert!(a.storage_key().starts_with("name:") && !a.storage_key().contains("inus"));
        let by_email = ContributorKey::identify(None, Some("linus torvalds"), None).unwrap();
        assert_ne!(a, by_email, "names and emails never share a key");
    }
}
