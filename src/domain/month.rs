//! A calendar month, represented by its first day.
use chrono::{DateTime, Datelike, NaiveDate, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(NaiveDate);

impl Month {
    pub fn of(at: DateTime<Utc>) -> Self {
        Self::containing(at.date_naive())
    }
    pub fn containing(day: NaiveDate) -> Self {
        // Day 1 exists in every month, so with_day(1) cannot fail.
        Self(day.with_day(1).unwrap_or(day))
    }
    pub fn first_day(self) -> NaiveDate {
        self.0
    }
    /// -(year·12 + month): sorts newest first in ascending order.
    pub fn desc_key(self) -> i32 {
        -(self.0.year() * 12 + self.0.month0() as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_of_a_utc_instant() {
        let at = DateTime::parse_from_rfc3339("2016-01-31T23:30:00-02:00").unwrap().with_timezone(&Utc);
        assert_eq!(Month::of(at).first_day(), NaiveDate::from_ymd_opt(2016, 2, 1).unwrap());
    }

    #[test]
    fn desc_key_orders_newest_first() {
        let jan = Month::containing(NaiveDate::from_ymd_opt(2016, 1, 20).unwrap());
        let dec = Month::containing(NaiveDate::from_ymd_opt(2015, 12, 2).unwrap());
        assert!(jan.desc_key() < dec.desc_key());
        assert_eq!(jan.desc_key() + 1, dec.desc_key());
    }
}
