//! Sign-in with its three outcomes, sign-out, and password change.

use crate::params;
use crate::store::OptionalExtension;
use shared::api::{PasswordChange, SignInRequest, SignInResponse, TwoFactorMethod};

use crate::error::{ApiError, ApiResult};
use crate::password;
use crate::phone;
use crate::rules::audit::{self, Event};
use crate::rules::challenge;
use crate::rules::policy;
use crate::rules::second_factor::method_from_db;
use crate::rules::session::{self, Caller};
use crate::rules::sms::{self, Purpose, Reuse};
use crate::rules::throttle;
use crate::rules::trusted_device;
use crate::state::AppState;
use crate::tokens::hash_token;

/// What the database step of a sign-in decided.
enum Outcome {
    Done(SignInResponse),
    /// A challenge whose SMS code must still be delivered.
    SendSms {
        response: SignInResponse,
        user_id: i64,
        challenge_token: String,
        issued: sms::IssuedCode,
    },
}

/// Email and password, plus a trusted-device token when the client has one.
pub async fn sign_in(
    state: &AppState,
    addr: String,
    req: SignInRequest,
) -> ApiResult<SignInResponse> {
    let now = state.clock.now();
    let email_key = req.email.trim().to_lowercase();
    // The attempt is reserved (or refused unchecked) in the same database
    // call that reads the hash, before any Argon2 work.
    let (reservation, attempt, stored) = state
        .db
        .call_read_committed(move |conn| {
            let user: Option<(i64, String)> = conn
                .query_row(
                    "SELECT id, password_hash FROM users WHERE email = ?1",
                    params![email_key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let attempt = throttle::PasswordAttempt {
                email_key: email_key.clone(),
                addr: addr.clone(),
                user_id: user.as_ref().map(|u| u.0),
                now,
            };
            let reservation = throttle::reserve(conn, &attempt.keys(), now)?;
            Ok((reservation, attempt, user.map(|u| u.1)))
        })
        .await?;
    let known_user = attempt.user_id;
    let secrets = state.secrets.clone();
    let caps = state.config.sms_caps;
    let device_token = req.trusted_device_token;
    // Opened in the database call that settles the password check: one
    // trip through the writer fewer (see `check_password_then`).
    let outcome = throttle::check_password_then(
        &state.db,
        state.config.password_cost,
        reservation,
        attempt,
        req.password,
        stored,
        move |conn| {
            // A right password with no user cannot happen (an unknown
            // email is checked against a dummy hash); refused all the same.
            let Some(user_id) = known_user else {
                return Err(ApiError::InvalidCredentials);
            };
            let (method, phone): (Option<String>, Option<String>) = conn.query_row(
                "SELECT tfa_method, phone FROM users WHERE id = ?1",
                params![user_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let method = method.as_deref().map(method_from_db).transpose()?;
            let Some(method) = method else {
                // The same rule as every later request of this session
                // (`session::load_caller`): a new session has skipped nothing.
                let requirement = policy::requirement(conn, user_id, now)?;
                let deadline = policy::deadline_view(conn, user_id, &requirement, now)?;
                let session_token = session::create_session(conn, now, user_id, Some(now), None)?;
                return Ok(Outcome::Done(if requirement.setup_only(false, now, None) {
                    SignInResponse::TwoFactorSetupRequired {
                        session_token,
                        required_by: requirement.required_by,
                        deadline,
                    }
                } else {
                    SignInResponse::Authenticated {
                        session_token,
                        verified_until: None,
                        deadline,
                    }
                }));
            };
            if let Some(token) = device_token.as_deref() {
                if let Some((device_id, expires_at)) =
                    trusted_device::check(conn, now, user_id, token)?
                {
                    let session_token =
                        session::create_session(conn, now, user_id, Some(now), Some(device_id))?;
                    return Ok(Outcome::Done(SignInResponse::Authenticated {
                        session_token,
                        verified_until: Some(expires_at),
                        deadline: None,
                    }));
                }
            }
            // The code is issued (or refused by a cap) before the challenge
            // exists, so a refusal leaves no challenge nobody can answer.
            let issued = match (method, phone) {
                (TwoFactorMethod::Sms, Some(phone)) => Some(sms::issue(
                    conn,
                    &secrets,
                    &caps,
                    now,
                    user_id,
                    Purpose::SignIn,
                    &phone,
                    Reuse::SignIn,
                )?),
                (TwoFactorMethod::Sms, None) => {
                    return Err(ApiError::internal("sms method without a phone"))
                }
                (TwoFactorMethod::Authenticator, _) => None,
            };
            let (challenge_token, expires_at) = challenge::create(conn, now, user_id)?;
            match method {
                TwoFactorMethod::Authenticator => {
                    Ok(Outcome::Done(SignInResponse::TwoFactorRequired {
                        challenge_token,
                        method,
                        phone_hint: None,
                        expires_at,
                    }))
                }
                TwoFactorMethod::Sms => {
                    let issued =
                        issued.ok_or_else(|| ApiError::internal("sms sign-in without a code"))?;
                    let response = SignInResponse::TwoFactorRequired {
                        challenge_token: challenge_token.clone(),
                        method,
                        phone_hint: Some(phone::mask(&issued.phone)),
                        expires_at,
                    };
                    Ok(if issued.code.is_some() {
                        Outcome::SendSms {
                            response,
                            user_id,
                            challenge_token,
                            issued,
                        }
                    } else {
                        Outcome::Done(response)
                    })
                }
            }
        },
    )
    .await?
    .ok_or(ApiError::InvalidCredentials)?;
    match outcome {
        Outcome::Done(response) => Ok(response),
        Outcome::SendSms {
            response,
            user_id,
            challenge_token,
            issued,
        } => {
            if let Err(e) = state.sms.deliver(&state.db, now, user_id, &issued).await {
                // No code reached the phone: the challenge is closed rather
                // than left open, and the next sign-in sends a fresh code.
                state
                    .db
                    .call(move |conn| {
                        conn.execute(
                            "UPDATE challenges SET consumed_at = ?1 WHERE token_hash = ?2 AND consumed_at IS NULL",
                            params![now, hash_token(&challenge_token)],
                        )?;
                        Ok(())
                    })
                    .await?;
                return Err(e);
            }
            Ok(response)
        }
    }
}

/// Ends this session.
pub async fn sign_out(state: &AppState, caller: Caller) -> ApiResult<()> {
    let now = state.clock.now();
    state
        .db
        .call(move |conn| {
            conn.execute(
                "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2",
                params![now, caller.session_id],
            )?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// Ends every session of the user, this one included, and voids their open
/// challenges, SMS codes and handoff codes. Trusted devices stay: they are
/// revoked on their own route.
pub async fn sign_out_everywhere(state: &AppState, caller: Caller) -> ApiResult<()> {
    let now = state.clock.now();
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
                params![now, caller.user_id],
            )?;
            session::void_open_proofs(&tx, now, caller.user_id)?;
            audit::record(
                &tx,
                now,
                Some(caller.user_id),
                Event::SignedOutEverywhere,
                "",
                Some(&caller.addr),
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// Changes the password. Revokes every trusted device and every other
/// session, and voids open challenges, SMS codes and handoff codes:
/// whoever knew the old password is out, including a sign-in that was
/// only waiting for its second factor.
pub async fn change_password(
    state: &AppState,
    caller: Caller,
    body: PasswordChange,
) -> ApiResult<()> {
    password::validate_new(&body.new_password)?;
    session::confirm_password(state, &caller, body.current_password).await?;
    let hash = password::hash(state.config.password_cost, body.new_password).await?;
    let now = state.clock.now();
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![hash, caller.user_id],
            )?;
            let devices = trusted_device::revoke_all(&tx, now, caller.user_id)?;
            tx.execute(
                "UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND id != ?3 AND revoked_at IS NULL",
                params![now, caller.user_id, caller.session_id],
            )?;
            session::void_open_proofs(&tx, now, caller.user_id)?;
            audit::change(
                &tx,
                now,
                caller.user_id,
                Event::PasswordChanged,
                &format!("{devices} trusted devices revoked"),
                Some(&caller.addr),
                "Your password was changed. Remembered devices and other sessions were signed out.",
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(())
}
