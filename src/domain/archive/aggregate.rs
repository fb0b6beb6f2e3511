//! What GH Archive events are folded into (docs/rules.md §7): a developer's and a repository's
//! numbers in an hour file, kept per hour until the hour's day is summed, and summed per day.
//! Pure data and arithmetic: the archive reader builds these, the store keeps them.
//!
//! Rows are split by key into [`SHARDS`] shards, stored and summed apart, so that a day is summed
//! one shard at a time (memory holds a shard of a day, not the day) and on every core.
use serde::{Deserialize, Serialize};

use super::Hour;

/// Shards of a day's rows.
pub const SHARDS: usize = 32;

/// The shard of a developer (by actor id) or of a repository (by repository id): ids that are
/// close land in different shards. (SQL computes it too: the migration of stored rows.)
pub fn shard_of(id: u64) -> usize {
    (id % SHARDS as u64) as usize
}

/// Ids of developers and repositories are below this (the archive's are far below; a line with
/// a larger one is not an event).
pub const MAX_ID: u64 = 1 << 53;

/// The key a developer-day or repository-day is stored under: the shard in the top bits, then
/// the id. A day is written shard after shard, each in id order, so its rows go in in key order.
pub fn row_key(id: u64) -> i64 {
    (((shard_of(id) as u64) << 58) | (id & ((1 << 58) - 1))) as i64
}

/// A bot: a login ending in `[bot]` (GitHub logins cannot contain brackets otherwise).
pub fn is_bot(login: &str) -> bool {
    login.ends_with("[bot]")
}

/// Seconds of 2015-01-01T00:00:00Z: `seen` keys count from there.
const SEEN_EPOCH: i64 = 1_420_070_400;

/// Orders events for "latest" (docs/rules.md §7): `created_at` (seconds; the start of the hour
/// file when it cannot be read), then the hour file (as hours from the event's own hour, -32 to
/// +31: events reach the archive late, and clocks differ), then the line. A greater key is a
/// later event.
pub fn seen_key(created_at: Option<i64>, file: Hour, line: u64) -> u64 {
    let file_start = file.start().timestamp();
    let created_at = created_at.unwrap_or(file_start);
    let secs = (created_at - SEEN_EPOCH).clamp(0, (1 << 29) - 1) as u64;
    let offset = ((file_start.div_euclid(3600) - created_at.div_euclid(3600)).clamp(-32, 31) + 32) as u64;
    (secs << 34) | (offset << 28) | line.min((1 << 28) - 1)
}

/// Keeps `candidate` (a login or a name) if its key is later than the kept one's; equal keys
/// (only possible across days of a window, for events a day late) keep the greater text, so the
/// choice never depends on the order rows are summed in.
pub fn keep_latest(kept: &mut String, kept_seen: &mut u64, candidate: &str, seen: u64) {
    if seen > *kept_seen || (seen == *kept_seen && candidate > kept.as_str()) {
        if kept != candidate {
            candidate.clone_into(kept);
        }
        *kept_seen = seen;
    }
}

/// A developer in an hour or a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevRow {
    pub actor: u64,
    /// The login on the latest event, and that event's key.
    pub login: String,
    pub seen: u64,
    /// The latest login is a bot's.
    pub bot: bool,
    /// Days with an event (1 in an hour or a day; more in a block of days).
    pub days: u32,
    pub events: u32,
    pub pushes: u32,
    pub commits: u64,
    /// Pushes whose commit count is unknown.
    pub pushes_unknown: u32,
}

impl DevRow {
    /// Adds `other` (the same developer) into this row; true, for `dedup_by`.
    fn absorb(&mut self, other: &mut DevRow) -> bool {
        keep_latest(&mut self.login, &mut self.seen, &other.login, other.seen);
        self.bot = is_bot(&self.login);
        self.days = self.days.saturating_add(other.days);
        self.events = self.events.saturating_add(other.events);
        self.pushes = self.pushes.saturating_add(other.pushes);
        self.commits = self.commits.saturating_add(other.commits);
        self.pushes_unknown = self.pushes_unknown.saturating_add(other.pushes_unknown);
        true
    }
}

/// A repository in an hour or a day. `b_`: of events by bots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRow {
    pub repo: u64,
    /// The name (`owner/name`) on the latest event, and that event's key.
    pub name: String,
    pub seen: u64,
    pub events: u32,
    pub b_events: u32,
    pub pushes: u32,
    pub b_pushes: u32,
    pub commits: u64,
    pub b_commits: u64,
    /// Members (who pushed, or were added) that count without bots: sorted, distinct.
    pub members: Vec<u64>,
    /// Members that count only with bots (bots, or added by a bot): sorted, distinct, none of
    /// them in `members`.
    pub bot_members: Vec<u64>,
}

impl RepoRow {
    /// Adds `other` (the same repository) into this row; true, for `dedup_by`.
    fn absorb(&mut self, other: &mut RepoRow) -> bool {
        keep_latest(&mut self.name, &mut self.seen, &other.name, other.seen);
        self.events = self.events.saturating_add(other.events);
        self.b_events = self.b_events.saturating_add(other.b_events);
        self.pushes = self.pushes.saturating_add(other.pushes);
        self.b_pushes = self.b_pushes.saturating_add(other.b_pushes);
        self.commits = self.commits.saturating_add(other.commits);
        self.b_commits = self.b_commits.saturating_add(other.b_commits);
        self.members = union(&self.members, &other.members);
        self.bot_members = union(&self.bot_members, &other.bot_members);
        if !self.bot_members.is_empty() {
            let members = &self.members;
            self.bot_members.retain(|m| members.binary_search(m).is_err());
        }
        true
    }
}

/// The union of two sorted, distinct lists.
fn union(a: &[u64], b: &[u64]) -> Vec<u64> {
    if b.is_empty() {
        return a.to_vec();
    }
    if a.is_empty() {
        return b.to_vec();
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// One shard of an hour or of a day: rows sorted by key, each key once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRows {
    pub devs: Vec<DevRow>,
    pub repos: Vec<RepoRow>,
}

impl ShardRows {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain numbers and strings into memory cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }

    /// Sums runs of the same shard (the hours of a day and the day's rows already stored, or the
    /// halves of a block of days) into one. Days add up: a day's sum sets them to 1 after.
    pub fn sum(runs: Vec<ShardRows>) -> ShardRows {
        let mut devs = Vec::with_capacity(runs.iter().map(|r| r.devs.len()).sum());
        let mut repos = Vec::with_capacity(runs.iter().map(|r| r.repos.len()).sum());
        for run in runs {
            devs.extend(run.devs);
            repos.extend(run.repos);
        }
        devs.sort_by_key(|d: &DevRow| d.actor);
        repos.sort_by_key(|r: &RepoRow| r.repo);
        // Rows of equal keys are now next to each other: each folds into the first of its kind.
        devs.dedup_by(|next, kept| next.actor == kept.actor && kept.absorb(next));
        repos.dedup_by(|next, kept| next.repo == kept.repo && kept.absorb(next));
        ShardRows { devs, repos }
    }
}

/// An hour file's aggregates, by shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourPart {
    pub lines: u64,
    pub events: u64,
    pub skipped_lines: u64,
    pub duplicate_events: u64,
    /// `SHARDS` shards.
    pub shards: Vec<ShardRows>,
}

/// A day's summary: counters of developers, pushes and commits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub events: u64,
    pub devs: u64,
    /// Developers with no, one, and more than one commit that day.
    pub devs_c0: u64,
    pub devs_c1: u64,
    pub devs_cn: u64,
    /// Developers with a push of unknown commit count.
    pub devs_unknown: u64,
    pub pushes: u64,
    pub commits: u64,
    pub pushes_unknown: u64,
}

impl DayCounts {
    /// Counts of everyone and of bots alone, from a day's developers.
    pub fn of(devs: &[DevRow]) -> (DayCounts, DayCounts) {
        let (mut all, mut bots) = (DayCounts::default(), DayCounts::default());
        for dev in devs {
            all.add_dev(dev);
            if dev.bot {
                bots.add_dev(dev);
            }
        }
        (all, bots)
    }

    fn add_dev(&mut self, dev: &DevRow) {
        self.events += u64::from(dev.events);
        self.devs += 1;
        match dev.commits {
            0 => self.devs_c0 += 1,
            1 => self.devs_c1 += 1,
            _ => self.devs_cn += 1,
        }
        if dev.pushes_unknown > 0 {
            self.devs_unknown += 1;
        }
        self.pushes += u64::from(dev.pushes);
        self.commits = self.commits.saturating_add(dev.commits);
        self.pushes_unknown += u64::from(dev.pushes_unknown);
    }

    pub fn add(&mut self, other: &DayCounts) {
        self.events += other.events;
        self.devs += other.devs;
        self.devs_c0 += other.devs_c0;
        self.devs_c1 += other.devs_c1;
        self.devs_cn += other.devs_cn;
        self.devs_unknown += other.devs_unknown;
        self.pushes += other.pushes;
        self.commits = self.commits.saturating_add(other.commits);
        self.pushes_unknown += other.pushes_unknown;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(actor: u64, login: &str, seen: u64, commits: u64) -> DevRow {
        DevRow {
            actor,
            login: login.into(),
            seen,
            bot: is_bot(login),
            days: 1,
            events: 1,
            pushes: u32::from(commits > 0),
            commits,
            pushes_unknown: 0,
        }
    }

    fn repo(id: u64, name: &str, seen: u64, members: &[u64], bot_members: &[u64]) -> RepoRow {
        RepoRow {
            repo: id,
            name: name.into(),
            seen,
            events: 1,
            b_events: 0,
            pushes: 1,
            b_pushes: 0,
            commits: 1,
            b_commits: 0,
            members: members.to_vec(),
            bot_members: bot_members.to_vec(),
        }
    }

    #[test]
    fn runs_sum_by_key_whatever_their_order() {
        let a = ShardRows {
            devs: vec![dev(1, "ann", 5, 1), dev(2, "ben", 9, 0)],
            repos: vec![repo(10, "ann/x", 5, &[1], &[7])],
        };
        let b = ShardRows { devs: vec![dev(1, "ann-new", 8, 2)], repos: vec![repo(10, "ann/y", 3, &[2, 7], &[])] };
        for runs in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
            let sum = ShardRows::sum(runs);
            assert_eq!(sum.devs.len(), 2);
            let ann = &sum.devs[0];
            assert_eq!((ann.login.as_str(), ann.events, ann.commits, ann.pushes), ("ann-new", 2, 3, 2));
            let r = &sum.repos[0];
            assert_eq!((r.name.as_str(), r.events, r.commits), ("ann/x", 2, 2));
            // 7 counts without bots in one run: it does in the sum.
            assert_eq!((r.members.clone(), r.bot_members.clone()), (vec![1, 2, 7], vec![]));
        }
        let (all, bots) = DayCounts::of(&ShardRows::sum(vec![a, b]).devs);
        assert_eq!((all.devs, all.devs_c0, all.devs_cn, all.commits, bots.devs), (2, 1, 1, 3, 0));
    }

    #[test]
    fn equal_keys_keep_the_same_login_in_any_order() {
        let x = ShardRows { devs: vec![dev(1, "a", 5, 0)], repos: vec![] };
        let y = ShardRows { devs: vec![dev(1, "b", 5, 0)], repos: vec![] };
        let one = ShardRows::sum(vec![x.clone(), y.clone()]);
        let two = ShardRows::sum(vec![y, x]);
        assert_eq!(one.devs[0].login, two.devs[0].login);
    }

    #[test]
    fn shards_spread_close_ids_and_rows_round_trip() {
        let mut seen = [0usize; SHARDS];
        for id in 1..=1_600u64 {
            seen[shard_of(id)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 25), "{seen:?}");
        let keys: Vec<i64> = (1..=1_600u64).map(row_key).collect();
        assert!(keys.iter().all(|k| *k > 0));
        assert_eq!(row_key(MAX_ID - 1) & ((1 << 58) - 1), (MAX_ID - 1) as i64, "the id is kept whole");
        let rows = ShardRows { devs: vec![dev(3, "c[bot]", 1, 4)], repos: vec![repo(4, "o/r", 2, &[3], &[])] };
        assert_eq!(ShardRows::decode(&rows.encode()).unwrap(), rows);
    }

    #[test]
    fn the_latest_name_wins_ties_by_file_then_line() {
        let h = Hour::of_day(chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(), 14);
        let t = Some(h.start().timestamp());
        assert!(seen_key(t, h, 5) > seen_key(t, h, 4));
        assert!(seen_key(t, h.plus(1), 1) > seen_key(t, h, 9_999), "a later file wins a tie");
        assert!(seen_key(t, h, 1) > seen_key(t, h.plus(-2), 9_999), "also a file earlier than the event's hour");
        assert!(seen_key(t.map(|t| t + 1), h, 1) > seen_key(t, h.plus(1), 9_999), "a later time wins");
        // An unreadable time counts as the start of its file's hour.
        assert!(seen_key(None, h.plus(1), 1) > seen_key(t.map(|t| t + 600), h, 1));
    }
}
