//! Sessions and who is calling.
//!
//! A session token arrives as `Authorization: Bearer ...` (read by
//! `extract`). Whether the
//! session is restricted to 2FA setup is decided on every request from the
//! user's current state, not stored with the session: when an owner turns
//! enforcement on, the existing sessions of their members without 2FA are
//! restricted on their very next request (R9).

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreResult};
use shared::api::TwoFactorDeadline;

use crate::error::{ApiError, ApiResult};
use crate::rules::policy;
use crate::rules::throttle;
use crate::state::AppState;
use crate::tokens::{hash_token, new_token, TokenKind};

/// Sessions end after two weeks; the trusted device (60 days) is what
/// spares the user the second factor when they sign in again.
pub const SESSION_TTL: i64 = 14 * 86_400;
/// A password proven this recently counts as re-authentication for
/// starting 2FA setup right after signing in.
pub const REAUTH_WINDOW: i64 = 10 * 60;

/// The signed-in caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub session_id: i64,
    pub user_id: i64,
    pub email: String,
    pub trusted_device_id: Option<i64>,
    pub password_at: Option<i64>,
    /// 2FA is required and not set up: only setup is allowed.
    pub setup_only: bool,
    /// The schedules in force now (see `policy::Requirement`).
    pub required_by: Vec<String>,
    /// Every schedule of this person, in force or ahead.
    pub requirement: policy::Requirement,
    /// The scheduled deadline as clients see it, for a person without 2FA.
    pub deadline: Option<TwoFactorDeadline>,
    pub addr: String,
}

struct SessionRow {
    session_id: i64,
    user_id: i64,
    email: String,
    trusted_device_id: Option<i64>,
    password_at: Option<i64>,
    method: Option<String>,
    skipped_deadline_at: Option<i64>,
}

/// The caller behind a session token, reached from `addr`.
pub async fn load_caller(state: &AppState, token: &str, addr: String) -> ApiResult<Caller> {
    let hash = hash_token(token);
    let now = state.clock.now();
    state
        .db
        .read(move |conn| {
            let row = conn
                .query_row(
                    "SELECT s.id, s.user_id, u.email, s.trusted_device_id, s.password_at, u.tfa_method,
                            s.skipped_deadline_at
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2",
                    params![hash, now],
                    |r| {
                        Ok(SessionRow {
                            session_id: r.get(0)?,
                            user_id: r.get(1)?,
                            email: r.get(2)?,
                            trusted_device_id: r.get(3)?,
                            password_at: r.get(4)?,
                            method: r.get(5)?,
                            skipped_deadline_at: r.get(6)?,
                        })
                    },
                )
                .optional()?;
            let SessionRow {
                session_id,
                user_id,
                email,
                trusted_device_id,
                password_at,
                method,
                skipped_deadline_at,
            } = row.ok_or(ApiError::Unauthorized)?;
            let requirement = policy::requirement(conn, user_id, now)?;
            let two_factor_on = method.is_some();
            let deadline = if two_factor_on {
                None
            } else {
                policy::deadline_view(conn, user_id, &requirement, now)?
            };
            Ok(Caller {
                session_id,
                user_id,
                email,
                trusted_device_id,
                password_at,
                setup_only: requirement.setup_only(two_factor_on, now, skipped_deadline_at),
                required_by: requirement.required_by.clone(),
                requirement,
                deadline,
                addr: addr.clone(),
            })
        })
        .await
}

/// Starts a session after a sign-in that proved the password: the first
/// of a new family, which ends for good [`SESSION_TTL`] from now. Returns
/// its token (shown once, stored as a hash).
pub fn create_session(
    conn: &Conn,
    now: i64,
    user_id: i64,
    password_at: Option<i64>,
    trusted_device_id: Option<i64>,
) -> StoreResult<String> {
    create_in_family(
        conn,
        now,
        user_id,
        password_at,
        trusted_device_id,
        now + SESSION_TTL,
    )
}

/// Starts a session that continues an existing family (a handoff): it
/// ends when the family ends, however often it is handed on, so a live
/// session can never mint itself a longer life (issue 9, item 5).
pub fn create_in_family(
    conn: &Conn,
    now: i64,
    user_id: i64,
    password_at: Option<i64>,
    trusted_device_id: Option<i64>,
    family_expires_at: i64,
) -> StoreResult<String> {
    let token = new_token(TokenKind::Session);
    // A family ends 14 days after the sign-in that began it, which is
    // never later than 14 days from now, so the family's end is the end.
    let expires_at = family_expires_at;
    conn.execute(
        "INSERT INTO sessions (user_id, token_hash, created_at, expires_at, password_at, trusted_device_id, family_expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![user_id, hash_token(&token), now, expires_at, password_at, trusted_device_id, family_expires_at],
    )?;
    Ok(token)
}

/// Voids every one-time proof the user has open: unanswered sign-in
/// challenges, unused SMS codes and unredeemed handoff codes. Called when
/// the password changes and on "sign out everywhere": a challenge proves
/// the (old) password and a handoff code stands for a session, so neither
/// may outlive the event that was meant to lock their holder out.
pub fn void_open_proofs(conn: &Conn, now: i64, user_id: i64) -> StoreResult<()> {
    conn.execute(
        "UPDATE challenges SET consumed_at = ?1 WHERE user_id = ?2 AND consumed_at IS NULL",
        params![now, user_id],
    )?;
    conn.execute(
        "UPDATE sms_codes SET consumed_at = ?1 WHERE user_id = ?2 AND consumed_at IS NULL",
        params![now, user_id],
    )?;
    conn.execute(
        "UPDATE handoff_codes SET used_at = ?1 WHERE user_id = ?2 AND used_at IS NULL",
        params![now, user_id],
    )?;
    Ok(())
}

/// Checks the caller's password again before a sensitive change. Wrong
/// passwords count toward the same lockout as at sign-in.
pub async fn confirm_password(
    state: &AppState,
    caller: &Caller,
    password: String,
) -> ApiResult<()> {
    let now = state.clock.now();
    let user_id = caller.user_id;
    let attempt = throttle::PasswordAttempt {
        email_key: caller.email.to_lowercase(),
        addr: caller.addr.clone(),
        user_id: Some(user_id),
        now,
    };
    // Reserved with the same allowance as a sign-in, before any Argon2 work.
    let (reservation, attempt, stored) = state
        .db
        .call_read_committed(move |conn| {
            let hash: String = conn.query_row(
                "SELECT password_hash FROM users WHERE id = ?1",
                params![user_id],
                |r| r.get(0),
            )?;
            let reservation = throttle::reserve(conn, &attempt.keys(), now)?;
            Ok((reservation, attempt.clone(), hash))
        })
        .await?;
    let session_id = caller.session_id;
    throttle::check_password_then(
        &state.db,
        state.config.password_cost,
        reservation,
        attempt,
        password,
        Some(stored),
        move |conn| {
            conn.execute(
                "UPDATE sessions SET password_at = ?1 WHERE id = ?2",
                params![now, session_id],
            )?;
            Ok(())
        },
    )
    .await?
    .ok_or(ApiError::InvalidCredentials)
}

/// Requires the password unless this session proved it moments ago.
pub async fn recent_password_or(
    state: &AppState,
    caller: &Caller,
    password: Option<String>,
) -> ApiResult<()> {
    match password {
        Some(p) => confirm_password(state, caller, p).await,
        None => {
            let now = state.clock.now();
            match caller.password_at {
                Some(at) if now - at <= REAUTH_WINDOW => Ok(()),
                _ => Err(ApiError::PasswordRequired),
            }
        }
    }
}

/// What let a request start (or resend) a 2FA method setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChange {
    /// 2FA is off: first-time setup, allowed as before with a recent
    /// password. `by_password` says whether this request carried it.
    FirstSetup { by_password: bool },
    /// 2FA is on and this request carried the right password: the pending
    /// secret or number it makes may be confirmed by this session.
    Reauthenticated,
    /// 2FA is on and this session already started this very setup with the
    /// password: a resend of the code to the same number, nothing changes.
    Resend,
}

/// Decides whether a request may start setting up a 2FA method. Once 2FA
/// is on, a setup re-keys or replaces the second factor, so the password
/// must be in the request itself: a session that merely signed in
/// recently (or was stolen) is not enough (issue 9, item 6).
pub async fn authorize_method_change(
    state: &AppState,
    caller: &Caller,
    password: Option<String>,
    resend_allowed: bool,
) -> ApiResult<MethodChange> {
    let user_id = caller.user_id;
    let session_id = caller.session_id;
    let (enabled, resend) = state
        .db
        .call(move |conn| {
            let (method, pending_phone, kept_phone, bound): (
                Option<String>,
                Option<String>,
                Option<String>,
                Option<i64>,
            ) = conn.query_row(
                "SELECT tfa_method, pending_phone, phone, pending_authorized_session_id
                 FROM users WHERE id = ?1",
                params![user_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let resend =
                bound == Some(session_id) && pending_phone.is_some() && pending_phone == kept_phone;
            Ok((method.is_some(), resend))
        })
        .await?;
    if !enabled {
        let by_password = password.is_some();
        recent_password_or(state, caller, password).await?;
        return Ok(MethodChange::FirstSetup { by_password });
    }
    match password {
        Some(p) => {
            confirm_password(state, caller, p).await?;
            Ok(MethodChange::Reauthenticated)
        }
        None if resend_allowed && resend => Ok(MethodChange::Resend),
        None => Err(ApiError::PasswordRequired),
    }
}

/// Records which session may confirm the pending setup it just started:
/// the one whose request carried the password, or none.
pub async fn bind_pending_setup(
    state: &AppState,
    caller: &Caller,
    change: MethodChange,
) -> ApiResult<()> {
    let bound = match change {
        MethodChange::Resend => return Ok(()),
        MethodChange::Reauthenticated | MethodChange::FirstSetup { by_password: true } => {
            Some(caller.session_id)
        }
        MethodChange::FirstSetup { by_password: false } => None,
    };
    let user_id = caller.user_id;
    state
        .db
        .call(move |conn| {
            conn.execute(
                "UPDATE users SET pending_authorized_session_id = ?1 WHERE id = ?2",
                params![bound, user_id],
            )?;
            Ok(())
        })
        .await
}

/// With 2FA on, a confirm completes a change of method, so the pending
/// setup must have been started with the password by this very session.
/// First-time setup (2FA off) confirms as before.
pub fn require_authorized_pending(conn: &Conn, caller: &Caller) -> ApiResult<()> {
    let (method, bound): (Option<String>, Option<i64>) = conn.query_row(
        "SELECT tfa_method, pending_authorized_session_id FROM users WHERE id = ?1",
        params![caller.user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if method.is_some() && bound != Some(caller.session_id) {
        return Err(ApiError::PasswordRequired);
    }
    Ok(())
}
