//! `/v1/sign-in/challenge`: the second step of sign-in (rules in
//! `rules::challenge`).

use axum::extract::State;
use axum::Json;
use shared::api::{
    ApiError as WireError, ChallengeAnswer, ChallengeResult, ResendRequest, SmsCodeSent,
};

use crate::error::ApiResult;
use crate::extract::{ApiJson, ClientAddr};
use crate::rules::challenge;
use crate::state::AppState;

/// Answer the challenge; optionally remember this device for 60 days.
#[utoipa::path(post, path = "/v1/sign-in/challenge", tag = "sign-in",
    request_body = ChallengeAnswer,
    responses(
        (status = 200, body = ChallengeResult),
        (status = 401, body = WireError, description = "invalid_code, reused_code, code_expired"),
        (status = 429, body = WireError, description = "too_many_attempts, rate_limited")))]
pub async fn answer(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> ApiResult<Json<ChallengeResult>> {
    Ok(Json(challenge::answer(&state, addr, answer).await?))
}

/// Sends a new SMS code for an open challenge, after the cooldown.
#[utoipa::path(post, path = "/v1/sign-in/challenge/resend", tag = "sign-in",
    request_body = ResendRequest,
    responses(
        (status = 200, body = SmsCodeSent),
        (status = 401, body = WireError),
        (status = 409, body = WireError, description = "the user's method is not SMS"),
        (status = 429, body = WireError, description = "resend_cooldown, rate_limited (hourly SMS caps)"),
        (status = 502, body = WireError, description = "sms_delivery_failed")))]
pub async fn resend(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ResendRequest>,
) -> ApiResult<Json<SmsCodeSent>> {
    Ok(Json(challenge::resend(&state, req).await?))
}
