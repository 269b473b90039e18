//! Units of time, the one place where a month and a year are given in days.
//!
//! A month is 365.25 / 12 = 30.4375 days and a year 365.25 days, the
//! convention of R's `lubridate::time_length` and of most survival papers
//! that report months. Endpoints are computed in days (differences of
//! dates) and divided by [`TimeUnit::days`]; reports read curves at times
//! given in the endpoint's unit.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Days in one month: 365.25 / 12.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;
/// Days in one year (the Julian year).
pub const DAYS_PER_YEAR: f64 = 365.25;

/// A unit of time in which an endpoint or a landmark is expressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    Days,
    Weeks,
    #[default]
    Months,
    Years,
}

impl TimeUnit {
    /// Every unit, for messages that list them.
    pub const ALL: [TimeUnit; 4] = [
        TimeUnit::Days,
        TimeUnit::Weeks,
        TimeUnit::Months,
        TimeUnit::Years,
    ];

    /// Days in one unit.
    pub const fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
            TimeUnit::Months => DAYS_PER_MONTH,
            TimeUnit::Years => DAYS_PER_YEAR,
        }
    }

    /// The unit's name as written in pipeline files and outputs.
    pub const fn name(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
            TimeUnit::Months => "months",
            TimeUnit::Years => "years",
        }
    }

    /// How many of `self` make one `other` (e.g. months per year = 12).
    pub fn per(self, other: TimeUnit) -> f64 {
        other.days() / self.days()
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_a_twelfth_of_a_julian_year() {
        assert_eq!(DAYS_PER_MONTH, 30.4375);
        assert_eq!(TimeUnit::Months.per(TimeUnit::Years), 12.0);
        assert_eq!(TimeUnit::Days.per(TimeUnit::Weeks), 7.0);
    }
}
