//! Who must use 2FA (R9, R10) and the owners' enforcement switch.
//!
//! The requirement sits on the user: it holds if any account they belong to
//! enforces 2FA, or the server makes it mandatory. It is computed at sign-in
//! and on every request, before any account is chosen.

use axum::extract::State;
use axum::Json;
use rusqlite::{params, Connection, OptionalExtension};
use shared::api::{
    AccountList, AccountMembership, AccountRole, ApiError as WireError, Enforcement, SetEnforcement,
};

use crate::app::AppState;
use crate::audit::{self, Event};
use crate::auth::{self, ApiJson, ApiPath, Caller, SignedIn};
use crate::error::{ApiError, ApiResult};

/// What `required_by` says for the server-wide setting.
pub const SERVER_POLICY: &str = "server policy";

/// The reasons 2FA is required for a user; empty when it is optional.
pub fn required_by(
    conn: &Connection,
    user_id: i64,
    mandatory: bool,
) -> rusqlite::Result<Vec<String>> {
    let mut reasons = Vec::new();
    if mandatory {
        reasons.push(SERVER_POLICY.to_string());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT a.name FROM accounts a JOIN memberships m ON m.account_id = a.id
         WHERE m.user_id = ?1 AND a.enforce_2fa = 1 ORDER BY a.name",
    )?;
    let names = stmt.query_map(params![user_id], |r| r.get::<_, String>(0))?;
    for name in names {
        reasons.push(name?);
    }
    Ok(reasons)
}

pub fn role_from_str(s: &str) -> Option<AccountRole> {
    match s {
        "owner" => Some(AccountRole::Owner),
        "member" => Some(AccountRole::Member),
        _ => None,
    }
}

/// The caller's role in an account, or 403 for non-owners. Non-members get
/// the same 403 so account ids cannot be probed.
fn require_owner(conn: &Connection, account_id: i64, user_id: i64) -> ApiResult<()> {
    let role: Option<String> = conn
        .query_row(
            "SELECT role FROM memberships WHERE account_id = ?1 AND user_id = ?2",
            params![account_id, user_id],
            |r| r.get(0),
        )
        .optional()?;
    match role.as_deref() {
        Some("owner") => Ok(()),
        _ => Err(ApiError::Forbidden(
            "only the account's owners can see or change its 2FA enforcement".into(),
        )),
    }
}

/// The accounts the caller belongs to, with their role.
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = AccountList), (status = 401, body = WireError), (status = 403, body = WireError)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> ApiResult<Json<AccountList>> {
    accounts_of(state, caller).await
}

/// The rule itself, shared by the v1 route and the web app's `/web/` twin
/// (the caller's session kind is checked by each route's extractor).
pub(crate) async fn accounts_of(state: AppState, caller: Caller) -> ApiResult<Json<AccountList>> {
    let accounts = state
        .db
        .call(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT a.id, a.name, m.role, a.enforce_2fa FROM accounts a
                 JOIN memberships m ON m.account_id = a.id WHERE m.user_id = ?1 ORDER BY a.name",
            )?;
            let rows = stmt.query_map(params![caller.user_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, role, enforce) = row?;
                let role =
                    role_from_str(&role).ok_or_else(|| ApiError::internal("unknown role"))?;
                let owner = role == AccountRole::Owner;
                let without = if owner {
                    Some(members_without_two_factor(conn, id)?)
                } else {
                    None
                };
                out.push(AccountMembership {
                    id,
                    name,
                    role,
                    enforce_2fa: owner.then_some(enforce),
                    members_without_two_factor: without,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(AccountList { accounts }))
}

/// How many people in an account (owners included) have no 2FA.
fn members_without_two_factor(conn: &Connection, account_id: i64) -> rusqlite::Result<u32> {
    conn.query_row(
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.account_id = ?1 AND u.tfa_method IS NULL",
        params![account_id],
        |r| r.get(0),
    )
}

/// The enforcement setting as an owner sees it, with what turning it on
/// would mean for the people in the account.
fn enforcement_view(conn: &Connection, account_id: i64, user_id: i64) -> ApiResult<Enforcement> {
    let enforce_2fa = conn.query_row(
        "SELECT enforce_2fa FROM accounts WHERE id = ?1",
        params![account_id],
        |r| r.get::<_, bool>(0),
    )?;
    let caller_two_factor_enabled = conn.query_row(
        "SELECT tfa_method IS NOT NULL FROM users WHERE id = ?1",
        params![user_id],
        |r| r.get::<_, bool>(0),
    )?;
    Ok(Enforcement {
        account_id,
        enforce_2fa,
        members_without_two_factor: members_without_two_factor(conn, account_id)?,
        caller_two_factor_enabled,
    })
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
    enforcement_of(state, caller, account_id).await
}

/// The rule itself, shared by the v1 route and the web app's `/web/` twin
/// (the caller's session kind is checked by each route's extractor).
pub(crate) async fn enforcement_of(
    state: AppState,
    caller: Caller,
    account_id: i64,
) -> ApiResult<Json<Enforcement>> {
    let view = state
        .db
        .call(move |conn| {
            require_owner(conn, account_id, caller.user_id)?;
            enforcement_view(conn, account_id, caller.user_id)
        })
        .await?;
    Ok(Json(view))
}

/// Turns "Enforce 2FA" on or off (owners only), with the owner's password
/// like every other 2FA change. Every owner of the account is notified, so
/// a stolen owner session cannot quietly drop the requirement. Members
/// without 2FA are restricted to setup from their next request on.
#[utoipa::path(put, path = "/v1/accounts/{id}/enforcement", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "account id")),
    request_body = SetEnforcement,
    responses(
        (status = 200, body = Enforcement),
        (status = 400, body = WireError, description = "bad_request: the password is missing"),
        (status = 401, body = WireError, description = "invalid_credentials: wrong password"),
        (status = 403, body = WireError, description = "forbidden: not an owner"),
        (status = 429, body = WireError, description = "rate_limited")))]
pub async fn set_enforcement(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiPath(account_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetEnforcement>,
) -> ApiResult<Json<Enforcement>> {
    change_enforcement(state, caller, account_id, body).await
}

/// The rule itself, shared by the v1 route and the web app's `/web/` twin
/// (the caller's session kind is checked by each route's extractor).
pub(crate) async fn change_enforcement(
    state: AppState,
    caller: Caller,
    account_id: i64,
    body: SetEnforcement,
) -> ApiResult<Json<Enforcement>> {
    let owner = caller.user_id;
    state
        .db
        .call(move |conn| require_owner(conn, account_id, owner))
        .await?;
    if body.password.is_empty() {
        return Err(ApiError::BadRequest(
            "enter your password to change \"Enforce 2FA\"".into(),
        ));
    }
    auth::confirm_password(&state, &caller, body.password).await?;
    let now = state.clock.now();
    let view = state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            // Checked again inside the write: the role may have changed
            // while the password was being checked.
            require_owner(&tx, account_id, caller.user_id)?;
            let (name, before): (String, bool) = tx.query_row(
                "SELECT name, enforce_2fa FROM accounts WHERE id = ?1",
                params![account_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if before != body.enforce_2fa {
                tx.execute(
                    "UPDATE accounts SET enforce_2fa = ?1 WHERE id = ?2",
                    params![body.enforce_2fa, account_id],
                )?;
                let state = if body.enforce_2fa { "on" } else { "off" };
                audit::record(
                    &tx,
                    now,
                    Some(caller.user_id),
                    Event::EnforcementChanged,
                    &format!("account {account_id} ({name}): {state}"),
                    Some(&caller.addr),
                )?;
                audit::notify_owners(
                    &tx,
                    now,
                    account_id,
                    &format!(
                        "{} turned \"Enforce 2FA\" {state} for the account {name}.",
                        caller.email
                    ),
                )?;
            }
            let view = enforcement_view(&tx, account_id, caller.user_id)?;
            tx.commit()?;
            Ok(view)
        })
        .await?;
    Ok(Json(view))
}
