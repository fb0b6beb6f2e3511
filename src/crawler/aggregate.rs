//! Turning commits into each contributor's first contribution (docs/rules.md §1): merges excluded,
//! author date in UTC, identity by account id, noreply id, else email hash; bots flagged.
use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};

use crate::domain::{contributor_key::parse_noreply, ContributorKey};
use crate::github::dto::Commit;
use crate::store::contributions::ContributorFirst;

#[derive(Debug)]
struct Entry {
    first_at: DateTime<Utc>,
    commits: i64,
    login: Option<String>,
    login_at: DateTime<Utc>,
    is_bot: bool,
}

/// Folds commits, page by page, into one entry per contributor: memory grows with the number
/// of contributors, not of commits.
#[derive(Debug, Default)]
pub struct Aggregator {
    entries: HashMap<ContributorKey, Entry>,
    /// Non-merge commits counted.
    pub commits: u64,
    pub merges: u64,
}

impl Aggregator {
    pub fn add(&mut self, commit: &Commit) {
        if commit.is_merge() {
            self.merges += 1;
            return;
        }
        let author = commit.commit.author.as_ref();
        let date = author
            .and_then(|a| a.date.as_deref())
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.with_timezone(&Utc).trunc_subsecs(0));
        let email = author.and_then(|a| a.email.as_deref());
        let name = author.and_then(|a| a.name.as_deref());
        let account = commit.author.as_ref().filter(|a| a.id.is_some());
        // A commit without a usable date or identity counts for nobody (docs/rules.md §1).
        let (Some(date), Some(key)) = (date, ContributorKey::identify(account.and_then(|a| a.id), email, name)) else {
            return;
        };
        let login = account
            .and_then(|a| a.login.clone())
            .or_else(|| email.and_then(parse_noreply).map(|(_, login)| login).filter(|_| key.github_id().is_some()));
        let is_bot = account.is_some_and(|a| a.is_bot()) || login.as_deref().is_some_and(|l| l.ends_with("[bot]"));
        self.commits += 1;
        let entry = self.entries.entry(key).or_insert_with(|| Entry {
            first_at: date,
            commits: 0,
            login: None,
            login_at: date,
            is_bot: false,
        });
        entry.commits += 1;
        entry.first_at = entry.first_at.min(date);
        entry.is_bot |= is_bot;
        // The login of the most recent commit wins: logins get renamed.
        if login.is_some() && (entry.login.is_none() || date >= entry.login_at) {
            entry.login = login;
            entry.login_at = date;
        }
    }

    pub fn into_firsts(self) -> Vec<ContributorFirst> {
        let mut firsts: Vec<ContributorFirst> = self
            .entries
            .into_iter()
            .map(|(key, e)| ContributorFirst {
                key,
                login: e.login,
                is_bot: e.is_bot,
                first_at: e.first_at,
                commits: e.commits,
            })
            .collect();
        firsts.sort_by(|a, b| a.first_at.cmp(&b.first_at).then_with(|| a.key.cmp(&b.key)));
        firsts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn commit(sha: &str, email: &str, date: &str, author: serde_json::Value, parents: usize) -> Commit {
        serde_json::from_value(json!({
            "sha": sha,
            "commit": {"author": {"name": "N", "email": email, "date": date}},
            "author": author,
            "parents": (0..parents).map(|i| json!({"sha": format!("p{i}")})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn identities_merges_and_bots() {
        let mut agg = Aggregator::default();
        // Same account under two emails and a renamed login: one contributor, newest login.
        agg.add(&commit(
            "a",
            "jane@work.com",
            "2020-01-05T10:00:00Z",
            json!({"id": 1, "login": "jane-old", "type": "User"}),
            1,
        ));
        agg.add(&commit(
            "b",
            "jane@home.com",
            "2021-03-01T00:00:00+02:00",
            json!({"id": 1, "login": "jane", "type": "User"}),
            1,
        ));
        // Merge commits do not count.
        agg.add(&commit("m", "merger@x.com", "2019-01-01T00:00:00Z", json!(null), 2));
        // No account: noreply email gives the id; `{}` is like null.
        agg.add(&commit("c", "42+bob@users.noreply.github.com", "2020-02-01T00:00:00Z", json!({}), 1));
        agg.add(&commit("d", "Carol@Example.com", "2020-02-02T00:00:00Z", json!(null), 1));
        agg.add(&commit("e", "carol@example.com ", "2020-01-31T23:59:59Z", json!(null), 1));
        agg.add(&commit(
            "f",
            "bot@x.com",
            "2020-04-01T00:00:00Z",
            json!({"id": 9, "login": "renovate[bot]", "type": "Bot"}),
            1,
        ));
        assert_eq!(agg.merges, 1);
        assert_eq!(agg.commits, 6);
        let firsts = agg.into_firsts();
        assert_eq!(firsts.len(), 4);
        let jane = firsts.iter().find(|f| f.key == ContributorKey::GithubId(1)).unwrap();
        assert_eq!(jane.commits, 2);
        assert_eq!(jane.login.as_deref(), Some("jane"));
        assert_eq!(jane.first_at.to_rfc3339(), "2020-01-05T10:00:00+00:00");
        let bob = firsts.iter().find(|f| f.key == ContributorKey::GithubId(42)).unwrap();
        assert_eq!(bob.login.as_deref(), Some("bob"));
        let carol = firsts.iter().find(|f| matches!(f.key, ContributorKey::EmailHash(_))).unwrap();
        assert_eq!(carol.commits, 2);
        assert_eq!(carol.login, None);
        assert_eq!(carol.first_at.to_rfc3339(), "2020-01-31T23:59:59+00:00");
        assert!(firsts.iter().find(|f| f.key == ContributorKey::GithubId(9)).unwrap().is_bot);
    }

    #[test]
    fn without_an_email_the_author_name_identifies_and_without_both_nobody() {
        let mut agg = Aggregator::default();
        let named = |sha: &str, name: serde_json::Value, date: &str| -> Commit {
            serde_json::from_value(json!({
                "sha": sha, "commit": {"author": {"name": name, "email": "", "date": date}},
                "author": null, "parents": [{"sha": "p"}],
            }))
            .unwrap()
        };
        agg.add(&named("a", json!("Ada Lovelace"), "2020-03-01T00:00:00Z"));
        agg.add(&named("b", json!(" ada lovelace "), "2020-01-01T00:00:00Z"));
        agg.add(&named("c", json!(""), "2019-01-01T00:00:00Z"));
        agg.add(&named("d", json!(null), "2019-01-01T00:00:00Z"));
        assert_eq!(agg.commits, 2);
        let firsts = agg.into_firsts();
        assert_eq!(firsts.len(), 1, "one person by name; the commits with neither count for nobody");
        assert!(matches!(firsts[0].key, ContributorKey::NameHash(_)));
        assert_eq!(firsts[0].first_at.to_rfc3339(), "2020-01-01T00:00:00+00:00");
        assert_eq!(firsts[0].login, None);
    }

    #[test]
    fn author_date_is_converted_to_utc() {
        let mut agg = Aggregator::default();
        agg.add(&commit("a", "x@y.z", "2016-02-01T01:00:00+03:00", json!(null), 0));
        let firsts = agg.into_firsts();
        assert_eq!(firsts[0].first_at.to_rfc3339(), "2016-01-31T22:00:00+00:00");
    }
}
