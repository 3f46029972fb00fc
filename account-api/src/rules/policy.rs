//! Who must use 2FA (R9, R10).
//!
//! The requirement sits on the user: it holds if any account they belong to
//! enforces 2FA, or the server makes it mandatory. It is computed at sign-in
//! and on every request, before any account is chosen. The owners' switch
//! that sets it is in `accounts`.

use crate::params;
use crate::store::{Conn, StoreResult};

/// What `required_by` says for the server-wide setting.
pub const SERVER_POLICY: &str = "server policy";

/// The reasons 2FA is required for a user; empty when it is optional.
pub fn required_by(conn: &Conn, user_id: i64, mandatory: bool) -> StoreResult<Vec<String>> {
    let mut reasons = Vec::new();
    if mandatory {
        reasons.push(SERVER_POLICY.to_string());
    }
    reasons.extend(conn.query_map(
        "SELECT a.name FROM accounts a JOIN memberships m ON m.account_id = a.id
         WHERE m.user_id = ?1 AND a.enforce_2fa = 1 ORDER BY a.name",
        params![user_id],
        |r| r.get::<String>(0),
    )?);
    Ok(reasons)
}
