//! Folding an hour file's events into its aggregates (docs/rules.md §7) while it is read. Memory
//! grows with the distinct developers, repositories and memberships of the hour, never with the
//! size of a line or of the file. The aggregates are stored with the hour and summed per day
//! (`domain::archive::aggregate`).
use std::collections::hash_map::Entry;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::scan::{Event, Payload};
use crate::domain::archive::aggregate::{is_bot, seen_key, shard_of, DevRow, HourPart, RepoRow, ShardRows, SHARDS};
use crate::domain::archive::Hour;

/// `created_at` in seconds since 1970: the fixed `YYYY-MM-DDTHH:MM:SSZ` form quickly, other
/// RFC 3339 forms the slow way; None when it is not a date (the event still counts).
pub fn parse_created_at(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let fixed = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if fixed {
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            b[range].iter().try_fold(0i64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
        };
        let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)? as u32, num(8..10)? as u32)?;
        let time = chrono::NaiveTime::from_hms_opt(num(11..13)? as u32, num(14..16)? as u32, num(17..19)? as u32)?;
        return Some(date.and_time(time).and_utc().timestamp());
    }
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|d| d.timestamp())
}

/// One hour file's aggregates while it is read.
#[derive(Debug)]
pub struct HourFold {
    hour: Hour,
    lines: u64,
    skipped_lines: u64,
    duplicate_events: u64,
    ids: HashSet<u64>,
    devs: HashMap<u64, DevRow>,
    repos: HashMap<u64, RepoRow>,
    /// (repository, member) → the membership counts only with bots (every event that made it
    /// was by a bot, or added a bot).
    members: HashMap<(u64, u64), bool>,
}

impl HourFold {
    pub fn new(hour: Hour) -> Self {
        Self {
            hour,
            lines: 0,
            skipped_lines: 0,
            duplicate_events: 0,
            ids: HashSet::new(),
            devs: HashMap::new(),
            repos: HashMap::new(),
            members: HashMap::new(),
        }
    }

    /// A line that is not an event.
    pub fn skip(&mut self) {
        self.lines += 1;
        self.skipped_lines += 1;
    }

    /// Counts one event (the next line of the file), once per id.
    pub fn add(&mut self, event: &Event<'_>) {
        self.lines += 1;
        if !self.ids.insert(event.id) {
            self.duplicate_events += 1;
            return;
        }
        let seen = seen_key(parse_created_at(&event.created_at), self.hour, self.lines);
        let bot = is_bot(&event.actor.login);
        let (pushes, commits, unknown) = match &event.payload {
            Payload::Push(push) => match push.commit_count() {
                Some(n) => (1u32, n, 0u32),
                None => (1, 0, 1),
            },
            _ => (0, 0, 0),
        };

        let dev = self.devs.entry(event.actor.id).or_insert_with(|| DevRow {
            actor: event.actor.id,
            login: event.actor.login.to_string(),
            seen,
            bot,
            days: 1,
            events: 0,
            pushes: 0,
            commits: 0,
            pushes_unknown: 0,
        });
        if seen > dev.seen {
            if dev.login != event.actor.login {
                event.actor.login.as_ref().clone_into(&mut dev.login);
            }
            dev.seen = seen;
            dev.bot = bot;
        }
        dev.events += 1;
        dev.pushes += pushes;
        dev.commits = dev.commits.saturating_add(commits);
        dev.pushes_unknown += unknown;

        let repo = self.repos.entry(event.repo.id).or_insert_with(|| RepoRow {
            repo: event.repo.id,
            name: event.repo.name.to_string(),
            seen,
            events: 0,
            b_events: 0,
            pushes: 0,
            b_pushes: 0,
            commits: 0,
            b_commits: 0,
            members: Vec::new(),
            bot_members: Vec::new(),
        });
        if seen > repo.seen {
            if repo.name != event.repo.name {
                event.repo.name.as_ref().clone_into(&mut repo.name);
            }
            repo.seen = seen;
        }
        repo.events += 1;
        repo.pushes += pushes;
        repo.commits = repo.commits.saturating_add(commits);
        if bot {
            repo.b_events += 1;
            repo.b_pushes += pushes;
            repo.b_commits = repo.b_commits.saturating_add(commits);
        }

        // Members: who pushed, and who was added (MemberEvent "added").
        match &event.payload {
            Payload::Push(_) => self.member(event.repo.id, event.actor.id, bot),
            Payload::Member(member) if member.action.as_deref() == Some("added") => {
                if let Some(id) = member.member_id {
                    let member_bot = member.member_login.as_deref().is_some_and(is_bot);
                    self.member(event.repo.id, id, bot || member_bot);
                }
            }
            _ => {}
        }
    }

    fn member(&mut self, repo: u64, actor: u64, only_with_bots: bool) {
        match self.members.entry((repo, actor)) {
            Entry::Occupied(mut e) => *e.get_mut() &= only_with_bots,
            Entry::Vacant(e) => {
                e.insert(only_with_bots);
            }
        }
    }

    pub fn events(&self) -> u64 {
        self.ids.len() as u64
    }

    /// The hour's aggregates, by shard, rows sorted by key.
    pub fn finish(self) -> HourPart {
        let mut repos = self.repos;
        for ((repo, actor), only_with_bots) in self.members {
            if let Some(row) = repos.get_mut(&repo) {
                if only_with_bots {
                    row.bot_members.push(actor);
                } else {
                    row.members.push(actor);
                }
            }
        }
        let mut shards = vec![ShardRows::default(); SHARDS];
        for dev in self.devs.into_values() {
            shards[shard_of(dev.actor)].devs.push(dev);
        }
        for mut repo in repos.into_values() {
            repo.members.sort_unstable();
            repo.bot_members.sort_unstable();
            shards[shard_of(repo.repo)].repos.push(repo);
        }
        for shard in &mut shards {
            shard.devs.sort_unstable_by_key(|d| d.actor);
            shard.repos.sort_unstable_by_key(|r| r.repo);
        }
        HourPart {
            lines: self.lines,
            events: self.ids.len() as u64,
            skipped_lines: self.skipped_lines,
            duplicate_events: self.duplicate_events,
            shards,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::scan::scan_event;
    use crate::domain::archive::aggregate::DayCounts;

    fn hour() -> Hour {
        Hour::of_day(chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(), 14)
    }

    fn line(id: u64, kind: &str, actor: (u64, &str), repo: (u64, &str), payload: &str, at: &str) -> String {
        format!(
            r#"{{"id":"{id}","type":"{kind}","actor":{{"id":{},"login":"{}"}},"repo":{{"id":{},"name":"{}"}},"payload":{payload},"public":true,"created_at":"{at}"}}"#,
            actor.0, actor.1, repo.0, repo.1
        )
    }

    fn fold(lines: &[String]) -> HourPart {
        let mut f = HourFold::new(hour());
        for l in lines {
            match scan_event(l.as_bytes()) {
                Ok(event) => f.add(&event),
                Err(_) => f.skip(),
            }
        }
        f.finish()
    }

    /// Every shard's rows, sorted by key.
    fn all(part: &HourPart) -> (Vec<DevRow>, Vec<RepoRow>) {
        let mut devs: Vec<DevRow> = part.shards.iter().flat_map(|s| s.devs.clone()).collect();
        let mut repos: Vec<RepoRow> = part.shards.iter().flat_map(|s| s.repos.clone()).collect();
        devs.sort_by_key(|d| d.actor);
        repos.sort_by_key(|r| r.repo);
        (devs, repos)
    }

    #[test]
    fn pushes_members_duplicates_renames_and_bots() {
        let at = "2024-03-01T14:10:00Z";
        let part = fold(&[
            line(1, "PushEvent", (7, "ann"), (70, "ann/tool"), r#"{"size":3,"distinct_size":2,"commits":[]}"#, at),
            // The same event again: counted once.
            line(1, "PushEvent", (7, "ann"), (70, "ann/tool"), r#"{"size":3,"distinct_size":2,"commits":[]}"#, at),
            // Renamed later in the hour; a push without any count (after October 2025).
            line(
                2,
                "PushEvent",
                (7, "ann-new"),
                (70, "ann-new/tool"),
                r#"{"ref":"refs/heads/main"}"#,
                "2024-03-01T14:20:00Z",
            ),
            line(
                3,
                "MemberEvent",
                (7, "ann-new"),
                (70, "ann-new/tool"),
                r#"{"action":"added","member":{"id":8,"login":"ben"}}"#,
                at,
            ),
            line(4, "PushEvent", (9, "ci[bot]"), (70, "ann-new/tool"), r#"{"size":1}"#, at),
            // A person added by a bot counts as a member only with bots.
            line(
                6,
                "MemberEvent",
                (9, "ci[bot]"),
                (70, "ann-new/tool"),
                r#"{"action":"added","member":{"id":11,"login":"eve"}}"#,
                at,
            ),
            line(5, "WatchEvent", (8, "ben"), (71, "x/y"), r#"{"action":"started"}"#, at),
            "not an event".to_string(),
        ]);
        assert_eq!((part.lines, part.events, part.duplicate_events, part.skipped_lines), (8, 6, 1, 1));
        assert_eq!(part.shards.len(), SHARDS);
        let (devs, repos) = all(&part);
        let ann = &devs[0];
        assert_eq!(
            (ann.actor, ann.login.as_str(), ann.events, ann.pushes, ann.commits, ann.pushes_unknown),
            (7, "ann-new", 3, 2, 2, 1)
        );
        let bot = devs.iter().find(|d| d.actor == 9).unwrap();
        assert!(bot.bot && bot.commits == 1);
        let repo = &repos[0];
        assert_eq!(
            (repo.name.as_str(), repo.events, repo.b_events, repo.pushes, repo.b_pushes, repo.commits, repo.b_commits),
            ("ann-new/tool", 5, 2, 3, 1, 3, 1)
        );
        assert_eq!((repo.members.clone(), repo.bot_members.clone()), (vec![7, 8], vec![9, 11]));
        for shard in &part.shards {
            assert_eq!(&ShardRows::decode(&shard.encode()).unwrap(), shard);
        }
    }

    #[test]
    fn a_day_sums_its_hours_and_buckets_developers_by_commits() {
        let at = |h: u32| format!("2024-03-01T{h:02}:30:00Z");
        let parts = [
            fold(&[
                line(1, "PushEvent", (1, "one"), (10, "one/a"), r#"{"size":1}"#, &at(14)),
                line(2, "IssuesEvent", (2, "none"), (10, "one/a"), r#"{}"#, &at(14)),
            ]),
            fold(&[
                line(3, "PushEvent", (3, "two"), (11, "two/b"), r#"{"distinct_size":1}"#, &at(15)),
                line(4, "PushEvent", (3, "two"), (11, "two/b"), r#"{"distinct_size":1}"#, &at(15)),
                line(5, "PushEvent", (4, "idk"), (11, "two/b"), r#"{}"#, &at(15)),
            ]),
        ];
        let mut all_counts = DayCounts::default();
        let mut bot_counts = DayCounts::default();
        let mut repos = Vec::new();
        for shard in 0..SHARDS {
            let day = ShardRows::sum(parts.iter().map(|p| p.shards[shard].clone()).collect());
            let (a, b) = DayCounts::of(&day.devs);
            all_counts.add(&a);
            bot_counts.add(&b);
            repos.extend(day.repos);
        }
        assert_eq!(
            all_counts,
            DayCounts {
                events: 5,
                devs: 4,
                devs_c0: 2,
                devs_c1: 1,
                devs_cn: 1,
                devs_unknown: 1,
                pushes: 4,
                commits: 3,
                pushes_unknown: 1
            }
        );
        assert_eq!(bot_counts, DayCounts::default());
        let b = repos.iter().find(|r| r.repo == 11).unwrap();
        assert_eq!((b.members.clone(), b.commits), (vec![3, 4], 2));
    }

    #[test]
    fn created_at_is_read_fast_and_the_slow_way() {
        let t = parse_created_at("2024-03-01T14:00:00Z").unwrap();
        assert_eq!(t, hour().start().timestamp());
        assert_eq!(parse_created_at("2024-03-01T14:00:00+01:00"), Some(t - 3600));
        assert_eq!(parse_created_at("yesterday"), None);
    }
}
