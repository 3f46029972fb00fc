//! `/v1/ready`: whether this node can serve, as a load balancer asks it.
//!
//! `/v1/health` only says the process answers. Ready also needs the two
//! things every sign-in uses: the database must take a write lock within a
//! short wait (a stuck writer or a lost disk fails every sign-in) and the
//! server key must open what is sealed with it (a node given another
//! node's database but not its key would refuse every authenticator code).
//!
//! On SQLite the database check is `BEGIN IMMEDIATE` with a short busy
//! wait; a PostgreSQL store checks out a pooled connection and runs
//! `SELECT 1` in its place.

use std::time::Duration;

use crate::store::{Conn, OptionalExtension, StoreResult};

use crate::secret_box::SecretBox;
use crate::state::AppState;

/// How long the write lock may take before the database counts as down.
const DB_WAIT: Duration = Duration::from_millis(500);
/// The whole check, waiting for the shared connection included.
const CHECK_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("database: {0}")]
    Database(String),
    #[error("server key: {0}")]
    ServerKey(String),
}

/// Runs both checks; the first failure names itself.
pub async fn check(state: &AppState) -> Result<(), NotReady> {
    let secrets = state.secrets.clone();
    let run = state.db.call(move |conn| Ok(check_conn(conn, &secrets)));
    match tokio::time::timeout(CHECK_WAIT, run).await {
        Err(_) => Err(NotReady::Database(format!(
            "no answer within {} s",
            CHECK_WAIT.as_secs()
        ))),
        Ok(Err(e)) => Err(NotReady::Database(e.to_string())),
        Ok(Ok(result)) => result,
    }
}

fn check_conn(conn: &mut Conn, secrets: &SecretBox) -> Result<(), NotReady> {
    let sealed = database_answers(conn).map_err(|e| NotReady::Database(e.to_string()))?;
    match sealed {
        // A stored secret is the real test: it was sealed by the key this
        // database was used with.
        Some((user_id, blob)) => secrets
            .open(&blob, &format!("totp:{user_id}"))
            .map(|_| ())
            .map_err(|_| {
                NotReady::ServerKey(
                    "it does not open the TOTP secrets stored in this database \
                     (another node's key, or a key file restored from the wrong backup?)"
                        .into(),
                )
            }),
        None => secrets
            .probe()
            .map_err(|e| NotReady::ServerKey(e.to_string())),
    }
}

/// Takes the write lock briefly and reads one sealed TOTP secret, if any.
fn database_answers(conn: &mut Conn) -> StoreResult<Option<(i64, Vec<u8>)>> {
    conn.set_busy_timeout(DB_WAIT)?;
    let result = (|| {
        let tx = conn.transaction_immediate()?;
        let row = tx
            .query_row(
                "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL LIMIT 1",
                crate::params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        tx.rollback()?;
        Ok(row)
    })();
    conn.set_busy_timeout(crate::store::db::BUSY_WAIT)?;
    result
}
