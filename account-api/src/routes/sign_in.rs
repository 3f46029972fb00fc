//! `/v1/sign-in`, `/v1/sign-out` and `/v1/password` (rules in
//! `rules::sign_in`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use shared::api::{ApiError as WireError, PasswordChange, SignInRequest, SignInResponse};

use crate::error::ApiResult;
use crate::extract::{AnySession, ApiJson, ClientAddr, SignedIn};
use crate::rules::sign_in;
use crate::state::AppState;

/// Email and password, plus a trusted-device token when the client has one.
#[utoipa::path(post, path = "/v1/sign-in", tag = "sign-in",
    request_body = SignInRequest,
    responses(
        (status = 200, body = SignInResponse, description = "authenticated, two_factor_required or two_factor_setup_required"),
        (status = 401, body = WireError, description = "invalid_credentials"),
        (status = 429, body = WireError, description = "rate_limited (also the hourly SMS caps)"),
        (status = 502, body = WireError, description = "sms_delivery_failed: the SMS code could not be sent")))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<SignInRequest>,
) -> ApiResult<Json<SignInResponse>> {
    Ok(Json(sign_in::sign_in(&state, addr, req).await?))
}

/// Ends this session.
#[utoipa::path(post, path = "/v1/sign-out", tag = "sign-in",
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = WireError)))]
pub async fn sign_out(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
) -> ApiResult<StatusCode> {
    sign_in::sign_out(&state, caller).await?;
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
    sign_in::sign_out_everywhere(&state, caller).await?;
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
    sign_in::change_password(&state, caller, body).await?;
    Ok(StatusCode::NO_CONTENT)
}
