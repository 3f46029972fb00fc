//! Rate limits with lockout and backoff, per user and per client address.
//!
//! Counters are consecutive failures. Past a threshold each further failure
//! locks the key for a doubling time (30 s, 60 s, ... capped at 15 min);
//! while locked, attempts are refused without being checked, so a guesser
//! gets at most one try per lock period. A user key that reaches 100
//! consecutive failures is locked until an administrator unlocks it (NIST SP
//! 800-63B 5.2.2). Address keys never lock for good, since many people can
//! share one address, and forget failures after a quiet hour.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{ApiError, ApiResult};

/// What is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Wrong passwords, keyed by the lower-cased email (also for unknown
    /// emails, so probing them is throttled too).
    Password,
    /// Wrong TOTP, SMS or recovery codes, keyed by user id.
    SecondFactor,
    /// Any failed credential from one client address.
    Address,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Password => "password",
            Scope::SecondFactor => "second_factor",
            Scope::Address => "address",
        }
    }

    fn threshold(self) -> i64 {
        match self {
            Scope::Password | Scope::SecondFactor => 5,
            Scope::Address => 20,
        }
    }
}

/// After this many consecutive failures a user is locked until unlocked.
pub const HARD_LIMIT: i64 = 100;
const FIRST_BACKOFF: i64 = 30;
const MAX_BACKOFF: i64 = 15 * 60;
const ADDRESS_FORGET_AFTER: i64 = 3600;
/// `locked_until` of a hard lock.
const FOREVER: i64 = i64::MAX;

/// Refuses the attempt when the key is locked.
pub fn check(conn: &Connection, scope: Scope, key: &str, now: i64) -> ApiResult<()> {
    let locked_until: Option<i64> = conn
        .query_row(
            "SELECT locked_until FROM throttles WHERE scope = ?1 AND key = ?2",
            params![scope.as_str(), key],
            |r| r.get(0),
        )
        .optional()?;
    match locked_until {
        Some(FOREVER) => Err(ApiError::Forbidden(
            "this account is locked after too many failed attempts; an administrator must unlock it"
                .into(),
        )),
        Some(until) if until > now => Err(ApiError::RateLimited {
            retry_after: until - now,
        }),
        _ => Ok(()),
    }
}

/// Counts a failure and locks when over the threshold. Returns true when
/// this failure started a lock.
pub fn failure(conn: &Connection, scope: Scope, key: &str, now: i64) -> rusqlite::Result<bool> {
    let previous: Option<(i64, Option<i64>)> = conn
        .query_row(
            "SELECT failures, last_failure_at FROM throttles WHERE scope = ?1 AND key = ?2",
            params![scope.as_str(), key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let mut failures = previous.map(|p| p.0).unwrap_or(0);
    if scope == Scope::Address {
        if let Some((_, Some(last))) = previous {
            if now - last > ADDRESS_FORGET_AFTER {
                failures = 0;
            }
        }
    }
    failures += 1;
    let threshold = scope.threshold();
    let locked_until = if scope != Scope::Address && failures >= HARD_LIMIT {
        FOREVER
    } else if failures >= threshold {
        let doublings = (failures - threshold).min(10) as u32;
        now + (FIRST_BACKOFF.saturating_mul(1 << doublings)).min(MAX_BACKOFF)
    } else {
        0
    };
    conn.execute(
        "INSERT INTO throttles (scope, key, failures, locked_until, last_failure_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (scope, key) DO UPDATE SET failures = ?3, locked_until = ?4, last_failure_at = ?5",
        params![scope.as_str(), key, failures, locked_until, now],
    )?;
    Ok(locked_until != 0)
}

/// A success ends the run of consecutive failures.
pub fn success(conn: &Connection, scope: Scope, key: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM throttles WHERE scope = ?1 AND key = ?2",
        params![scope.as_str(), key],
    )?;
    Ok(())
}

/// Admin unlock: clears the user's password and second-factor counters.
pub fn unlock_user(conn: &Connection, email: &str, user_id: i64) -> rusqlite::Result<usize> {
    let a = success_count(conn, Scope::Password, &email.to_lowercase())?;
    let b = success_count(conn, Scope::SecondFactor, &user_id.to_string())?;
    Ok(a + b)
}

fn success_count(conn: &Connection, scope: Scope, key: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM throttles WHERE scope = ?1 AND key = ?2",
        params![scope.as_str(), key],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::db::open(&dir.path().join("t.sqlite3")).unwrap();
        std::mem::forget(dir);
        c
    }

    #[test]
    fn locks_after_threshold_with_doubling_backoff() {
        let c = conn();
        for _ in 0..4 {
            assert!(!failure(&c, Scope::Password, "a", 1000).unwrap());
            check(&c, Scope::Password, "a", 1000).unwrap();
        }
        assert!(failure(&c, Scope::Password, "a", 1000).unwrap());
        match check(&c, Scope::Password, "a", 1000) {
            Err(ApiError::RateLimited { retry_after }) => assert_eq!(retry_after, 30),
            other => panic!("{other:?}"),
        }
        check(&c, Scope::Password, "a", 1030).unwrap();
        failure(&c, Scope::Password, "a", 1030).unwrap();
        match check(&c, Scope::Password, "a", 1030) {
            Err(ApiError::RateLimited { retry_after }) => assert_eq!(retry_after, 60),
            other => panic!("{other:?}"),
        }
        success(&c, Scope::Password, "a").unwrap();
        check(&c, Scope::Password, "a", 1030).unwrap();
    }

    #[test]
    fn hundred_failures_lock_a_user_for_good() {
        let c = conn();
        let mut now = 0;
        for _ in 0..HARD_LIMIT {
            failure(&c, Scope::SecondFactor, "7", now).unwrap();
            now += MAX_BACKOFF + 1;
        }
        assert!(matches!(
            check(&c, Scope::SecondFactor, "7", now + 10 * 86_400),
            Err(ApiError::Forbidden(_))
        ));
        // Addresses are never locked for good.
        let mut now = 0;
        for _ in 0..HARD_LIMIT {
            failure(&c, Scope::Address, "1.2.3.4", now).unwrap();
            now += 60;
        }
        check(&c, Scope::Address, "1.2.3.4", now + MAX_BACKOFF + 1).unwrap();
    }
}
