//! What the second-factor methods share: checking a TOTP code against the
//! active secret, counting a wrong code, and the method's name in the
//! database. Sign-in (`challenge`) and setup (`enrollment`) both use them,
//! so they live below both rather than in either.

use crate::params;
use crate::store::{Conn, StoreResult};
use shared::api::TwoFactorMethod;

use crate::error::{ApiError, ApiResult};
use crate::rules::audit::{self, Event};
use crate::rules::authenticator;
use crate::rules::throttle::{self, Scope};
use crate::secret_box::SecretBox;

/// The method as stored in `users.tfa_method`.
pub fn method_from_db(s: &str) -> ApiResult<TwoFactorMethod> {
    match s {
        "authenticator" => Ok(TwoFactorMethod::Authenticator),
        "sms" => Ok(TwoFactorMethod::Sms),
        other => Err(ApiError::internal(format!(
            "unknown method {other:?} in the database"
        ))),
    }
}

pub fn method_to_db(m: TwoFactorMethod) -> &'static str {
    match m {
        TwoFactorMethod::Authenticator => "authenticator",
        TwoFactorMethod::Sms => "sms",
    }
}

/// The user's sealed TOTP secret and the last step used, as read from
/// `users` (by the caller's own query, so sign-in reads them together with
/// the challenge).
pub struct StoredTotp {
    pub sealed: Option<Vec<u8>>,
    pub last_step: Option<i64>,
}

/// Checks a TOTP code against the user's active secret and records its step
/// so it cannot be used again.
pub fn verify_totp(
    conn: &Conn,
    secrets: &SecretBox,
    now: i64,
    user_id: i64,
    code: &str,
) -> ApiResult<()> {
    let (sealed, last_step): (Option<Vec<u8>>, Option<i64>) = conn.query_row(
        "SELECT totp_secret, totp_last_step FROM users WHERE id = ?1",
        params![user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    verify_stored_totp(
        conn,
        secrets,
        now,
        user_id,
        &StoredTotp { sealed, last_step },
        code,
    )
}

/// [`verify_totp`] with the secret already read in this transaction. The
/// step is recorded by a conditional UPDATE, so even a stale `last_step`
/// cannot let a code through twice.
pub fn verify_stored_totp(
    conn: &Conn,
    secrets: &SecretBox,
    now: i64,
    user_id: i64,
    stored: &StoredTotp,
    code: &str,
) -> ApiResult<()> {
    let sealed = stored
        .sealed
        .as_deref()
        .ok_or_else(|| ApiError::internal("authenticator method without a secret"))?;
    let secret = secrets
        .open(sealed, &format!("totp:{user_id}"))
        .map_err(ApiError::internal)?;
    let step = authenticator::accept(
        authenticator::compare(&secret, code, now)?,
        stored.last_step,
    )?;
    let updated = conn.execute(
        "UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND (totp_last_step IS NULL OR totp_last_step < ?1)",
        params![step, user_id],
    )?;
    if updated != 1 {
        return Err(ApiError::ReusedCode);
    }
    Ok(())
}

/// Whether an error is a wrong guess that must be counted.
pub fn is_failed_guess(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::InvalidCode(_) | ApiError::ReusedCode | ApiError::TooManyAttempts(_)
    )
}

/// Counts, audits and notifies one failed second factor.
pub fn record_failure(
    conn: &Conn,
    now: i64,
    user_id: i64,
    addr: &str,
    what: &str,
    error: &ApiError,
) -> StoreResult<()> {
    let locked = throttle::failure(conn, Scope::SecondFactor, &user_id.to_string(), now)?;
    let addr_locked = throttle::failure(conn, Scope::Address, addr, now)?;
    audit::change(
        conn,
        now,
        user_id,
        Event::SecondFactorFailed,
        &format!("{what}: {:?}", error.code()),
        Some(addr),
        "Someone entered your password and then a wrong second-factor code. If it was not you, change your password.",
    )?;
    if locked || addr_locked {
        audit::record(
            conn,
            now,
            Some(user_id),
            Event::LockedOut,
            "second factor",
            Some(addr),
        )?;
    }
    Ok(())
}
