//! `/v1/handoff`: one-time codes that pass a verification to another
//! client (rules in `rules::handoff`).

use axum::extract::State;
use axum::Json;
use shared::api::{ApiError as WireError, HandoffCode, HandoffRedeem, SessionGrant};

use crate::error::ApiResult;
use crate::extract::{ApiJson, ClientAddr, SignedIn};
use crate::rules::handoff;
use crate::state::AppState;

/// Mint a one-time handoff code for another client of this user.
#[utoipa::path(post, path = "/v1/handoff", tag = "handoff",
    security(("bearer" = [])),
    responses((status = 200, body = HandoffCode), (status = 401, body = WireError), (status = 403, body = WireError)))]
pub async fn create(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> ApiResult<Json<HandoffCode>> {
    Ok(Json(handoff::create(&state, caller).await?))
}

/// Redeem a handoff code for a new session of the same user.
#[utoipa::path(post, path = "/v1/handoff/redeem", tag = "handoff",
    request_body = HandoffRedeem,
    responses((status = 200, body = SessionGrant), (status = 401, body = WireError, description = "invalid_code"), (status = 429, body = WireError)))]
pub async fn redeem(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<HandoffRedeem>,
) -> ApiResult<Json<SessionGrant>> {
    Ok(Json(handoff::redeem(&state, addr, body).await?))
}
