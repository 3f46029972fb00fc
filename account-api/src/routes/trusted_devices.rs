//! `/v1/trusted-devices`: the caller's remembered devices (rules in
//! `rules::trusted_device`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use shared::api::{ApiError as WireError, TrustedDeviceList};

use crate::error::ApiResult;
use crate::extract::{ApiPath, SignedIn};
use crate::rules::trusted_device;
use crate::state::AppState;

/// The caller's trusted devices that are still valid.
#[utoipa::path(get, path = "/v1/trusted-devices", tag = "trusted-devices",
    security(("bearer" = [])),
    responses((status = 200, body = TrustedDeviceList), (status = 401, body = WireError), (status = 403, body = WireError)))]
pub async fn list(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> ApiResult<Json<TrustedDeviceList>> {
    Ok(Json(trusted_device::list(&state, caller).await?))
}

/// Stops trusting one device: its next sign-in asks for the code.
#[utoipa::path(delete, path = "/v1/trusted-devices/{id}", tag = "trusted-devices",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "trusted device id")),
    responses((status = 204), (status = 401, body = WireError), (status = 404, body = WireError)))]
pub async fn revoke(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    trusted_device::revoke(&state, caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
