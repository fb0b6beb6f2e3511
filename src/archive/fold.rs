//! Folding events into aggregates (docs/rules.md §7): per hour file while it is read
//! (`HourFold`), stored with the hour (`HourPart`), and summed per day when the day's hours are
//! in (`DayFold`). Memory grows with the distinct developers, repositories and memberships, never
//! with the number of events or the size of a file.
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::scan::{Event, Payload};
use crate::domain::archive::Hour;

/// Seconds of 2015-01-01T00:00:00Z: `seen` keys count from there.
const SEEN_EPOCH: i64 = 1_420_070_400;

/// Orders events for "latest": `created_at` (seconds), then the hour file (as hours from the
/// event's own hour, -32 to +31: events reach the archive late, and clocks differ), then the
/// line. A greater key is a later event.
pub fn seen_key(created_at: i64, file: Hour, line: u64) -> u64 {
    let secs = (created_at - SEEN_EPOCH).clamp(0, (1 << 29) - 1) as u64;
    let event_hour = created_at.div_euclid(3600);
    let file_hour = file.start().timestamp().div_euclid(3600);
    let offset = ((file_hour - event_hour).clamp(-32, 31) + 32) as u64;
    (secs << 34) | (offset << 28) | line.min((1 << 28) - 1)
}

/// `created_at` in seconds since 1970: the fixed `YYYY-MM-DDTHH:MM:SSZ` form quickly, other
/// RFC 3339 forms the slow way; None when it is not a date (the event still counts, as the
/// earliest possible).
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

/// A developer in an hour (or a day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevRow {
    pub actor: u64,
    /// The login on its latest event, and that event's key.
    pub login: String,
    pub seen: u64,
    /// The login ends in `[bot]` (GitHub logins cannot contain brackets otherwise).
    pub bot: bool,
    pub events: u32,
    pub pushes: u32,
    pub commits: u64,
    /// Pushes whose commit count is unknown (docs/rules.md §7).
    pub pushes_unknown: u32,
}

/// A repository in an hour (or a day). `b_`: by bots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRow {
    pub repo: u64,
    /// The name (`owner/name`) on its latest event, and that event's key.
    pub name: String,
    pub seen: u64,
    pub events: u32,
    pub b_events: u32,
    pub pushes: u32,
    pub b_pushes: u32,
    pub commits: u64,
    pub b_commits: u64,
}

/// A member of a repository: pushed to it, or was added to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MemberRow {
    pub repo: u64,
    pub actor: u64,
    pub bot: bool,
}

/// An hour's aggregates, as stored until its day is summed: rows sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourPart {
    pub lines: u64,
    pub events: u64,
    pub skipped_lines: u64,
    pub duplicate_events: u64,
    pub devs: Vec<DevRow>,
    pub repos: Vec<RepoRow>,
    pub members: Vec<MemberRow>,
}

impl HourPart {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain numbers and strings into memory cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

fn is_bot(login: &str) -> bool {
    login.ends_with("[bot]")
}

/// Keeps `login` (or `name`) if `seen` is later than the kept one's.
fn latest(kept: &mut String, kept_seen: &mut u64, candidate: &str, seen: u64) {
    if seen > *kept_seen || (seen == *kept_seen && candidate > kept.as_str()) {
        if kept != candidate {
            candidate.clone_into(kept);
        }
        *kept_seen = seen;
    }
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

    /// Counts one event (line `line` of the file), once per id.
    pub fn add(&mut self, event: &Event<'_>) {
        self.lines += 1;
        if !self.ids.insert(event.id) {
            self.duplicate_events += 1;
            return;
        }
        let line = self.lines;
        let created = parse_created_at(&event.created_at).unwrap_or(SEEN_EPOCH);
        let seen = seen_key(created, self.hour, line);
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
            events: 0,
            pushes: 0,
            commits: 0,
            pushes_unknown: 0,
        });
        latest(&mut dev.login, &mut dev.seen, &event.actor.login, seen);
        dev.bot = is_bot(&dev.login);
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
        });
        latest(&mut repo.name, &mut repo.seen, &event.repo.name, seen);
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
                    self.member(event.repo.id, id, member_bot);
                }
            }
            _ => {}
        }
    }

    fn member(&mut self, repo: u64, actor: u64, bot: bool) {
        match self.members.entry((repo, actor)) {
            Entry::Occupied(mut e) => *e.get_mut() |= bot,
            Entry::Vacant(e) => {
                e.insert(bot);
            }
        }
    }

    pub fn events(&self) -> u64 {
        self.ids.len() as u64
    }

    /// The hour's aggregates, sorted for storage.
    pub fn finish(self) -> HourPart {
        let mut devs: Vec<DevRow> = self.devs.into_values().collect();
        devs.sort_unstable_by_key(|d| d.actor);
        let mut repos: Vec<RepoRow> = self.repos.into_values().collect();
        repos.sort_unstable_by_key(|r| r.repo);
        let mut members: Vec<MemberRow> =
            self.members.into_iter().map(|((repo, actor), bot)| MemberRow { repo, actor, bot }).collect();
        members.sort_unstable();
        HourPart {
            lines: self.lines,
            events: self.ids.len() as u64,
            skipped_lines: self.skipped_lines,
            duplicate_events: self.duplicate_events,
            devs,
            repos,
            members,
        }
    }
}

/// A day's summary: counters of everyone and of bots alone.
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
    fn add(&mut self, dev: &DevRow) {
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
}

/// A repository of a day, with its member counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRepo {
    pub row: RepoRow,
    pub members: u32,
    pub b_members: u32,
}

/// The hours of one day, summed.
#[derive(Debug, Default)]
pub struct DayFold {
    devs: HashMap<u64, DevRow>,
    repos: HashMap<u64, RepoRow>,
    members: HashMap<(u64, u64), bool>,
}

impl DayFold {
    /// Adds an hour's aggregates.
    pub fn add(&mut self, part: HourPart) {
        for dev in part.devs {
            match self.devs.entry(dev.actor) {
                Entry::Vacant(e) => {
                    e.insert(dev);
                }
                Entry::Occupied(mut e) => {
                    let day = e.get_mut();
                    latest(&mut day.login, &mut day.seen, &dev.login, dev.seen);
                    day.bot = is_bot(&day.login);
                    day.events += dev.events;
                    day.pushes += dev.pushes;
                    day.commits = day.commits.saturating_add(dev.commits);
                    day.pushes_unknown += dev.pushes_unknown;
                }
            }
        }
        for repo in part.repos {
            match self.repos.entry(repo.repo) {
                Entry::Vacant(e) => {
                    e.insert(repo);
                }
                Entry::Occupied(mut e) => {
                    let day = e.get_mut();
                    latest(&mut day.name, &mut day.seen, &repo.name, repo.seen);
                    day.events += repo.events;
                    day.b_events += repo.b_events;
                    day.pushes += repo.pushes;
                    day.b_pushes += repo.b_pushes;
                    day.commits = day.commits.saturating_add(repo.commits);
                    day.b_commits = day.b_commits.saturating_add(repo.b_commits);
                }
            }
        }
        for member in part.members {
            *self.members.entry((member.repo, member.actor)).or_insert(false) |= member.bot;
        }
    }

    /// The day's rows, sorted by key, and its counters (everyone, bots).
    pub fn finish(self) -> DayRows {
        let mut all = DayCounts::default();
        let mut bots = DayCounts::default();
        let mut devs: Vec<DevRow> = self.devs.into_values().collect();
        devs.sort_unstable_by_key(|d| d.actor);
        for dev in &devs {
            all.add(dev);
            if dev.bot {
                bots.add(dev);
            }
        }
        let mut members: Vec<MemberRow> =
            self.members.into_iter().map(|((repo, actor), bot)| MemberRow { repo, actor, bot }).collect();
        members.sort_unstable();
        let mut counts: HashMap<u64, (u32, u32)> = HashMap::with_capacity(self.repos.len());
        for m in &members {
            let c = counts.entry(m.repo).or_default();
            c.0 += 1;
            if m.bot {
                c.1 += 1;
            }
        }
        let mut repos: Vec<DayRepo> = self
            .repos
            .into_values()
            .map(|row| {
                let (members, b_members) = counts.get(&row.repo).copied().unwrap_or_default();
                DayRepo { row, members, b_members }
            })
            .collect();
        repos.sort_unstable_by_key(|r| r.row.repo);
        DayRows { devs, repos, members, all, bots }
    }
}

/// What a day's import writes.
#[derive(Debug)]
pub struct DayRows {
    pub devs: Vec<DevRow>,
    pub repos: Vec<DayRepo>,
    pub members: Vec<MemberRow>,
    pub all: DayCounts,
    pub bots: DayCounts,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::scan::scan_event;

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
            line(5, "WatchEvent", (8, "ben"), (71, "x/y"), r#"{"action":"started"}"#, at),
            "not an event".to_string(),
        ]);
        assert_eq!((part.lines, part.events, part.duplicate_events, part.skipped_lines), (7, 5, 1, 1));
        let ann = &part.devs[0];
        assert_eq!(
            (ann.actor, ann.login.as_str(), ann.events, ann.pushes, ann.commits, ann.pushes_unknown),
            (7, "ann-new", 3, 2, 2, 1)
        );
        let bot = part.devs.iter().find(|d| d.actor == 9).unwrap();
        assert!(bot.bot && bot.commits == 1);
        let repo = &part.repos[0];
        assert_eq!(
            (repo.name.as_str(), repo.events, repo.b_events, repo.pushes, repo.b_pushes, repo.commits, repo.b_commits),
            ("ann-new/tool", 4, 1, 3, 1, 3, 1)
        );
        assert_eq!(
            part.members,
            vec![
                MemberRow { repo: 70, actor: 7, bot: false },
                MemberRow { repo: 70, actor: 8, bot: false },
                MemberRow { repo: 70, actor: 9, bot: true }
            ]
        );
        assert_eq!(HourPart::decode(&part.encode()).unwrap(), part);
    }

    #[test]
    fn a_day_sums_its_hours_and_buckets_developers_by_commits() {
        let at = |h: u32| format!("2024-03-01T{h:02}:30:00Z");
        let mut day = DayFold::default();
        day.add(fold(&[
            line(1, "PushEvent", (1, "one"), (10, "one/a"), r#"{"size":1}"#, &at(14)),
            line(2, "IssuesEvent", (2, "none"), (10, "one/a"), r#"{}"#, &at(14)),
        ]));
        day.add(fold(&[
            line(3, "PushEvent", (3, "two"), (11, "two/b"), r#"{"distinct_size":1}"#, &at(15)),
            line(4, "PushEvent", (3, "two"), (11, "two/b"), r#"{"distinct_size":1}"#, &at(15)),
            line(5, "PushEvent", (4, "idk"), (11, "two/b"), r#"{}"#, &at(15)),
        ]));
        let rows = day.finish();
        assert_eq!(
            rows.all,
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
        assert_eq!(rows.bots, DayCounts::default());
        let b = rows.repos.iter().find(|r| r.row.repo == 11).unwrap();
        assert_eq!((b.members, b.b_members, b.row.commits), (2, 0, 2));
    }

    #[test]
    fn the_latest_name_wins_ties_by_file_then_line() {
        let h = hour();
        let t = parse_created_at("2024-03-01T14:00:00Z").unwrap();
        assert!(seen_key(t, h, 5) > seen_key(t, h, 4));
        assert!(seen_key(t, h.plus(1), 1) > seen_key(t, h, 9_999), "a later file wins a tie");
        assert!(seen_key(t, h, 1) > seen_key(t, h.plus(-2), 9_999), "also a file earlier than the event's hour");
        assert!(seen_key(t + 1, h, 1) > seen_key(t, h.plus(1), 9_999), "a later time wins");
        assert_eq!(parse_created_at("2024-03-01T14:00:00+01:00"), Some(t - 3600));
        assert_eq!(parse_created_at("yesterday"), None);
    }
}
