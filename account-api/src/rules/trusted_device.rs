//! Trusted devices (R8): "remember this device" yields a token valid for 60
//! days; presenting it with the password at sign-in skips the code.
//!
//! The token is not renewed by use: after 60 days the user proves the
//! second factor again. Disable and password change revoke all of them.

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreResult};
use shared::api::{TrustedDevice, TrustedDeviceList};

use crate::error::{ApiError, ApiResult};
use crate::rules::audit::{self, Event};
use crate::rules::session::Caller;
use crate::state::AppState;
use crate::tokens::{hash_token, new_token, TokenKind};

pub const TRUST_SECONDS: i64 = shared::rules::TRUSTED_DEVICE_SECS;
const MAX_LABEL_CHARS: usize = 100;

/// Remembers a device; returns (token, id, expires_at).
pub fn issue(
    conn: &Conn,
    now: i64,
    user_id: i64,
    label: Option<&str>,
) -> StoreResult<(String, i64, i64)> {
    let label: Option<String> = label
        .map(|l| {
            l.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_LABEL_CHARS)
                .collect()
        })
        .filter(|l: &String| !l.is_empty());
    issue_until(conn, now, user_id, label.as_deref(), now + TRUST_SECONDS)
}

/// Like [`issue`], but the trust ends at `expires_at`: a handoff passes a
/// computer's trust to the other client on it without extending it.
pub fn issue_until(
    conn: &Conn,
    now: i64,
    user_id: i64,
    label: Option<&str>,
    expires_at: i64,
) -> StoreResult<(String, i64, i64)> {
    let token = new_token(TokenKind::TrustedDevice);
    let id = conn.query_row(
        "INSERT INTO trusted_devices (user_id, token_hash, label, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![user_id, hash_token(&token), label, now, expires_at],
        |r| r.get(0),
    )?;
    Ok((token, id, expires_at))
}

/// The device behind `token`, if it belongs to this user and is still
/// trusted; marks it used.
pub fn check(conn: &Conn, now: i64, user_id: i64, token: &str) -> StoreResult<Option<(i64, i64)>> {
    let found: Option<(i64, i64)> = conn
        .query_row(
            "SELECT id, expires_at FROM trusted_devices
             WHERE token_hash = ?1 AND user_id = ?2 AND revoked_at IS NULL AND expires_at > ?3",
            params![hash_token(token), user_id, now],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, _)) = found {
        conn.execute(
            "UPDATE trusted_devices SET last_used_at = ?1 WHERE id = ?2",
            params![now, id],
        )?;
    }
    Ok(found)
}

/// When the device of a session stops being trusted, if it still is.
pub fn verified_until(conn: &Conn, now: i64, device_id: Option<i64>) -> StoreResult<Option<i64>> {
    let Some(id) = device_id else { return Ok(None) };
    conn.query_row(
        "SELECT expires_at FROM trusted_devices WHERE id = ?1 AND revoked_at IS NULL AND expires_at > ?2",
        params![id, now],
        |r| r.get(0),
    )
    .optional()
}

pub fn revoke_all(conn: &Conn, now: i64, user_id: i64) -> StoreResult<usize> {
    conn.execute(
        "UPDATE trusted_devices SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
        params![now, user_id],
    )
}

/// The caller's trusted devices that are still valid.
pub async fn list(state: &AppState, caller: Caller) -> ApiResult<TrustedDeviceList> {
    let now = state.clock.now();
    let devices = state
        .db
        .read(move |conn| {
            Ok(conn.query_map(
                "SELECT id, label, created_at, expires_at, last_used_at FROM trusted_devices
                 WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 ORDER BY id",
                params![caller.user_id, now],
                |r| {
                    let id: i64 = r.get(0)?;
                    Ok(TrustedDevice {
                        id,
                        label: r.get(1)?,
                        created_at: r.get(2)?,
                        expires_at: r.get(3)?,
                        last_used_at: r.get(4)?,
                        current: Some(id) == caller.trusted_device_id,
                    })
                },
            )?)
        })
        .await?;
    Ok(TrustedDeviceList { devices })
}

/// Stops trusting one device: its next sign-in asks for the code.
pub async fn revoke(state: &AppState, caller: Caller, id: i64) -> ApiResult<()> {
    let now = state.clock.now();
    state
        .db
        .call(move |conn| {
            let n = conn.execute(
                "UPDATE trusted_devices SET revoked_at = ?1 WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
                params![now, id, caller.user_id],
            )?;
            if n == 0 {
                return Err(ApiError::NotFound("no such trusted device".into()));
            }
            audit::change(
                conn,
                now,
                caller.user_id,
                Event::TrustedDeviceRevoked,
                &format!("device {id}"),
                Some(&caller.addr),
                "A remembered device was removed; it will be asked for a code at its next sign-in.",
            )?;
            Ok(())
        })
        .await?;
    Ok(())
}
