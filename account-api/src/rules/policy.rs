//! Who must use 2FA (R9, R10).
//!
//! The requirement sits on the user: it holds if any account they belong to
//! enforces 2FA, or the server makes it mandatory. It is computed at sign-in
//! and on every request, before any account is chosen. The owners' switch
//! that sets it is in `accounts`.

use rusqlite::{params, Connection};

/// What `required_by` says for the server-wide setting.
pub const SERVER_POLICY: &str = "server policy";

/// The reasons 2FA is required for a user; empty when it is optional.
pub fn required_by(
    conn: &Connection,
    user_id: i64,
    mandatory: bool,
) -> rusqlite::Result<Vec<String>> {
    let mut reasons = Vec::new();
    if mandatory {
        reasons.push(SERVER_POLICY.to_string());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT a.name FROM accounts a JOIN memberships m ON m.account_id = a.id
         WHERE m.user_id = ?1 AND a.enforce_2fa = 1 ORDER BY a.name",
    )?;
    let names = stmt.query_map(params![user_id], |r| r.get::<_, String>(0))?;
    for name in names {
        reasons.push(name?);
    }
    Ok(reasons)
}
