//! The second step of sign-in: answering the challenge with a TOTP code, an
//! SMS code or a recovery code.
//!
//! The whole check runs in one database call, so a code, a recovery code
//! and the challenge itself are each used up by exactly one request. Every
//! wrong answer is counted on the challenge, the user and the client
//! address, audited, and notified to the user.

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreResult};
use shared::api::{ChallengeAnswer, ChallengeResult, ResendRequest, SmsCodeSent, TwoFactorMethod};

use crate::error::{ApiError, ApiResult};
use crate::phone;
use crate::rules::audit::{self, Event};
use crate::rules::recovery_codes;
use crate::rules::second_factor::{
    self, is_failed_guess, method_from_db, method_to_db, record_failure,
};
use crate::rules::session;
use crate::rules::sms::{self, Purpose, Reuse};
use crate::rules::throttle::{self, Scope};
use crate::rules::trusted_device;
use crate::secret_box::SecretBox;
use crate::state::AppState;
use crate::tokens::{hash_token, new_token, TokenKind};

/// A challenge outlives one SMS code, so an expired code can be resent
/// without signing in again.
pub const CHALLENGE_TTL: i64 = 15 * 60;
/// Wrong answers one challenge takes before it is dead.
pub const MAX_ATTEMPTS: i64 = 10;

/// Opens a challenge after a correct password; returns (token, expires_at).
pub fn create(conn: &Conn, now: i64, user_id: i64) -> StoreResult<(String, i64)> {
    let token = new_token(TokenKind::Challenge);
    conn.execute(
        "INSERT INTO challenges (user_id, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![user_id, hash_token(&token), now, now + CHALLENGE_TTL],
    )?;
    Ok((token, now + CHALLENGE_TTL))
}

/// An open challenge with what answering it needs of its user, read in
/// one statement: the verification runs on SQLite's single writer thread,
/// where each statement is time every other request waits for.
struct OpenChallenge {
    id: i64,
    user_id: i64,
    created_at: i64,
    attempts: i64,
    method: Option<String>,
    totp: second_factor::StoredTotp,
}

fn find(conn: &Conn, now: i64, token: &str) -> ApiResult<OpenChallenge> {
    type Found = (
        i64,
        i64,
        i64,
        i64,
        i64,
        Option<i64>,
        Option<String>,
        Option<Vec<u8>>,
        Option<i64>,
    );
    let row: Option<Found> = conn
        .query_row(
            "SELECT c.id, c.user_id, c.created_at, c.expires_at, c.attempts, c.consumed_at,
                    u.tfa_method, u.totp_secret, u.totp_last_step
             FROM challenges c JOIN users u ON u.id = c.user_id
             WHERE c.token_hash = ?1",
            params![hash_token(token)],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            },
        )
        .optional()?;
    match row {
        Some((id, user_id, created_at, expires_at, attempts, None, method, sealed, last_step))
            if expires_at > now =>
        {
            Ok(OpenChallenge {
                id,
                user_id,
                created_at,
                attempts,
                method,
                totp: second_factor::StoredTotp { sealed, last_step },
            })
        }
        _ => Err(ApiError::CodeExpired(
            "this sign-in has expired or was completed; sign in again".into(),
        )),
    }
}

/// How the second factor was proven.
enum Proof {
    Code,
    RecoveryCode,
}

/// Checks one answer; counts nothing (the caller does).
fn check_answer(
    conn: &Conn,
    secrets: &SecretBox,
    now: i64,
    challenge: &OpenChallenge,
    method: TwoFactorMethod,
    answer: &ChallengeAnswer,
) -> ApiResult<Proof> {
    let user_id = challenge.user_id;
    match (&answer.code, &answer.recovery_code) {
        (Some(_), Some(_)) | (None, None) => Err(ApiError::BadRequest(
            "send either `code` or `recovery_code`".into(),
        )),
        (None, Some(recovery)) => {
            if recovery_codes::consume(conn, secrets, now, user_id, recovery)? {
                Ok(Proof::RecoveryCode)
            } else {
                Err(ApiError::InvalidCode(
                    "that recovery code is wrong or was already used".into(),
                ))
            }
        }
        (Some(code), None) => match method {
            TwoFactorMethod::Authenticator => {
                second_factor::verify_stored_totp(
                    conn,
                    secrets,
                    now,
                    user_id,
                    &challenge.totp,
                    code,
                )?;
                Ok(Proof::Code)
            }
            TwoFactorMethod::Sms => {
                sms::verify(conn, secrets, now, user_id, Purpose::SignIn, code)?;
                Ok(Proof::Code)
            }
        },
    }
}

/// The metrics label of what an answer tried.
fn checked_method(method: TwoFactorMethod, answer: &ChallengeAnswer) -> &'static str {
    if answer.recovery_code.is_some() {
        "recovery_code"
    } else {
        method_to_db(method)
    }
}

/// The metrics label of a counted failure.
fn failure_outcome(e: &ApiError) -> &'static str {
    match e {
        ApiError::ReusedCode => "reused",
        ApiError::TooManyAttempts(_) => "too_many_attempts",
        _ => "wrong",
    }
}

/// Answer the challenge; optionally remember this device for 60 days.
pub async fn answer(
    state: &AppState,
    addr: String,
    answer: ChallengeAnswer,
) -> ApiResult<ChallengeResult> {
    let now = state.clock.now();
    let secrets = state.secrets.clone();
    state
        .db
        .call(move |conn| answer_on(conn, &secrets, now, &addr, &answer))
        .await
}

/// [`answer`]'s whole database work, on the connection it is given: public
/// so `examples/bench_sqlite_floor.rs` measures what a verification costs
/// the store without HTTP or the hand-off to the writer thread.
pub fn answer_on(
    conn: &Conn,
    secrets: &SecretBox,
    now: i64,
    addr: &str,
    answer: &ChallengeAnswer,
) -> ApiResult<ChallengeResult> {
    let challenge = find(conn, now, &answer.challenge_token)?;
    let user_id = challenge.user_id;
    let user_key = user_id.to_string();
    let failures_on_record = throttle::check_both(
        conn,
        (Scope::SecondFactor, &user_key),
        (Scope::Address, addr),
        now,
    )?;
    if challenge.attempts >= MAX_ATTEMPTS {
        return Err(ApiError::TooManyAttempts(
            "this sign-in took too many wrong codes; sign in again".into(),
        ));
    }
    let method = challenge
        .method
        .as_deref()
        .map(method_from_db)
        .transpose()?
        .ok_or(ApiError::TwoFactorNotEnabled)?;
    let proof = match check_answer(conn, secrets, now, &challenge, method, answer) {
        Ok(p) => p,
        Err(e) => {
            if is_failed_guess(&e) {
                conn.execute(
                    "UPDATE challenges SET attempts = attempts + 1 WHERE id = ?1",
                    params![challenge.id],
                )?;
                let what = if answer.recovery_code.is_some() {
                    "recovery code"
                } else {
                    "sign-in code"
                };
                record_failure(conn, now, user_id, addr, what, &e)?;
                let (checked, outcome) = (checked_method(method, answer), failure_outcome(&e));
                conn.after_commit(move || crate::telemetry::second_factor_check(checked, outcome));
            }
            return Err(e);
        }
    };
    let tx = conn.transaction()?;
    let consumed = tx.execute(
        "UPDATE challenges SET consumed_at = ?1 WHERE id = ?2 AND consumed_at IS NULL",
        params![now, challenge.id],
    )?;
    if consumed != 1 {
        return Err(ApiError::CodeExpired(
            "this sign-in was already completed".into(),
        ));
    }
    if failures_on_record {
        throttle::success(&tx, Scope::SecondFactor, &user_key)?;
    }
    let entered = match proof {
        Proof::Code => method_to_db(method),
        Proof::RecoveryCode => "recovery_code",
    };
    audit::record(
        &tx,
        now,
        Some(user_id),
        Event::SecondFactorVerified,
        entered,
        Some(addr),
    )?;
    let remaining = recovery_codes::remaining(&tx, user_id)?;
    if let Proof::RecoveryCode = proof {
        audit::change(
            &tx,
            now,
            user_id,
            Event::RecoveryCodeUsed,
            &format!("{remaining} left"),
            Some(addr),
            &format!("A recovery code was used to sign in. {remaining} recovery codes are left."),
        )?;
    }
    let mut device = None;
    if answer.remember_device {
        let (token, id, expires_at) =
            trusted_device::issue(&tx, now, user_id, answer.device_label.as_deref())?;
        audit::change(
            &tx,
            now,
            user_id,
            Event::TrustedDeviceAdded,
            &format!("device {id}"),
            Some(addr),
            &format!(
                "A device was remembered for {} days and will not be asked for a code until then.",
                shared::rules::TRUSTED_DEVICE_DAYS
            ),
        )?;
        device = Some((token, id, expires_at));
    }
    let session_token = session::create_session(
        &tx,
        now,
        user_id,
        Some(challenge.created_at),
        device.as_ref().map(|d| d.1),
    )?;
    tx.commit()?;
    let checked = checked_method(method, answer);
    conn.after_commit(move || crate::telemetry::second_factor_check(checked, "success"));
    Ok(ChallengeResult {
        session_token,
        trusted_until: device.as_ref().map(|d| d.2),
        trusted_device_token: device.map(|d| d.0),
        recovery_codes_remaining: remaining,
    })
}

/// Sends a new SMS code for an open challenge, after the cooldown.
pub async fn resend(state: &AppState, req: ResendRequest) -> ApiResult<SmsCodeSent> {
    let now = state.clock.now();
    let secrets = state.secrets.clone();
    let caps = state.config.sms_caps;
    let (user_id, issued) = state
        .db
        .call(move |conn| {
            let challenge = find(conn, now, &req.challenge_token)?;
            let (method, phone): (Option<String>, Option<String>) = conn.query_row(
                "SELECT tfa_method, phone FROM users WHERE id = ?1",
                params![challenge.user_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if method.as_deref() != Some("sms") {
                return Err(ApiError::Conflict(
                    "this sign-in does not use text messages".into(),
                ));
            }
            let phone = phone.ok_or_else(|| ApiError::internal("sms method without a phone"))?;
            let issued = sms::issue(
                conn,
                &secrets,
                &caps,
                now,
                challenge.user_id,
                Purpose::SignIn,
                &phone,
                Reuse::Cooldown,
            )?;
            Ok((challenge.user_id, issued))
        })
        .await?;
    state.sms.deliver(&state.db, now, user_id, &issued).await?;
    Ok(SmsCodeSent {
        phone_hint: phone::mask(&issued.phone),
        expires_at: issued.expires_at,
        resend_available_at: issued.resend_available_at,
    })
}
