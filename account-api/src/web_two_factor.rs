//! The web app's own 2FA settings: My Account → Two-Factor Authentication
//! and, for owners, Account Settings → Two-Factor Authentication, as cookie
//! routes under `/web/` (issue 15).
//!
//! Each route takes its session from the HttpOnly cookie (through
//! `web_app`'s cookie-to-bearer layer), passes the same Origin check as every
//! other state-changing `/web/` request, and then calls the very rule
//! function its v1 twin calls, with the same extractor deciding which
//! sessions may use it: a setup-only session may set up 2FA and nothing
//! else, exactly as on v1. So the page is a view and the API's rules stay the
//! only rules; the answers (errors included) are the v1 answers.
//!
//! Nothing here returns a token. The values a page does receive are the
//! ones it must show the person: the authenticator key and its QR code
//! during setup, and recovery codes once, when they are made.
//!
//! These routes are not in `/v1/openapi.json`: like the rest of `/web/`
//! they exist for the web app's page only, which the server itself serves.

use axum::routing::{delete, get, post};
use axum::Router;
use axum::{extract::State, http::StatusCode, Json};
use shared::api::{
    AccountList, AuthenticatorSetup, CodeRequest, DisableRequest, Enforcement, EnrollmentComplete,
    PasswordConfirmation, PasswordRequest, RecoveryCodes, SetEnforcement, SmsCodeSent,
    SmsSetupRequest, SwitchRequest, SwitchStarted, TrustedDeviceList,
};

use crate::error::ApiResult;
use crate::extract::{AnySession, ApiJson, ApiPath, SignedIn};
use crate::rules::{accounts, enrollment, trusted_device};
use crate::state::AppState;

/// The routes, to be merged where the session cookie becomes the bearer
/// token and the Origin check applies (`web_app::router`).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/web/two-factor/authenticator/setup",
            post(authenticator_setup),
        )
        .route(
            "/web/two-factor/authenticator/confirm",
            post(authenticator_confirm),
        )
        .route("/web/two-factor/sms/setup", post(sms_setup))
        .route("/web/two-factor/sms/confirm", post(sms_confirm))
        .route("/web/two-factor/switch", post(switch_method))
        .route("/web/two-factor/disable", post(disable))
        .route("/web/two-factor/recovery-codes", post(recovery_codes))
        .route("/web/trusted-devices", get(trusted_devices))
        .route("/web/trusted-devices/{id}", delete(revoke_trusted_device))
        .route("/web/accounts", get(accounts))
        .route(
            "/web/accounts/{id}/enforcement",
            get(enforcement).put(set_enforcement),
        )
}

async fn authenticator_setup(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
    ApiJson(body): ApiJson<PasswordConfirmation>,
) -> ApiResult<Json<AuthenticatorSetup>> {
    Ok(Json(
        enrollment::authenticator_setup(&state, caller, body).await?,
    ))
}

async fn authenticator_confirm(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<Json<EnrollmentComplete>> {
    Ok(Json(
        enrollment::authenticator_confirm(&state, caller, body).await?,
    ))
}

/// Starts SMS setup, or (without a number) resends to the number this
/// setup uses, under the v1 route's cooldown and caps.
async fn sms_setup(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
    ApiJson(body): ApiJson<SmsSetupRequest>,
) -> ApiResult<Json<SmsCodeSent>> {
    Ok(Json(enrollment::sms_setup(&state, caller, body).await?))
}

async fn sms_confirm(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<Json<EnrollmentComplete>> {
    Ok(Json(enrollment::sms_confirm(&state, caller, body).await?))
}

async fn switch_method(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<SwitchRequest>,
) -> ApiResult<Json<SwitchStarted>> {
    Ok(Json(enrollment::switch_method(&state, caller, body).await?))
}

async fn disable(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<DisableRequest>,
) -> ApiResult<StatusCode> {
    enrollment::disable(&state, caller, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn recovery_codes(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<PasswordRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(
        enrollment::regenerate_recovery_codes(&state, caller, body).await?,
    ))
}

async fn trusted_devices(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> ApiResult<Json<TrustedDeviceList>> {
    Ok(Json(trusted_device::list(&state, caller).await?))
}

async fn revoke_trusted_device(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    trusted_device::revoke(&state, caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The accounts the person belongs to; the page shows the owner's tab only
/// for accounts whose role is owner, and the enforcement routes refuse
/// everyone else whatever the page shows.
async fn accounts(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> ApiResult<Json<AccountList>> {
    Ok(Json(accounts::list_accounts(&state, caller).await?))
}

async fn enforcement(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiPath(account_id): ApiPath<i64>,
) -> ApiResult<Json<Enforcement>> {
    Ok(Json(
        accounts::get_enforcement(&state, caller, account_id).await?,
    ))
}

async fn set_enforcement(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiPath(account_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetEnforcement>,
) -> ApiResult<Json<Enforcement>> {
    Ok(Json(
        accounts::set_enforcement(&state, caller, account_id, body).await?,
    ))
}
