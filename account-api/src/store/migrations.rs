//! The schema, as one ordered list of versions with the SQL for each
//! engine side by side, so both stores are always at the same version.
//!
//! SQLite tracks the version in `user_version` (rusqlite_migration);
//! PostgreSQL in a `schema_migrations` table, applied under an advisory
//! lock so that several nodes starting at once migrate once (`store::db`).
//! The PostgreSQL spelling differs only in types: BIGINT for INTEGER (ids
//! and Unix seconds), BYTEA for BLOB, identity columns for rowid keys, and
//! CITEXT where SQLite says COLLATE NOCASE.

/// One schema version. Never edit a released entry: add one.
pub struct Migration {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        sqlite: r#"
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
        postgres: r#"
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TABLE users (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email CITEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- 'authenticator' | 'sms' | NULL when 2FA is off
    tfa_method TEXT CHECK (tfa_method IN ('authenticator', 'sms')),
    tfa_enabled_at BIGINT,
    -- nonce || ciphertext, sealed with the server key
    totp_secret BYTEA,
    -- highest TOTP step accepted, so a code works once (RFC 6238 5.2)
    totp_last_step BIGINT,
    -- verified E.164 number, kept across method switches (R5)
    phone TEXT,
    pending_totp_secret BYTEA,
    pending_phone TEXT
);

CREATE TABLE accounts (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name CITEXT NOT NULL UNIQUE,
    enforce_2fa BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE platform_lines (
    phone TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE trusted_devices (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    label TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX trusted_devices_user ON trusted_devices(user_id);

CREATE TABLE sessions (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- when this session last proved the password (re-auth window)
    password_at BIGINT,
    trusted_device_id BIGINT REFERENCES trusted_devices(id) ON DELETE SET NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE challenges (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    consumed_at BIGINT
);

CREATE TABLE sms_codes (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- 'sign_in' (answers any open challenge of the user) or 'setup'
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'setup')),
    phone TEXT NOT NULL,
    code_mac BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    consumed_at BIGINT
);
CREATE INDEX sms_codes_user ON sms_codes(user_id, purpose);

CREATE TABLE recovery_codes (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

CREATE TABLE handoff_codes (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL UNIQUE,
    source_session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- consecutive failures per scope and key, for lockout with backoff
CREATE TABLE throttles (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_failure_at BIGINT,
    PRIMARY KEY (scope, key)
);

CREATE TABLE audit_log (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    user_id BIGINT,
    event TEXT NOT NULL,
    detail TEXT,
    client_addr TEXT
);

-- SMS (outbox sender) and change notifications, newest last
CREATE TABLE outbox (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    created_at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('sms', 'notification')),
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    user_id BIGINT
);
"#,
    },
    // Lockout races (issue 9, item 3): attempts reserved before a password
    // is checked, and password failures never lock for good.
    Migration {
        sqlite: r#"
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
        postgres: r#"
CREATE TABLE throttle_reservations (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX throttle_reservations_key ON throttle_reservations(scope, key);
-- Lift permanent password locks made under the old rule; the count stays,
-- so the next failure locks for the capped backoff.
UPDATE throttles SET locked_until = 0
 WHERE scope = 'password' AND locked_until = 9223372036854775807;
"#,
    },
    // SMS caps (issue 9, item 4): one row per text message the server tried
    // to send, failed ones included. Disable and re-setup never delete these
    // (unlike sms_codes), and a deleted user keeps counting (no cascade);
    // rows older than a day are pruned when the next code is issued.
    Migration {
        sqlite: r#"
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
        postgres: r#"
CREATE TABLE sms_sends (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL,
    phone TEXT NOT NULL,
    -- country calling code, the unit of the per-country cap
    country_code BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    failed_at BIGINT
);
CREATE INDEX sms_sends_time ON sms_sends(created_at);
CREATE INDEX sms_sends_user ON sms_sends(user_id, created_at);
CREATE INDEX sms_sends_phone ON sms_sends(phone, created_at);
CREATE INDEX sms_sends_country ON sms_sends(country_code, created_at);
"#,
    },
    // Sessions (issue 9, item 5): a session family's absolute end, fixed at
    // the sign-in that proved the password; sessions handed off from it
    // inherit it. Existing sessions become their own family.
    Migration {
        sqlite: r#"
ALTER TABLE sessions ADD COLUMN family_expires_at INTEGER;
UPDATE sessions SET family_expires_at = expires_at;
"#,
        postgres: r#"
ALTER TABLE sessions ADD COLUMN family_expires_at BIGINT;
UPDATE sessions SET family_expires_at = expires_at;
"#,
    },
    // 2FA method changes (issue 9, item 6): the session whose request
    // carried the password when the pending secret or number was made.
    Migration {
        sqlite: r#"
ALTER TABLE users ADD COLUMN pending_authorized_session_id INTEGER;
"#,
        postgres: r#"
ALTER TABLE users ADD COLUMN pending_authorized_session_id BIGINT;
"#,
    },
    // Web app and extension sync (issue 15): the fingerprint of the user's
    // current recovery-code batch, so a client keeping copies learns they
    // were replaced. Batches issued before stay without one (NULL).
    Migration {
        sqlite: r#"
ALTER TABLE users ADD COLUMN recovery_batch TEXT;
"#,
        postgres: r#"
ALTER TABLE users ADD COLUMN recovery_batch TEXT;
"#,
    },
    // Scheduled 2FA (issue 14): the platform's schedule (one row, absent
    // when nothing is scheduled; mandatory_from NULL means mandatory now),
    // each account's date (enforce_from NULL with enforce_2fa = immediate)
    // and grace days, the owners' last reminder, the session a grace skip
    // made a full one, the skips used per person and deadline (numbered,
    // so two parallel skips cannot take the same one), and the notices
    // sent, once per person, deadline and kind.
    Migration {
        sqlite: r#"
CREATE TABLE platform_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    mandatory_from INTEGER,
    grace_days INTEGER NOT NULL DEFAULT 0 CHECK (grace_days BETWEEN 0 AND 7),
    set_at INTEGER NOT NULL
);
ALTER TABLE accounts ADD COLUMN enforce_from INTEGER;
ALTER TABLE accounts ADD COLUMN grace_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN last_reminder_at INTEGER;
ALTER TABLE sessions ADD COLUMN skipped_deadline_at INTEGER;
CREATE TABLE grace_skips (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    deadline_at INTEGER NOT NULL,
    n INTEGER NOT NULL,
    session_id INTEGER,
    at INTEGER NOT NULL,
    PRIMARY KEY (user_id, deadline_at, n)
);
CREATE TABLE deadline_notices (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    deadline_at INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('set', 'days_7', 'days_1', 'due')),
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, deadline_at, kind)
);
"#,
        postgres: r#"
CREATE TABLE platform_policy (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    mandatory_from BIGINT,
    grace_days BIGINT NOT NULL DEFAULT 0 CHECK (grace_days BETWEEN 0 AND 7),
    set_at BIGINT NOT NULL
);
ALTER TABLE accounts ADD COLUMN enforce_from BIGINT;
ALTER TABLE accounts ADD COLUMN grace_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN last_reminder_at BIGINT;
ALTER TABLE sessions ADD COLUMN skipped_deadline_at BIGINT;
CREATE TABLE grace_skips (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    deadline_at BIGINT NOT NULL,
    n BIGINT NOT NULL,
    session_id BIGINT,
    at BIGINT NOT NULL,
    PRIMARY KEY (user_id, deadline_at, n)
);
CREATE TABLE deadline_notices (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    deadline_at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('set', 'days_7', 'days_1', 'due')),
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, deadline_at, kind)
);
"#,
    },
    // PostgreSQL only: room on each page of the two tables a verification
    // updates, so the update stays on its page (a HOT update) and adds no
    // index entries. A new index entry lands on a leaf page that other
    // SERIALIZABLE verifications have read, which PostgreSQL counts as a
    // conflict between them.
    Migration {
        sqlite: "SELECT 1;",
        postgres: r#"
ALTER TABLE users SET (fillfactor = 80);
ALTER TABLE challenges SET (fillfactor = 80);
"#,
    },
];
