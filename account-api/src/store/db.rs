//! The SQLite store: opening, pragmas, migrations, and the one connection
//! the server shares.
//!
//! One connection behind a mutex serialises every write, which is what makes
//! the single-use rules (recovery codes, TOTP steps, SMS codes, challenges,
//! handoff codes) atomic without relying on SQLite's busy handling. Reads
//! from the admin CLI use their own connection; WAL lets them run while the
//! server writes.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

use crate::error::{ApiError, ApiResult};

/// Schema versions, oldest first. Never edit a released entry: add one.
const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- 'authenticator' | 'sms' | NULL when 2FA is off
    tfa_method TEXT CHECK (tfa_method IN ('authenticator', 'sms')),
    tfa_enabled_at INTEGER,
    -- nonce || ciphertext, sealed with the server key
    totp_secret BLOB,
    -- highest TOTP step accepted, so a code works once (RFC 6238 5.2)
    totp_last_step INTEGER,
    -- verified E.164 number, kept across method switches (R5)
    phone TEXT,
    pending_totp_secret BLOB,
    pending_phone TEXT
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    enforce_2fa INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE platform_lines (
    phone TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE trusted_devices (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    label TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX trusted_devices_user ON trusted_devices(user_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- when this session last proved the password (re-auth window)
    password_at INTEGER,
    trusted_device_id INTEGER REFERENCES trusted_devices(id) ON DELETE SET NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE challenges (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    consumed_at INTEGER
);

CREATE TABLE sms_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- 'sign_in' (answers any open challenge of the user) or 'setup'
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'setup')),
    phone TEXT NOT NULL,
    code_mac BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    consumed_at INTEGER
);
CREATE INDEX sms_codes_user ON sms_codes(user_id, purpose);

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

CREATE TABLE handoff_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL UNIQUE,
    source_session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

-- consecutive failures per scope and key, for lockout with backoff
CREATE TABLE throttles (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    last_failure_at INTEGER,
    PRIMARY KEY (scope, key)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    user_id INTEGER,
    event TEXT NOT NULL,
    detail TEXT,
    client_addr TEXT
);

-- SMS (outbox sender) and change notifications, newest last
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('sms', 'notification')),
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    user_id INTEGER
);
"#,
    ),
    // Lockout races (issue 9, item 3): attempts reserved before a password
    // is checked, and password failures never lock for good.
    M::up(
        r#"
CREATE TABLE throttle_reservations (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX throttle_reservations_key ON throttle_reservations(scope, key);
-- Lift permanent password locks made under the old rule; the count stays,
-- so the next failure locks for the capped backoff.
UPDATE throttles SET locked_until = 0
 WHERE scope = 'password' AND locked_until = 9223372036854775807;
"#,
    ),
    // SMS caps (issue 9, item 4): one row per text message the server tried
    // to send, failed ones included. Disable and re-setup never delete these
    // (unlike sms_codes), and a deleted user keeps counting (no cascade);
    // rows older than a day are pruned when the next code is issued.
    M::up(
        r#"
CREATE TABLE sms_sends (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    phone TEXT NOT NULL,
    -- country calling code, the unit of the per-country cap
    country_code INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    failed_at INTEGER
);
CREATE INDEX sms_sends_time ON sms_sends(created_at);
CREATE INDEX sms_sends_user ON sms_sends(user_id, created_at);
CREATE INDEX sms_sends_phone ON sms_sends(phone, created_at);
CREATE INDEX sms_sends_country ON sms_sends(country_code, created_at);
"#,
    ),
    // Sessions (issue 9, item 5): a session family's absolute end, fixed at
    // the sign-in that proved the password; sessions handed off from it
    // inherit it. Existing sessions become their own family.
    M::up(
        r#"
ALTER TABLE sessions ADD COLUMN family_expires_at INTEGER;
UPDATE sessions SET family_expires_at = expires_at;
"#,
    ),
    // 2FA method changes (issue 9, item 6): the session whose request
    // carried the password when the pending secret or number was made.
    M::up(
        r#"
ALTER TABLE users ADD COLUMN pending_authorized_session_id INTEGER;
"#,
    ),
    // Web app and extension sync (issue 15): the fingerprint of the user's
    // current recovery-code batch, so a client keeping copies learns they
    // were replaced. Batches issued before stay without one (NULL).
    M::up(
        r#"
ALTER TABLE users ADD COLUMN recovery_batch TEXT;
"#,
    ),
];

/// How long a statement waits for another process's write lock.
pub const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens (creating if needed) and migrates the database file.
pub fn open(path: &Path) -> Result<Connection, DbOpenError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbOpenError::Io(dir.display().to_string(), e))?;
        }
    }
    let mut conn = Connection::open(path)?;
    restrict_to_owner(path);
    conn.busy_timeout(BUSY_WAIT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
    Ok(conn)
}

/// The file holds password hashes and sealed secrets: owner-only, like the
/// key beside it. Best effort; a failure here is not worth refusing to start.
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[derive(Debug, thiserror::Error)]
pub enum DbOpenError {
    #[error("cannot create the folder {0}: {1}")]
    Io(String, std::io::Error),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
}

/// The server's shared connection. `call` runs a closure on a blocking
/// thread with exclusive access, so one closure is one atomic unit.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn new(conn: Connection) -> Db {
        Db {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    pub async fn call<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = lock(&conn)?;
            f(&mut guard)
        })
        .await
        .map_err(|e| {
            if e.is_panic() {
                ApiError::internal("a database closure panicked; its transaction was rolled back")
            } else {
                ApiError::internal(e)
            }
        })?
    }
}

/// Takes the connection even when a closure panicked while holding it: a
/// poisoned mutex would otherwise answer 500 to every later request until a
/// restart. What a panic can leave behind is an open transaction (a
/// `rusqlite::Transaction` rolls back as it unwinds, a bare `BEGIN` does
/// not), so any transaction still open is rolled back before the next use.
fn lock(conn: &Mutex<Connection>) -> ApiResult<MutexGuard<'_, Connection>> {
    let guard = match conn.lock() {
        Ok(guard) => guard,
        Err(poisoned) => {
            tracing::error!("a database closure panicked; recovering the connection");
            conn.clear_poison();
            poisoned.into_inner()
        }
    };
    if !guard.is_autocommit() {
        tracing::warn!("rolling back a transaction left open by an earlier request");
        guard.execute_batch("ROLLBACK")?;
    }
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_a_closure_leaves_the_connection_usable() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::new(open(&dir.path().join("p.sqlite3")).unwrap());
        let r: ApiResult<()> = db
            .call(|conn| {
                conn.execute_batch(
                    "BEGIN; INSERT INTO accounts (name, created_at) VALUES ('half done', 0);",
                )?;
                panic!("a bug in a handler");
            })
            .await;
        assert!(matches!(r, Err(ApiError::Internal(_))));
        assert!(db.conn.is_poisoned());
        // The next call works, and the half-done write was rolled back.
        let n: i64 = db
            .call(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 0);
        assert!(!db.conn.is_poisoned());
    }

    #[test]
    fn migrations_are_valid() {
        Migrations::from_slice(MIGRATIONS).validate().unwrap();
    }

    #[test]
    fn opens_twice_and_uses_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/api.sqlite3");
        drop(open(&path).unwrap());
        let conn = open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
