//! The janitor: a periodic pass that deletes rows past their end, so the
//! tables that every sign-in reads stay small, and queues the deadline
//! reminders of scheduled 2FA that have come due (`rollout`).
//!
//! It removes expired sessions, challenges, SMS codes, handoff codes and
//! throttle reservations, throttle rows that no longer change a decision
//! (`throttle::prune_stale`) and SMS send records older than the caps look
//! back. It never touches what a rule still reads: the used-TOTP step
//! (`users.totp_last_step`), recovery codes (used ones included), the audit
//! log, the outbox, trusted devices, a lock still in force or a person's
//! consecutive failures. A row is only deleted once the rule that reads it
//! already treats it as dead, a [`GRACE`] later, so deleting it changes no
//! answer but the wording of an "expired" refusal.
//!
//! SQLite reuses the largest rowid when that row is deleted, and a reused
//! id could be mistaken for the old row (a session id is remembered in
//! `users.pending_authorized_session_id`), so the newest row of each table
//! is always kept: ids only ever grow.
//!
//! Several nodes: on SQLite the pass is one closure on the server's one
//! connection, serialised with every request, and another process on the
//! same file waits on the write lock. A PostgreSQL store runs the same
//! deletes in one transaction that first takes
//! `pg_try_advisory_xact_lock(ADVISORY_LOCK_KEY)` and skips the pass when
//! another node holds it. The deletes are idempotent either way; the lock
//! only spares the duplicate work and its lock waits.

use std::time::Duration;

use crate::params;
use crate::store::{Conn, Engine, StoreResult};
use serde::Serialize;

use crate::error::ApiResult;
use crate::rules::{rollout, sms, throttle};
use crate::state::AppState;

/// How long after its end a row is kept, so an answer a moment late still
/// reads "expired" rather than "unknown".
pub const GRACE: i64 = 3600;
/// The pass interval when `--janitor-interval-seconds` is not given.
pub use crate::config::DEFAULT_JANITOR_INTERVAL as DEFAULT_INTERVAL;
/// The key a PostgreSQL store takes with `pg_try_advisory_xact_lock` so
/// one node sweeps at a time ("dialjani"). The reminders do not depend on
/// it: their unique key makes each one exactly once anyway.
pub const ADVISORY_LOCK_KEY: i64 = 0x6469_616c_6a61_6e69;

/// Rows one pass removed, per table.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Swept {
    pub sessions: usize,
    pub challenges: usize,
    pub sms_codes: usize,
    pub handoff_codes: usize,
    pub throttle_reservations: usize,
    pub throttles: usize,
    pub sms_sends: usize,
    /// Not a deletion: the deadline reminders this pass queued (issue 14),
    /// each once per person, deadline and kind (`rollout`).
    pub deadline_notices: usize,
}

impl Swept {
    pub fn total(&self) -> usize {
        self.sessions
            + self.challenges
            + self.sms_codes
            + self.handoff_codes
            + self.throttle_reservations
            + self.throttles
            + self.sms_sends
            + self.deadline_notices
    }
}

/// Deletes rows of `table` whose `expires_at` ended more than [`GRACE`]
/// before `now`, except the newest row. `table` is one of the fixed names
/// below, never input.
fn delete_expired(conn: &Conn, table: &'static str, now: i64) -> StoreResult<usize> {
    conn.execute(
        &format!(
            "DELETE FROM {table}
              WHERE expires_at < ?1
                AND id < (SELECT MAX(id) FROM {table})"
        ),
        params![now - GRACE],
    )
}

/// One pass, in one transaction. On PostgreSQL the pass first tries a
/// transaction-scoped advisory lock: when another node holds it, that node
/// is sweeping right now and this pass does nothing (the lock ends with
/// the transaction, so a node killed mid-pass does not keep it).
pub fn sweep(conn: &mut Conn, now: i64) -> StoreResult<Swept> {
    let tx = conn.transaction()?;
    if tx.engine() == Engine::Postgres {
        let ours: bool = tx.query_row(
            "SELECT pg_try_advisory_xact_lock(?1)",
            params![ADVISORY_LOCK_KEY],
            |r| r.get(0),
        )?;
        if !ours {
            return Ok(Swept::default());
        }
    }
    // Handoff codes first: they cascade from their session anyway.
    let swept = Swept {
        handoff_codes: delete_expired(&tx, "handoff_codes", now)?,
        sessions: delete_expired(&tx, "sessions", now)?,
        challenges: delete_expired(&tx, "challenges", now)?,
        sms_codes: delete_expired(&tx, "sms_codes", now)?,
        throttle_reservations: throttle::prune_reservations(&tx, now)?,
        throttles: throttle::prune_stale(&tx, now)?,
        sms_sends: sms::prune_send_records(&tx, now)?,
        deadline_notices: rollout::send_due_notices(&tx, now)?,
    };
    tx.commit()?;
    Ok(swept)
}

/// One pass on the server's connection at the server's time.
pub async fn run_once(state: &AppState) -> ApiResult<Swept> {
    let now = state.clock.now();
    state.db.call(move |conn| Ok(sweep(conn, now)?)).await
}

/// Runs a pass every `interval` until the server stops; a failed pass is
/// logged and the next one tries again.
pub async fn run(state: AppState, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run_once(&state).await {
            Ok(swept) if swept.total() > 0 => tracing::info!(?swept, "janitor pass"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "janitor pass failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db;

    fn count(conn: &Conn, sql: &str) -> i64 {
        conn.query_row(sql, params![], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_pass_removes_what_ended_keeps_the_newest_id_and_the_locks_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("j.sqlite3")).unwrap();
        let now = 10_000_000;
        conn.execute_batch(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'a@x', 'h', 0);",
        )
        .unwrap();
        for (id, expires_at) in [(1, now - GRACE - 1), (2, now - GRACE - 1), (3, now - 10)] {
            conn.execute(
                "INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at)
                 VALUES (?1, 1, ?2, 0, ?3)",
                params![id, vec![id as u8], expires_at],
            )
            .unwrap();
        }
        // The newest challenge ended too, but its id is the table's largest.
        for (id, expires_at) in [(1, now - GRACE - 1), (2, now - GRACE - 1)] {
            conn.execute(
                "INSERT INTO challenges (id, user_id, token_hash, created_at, expires_at)
                 VALUES (?1, 1, ?2, 0, ?3)",
                params![id, vec![id as u8], expires_at],
            )
            .unwrap();
        }
        let rows = [
            ("second_factor", "1", 3, 0, now - 86_400 * 30),
            ("second_factor", "2", 100, i64::MAX, now - 86_400 * 30),
            ("password", "b@x", 6, now + 30, now),
            ("address", "10.0.0.1", 4, 0, now - 3601),
            ("address", "10.0.0.2", 4, 0, now - 60),
        ];
        for (scope, key, failures, locked_until, last) in rows {
            conn.execute(
                "INSERT INTO throttles (scope, key, failures, locked_until, last_failure_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![scope, key, failures, locked_until, last],
            )
            .unwrap();
        }
        let swept = sweep(&mut conn, now).unwrap();
        // Two ended more than GRACE ago; the third ended seconds ago.
        assert_eq!(swept.sessions, 2, "{swept:?}");
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM sessions WHERE id = 3"),
            1
        );
        assert_eq!(swept.challenges, 1, "{swept:?}");
        assert_eq!(swept.throttles, 1, "{swept:?}");
        assert_eq!(count(&conn, "SELECT MAX(id) FROM challenges"), 2);
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM throttles WHERE key = '10.0.0.1'"
            ),
            0
        );
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM throttles"), 4);
        // A second pass finds nothing more.
        assert_eq!(sweep(&mut conn, now).unwrap().total(), 0);
    }
}
