//! The caller's accounts and the owners' "Enforce 2FA" switch (R9, R10).
//!
//! Kept apart from `policy` (who must use 2FA), which every session check
//! reads: the switch needs the password check of `session`, and `session`
//! needs `policy`.

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreResult};
use shared::api::{AccountList, AccountMembership, AccountRole, Enforcement, SetEnforcement};

use crate::error::{ApiError, ApiResult};
use crate::rules::audit::{self, Event};
use crate::rules::session::{self, Caller};
use crate::state::AppState;

pub fn role_from_str(s: &str) -> Option<AccountRole> {
    match s {
        "owner" => Some(AccountRole::Owner),
        "member" => Some(AccountRole::Member),
        _ => None,
    }
}

/// The caller's role in an account, or 403 for non-owners. Non-members get
/// the same 403 so account ids cannot be probed.
fn require_owner(conn: &Conn, account_id: i64, user_id: i64) -> ApiResult<()> {
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
pub async fn list_accounts(state: &AppState, caller: Caller) -> ApiResult<AccountList> {
    let accounts = state
        .db
        .call(move |conn| {
            let rows = conn.query_map(
                "SELECT a.id, a.name, m.role, a.enforce_2fa FROM accounts a
                 JOIN memberships m ON m.account_id = a.id WHERE m.user_id = ?1 ORDER BY a.name",
                params![caller.user_id],
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<String>(1)?,
                        r.get::<String>(2)?,
                        r.get::<bool>(3)?,
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, role, enforce) = row;
                let role =
                    role_from_str(&role).ok_or_else(|| ApiError::internal("unknown role"))?;
                let owner = role == AccountRole::Owner;
                // Members see their role only: how many people an account
                // has, and who lacks 2FA, is the owners' to know.
                let counts = if owner {
                    Some(member_counts(conn, id)?)
                } else {
                    None
                };
                out.push(AccountMembership {
                    id,
                    name,
                    role,
                    enforce_2fa: owner.then_some(enforce),
                    members_without_two_factor: counts
                        .map(|c| c.members.saturating_sub(c.with_two_factor)),
                    member_count: counts.map(|c| c.members),
                    enforce_from: None,
                    members_with_two_factor: counts.map(|c| c.with_two_factor),
                });
            }
            Ok(out)
        })
        .await?;
    Ok(AccountList { accounts })
}

/// How many people an account has (owners included) and how many of them
/// have set up 2FA, read in one statement so the two agree.
#[derive(Clone, Copy)]
struct MemberCounts {
    members: u32,
    with_two_factor: u32,
}

fn member_counts(conn: &Conn, account_id: i64) -> StoreResult<MemberCounts> {
    conn.query_row(
        "SELECT COUNT(*), COUNT(u.tfa_method) FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.account_id = ?1",
        params![account_id],
        |r| {
            Ok(MemberCounts {
                members: r.get(0)?,
                with_two_factor: r.get(1)?,
            })
        },
    )
}

/// How many people in an account (owners included) have no 2FA.
fn members_without_two_factor(conn: &Conn, account_id: i64) -> StoreResult<u32> {
    conn.query_row(
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.account_id = ?1 AND u.tfa_method IS NULL",
        params![account_id],
        |r| r.get(0),
    )
}

/// The enforcement setting as an owner sees it, with what turning it on
/// would mean for the people in the account.
fn enforcement_view(conn: &Conn, account_id: i64, user_id: i64) -> ApiResult<Enforcement> {
    let enforce_2fa = conn.query_row(
        "SELECT enforce_2fa FROM accounts WHERE id = ?1",
        params![account_id],
        |r| r.get::<bool>(0),
    )?;
    let caller_two_factor_enabled = conn.query_row(
        "SELECT tfa_method IS NOT NULL FROM users WHERE id = ?1",
        params![user_id],
        |r| r.get::<bool>(0),
    )?;
    Ok(Enforcement {
        account_id,
        enforce_2fa,
        members_without_two_factor: members_without_two_factor(conn, account_id)?,
        caller_two_factor_enabled,
        enforce_from: None,
        grace_days: 0,
    })
}

/// An account's enforcement setting (owners only), with how many people
/// in it have not set up 2FA yet.
pub async fn get_enforcement(
    state: &AppState,
    caller: Caller,
    account_id: i64,
) -> ApiResult<Enforcement> {
    let view = state
        .db
        .call(move |conn| {
            require_owner(conn, account_id, caller.user_id)?;
            enforcement_view(conn, account_id, caller.user_id)
        })
        .await?;
    Ok(view)
}

/// Turns "Enforce 2FA" on or off (owners only), with the owner's password
/// like every other 2FA change. Every owner of the account is notified, so
/// a stolen owner session cannot quietly drop the requirement. Members
/// without 2FA are restricted to setup from their next request on.
pub async fn set_enforcement(
    state: &AppState,
    caller: Caller,
    account_id: i64,
    body: SetEnforcement,
) -> ApiResult<Enforcement> {
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
    session::confirm_password(state, &caller, body.password).await?;
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
    Ok(view)
}
