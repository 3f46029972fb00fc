//! Rate limits with lockout and backoff, per user and per client address.
//!
//! Counters are consecutive failures. Past a threshold each further failure
//! locks the key for a doubling time (30 s, 60 s, ... capped at 15 min);
//! while locked, attempts are refused without being checked, so a guesser
//! gets at most one try per lock period.
//!
//! Only second-factor failures can lock a user for good: 100 consecutive
//! ones (NIST SP 800-63B 5.2.2; whoever makes them already has the
//! password). Password failures only ever lock for a while, because anyone
//! who knows an email address can make them: a permanent password lock
//! would let any stranger shut any person out. Address keys never lock for
//! good either, since many people can share one address, and forget
//! failures after a quiet hour.
//!
//! A password check costs an Argon2 run outside the database lock, so
//! "check the lock, hash, count the failure" cannot be one closure. An
//! attempt therefore first *reserves* a slot, atomically with the lock
//! check ([`reserve`]): a key may have as many attempts in flight as it has
//! failures left before its next lock (threshold minus failures; one once
//! past the threshold). Parallel requests beyond that are refused
//! unchecked. The verdict settles the reservation
//! ([`check_password_then`]): a failure is counted, a success clears the
//! count. Reservations expire
//! after [`RESERVATION_TTL`], so a crash between the two cannot block a key.

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreResult};

use crate::client_addr;
use crate::error::{ApiError, ApiResult};
use crate::password::{self, PasswordCost};
use crate::rules::audit::{self, Event};
use crate::store::db::Db;

/// What is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Wrong passwords, keyed by the lower-cased email (also for unknown
    /// emails, so probing them is throttled too).
    Password,
    /// Wrong TOTP, SMS or recovery codes, keyed by user id.
    SecondFactor,
    /// Any failed credential from one client address (an IPv6 client by
    /// its /64, see `client_addr::throttle_key`).
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

    /// Whether enough consecutive failures lock this scope until an
    /// administrator unlocks it.
    fn locks_for_good(self) -> bool {
        self == Scope::SecondFactor
    }

    /// The key as stored: addresses by their throttle key.
    fn key(self, key: &str) -> String {
        match self {
            Scope::Address => client_addr::throttle_key(key),
            Scope::Password | Scope::SecondFactor => key.to_string(),
        }
    }
}

/// After this many consecutive second-factor failures a user is locked
/// until unlocked.
pub const HARD_LIMIT: i64 = 100;
const FIRST_BACKOFF: i64 = 30;
/// The longest timed lock.
pub const MAX_BACKOFF: i64 = 15 * 60;
const ADDRESS_FORGET_AFTER: i64 = 3600;
/// How long an unsettled reservation holds its slot. A settled one is gone
/// within milliseconds; this only matters when the server died mid-check.
pub const RESERVATION_TTL: i64 = 60;
/// Retry-After for a request refused because the allowance is in flight:
/// by then those attempts have settled and the lock (if any) is known.
const IN_FLIGHT_RETRY_AFTER: i64 = 1;
/// `locked_until` of a hard lock.
const FOREVER: i64 = i64::MAX;

/// A key's row: consecutive failures, lock end, last failure.
fn row(conn: &Conn, scope: Scope, key: &str) -> StoreResult<Option<(i64, i64, Option<i64>)>> {
    conn.query_row(
        "SELECT failures, locked_until, last_failure_at FROM throttles WHERE scope = ?1 AND key = ?2",
        params![scope.as_str(), key],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}

fn refuse_if_locked(locked_until: i64, now: i64) -> ApiResult<()> {
    match locked_until {
        FOREVER => Err(ApiError::Forbidden(
            "this account is locked after too many failed attempts; an administrator must unlock it"
                .into(),
        )),
        until if until > now => Err(ApiError::RateLimited {
            retry_after: until - now,
        }),
        _ => Ok(()),
    }
}

/// Failures that still count at `now`: an address forgets after a quiet hour.
fn current_failures(scope: Scope, failures: i64, last_failure_at: Option<i64>, now: i64) -> i64 {
    match (scope, last_failure_at) {
        (Scope::Address, Some(last)) if now - last > ADDRESS_FORGET_AFTER => 0,
        _ => failures,
    }
}

/// Refuses the attempt when the key is locked.
pub fn check(conn: &Conn, scope: Scope, key: &str, now: i64) -> ApiResult<()> {
    match row(conn, scope, &scope.key(key))? {
        Some((_, locked_until, _)) => refuse_if_locked(locked_until, now),
        None => Ok(()),
    }
}

/// [`check`] for two keys in one statement (a verification checks the user
/// and the address every time). Returns whether the first key has a row:
/// a success after it then knows whether there is a run of failures to
/// end, without a DELETE that would find nothing.
pub fn check_both(
    conn: &Conn,
    first: (Scope, &str),
    second: (Scope, &str),
    now: i64,
) -> ApiResult<bool> {
    let (k1, k2) = (first.0.key(first.1), second.0.key(second.1));
    let rows: Vec<(i64, i64)> = conn.query_map(
        "SELECT CAST(1 AS BIGINT), locked_until FROM throttles WHERE scope = ?1 AND key = ?2
         UNION ALL
         SELECT CAST(2 AS BIGINT), locked_until FROM throttles WHERE scope = ?3 AND key = ?4",
        params![first.0.as_str(), k1, second.0.as_str(), k2],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let locked_until = |which: i64| rows.iter().find(|r| r.0 == which).map(|r| r.1);
    let first_row = locked_until(1);
    if let Some(until) = first_row {
        refuse_if_locked(until, now)?;
    }
    if let Some(until) = locked_until(2) {
        refuse_if_locked(until, now)?;
    }
    Ok(first_row.is_some())
}

/// Counts a failure and locks when over the threshold. Returns true when
/// this failure started a lock.
pub fn failure(conn: &Conn, scope: Scope, key: &str, now: i64) -> StoreResult<bool> {
    let key = scope.key(key);
    let previous = row(conn, scope, &key)?;
    let failures = previous
        .map(|(f, _, last)| current_failures(scope, f, last, now))
        .unwrap_or(0)
        + 1;
    let threshold = scope.threshold();
    let locked_until = if scope.locks_for_good() && failures >= HARD_LIMIT {
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
    if locked_until != 0 {
        let scope = scope.as_str();
        conn.after_commit(move || crate::telemetry::lockout(scope));
    }
    Ok(locked_until != 0)
}

/// A success ends the run of consecutive failures.
pub fn success(conn: &Conn, scope: Scope, key: &str) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM throttles WHERE scope = ?1 AND key = ?2",
        params![scope.as_str(), scope.key(key)],
    )?;
    Ok(())
}

/// Slots taken by [`reserve`]; give them back with [`release`] (or let them
/// expire).
#[derive(Debug)]
#[must_use = "a reservation holds an attempt until it is settled"]
pub struct Reservation {
    ids: Vec<i64>,
}

/// Checks every key and, only if none refuses, reserves one attempt on
/// each, in one transaction. Refuses with the lock (`429` with the time
/// left, or `403` for a hard lock) or, when the key's allowance is all in
/// flight, with `429` and a short Retry-After.
///
/// On PostgreSQL it runs READ COMMITTED ([`Db::call_read_committed`]):
/// it first takes each key's advisory lock, so reservations of one key
/// run one after another and each sees the reservations committed before
/// it; the lock and count of a key are then read in one statement, one
/// snapshot, so a verdict settled in between (a failure counted and its
/// reservation released together) is seen whole or not at all.
pub fn reserve(conn: &mut Conn, keys: &[(Scope, &str)], now: i64) -> ApiResult<Reservation> {
    let tx = conn.transaction_immediate()?;
    let keys: Vec<(Scope, String)> = keys.iter().map(|(s, k)| (*s, s.key(k))).collect();
    let lock_ids: Vec<i64> = keys
        .iter()
        .map(|(scope, key)| lock_id(*scope, key))
        .collect();
    tx.lock_for_transaction(&lock_ids)?;
    for (scope, key) in &keys {
        // Expired reservations of this key only: a sweep of every key would
        // make reservations of different keys wait for each other (the
        // janitor sweeps the rest, `prune_reservations`).
        tx.execute(
            "DELETE FROM throttle_reservations WHERE scope = ?1 AND key = ?2 AND expires_at <= ?3",
            params![scope.as_str(), key, now],
        )?;
        let (in_flight, failures, locked_until, last): (
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        ) = tx.query_row(
            "SELECT (SELECT COUNT(*) FROM throttle_reservations WHERE scope = ?1 AND key = ?2),
                        t.failures, t.locked_until, t.last_failure_at
                   FROM (SELECT 1) AS one
                   LEFT JOIN throttles t ON t.scope = ?1 AND t.key = ?2",
            params![scope.as_str(), key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        refuse_if_locked(locked_until.unwrap_or(0), now)?;
        let failures = current_failures(*scope, failures.unwrap_or(0), last, now);
        let allowance = (scope.threshold() - failures).max(1);
        if in_flight >= allowance {
            return Err(ApiError::RateLimited {
                retry_after: IN_FLIGHT_RETRY_AFTER,
            });
        }
    }
    let mut ids = Vec::with_capacity(keys.len());
    for (scope, key) in &keys {
        ids.push(tx.query_row(
            "INSERT INTO throttle_reservations (scope, key, expires_at) VALUES (?1, ?2, ?3)
             RETURNING id",
            params![scope.as_str(), key, now + RESERVATION_TTL],
            |r| r.get(0),
        )?);
    }
    tx.commit()?;
    Ok(Reservation { ids })
}

/// A key's lock id ([`Conn::lock_for_transaction`]): the same on every
/// node (a digest, not a per-process hash). Two keys that share an id only
/// wait for each other. Public so a test can hold a key's lock from
/// outside the server.
pub fn lock_id(scope: Scope, key: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"dialer-2fa throttle reservation\0")
        .chain_update(scope.as_str().as_bytes())
        .chain_update(b"\0")
        .chain_update(key.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Gives the slots back (the verdict is counted separately).
pub fn release(conn: &Conn, reservation: &Reservation) -> StoreResult<()> {
    for id in &reservation.ids {
        conn.execute(
            "DELETE FROM throttle_reservations WHERE id = ?1",
            params![id],
        )?;
    }
    Ok(())
}

/// Whose password is being checked, for counting and the audit log.
#[derive(Debug, Clone)]
pub struct PasswordAttempt {
    /// The lower-cased email (the password scope's key).
    pub email_key: String,
    pub addr: String,
    /// None for an email without an account.
    pub user_id: Option<i64>,
    pub now: i64,
}

impl PasswordAttempt {
    /// The keys a password attempt reserves.
    pub fn keys(&self) -> [(Scope, &str); 2] {
        [
            (Scope::Password, self.email_key.as_str()),
            (Scope::Address, self.addr.as_str()),
        ]
    }
}

/// Verifies `password` against `stored` (a dummy hash when None) under a
/// reservation from [`reserve`], and settles it: a wrong password is
/// counted and audited, a right one clears the password count, an
/// unchecked one (Argon2 busy, internal error) only frees the slots.
/// Then, only for a right password, runs `then` in the same database call
/// as the settlement: `Some` of its answer, `None` for a wrong password.
///
/// Runs as its own task, so the verdict is counted even when the request
/// that asked is dropped half way (client gone, request timeout): dropping
/// must not be a way to guess without being counted. `then` runs in that
/// task too, after the settlement is committed, and the settlement stays
/// when `then` answers Err, as a separate call's would.
///
/// Why `then`: every call waits for a batch of the SQLite writer, and
/// sign-in made three (reserve, settle, open the challenge). In `make
/// bench-api`'s mixed load, sign-in waited on the writer more than on
/// Argon2 (0.3 ms per check alone on this machine).
pub async fn check_password_then<T, F>(
    db: &Db,
    cost: PasswordCost,
    reservation: Reservation,
    attempt: PasswordAttempt,
    password: String,
    stored: Option<String>,
    then: F,
) -> ApiResult<Option<T>>
where
    T: Send + 'static,
    F: Fn(&mut Conn) -> ApiResult<T> + Send + 'static,
{
    let db = db.clone();
    let task = tokio::spawn(async move {
        let verdict = password::verify(cost, password, stored).await;
        let settled = match &verdict {
            Ok(ok) => Some(*ok),
            Err(_) => None,
        };
        let followed = db
            .call(move |conn| {
                let tx = conn.transaction()?;
                release(&tx, &reservation)?;
                match settled {
                    Some(true) => success(&tx, Scope::Password, &attempt.email_key)?,
                    Some(false) => record_password_failure(
                        &tx,
                        attempt.now,
                        attempt.user_id,
                        &attempt.email_key,
                        &attempt.addr,
                    )?,
                    None => {}
                }
                tx.commit()?;
                match settled {
                    Some(true) => then(conn).map(Some),
                    _ => Ok(None),
                }
            })
            .await;
        verdict?;
        followed
    });
    task.await.map_err(ApiError::internal)?
}

/// Counts and audits a wrong password: one `password_failed` row per
/// password actually checked.
pub fn record_password_failure(
    conn: &Conn,
    now: i64,
    user_id: Option<i64>,
    email_key: &str,
    addr: &str,
) -> StoreResult<()> {
    let locked = failure(conn, Scope::Password, email_key, now)?;
    let addr_locked = failure(conn, Scope::Address, addr, now)?;
    audit::record(conn, now, user_id, Event::PasswordFailed, "", Some(addr))?;
    if locked || addr_locked {
        audit::record(conn, now, user_id, Event::LockedOut, "password", Some(addr))?;
    }
    Ok(())
}

/// Deletes the rows that no longer change any decision, for the janitor:
/// an unlocked row with no failures, and an unlocked address row past its
/// quiet hour (which [`current_failures`] already reads as zero). A
/// person's failures keep counting until a success, so their rows stay,
/// as does every lock still in force and every hard lock.
pub fn prune_stale(conn: &Conn, now: i64) -> StoreResult<usize> {
    conn.execute(
        "DELETE FROM throttles
          WHERE locked_until <> ?1 AND locked_until <= ?2
            AND (failures = 0
                 OR (scope = ?3 AND last_failure_at IS NOT NULL AND ?2 - last_failure_at > ?4))",
        params![FOREVER, now, Scope::Address.as_str(), ADDRESS_FORGET_AFTER],
    )
}

/// Deletes reservations past their end (the server died mid-check).
pub fn prune_reservations(conn: &Conn, now: i64) -> StoreResult<usize> {
    conn.execute(
        "DELETE FROM throttle_reservations WHERE expires_at <= ?1",
        params![now],
    )
}

/// Admin unlock: clears the user's password and second-factor counters.
pub fn unlock_user(conn: &Conn, email: &str, user_id: i64) -> StoreResult<usize> {
    let a = success_count(conn, Scope::Password, &email.to_lowercase())?;
    let b = success_count(conn, Scope::SecondFactor, &user_id.to_string())?;
    Ok(a + b)
}

fn success_count(conn: &Conn, scope: Scope, key: &str) -> StoreResult<usize> {
    conn.execute(
        "DELETE FROM throttles WHERE scope = ?1 AND key = ?2",
        params![scope.as_str(), key],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::store::db::open(&dir.path().join("t.sqlite3")).unwrap();
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

    #[test]
    fn password_failures_never_lock_for_good() {
        let c = conn();
        let mut now = 0;
        for _ in 0..3 * HARD_LIMIT {
            failure(&c, Scope::Password, "a@example.com", now).unwrap();
            now += MAX_BACKOFF + 1;
        }
        // Right after the last failure: locked, but only for the capped
        // backoff, and free once it has passed.
        let last = now - (MAX_BACKOFF + 1);
        match check(&c, Scope::Password, "a@example.com", last) {
            Err(ApiError::RateLimited { retry_after }) => assert_eq!(retry_after, MAX_BACKOFF),
            other => panic!("{other:?}"),
        }
        check(&c, Scope::Password, "a@example.com", last + MAX_BACKOFF).unwrap();
    }

    #[test]
    fn reservations_allow_only_the_failures_left_before_the_lock() {
        let mut c = conn();
        let keys = [
            (Scope::Password, "b@example.com"),
            (Scope::Address, "10.0.0.1"),
        ];
        let held: Vec<Reservation> = (0..5).map(|_| reserve(&mut c, &keys, 0).unwrap()).collect();
        // The sixth parallel attempt is refused unchecked, and reserved nothing.
        match reserve(&mut c, &keys, 0) {
            Err(ApiError::RateLimited { retry_after }) => assert_eq!(retry_after, 1),
            other => panic!("{other:?}"),
        }
        let rows: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM throttle_reservations",
                params![],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 10);
        // Two settle as failures: still only three in flight, none free.
        for r in &held[..2] {
            release(&c, r).unwrap();
            failure(&c, Scope::Password, "b@example.com", 0).unwrap();
        }
        assert!(reserve(&mut c, &keys, 0).is_err());
        // A success clears the count: the freed slots are usable again.
        release(&c, &held[2]).unwrap();
        success(&c, Scope::Password, "b@example.com").unwrap();
        let again = reserve(&mut c, &keys, 0).unwrap();
        release(&c, &again).unwrap();
        // Past the threshold and its lock, one attempt at a time.
        for r in &held[3..] {
            release(&c, r).unwrap();
        }
        for _ in 0..5 {
            failure(&c, Scope::Password, "b@example.com", 0).unwrap();
        }
        assert!(matches!(
            reserve(&mut c, &keys, 0),
            Err(ApiError::RateLimited { retry_after: 30 })
        ));
        let one = reserve(&mut c, &keys, 30).unwrap();
        assert!(reserve(&mut c, &keys, 30).is_err());
        release(&c, &one).unwrap();
    }

    #[test]
    fn an_unsettled_reservation_expires() {
        let mut c = conn();
        let keys = [(Scope::Password, "c@example.com")];
        for _ in 0..5 {
            // Never settled, as if the server died mid-check.
            let _ = reserve(&mut c, &keys, 0).unwrap();
        }
        assert!(reserve(&mut c, &keys, RESERVATION_TTL - 1).is_err());
        let r = reserve(&mut c, &keys, RESERVATION_TTL).unwrap();
        release(&c, &r).unwrap();
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        let c = conn();
        for i in 0..20 {
            failure(&c, Scope::Address, &format!("2001:db8:7:7::{i:x}"), 0).unwrap();
        }
        assert!(check(&c, Scope::Address, "2001:db8:7:7:abcd::1", 0).is_err());
        check(&c, Scope::Address, "2001:db8:7:8::1", 0).unwrap();
    }
}
