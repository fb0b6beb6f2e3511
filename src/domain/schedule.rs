//! A cron schedule (seconds first, UTC), parsed once from its expression.
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}` is not a cron expression with seconds (e.g. `0 0 0 * * *`): {reason}")]
pub struct ScheduleError {
    expression: String,
    reason: String,
}

/// A parsed cron expression with six fields (seconds, minutes, hours, day of month, month, day
/// of week), evaluated in UTC. A day is matched when both day fields match, as in Vixie cron's
/// `*`-aware rule.
#[derive(Debug, Clone)]
pub struct Schedule {
    expression: String,
    cron: Cron,
}

impl Schedule {
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let expression = expression.trim();
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(expression)
            .map_err(|e| ScheduleError { expression: expression.to_string(), reason: e.to_string() })?;
        Ok(Self { expression: expression.to_string(), cron })
    }

    /// The first firing strictly after `at`.
    pub fn next_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&at.trunc_subsecs(0), false).ok()
    }

    /// The most recent firing at or before `at`.
    pub fn latest_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_previous_occurrence(&at.trunc_subsecs(0), true).ok()
    }

    /// The time between the two firings that follow `at` (a day for `0 0 0 * * *`).
    pub fn period(&self, at: DateTime<Utc>) -> Option<chrono::Duration> {
        let next = self.next_after(at)?;
        Some(self.next_after(next)? - next)
    }

    pub fn as_str(&self) -> &str {
        &self.expression
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn daily_at_midnight() {
        let s = Schedule::parse("0 0 0 * * *").unwrap();
        assert_eq!(s.latest_at_or_before(at("2026-11-21T16:00:00Z")), Some(at("2026-11-21T00:00:00Z")));
        assert_eq!(s.next_after(at("2026-11-21T16:00:00Z")), Some(at("2026-11-22T00:00:00Z")));
        assert_eq!(s.next_after(at("2026-11-22T00:00:00Z")), Some(at("2026-11-23T00:00:00Z")), "strictly after");
        assert_eq!(s.period(at("2026-11-21T16:00:00Z")), Some(chrono::Duration::days(1)));
    }

    #[test]
    fn hourly_at_a_quarter_past() {
        let s = Schedule::parse(" 0 15 * * * * ").unwrap();
        assert_eq!(s.as_str(), "0 15 * * * *");
        assert_eq!(s.next_after(at("2026-11-21T16:20:00Z")), Some(at("2026-11-21T17:15:00Z")));
    }

    #[test]
    fn bad_expressions_are_rejected() {
        assert!(Schedule::parse("every day").is_err());
        assert!(Schedule::parse("0 0 * * *").is_err(), "five fields lack the seconds");
        assert!(Schedule::parse("0 0 0 32 * *").is_err());
    }
}
