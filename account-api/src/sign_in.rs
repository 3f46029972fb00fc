//! Sign-in with its three outcomes, sign-out, and password change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rusqlite::{params, OptionalExtension};
use shared::api::{
    ApiError as WireError, PasswordChange, SignInRequest, SignInResponse, TwoFactorMethod,
};

use crate::app::AppState;
use crate::audit::{self, Event};
use crate::auth::{self, AnySession, ApiJson, ClientAddr, SignedIn};
use crate::challenge;
use crate::enrollment::method_from_db;
use crate::error::{ApiError, ApiResult};
use crate::password;
use crate::phone;
use crate::policy;
use crate::sms::{self, Purpose};
use crate::throttle::{self, Scope};
use crate::trusted_device;

/// What the database step of a sign-in decided.
enum Outcome {
    Done(SignInResponse),
    /// A challenge whose SMS code must still be delivered.
    SendSms {
        response: SignInResponse,
        user_id: i64,
        phone: String,
        code: zeroize::Zeroizing<String>,
    },
}

/// Email and password, plus a trusted-device token when the client has one.
#[utoipa::path(post, path = "/v1/sign-in", tag = "sign-in",
    request_body = SignInRequest,
    responses(
        (status = 200, body = SignInResponse, description = "authenticated, two_factor_required or two_factor_setup_required"),
        (status = 401, body = WireError, description = "invalid_credentials"),
        (status = 429, body = WireError, description = "rate_limited")))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<SignInRequest>,
) -> ApiResult<Json<SignInResponse>> {
    let now = state.clock.now();
    let email_key = req.email.trim().to_lowercase();
    let user = state
        .db
        .call({
            let email_key = email_key.clone();
            let addr = addr.clone();
            move |conn| {
                throttle::check(conn, Scope::Password, &email_key, now)?;
                throttle::check(conn, Scope::Address, &addr, now)?;
                let user: Option<(i64, String)> = conn
                    .query_row(
                        "SELECT id, password_hash FROM users WHERE email = ?1",
                        params![email_key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                Ok(user)
            }
        })
        .await?;
    let ok = password::verify(
        state.config.password_cost,
        req.password,
        user.as_ref().map(|u| u.1.clone()),
    )
    .await?;
    let user_id = match (ok, user) {
        (true, Some((id, _))) => id,
        (_, user) => {
            let user_id = user.map(|u| u.0);
            state
                .db
                .call(move |conn| {
                    auth::record_password_failure(conn, now, user_id, &email_key, &addr)?;
                    Ok(())
                })
                .await?;
            return Err(ApiError::InvalidCredentials);
        }
    };

    let mandatory = state.config.mandatory_2fa;
    let secrets = state.secrets.clone();
    let device_token = req.trusted_device_token;
    let outcome = state
        .db
        .call(move |conn| {
            throttle::success(conn, Scope::Password, &email_key)?;
            let (method, phone): (Option<String>, Option<String>) = conn.query_row(
                "SELECT tfa_method, phone FROM users WHERE id = ?1",
                params![user_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let method = method.as_deref().map(method_from_db).transpose()?;
            let required_by = policy::required_by(conn, user_id, mandatory)?;
            let Some(method) = method else {
                let session_token = auth::create_session(conn, now, user_id, Some(now), None)?;
                return Ok(Outcome::Done(if required_by.is_empty() {
                    SignInResponse::Authenticated {
                        session_token,
                        verified_until: None,
                    }
                } else {
                    SignInResponse::TwoFactorSetupRequired {
                        session_token,
                        required_by,
                    }
                }));
            };
            if let Some(token) = device_token.as_deref() {
                if let Some((device_id, expires_at)) =
                    trusted_device::check(conn, now, user_id, token)?
                {
                    let session_token =
                        auth::create_session(conn, now, user_id, Some(now), Some(device_id))?;
                    return Ok(Outcome::Done(SignInResponse::Authenticated {
                        session_token,
                        verified_until: Some(expires_at),
                    }));
                }
            }
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
                    let phone =
                        phone.ok_or_else(|| ApiError::internal("sms method without a phone"))?;
                    let issued =
                        sms::issue(conn, &secrets, now, user_id, Purpose::SignIn, &phone, true)?;
                    let response = SignInResponse::TwoFactorRequired {
                        challenge_token,
                        method,
                        phone_hint: Some(phone::mask(&phone)),
                        expires_at,
                    };
                    Ok(match issued.code {
                        Some(code) => Outcome::SendSms {
                            response,
                            user_id,
                            phone,
                            code,
                        },
                        None => Outcome::Done(response),
                    })
                }
            }
        })
        .await?;
    match outcome {
        Outcome::Done(response) => Ok(Json(response)),
        Outcome::SendSms {
            response,
            user_id,
            phone,
            code,
        } => {
            state
                .sms
                .send(&state.db, now, user_id, &phone, sms::message_text(&code))
                .await?;
            Ok(Json(response))
        }
    }
}

/// Ends this session.
#[utoipa::path(post, path = "/v1/sign-out", tag = "sign-in",
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = WireError)))]
pub async fn sign_out(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
) -> ApiResult<StatusCode> {
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
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the user, this one included, and voids their open
/// challenges, SMS codes and handoff codes. Trusted devices stay: they are
/// revoked on their own route.
#[utoipa::path(post, path = "/v1/sign-out/everywhere", tag = "sign-in",
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = WireError)))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
) -> ApiResult<StatusCode> {
    let now = state.clock.now();
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
                params![now, caller.user_id],
            )?;
            auth::void_open_proofs(&tx, now, caller.user_id)?;
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
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the password. Revokes every trusted device and every other
/// session, and voids open challenges, SMS codes and handoff codes:
/// whoever knew the old password is out, including a sign-in that was
/// only waiting for its second factor.
#[utoipa::path(post, path = "/v1/password", tag = "sign-in",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 204), (status = 400, body = WireError), (status = 401, body = WireError)))]
pub async fn change_password(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    password::validate_new(&body.new_password)?;
    auth::confirm_password(&state, &caller, body.current_password).await?;
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
            auth::void_open_proofs(&tx, now, caller.user_id)?;
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
    Ok(StatusCode::NO_CONTENT)
}
