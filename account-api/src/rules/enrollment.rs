//! Reading and changing a user's 2FA: authenticator and SMS setup (R2, R3),
//! switching method while keeping the phone (R5), disable (R6) and new
//! recovery codes (R4).
//!
//! Every change needs the password again. Turning 2FA on for the first
//! time accepts a password proven by this session within the last 10
//! minutes (setup right after sign-in); once 2FA is on, every change of
//! method (setup, switch) must carry the password in the request, and its
//! confirm is accepted only from the session whose request carried it.
//! Setup stores the new secret or number as *pending*; only a correct code
//! makes it active, so an abandoned setup changes nothing.

use crate::params;
use crate::store::{Conn, OptionalExtension};
use shared::api::{
    AuthenticatorSetup, CodeRequest, DisableRequest, EnrollmentComplete, PasswordConfirmation,
    PasswordRequest, RecoveryCodes, SmsCodeSent, SmsSetupRequest, SwitchRequest, SwitchStarted,
    TwoFactorMethod, TwoFactorState,
};

use crate::error::{ApiError, ApiResult};
use crate::phone;
use crate::rules::audit::{self, Event};
use crate::rules::authenticator;
use crate::rules::recovery_codes;
use crate::rules::second_factor::{is_failed_guess, method_from_db, method_to_db, record_failure};
use crate::rules::session::{self, Caller};
use crate::rules::sms::{self, Purpose, Reuse};
use crate::rules::throttle::{self, Scope};
use crate::rules::trusted_device;
use crate::state::AppState;

fn method_name(m: TwoFactorMethod) -> &'static str {
    match m {
        TwoFactorMethod::Authenticator => "authenticator app",
        TwoFactorMethod::Sms => "text message",
    }
}

struct UserTwoFactor {
    method: Option<TwoFactorMethod>,
    phone: Option<String>,
    pending_secret: Option<Vec<u8>>,
    pending_phone: Option<String>,
}

fn load(conn: &Conn, user_id: i64) -> ApiResult<UserTwoFactor> {
    let (method, phone, pending_secret, pending_phone): (
        Option<String>,
        Option<String>,
        Option<Vec<u8>>,
        Option<String>,
    ) = conn.query_row(
        "SELECT tfa_method, phone, pending_totp_secret, pending_phone FROM users WHERE id = ?1",
        params![user_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(UserTwoFactor {
        method: method.as_deref().map(method_from_db).transpose()?,
        phone,
        pending_secret,
        pending_phone,
    })
}

/// The caller's 2FA as the settings page shows it.
pub async fn read_state(state: &AppState, caller: Caller) -> ApiResult<TwoFactorState> {
    let now = state.clock.now();
    let result = state
        .db
        .read(move |conn| {
            let user = load(conn, caller.user_id)?;
            Ok(TwoFactorState {
                enabled: user.method.is_some(),
                method: user.method,
                phone_hint: user.phone.as_deref().map(phone::mask),
                recovery_codes_remaining: recovery_codes::remaining(conn, caller.user_id)?,
                recovery_codes_used: recovery_codes::used_positions(conn, caller.user_id)?,
                recovery_codes_batch: recovery_codes::batch(conn, caller.user_id)?,
                verified_until: trusted_device::verified_until(
                    conn,
                    now,
                    caller.trusted_device_id,
                )?,
                required: !caller.required_by.is_empty(),
                required_by: caller.required_by.clone(),
                setup_only: caller.setup_only,
                deadline: caller.deadline.clone(),
            })
        })
        .await?;
    Ok(result)
}

async fn start_authenticator(state: &AppState, caller: &Caller) -> ApiResult<AuthenticatorSetup> {
    let secret = authenticator::new_secret();
    let material = authenticator::setup_material(&secret, &caller.email)?;
    let sealed = state
        .secrets
        .seal(&secret, &format!("totp:{}", caller.user_id))
        .map_err(ApiError::internal)?;
    let user_id = caller.user_id;
    state
        .db
        .call(move |conn| {
            conn.execute(
                "UPDATE users SET pending_totp_secret = ?1 WHERE id = ?2",
                params![sealed, user_id],
            )?;
            Ok(())
        })
        .await?;
    Ok(material)
}

/// Start authenticator setup: a new key, its `otpauth://` URI and QR code.
pub async fn authenticator_setup(
    state: &AppState,
    caller: Caller,
    body: PasswordConfirmation,
) -> ApiResult<AuthenticatorSetup> {
    let change = session::authorize_method_change(state, &caller, body.password, false).await?;
    let material = start_authenticator(state, &caller).await?;
    session::bind_pending_setup(state, &caller, change).await?;
    Ok(material)
}

/// Turns a confirmed method on. Returns new recovery codes when 2FA was
/// off (first enable), none when switching (the old ones stay valid).
fn activate(
    conn: &mut Conn,
    state: &AppState,
    now: i64,
    caller: &Caller,
    method: TwoFactorMethod,
    previous: Option<TwoFactorMethod>,
) -> ApiResult<Vec<String>> {
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE users SET tfa_method = ?1, tfa_enabled_at = COALESCE(tfa_enabled_at, ?2) WHERE id = ?3",
        params![method_to_db(method), now, caller.user_id],
    )?;
    let codes = if previous.is_none() {
        recovery_codes::replace_all(&tx, &state.secrets, now, caller.user_id)?
    } else {
        Vec::new()
    };
    let (event, text) = match previous {
        None => (
            Event::TwoFactorEnabled,
            format!(
                "Two-factor authentication was turned on ({}).",
                method_name(method)
            ),
        ),
        Some(old) => (
            Event::MethodSwitched,
            format!(
                "Your two-factor method was changed from {} to {}.",
                method_name(old),
                method_name(method)
            ),
        ),
    };
    audit::change(
        &tx,
        now,
        caller.user_id,
        event,
        method_to_db(method),
        Some(&caller.addr),
        &text,
    )?;
    tx.commit()?;
    Ok(codes)
}

/// Counts a failed confirmation like a failed sign-in code.
fn guard_failure(conn: &Conn, now: i64, caller: &Caller, what: &str, e: ApiError) -> ApiError {
    if is_failed_guess(&e) {
        if let Err(db) = record_failure(conn, now, caller.user_id, &caller.addr, what, &e) {
            return db.into();
        }
    }
    e
}

/// Confirm authenticator setup with a code from the app.
pub async fn authenticator_confirm(
    state: &AppState,
    caller: Caller,
    body: CodeRequest,
) -> ApiResult<EnrollmentComplete> {
    let now = state.clock.now();
    let st = state.clone();
    let codes = state
        .db
        .call(move |conn| {
            throttle::check(conn, Scope::SecondFactor, &caller.user_id.to_string(), now)?;
            let user = load(conn, caller.user_id)?;
            let sealed = user
                .pending_secret
                .ok_or_else(|| ApiError::Conflict("start authenticator setup first".into()))?;
            session::require_authorized_pending(conn, &caller)?;
            let secret = st
                .secrets
                .open(&sealed, &format!("totp:{}", caller.user_id))
                .map_err(ApiError::internal)?;
            let step = authenticator::compare(&secret, &body.code, now)
                .and_then(|m| authenticator::accept(m, None))
                .map_err(|e| guard_failure(conn, now, &caller, "authenticator setup", e))?;
            conn.execute(
                "UPDATE users SET totp_secret = pending_totp_secret, pending_totp_secret = NULL,
                 totp_last_step = ?1 WHERE id = ?2",
                params![step, caller.user_id],
            )?;
            throttle::success(conn, Scope::SecondFactor, &caller.user_id.to_string())?;
            activate(
                conn,
                &st,
                now,
                &caller,
                TwoFactorMethod::Authenticator,
                user.method,
            )
        })
        .await?;
    Ok(EnrollmentComplete {
        method: TwoFactorMethod::Authenticator,
        recovery_codes: codes,
    })
}

async fn start_sms(
    state: &AppState,
    caller: &Caller,
    requested: Option<String>,
) -> ApiResult<SmsCodeSent> {
    let requested = requested
        .filter(|p| !p.trim().is_empty())
        .map(|p| phone::mobile(&p).map(|m| m.e164))
        .transpose()?;
    let now = state.clock.now();
    let secrets = state.secrets.clone();
    let caps = state.config.sms_caps;
    let user_id = caller.user_id;
    let issued = state
        .db
        .call(move |conn| {
            let user = load(conn, user_id)?;
            let phone = match (requested.clone(), user.phone) {
                (Some(new), Some(kept)) if user.method == Some(TwoFactorMethod::Sms) && new != kept => {
                    return Err(ApiError::Conflict(
                        "to change the number, turn two-factor authentication off, then on again with the new number".into(),
                    ))
                }
                (Some(new), _) => new,
                (None, Some(kept)) => kept,
                (None, None) => {
                    return Err(ApiError::InvalidPhone("enter your mobile number".into()))
                }
            };
            let platform: bool = conn
                .query_row(
                    "SELECT 1 FROM platform_lines WHERE phone = ?1",
                    params![phone],
                    |_| Ok(true),
                )
                .optional()?
                .unwrap_or(false);
            if platform {
                return Err(ApiError::PhoneIsPlatformLine);
            }
            let issued = sms::issue(
                conn,
                &secrets,
                &caps,
                now,
                user_id,
                Purpose::Setup,
                &phone,
                Reuse::Cooldown,
            )?;
            conn.execute(
                "UPDATE users SET pending_phone = ?1 WHERE id = ?2",
                params![phone, user_id],
            )?;
            Ok(issued)
        })
        .await?;
    state.sms.deliver(&state.db, now, user_id, &issued).await?;
    Ok(SmsCodeSent {
        phone_hint: phone::mask(&issued.phone),
        expires_at: issued.expires_at,
        resend_available_at: issued.resend_available_at,
    })
}

/// Start SMS setup: send a code to the number (or to the kept number when
/// none is given). Calling it again after the cooldown resends.
pub async fn sms_setup(
    state: &AppState,
    caller: Caller,
    body: SmsSetupRequest,
) -> ApiResult<SmsCodeSent> {
    // Without a number this may be a resend of a setup this session began
    // with the password (a switch back to the kept number).
    let resend_allowed = body.phone.is_none();
    let change =
        session::authorize_method_change(state, &caller, body.password, resend_allowed).await?;
    let sent = start_sms(state, &caller, body.phone).await?;
    session::bind_pending_setup(state, &caller, change).await?;
    Ok(sent)
}

/// Confirm SMS setup with the code that was sent.
pub async fn sms_confirm(
    state: &AppState,
    caller: Caller,
    body: CodeRequest,
) -> ApiResult<EnrollmentComplete> {
    let now = state.clock.now();
    let st = state.clone();
    let codes = state
        .db
        .call(move |conn| {
            throttle::check(conn, Scope::SecondFactor, &caller.user_id.to_string(), now)?;
            let user = load(conn, caller.user_id)?;
            let pending = user
                .pending_phone
                .ok_or_else(|| ApiError::Conflict("start SMS setup first".into()))?;
            session::require_authorized_pending(conn, &caller)?;
            let phone = sms::verify(
                conn,
                &st.secrets,
                now,
                caller.user_id,
                Purpose::Setup,
                &body.code,
            )
            .map_err(|e| guard_failure(conn, now, &caller, "sms setup", e))?;
            if phone != pending {
                return Err(ApiError::Conflict(
                    "the number changed during setup; start again".into(),
                ));
            }
            conn.execute(
                "UPDATE users SET phone = pending_phone, pending_phone = NULL, totp_secret = NULL,
                 totp_last_step = NULL, pending_totp_secret = NULL WHERE id = ?1",
                params![caller.user_id],
            )?;
            throttle::success(conn, Scope::SecondFactor, &caller.user_id.to_string())?;
            activate(conn, &st, now, &caller, TwoFactorMethod::Sms, user.method)
        })
        .await?;
    Ok(EnrollmentComplete {
        method: TwoFactorMethod::Sms,
        recovery_codes: codes,
    })
}

/// Switch between SMS and the authenticator. Switching to SMS reuses the
/// kept number without asking for it; either way the new method becomes
/// active only after its confirm route accepts a code.
pub async fn switch_method(
    state: &AppState,
    caller: Caller,
    body: SwitchRequest,
) -> ApiResult<SwitchStarted> {
    let user_id = caller.user_id;
    let current = state
        .db
        .call(move |conn| load(conn, user_id).map(|u| (u.method, u.phone.is_some())))
        .await?;
    match current {
        (None, _) => return Err(ApiError::TwoFactorNotEnabled),
        (Some(m), _) if m == body.method => {
            return Err(ApiError::Conflict(format!(
                "you already use the {}",
                method_name(m)
            )))
        }
        // Only a person on the authenticator app can lack a kept number, so
        // this is a switch to SMS.
        (_, false) => {
            return Err(ApiError::InvalidPhone(
                "no number is kept for you; set one up with POST /v1/two-factor/sms/setup".into(),
            ))
        }
        _ => {}
    }
    session::confirm_password(state, &caller, body.password).await?;
    let started = match body.method {
        TwoFactorMethod::Authenticator => SwitchStarted {
            method: body.method,
            authenticator: Some(start_authenticator(state, &caller).await?),
            sms: None,
        },
        TwoFactorMethod::Sms => SwitchStarted {
            method: body.method,
            authenticator: None,
            sms: Some(start_sms(state, &caller, None).await?),
        },
    };
    session::bind_pending_setup(state, &caller, session::MethodChange::Reauthenticated).await?;
    Ok(started)
}

/// Turn 2FA off: only while it is optional for this user, with the password
/// and an explicit confirmation. Clears method, secret, phone, recovery
/// codes and trusted devices.
pub async fn disable(state: &AppState, caller: Caller, body: DisableRequest) -> ApiResult<()> {
    if !body.confirm {
        return Err(ApiError::ConfirmationRequired(
            "confirm that you want to turn two-factor authentication off (\"confirm\": true)"
                .into(),
        ));
    }
    // A date still ahead counts too: turned off now, 2FA would be required
    // again on that date, with the person just warned away from it.
    if caller.requirement.any() {
        return Err(ApiError::NotAllowedWhileEnforced(
            caller.requirement.reasons().join(", "),
        ));
    }
    let user_id = caller.user_id;
    let method = state
        .db
        .call(move |conn| load(conn, user_id).map(|u| u.method))
        .await?;
    if method.is_none() {
        return Err(ApiError::TwoFactorNotEnabled);
    }
    session::confirm_password(state, &caller, body.password).await?;
    let now = state.clock.now();
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE users SET tfa_method = NULL, tfa_enabled_at = NULL, totp_secret = NULL,
                 totp_last_step = NULL, phone = NULL, pending_totp_secret = NULL, pending_phone = NULL,
                 recovery_batch = NULL
                 WHERE id = ?1",
                params![user_id],
            )?;
            tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", params![user_id])?;
            tx.execute("DELETE FROM sms_codes WHERE user_id = ?1", params![user_id])?;
            let devices = trusted_device::revoke_all(&tx, now, user_id)?;
            audit::change(
                &tx,
                now,
                user_id,
                Event::TwoFactorDisabled,
                &format!("{devices} trusted devices revoked"),
                Some(&caller.addr),
                "Two-factor authentication was turned off. Your recovery codes and remembered devices no longer work.",
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// Replace all 10 recovery codes (needs the password); shown once.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    caller: Caller,
    body: PasswordRequest,
) -> ApiResult<RecoveryCodes> {
    let user_id = caller.user_id;
    let method = state
        .db
        .call(move |conn| load(conn, user_id).map(|u| u.method))
        .await?;
    if method.is_none() {
        return Err(ApiError::TwoFactorNotEnabled);
    }
    session::confirm_password(state, &caller, body.password).await?;
    let now = state.clock.now();
    let secrets = state.secrets.clone();
    let codes = state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            let codes = recovery_codes::replace_all(&tx, &secrets, now, user_id)?;
            audit::change(
                &tx,
                now,
                user_id,
                Event::RecoveryCodesRegenerated,
                "",
                Some(&caller.addr),
                "New recovery codes were made; the old ones no longer work.",
            )?;
            tx.commit()?;
            Ok(codes)
        })
        .await?;
    Ok(RecoveryCodes { codes })
}
