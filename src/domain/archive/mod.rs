//! Days and hours of GH Archive (docs/rules.md §7).
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};

pub mod aggregate;

/// The first day the archive has in the format git-collector reads; older days are refused.
pub const ARCHIVE_START: NaiveDate = match NaiveDate::from_ymd_opt(2015, 1, 1) {
    Some(day) => day,
    None => unreachable!(),
};

/// Longest range one request may ask for: a leap year.
pub const MAX_RANGE_DAYS: i64 = 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("{0} is before 2015-01-01: older archive files have another format")]
    TooEarly(NaiveDate),
    #[error("`from` ({from}) is after `to` ({to})")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("{days} days from {from} to {to}: at most {MAX_RANGE_DAYS} days at a time")]
    TooLong { from: NaiveDate, to: NaiveDate, days: i64 },
}

/// Days since 1970-01-01, the key of a day in the aggregates.
pub fn day_number(day: NaiveDate) -> i32 {
    (day - NaiveDate::default()).num_days() as i32
}

/// The date of a day number.
pub fn day_date(day: i32) -> NaiveDate {
    NaiveDate::default() + Duration::days(i64::from(day))
}

/// An inclusive range of UTC days, none before 2015-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayRange {
    from: NaiveDate,
    to: NaiveDate,
}

impl DayRange {
    /// A range of any length (the schedule's), checked for its start and order.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, RangeError> {
        if from < ARCHIVE_START {
            return Err(RangeError::TooEarly(from));
        }
        if from > to {
            return Err(RangeError::Reversed { from, to });
        }
        Ok(Self { from, to })
    }

    /// A range a client asked for: also at most 366 days.
    pub fn requested(from: NaiveDate, to: NaiveDate) -> Result<Self, RangeError> {
        let range = Self::new(from, to)?;
        if range.days() > MAX_RANGE_DAYS {
            return Err(RangeError::TooLong { from, to, days: range.days() });
        }
        Ok(range)
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Calendar days in the range.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Every hour of the range, oldest first.
    pub fn hours(&self) -> impl Iterator<Item = Hour> {
        let first = Hour::of_day(self.from, 0);
        (0..self.days() * 24).map(move |i| first.plus(i))
    }

    /// Lowercase key; two jobs with the same key import the same hours.
    pub fn key(&self) -> String {
        format!("archive:{}..{}", self.from, self.to)
    }
}

impl fmt::Display for DayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{} to {}", self.from, self.to)
        }
    }
}

/// One hour of the archive: one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour(DateTime<Utc>);

impl Hour {
    pub fn of_day(day: NaiveDate, hour: u32) -> Self {
        Self(Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)) + Duration::hours(i64::from(hour.min(23))))
    }

    /// The hour that contains `at`.
    pub fn containing(at: DateTime<Utc>) -> Self {
        let day = at.date_naive();
        Self::of_day(day, at.hour())
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.0
    }

    pub fn plus(&self, hours: i64) -> Self {
        Self(self.0 + Duration::hours(hours))
    }

    /// Its UTC day.
    pub fn day(&self) -> NaiveDate {
        self.0.date_naive()
    }

    /// Whether the hour has ended by `now` (only those are imported).
    pub fn is_complete(&self, now: DateTime<Utc>) -> bool {
        self.0 + Duration::hours(1) <= now
    }

    /// The file name: `YYYY-MM-DD-H.json.gz`, the hour not zero-padded.
    pub fn file_name(&self) -> String {
        let d = self.0.date_naive();
        format!("{:04}-{:02}-{:02}-{}.json.gz", d.year(), d.month(), d.day(), self.0.hour())
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:02}:00 UTC", self.0.date_naive(), self.0.hour())
    }
}

impl From<DateTime<Utc>> for Hour {
    fn from(at: DateTime<Utc>) -> Self {
        Self::containing(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ranges_are_checked() {
        assert!(matches!(DayRange::new(date("2014-12-31"), date("2015-01-02")), Err(RangeError::TooEarly(_))));
        assert!(matches!(DayRange::new(date("2020-02-02"), date("2020-02-01")), Err(RangeError::Reversed { .. })));
        assert_eq!(DayRange::requested(date("2020-01-01"), date("2020-12-31")).unwrap().days(), 366);
        assert!(matches!(
            DayRange::requested(date("2020-01-01"), date("2021-01-01")),
            Err(RangeError::TooLong { days: 367, .. })
        ));
        let range = DayRange::new(date("2015-01-01"), date("2015-01-02")).unwrap();
        assert_eq!(range.key(), "archive:2015-01-01..2015-01-02");
        assert_eq!(range.hours().count(), 48);
    }

    #[test]
    fn hours_name_their_files() {
        let h = Hour::of_day(date("2015-01-01"), 5);
        assert_eq!(h.file_name(), "2015-01-01-5.json.gz");
        assert_eq!(h.plus(19).file_name(), "2015-01-02-0.json.gz");
        assert_eq!(day_number(date("2015-01-01")), 16436);
        assert_eq!(day_date(16436), date("2015-01-01"));
        assert!(!h.is_complete(h.start() + Duration::minutes(59)));
        assert!(h.is_complete(h.start() + Duration::hours(1)));
    }
}
