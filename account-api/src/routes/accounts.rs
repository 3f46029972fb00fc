//! `/v1/accounts`: the caller's accounts and the owners' enforcement
//! switch (rules in `rules::accounts`).

use axum::extract::State;
use axum::Json;
use shared::api::{
    AccountList, AccountMembers, ApiError as WireError, Enforcement, RemindersSent, SetEnforcement,
};

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, SignedIn};
use crate::rules::accounts;
use crate::state::AppState;

/// The accounts the caller belongs to, with their role.
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = AccountList), (status = 401, body = WireError), (status = 403, body = WireError)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> ApiResult<Json<AccountList>> {
    Ok(Json(accounts::list_accounts(&state, caller).await?))
}

/// An account's enforcement setting (owners only), with how many people
/// in it have not set up 2FA yet.
#[utoipa::path(get, path = "/v1/accounts/{id}/enforcement", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = Enforcement), (status = 401, body = WireError), (status = 403, body = WireError)))]
pub async fn get_enforcement(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiPath(account_id): ApiPath<i64>,
) -> ApiResult<Json<Enforcement>> {
    Ok(Json(
        accounts::get_enforcement(&state, caller, account_id).await?,
    ))
}

/// Turns "Enforce 2FA" on or off (owners only), with the owner's password
/// like every other 2FA change; with `from`, on from that date (24 hours
/// to 90 days ahead) with `grace_days` (0 to 7) after it. Every owner of
/// the account is notified, so a stolen owner session cannot quietly drop
/// the requirement. Members without 2FA are restricted to setup from
/// their next request on when it is immediate, and told through the
/// outbox when a date is set or moved.
#[utoipa::path(put, path = "/v1/accounts/{id}/enforcement", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "account id")),
    request_body = SetEnforcement,
    responses(
        (status = 200, body = Enforcement),
        (status = 400, body = WireError, description = "bad_request: the password is missing, `from` is not between 24 hours and 90 days ahead, `grace_days` is over 7 or comes without `from`"),
        (status = 401, body = WireError, description = "invalid_credentials: wrong password"),
        (status = 403, body = WireError, description = "forbidden: not an owner"),
        (status = 429, body = WireError, description = "rate_limited")))]
pub async fn set_enforcement(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiPath(account_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetEnforcement>,
) -> ApiResult<Json<Enforcement>> {
    Ok(Json(
        accounts::set_enforcement(&state, caller, account_id, body).await?,
    ))
}

/// Everyone in the account and whether they have set up 2FA (owners
/// only), those without first, and when the next reminder may be sent.
#[utoipa::path(get, path = "/v1/accounts/{id}/members", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "account id")),
    responses(
        (status = 200, body = AccountMembers),
        (status = 401, body = WireError),
        (status = 403, body = WireError, description = "forbidden: not an owner of this account")))]
pub async fn list_members(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiPath(account_id): ApiPath<i64>,
) -> ApiResult<Json<AccountMembers>> {
    Ok(Json(
        accounts::list_members(&state, caller, account_id).await?,
    ))
}

/// Reminds every person in the account without 2FA (but the sender) to
/// set it up, through the outbox; at most once a day per account.
#[utoipa::path(post, path = "/v1/accounts/{id}/reminders", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "account id")),
    responses(
        (status = 200, body = RemindersSent),
        (status = 401, body = WireError),
        (status = 403, body = WireError, description = "forbidden: not an owner of this account"),
        (status = 429, body = WireError, description = "reminder_too_soon: one went less than a day ago (Retry-After)")))]
pub async fn send_reminders(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiPath(account_id): ApiPath<i64>,
) -> ApiResult<Json<RemindersSent>> {
    Ok(Json(
        accounts::send_reminders(&state, caller, account_id).await?,
    ))
}
