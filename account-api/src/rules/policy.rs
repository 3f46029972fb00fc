//! Who must use 2FA, and from when (R9, R10, issue 14).
//!
//! The requirement sits on the user: it holds if any account they belong to
//! enforces 2FA, or the platform makes it mandatory. Each of those is a
//! [`Schedule`]: immediate (no date, as before issue 14) or from a date,
//! with 0 to 7 grace days after it. A person's requirement is
//! [`evaluate`]d from all of their schedules on every request, in the same
//! database call that loads the session, so every node and every path
//! (the bearer extractor, sign-in, the web app's cookie sign-in) reads the
//! same rows and applies this one function: "shortest wins".
//!
//! The platform's schedule is one row of `platform_policy`, written by
//! `dialer-2fa-api policy`; the accounts' are columns of `accounts`, set
//! by their owners (`accounts`).

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreResult};
use shared::api::TwoFactorDeadline;

/// What `required_by` and `set_by` say for the platform's schedule.
pub const SERVER_POLICY: &str = "server policy";
pub const DAY: i64 = 86_400;
/// The longest grace period a schedule may have.
pub const MAX_GRACE_DAYS: u32 = 7;
/// An owner's date is at least this far ahead of the server's clock...
pub const MIN_LEAD: i64 = DAY;
/// ...and at most this far.
pub const MAX_LEAD: i64 = 90 * DAY;

/// One source of a 2FA requirement for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// An account's name, or [`SERVER_POLICY`].
    pub name: String,
    /// Unix seconds from which 2FA is required; `None`: already required.
    pub from: Option<i64>,
    pub grace_days: u32,
}

/// A person's dated requirement: the earliest of their schedules' dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub at: i64,
    /// Every schedule whose date is `at`.
    pub set_by: Vec<String>,
    /// Whole days after `at` during which setup may be skipped, cut short
    /// so that it never outlasts the grace period of any schedule.
    pub grace_days: u32,
}

impl Deadline {
    /// The first second at which setup can no longer be skipped.
    pub fn grace_ends(&self) -> i64 {
        self.at + i64::from(self.grace_days) * DAY
    }

    pub fn in_grace(&self, now: i64) -> bool {
        self.at <= now && now < self.grace_ends()
    }

    /// The deadline as clients see it, for a person without 2FA who used
    /// `skips_used` of this deadline's skips.
    pub fn view(&self, now: i64, skips_used: u32) -> TwoFactorDeadline {
        let skips_left = if now < self.at {
            None
        } else if self.in_grace(now) {
            Some(self.grace_days.saturating_sub(skips_used))
        } else {
            Some(0)
        };
        TwoFactorDeadline {
            at: self.at,
            days_left: days_left(self.at, now),
            set_by: self.set_by.clone(),
            grace_days: self.grace_days,
            skips_left,
        }
    }
}

/// Whole days until `at`, rounded up; 0 from `at` on.
pub fn days_left(at: i64, now: i64) -> i64 {
    if now >= at {
        0
    } else {
        (at - now + DAY - 1) / DAY
    }
}

/// A person's requirement at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    /// The schedules in force now (immediate ones, and dated ones whose
    /// date has come); empty when 2FA is optional today.
    pub required_by: Vec<String>,
    /// The earliest dated schedule, when no immediate one applies.
    pub deadline: Option<Deadline>,
}

impl Requirement {
    /// Whether a session of a person without 2FA may only set it up.
    /// During the grace period a session that used a skip for this very
    /// deadline is a full one; outside it, no skip counts.
    pub fn setup_only(&self, two_factor_on: bool, now: i64, session_skipped: Option<i64>) -> bool {
        if two_factor_on || self.required_by.is_empty() {
            return false;
        }
        match &self.deadline {
            Some(d) if d.in_grace(now) => session_skipped != Some(d.at),
            _ => true,
        }
    }

    /// Whether any schedule applies, in force or still ahead: 2FA may not
    /// be turned off then (R6), since it would soon be required again.
    pub fn any(&self) -> bool {
        !self.required_by.is_empty() || self.deadline.is_some()
    }

    /// Why 2FA cannot be turned off, in words: the schedules in force, or
    /// the date that is coming.
    pub fn reasons(&self) -> Vec<String> {
        if !self.required_by.is_empty() {
            return self.required_by.clone();
        }
        match &self.deadline {
            Some(d) => d
                .set_by
                .iter()
                .map(|n| format!("{n} from {}", date(d.at)))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// "Shortest wins": any immediate schedule makes 2FA required now, with no
/// date and no grace (exactly as before dates existed). Otherwise the
/// deadline is the earliest date, and its grace period ends no later than
/// the end of any schedule's own grace period (whole days).
pub fn evaluate(schedules: &[Schedule], now: i64) -> Requirement {
    let immediate: Vec<String> = schedules
        .iter()
        .filter(|s| s.from.is_none())
        .map(|s| s.name.clone())
        .collect();
    if !immediate.is_empty() {
        return Requirement {
            required_by: immediate,
            deadline: None,
        };
    }
    let dated: Vec<(&Schedule, i64)> = schedules
        .iter()
        .filter_map(|s| s.from.map(|from| (s, from)))
        .collect();
    let Some(at) = dated.iter().map(|(_, from)| *from).min() else {
        return Requirement::default();
    };
    let grace_days = dated
        .iter()
        .map(|(s, from)| {
            let ends = from + i64::from(s.grace_days.min(MAX_GRACE_DAYS)) * DAY;
            u32::try_from((ends - at) / DAY).unwrap_or(MAX_GRACE_DAYS)
        })
        .min()
        .unwrap_or(0)
        .min(MAX_GRACE_DAYS);
    Requirement {
        required_by: dated
            .iter()
            .filter(|(_, from)| *from <= now)
            .map(|(s, _)| s.name.clone())
            .collect(),
        deadline: Some(Deadline {
            at,
            set_by: dated
                .iter()
                .filter(|(_, from)| *from == at)
                .map(|(s, _)| s.name.clone())
                .collect(),
            grace_days,
        }),
    }
}

/// The platform's schedule, if one is set.
pub fn platform_schedule(conn: &Conn) -> StoreResult<Option<Schedule>> {
    conn.query_row(
        "SELECT mandatory_from, grace_days FROM platform_policy WHERE id = 1",
        params![],
        |r| {
            Ok(Schedule {
                name: SERVER_POLICY.to_string(),
                from: r.get(0)?,
                grace_days: r.get(1)?,
            })
        },
    )
    .optional()
}

/// Every schedule that applies to a user: the platform's first, then their
/// enforcing accounts' by name.
pub fn schedules(conn: &Conn, user_id: i64) -> StoreResult<Vec<Schedule>> {
    let mut out: Vec<Schedule> = platform_schedule(conn)?.into_iter().collect();
    out.extend(conn.query_map(
        "SELECT a.name, a.enforce_from, a.grace_days FROM accounts a
           JOIN memberships m ON m.account_id = a.id
          WHERE m.user_id = ?1 AND a.enforce_2fa = 1 ORDER BY a.name",
        params![user_id],
        |r| {
            Ok(Schedule {
                name: r.get(0)?,
                from: r.get(1)?,
                grace_days: r.get(2)?,
            })
        },
    )?);
    Ok(out)
}

/// A user's requirement now.
pub fn requirement(conn: &Conn, user_id: i64, now: i64) -> StoreResult<Requirement> {
    Ok(evaluate(&schedules(conn, user_id)?, now))
}

/// How many of a deadline's skips the user has used.
pub fn skips_used(conn: &Conn, user_id: i64, deadline_at: i64) -> StoreResult<u32> {
    conn.query_row(
        "SELECT COUNT(*) FROM grace_skips WHERE user_id = ?1 AND deadline_at = ?2",
        params![user_id, deadline_at],
        |r| r.get(0),
    )
}

/// The deadline a person without 2FA is shown, with their skips counted.
pub fn deadline_view(
    conn: &Conn,
    user_id: i64,
    requirement: &Requirement,
    now: i64,
) -> StoreResult<Option<TwoFactorDeadline>> {
    match &requirement.deadline {
        Some(d) => {
            let used = if now >= d.at {
                skips_used(conn, user_id, d.at)?
            } else {
                0
            };
            Ok(Some(d.view(now, used)))
        }
        None => Ok(None),
    }
}

/// Sets the platform's schedule: mandatory from `from`, or now (`None`).
pub fn set_platform(conn: &Conn, now: i64, from: Option<i64>, grace_days: u32) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO platform_policy (id, mandatory_from, grace_days, set_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET mandatory_from = ?1, grace_days = ?2, set_at = ?3",
        params![from, grace_days, now],
    )?;
    Ok(())
}

/// Cancels the platform's schedule; returns whether there was one.
pub fn cancel_platform(conn: &Conn) -> StoreResult<bool> {
    Ok(conn.execute("DELETE FROM platform_policy WHERE id = 1", params![])? > 0)
}

/// A date as people read it in messages: `2027-03-01 09:00 UTC`.
pub fn date(at: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(at) {
        Ok(t) => format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()),
        Err(_) => at.to_string(),
    }
}

/// Parses `YYYY-MM-DD` as midnight UTC of that day.
pub fn parse_day(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a date like 2027-03-01");
    let mut parts = text.trim().splitn(3, '-');
    let mut next = || parts.next().ok_or_else(bad);
    let year: i32 = next()?.parse().map_err(|_| bad())?;
    let month: u8 = next()?.parse().map_err(|_| bad())?;
    let day: u8 = next()?.parse().map_err(|_| bad())?;
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    Ok(date.midnight().assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, from: Option<i64>, grace_days: u32) -> Schedule {
        Schedule {
            name: name.into(),
            from,
            grace_days,
        }
    }

    const T: i64 = 1_800_000_000;

    #[test]
    fn nothing_scheduled_is_optional() {
        assert_eq!(evaluate(&[], T), Requirement::default());
        assert!(!Requirement::default().setup_only(false, T, None));
    }

    #[test]
    fn an_immediate_schedule_wins_over_any_date_and_has_no_grace() {
        let r = evaluate(&[s(SERVER_POLICY, Some(T + DAY), 7), s("Acme", None, 0)], T);
        assert_eq!(r.required_by, vec!["Acme".to_string()]);
        assert_eq!(r.deadline, None);
        assert!(r.setup_only(false, T, Some(T)));
        assert!(!r.setup_only(true, T, None));
    }

    #[test]
    fn the_earliest_date_wins_and_names_every_schedule_on_it() {
        let r = evaluate(
            &[
                s(SERVER_POLICY, Some(T + 10 * DAY), 7),
                s("Acme", Some(T + 5 * DAY), 3),
                s("Beta", Some(T + 5 * DAY), 5),
            ],
            T,
        );
        assert!(r.required_by.is_empty());
        let d = r.deadline.clone().unwrap();
        assert_eq!(d.at, T + 5 * DAY);
        assert_eq!(d.set_by, vec!["Acme".to_string(), "Beta".to_string()]);
        assert_eq!(d.grace_days, 3);
        assert_eq!(d.view(T, 0).days_left, 5);
        assert_eq!(d.view(T + 1, 0).days_left, 5);
        assert_eq!(d.view(T + 4 * DAY, 0).days_left, 1);
        assert_eq!(d.view(T, 0).skips_left, None);
        assert!(!r.setup_only(false, T, None));
    }

    #[test]
    fn grace_never_outlasts_a_later_schedule_without_grace() {
        let r = evaluate(
            &[s("Acme", Some(T), 7), s("Beta", Some(T + 2 * DAY), 0)],
            T + 1,
        );
        let d = r.deadline.unwrap();
        assert_eq!(d.grace_days, 2);
    }

    #[test]
    fn in_grace_only_a_session_that_skipped_this_deadline_is_full() {
        let r = evaluate(&[s("Acme", Some(T), 2)], T + 10);
        assert_eq!(r.required_by, vec!["Acme".to_string()]);
        assert!(r.setup_only(false, T + 10, None));
        assert!(!r.setup_only(false, T + 10, Some(T)));
        assert!(r.setup_only(false, T + 10, Some(T - DAY)));
        let d = r.deadline.clone().unwrap();
        assert_eq!(d.view(T + 10, 1).skips_left, Some(1));
        // The grace period ends after 2 days: skipped sessions too.
        let later = T + 2 * DAY;
        let r = evaluate(&[s("Acme", Some(T), 2)], later);
        assert!(r.setup_only(false, later, Some(T)));
        assert_eq!(d.view(later, 0).skips_left, Some(0));
    }

    #[test]
    fn days_parse_as_midnight_utc() {
        assert_eq!(parse_day("2027-03-01").unwrap(), 1_803_859_200);
        assert!(parse_day("2027-02-30").is_err());
        assert!(parse_day("tomorrow").is_err());
        assert_eq!(date(1_803_859_200), "2027-03-01 00:00 UTC");
    }
}
