//! `/v1/two-factor`: reading and changing a user's 2FA (rules in
//! `rules::enrollment`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use shared::api::{
    ApiError as WireError, AuthenticatorSetup, CodeRequest, DisableRequest, EnrollmentComplete,
    PasswordConfirmation, PasswordRequest, RecoveryCodes, SetupSkipped, SmsCodeSent,
    SmsSetupRequest, SwitchRequest, SwitchStarted, TwoFactorState,
};

use crate::error::ApiResult;
use crate::extract::{AnySession, ApiJson, SignedIn};
use crate::rules::{enrollment, rollout};
use crate::state::AppState;

/// The caller's 2FA as the settings page shows it.
#[utoipa::path(get, path = "/v1/two-factor", tag = "two-factor",
    security(("bearer" = [])),
    responses((status = 200, body = TwoFactorState), (status = 401, body = WireError)))]
pub async fn read_state(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
) -> ApiResult<Json<TwoFactorState>> {
    Ok(Json(enrollment::read_state(&state, caller).await?))
}

/// Start authenticator setup: a new key, its `otpauth://` URI and QR code.
#[utoipa::path(post, path = "/v1/two-factor/authenticator/setup", tag = "two-factor",
    security(("bearer" = [])),
    request_body = PasswordConfirmation,
    responses((status = 200, body = AuthenticatorSetup), (status = 401, body = WireError, description = "password_required (with 2FA on the password must be in the request), invalid_credentials")))]
pub async fn authenticator_setup(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
    ApiJson(body): ApiJson<PasswordConfirmation>,
) -> ApiResult<Json<AuthenticatorSetup>> {
    Ok(Json(
        enrollment::authenticator_setup(&state, caller, body).await?,
    ))
}

/// Confirm authenticator setup with a code from the app.
#[utoipa::path(post, path = "/v1/two-factor/authenticator/confirm", tag = "two-factor",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses((status = 200, body = EnrollmentComplete), (status = 401, body = WireError, description = "invalid_code; password_required when 2FA is on and this session did not start the setup with the password"), (status = 409, body = WireError, description = "no setup pending")))]
pub async fn authenticator_confirm(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<Json<EnrollmentComplete>> {
    Ok(Json(
        enrollment::authenticator_confirm(&state, caller, body).await?,
    ))
}

/// Start SMS setup: send a code to the number (or to the kept number when
/// none is given). Calling it again after the cooldown resends.
#[utoipa::path(post, path = "/v1/two-factor/sms/setup", tag = "two-factor",
    security(("bearer" = [])),
    request_body = SmsSetupRequest,
    responses(
        (status = 200, body = SmsCodeSent),
        (status = 400, body = WireError, description = "invalid_phone (not a valid mobile number), phone_is_platform_line"),
        (status = 401, body = WireError, description = "password_required (with 2FA on the password must be in the request, except to resend to the kept number a setup this session began with it)"),
        (status = 429, body = WireError, description = "resend_cooldown, rate_limited (hourly SMS caps)"),
        (status = 502, body = WireError, description = "sms_delivery_failed")))]
pub async fn sms_setup(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
    ApiJson(body): ApiJson<SmsSetupRequest>,
) -> ApiResult<Json<SmsCodeSent>> {
    Ok(Json(enrollment::sms_setup(&state, caller, body).await?))
}

/// Confirm SMS setup with the code that was sent.
#[utoipa::path(post, path = "/v1/two-factor/sms/confirm", tag = "two-factor",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses((status = 200, body = EnrollmentComplete), (status = 401, body = WireError, description = "invalid_code; password_required when 2FA is on and this session did not start the setup with the password"), (status = 409, body = WireError), (status = 429, body = WireError)))]
pub async fn sms_confirm(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<Json<EnrollmentComplete>> {
    Ok(Json(enrollment::sms_confirm(&state, caller, body).await?))
}

/// Switch between SMS and the authenticator. Switching to SMS reuses the
/// kept number without asking for it; either way the new method becomes
/// active only after its confirm route accepts a code.
#[utoipa::path(post, path = "/v1/two-factor/switch", tag = "two-factor",
    security(("bearer" = [])),
    request_body = SwitchRequest,
    responses((status = 200, body = SwitchStarted), (status = 400, body = WireError), (status = 401, body = WireError), (status = 409, body = WireError)))]
pub async fn switch_method(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<SwitchRequest>,
) -> ApiResult<Json<SwitchStarted>> {
    Ok(Json(enrollment::switch_method(&state, caller, body).await?))
}

/// Turn 2FA off: only while it is optional for this user, with the password
/// and an explicit confirmation. Clears method, secret, phone, recovery
/// codes and trusted devices.
#[utoipa::path(post, path = "/v1/two-factor/disable", tag = "two-factor",
    security(("bearer" = [])),
    request_body = DisableRequest,
    responses(
        (status = 204),
        (status = 400, body = WireError, description = "confirmation_required"),
        (status = 401, body = WireError),
        (status = 403, body = WireError, description = "not_allowed_while_enforced"),
        (status = 409, body = WireError, description = "two_factor_not_enabled")))]
pub async fn disable(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<DisableRequest>,
) -> ApiResult<StatusCode> {
    enrollment::disable(&state, caller, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace all 10 recovery codes (needs the password); shown once.
#[utoipa::path(post, path = "/v1/two-factor/recovery-codes", tag = "two-factor",
    security(("bearer" = [])),
    request_body = PasswordRequest,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = WireError), (status = 409, body = WireError)))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<PasswordRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(
        enrollment::regenerate_recovery_codes(&state, caller, body).await?,
    ))
}

/// During the grace period after a 2FA deadline: use one of the skips, so
/// this session may do everything until the grace period ends. As many skips
/// in all as grace days, counted per person and deadline, and audited.
#[utoipa::path(post, path = "/v1/two-factor/setup/skip", tag = "two-factor",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SetupSkipped),
        (status = 401, body = WireError),
        (status = 403, body = WireError, description = "grace_exhausted: no grace period now (none, over, or an immediate requirement) or no skips left"),
        (status = 409, body = WireError, description = "conflict: 2FA is on, not required yet, or this session skipped already")))]
pub async fn skip_setup(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
) -> ApiResult<Json<SetupSkipped>> {
    Ok(Json(rollout::skip_setup(&state, caller).await?))
}
