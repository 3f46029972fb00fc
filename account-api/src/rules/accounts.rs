//! The caller's accounts and the owners' "Enforce 2FA" switch (R9, R10).
//!
//! Kept apart from `policy` (who must use 2FA), which every session check
//! reads: the switch needs the password check of `session`, and `session`
//! needs `policy`.

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreResult};
use shared::api::{
    AccountList, AccountMember, AccountMembers, AccountMembership, AccountRole, Enforcement,
    RemindersSent, SetEnforcement,
};

use crate::error::{ApiError, ApiResult};
use crate::rules::audit::{self, Event};
use crate::rules::policy::{self, DAY, MAX_GRACE_DAYS, MAX_LEAD, MIN_LEAD};
use crate::rules::rollout;
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
                "SELECT a.id, a.name, m.role, a.enforce_2fa, a.enforce_from, a.grace_days
                   FROM accounts a JOIN memberships m ON m.account_id = a.id
                  WHERE m.user_id = ?1 ORDER BY a.name",
                params![caller.user_id],
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<String>(1)?,
                        r.get::<String>(2)?,
                        r.get::<bool>(3)?,
                        r.get::<Option<i64>>(4)?,
                        r.get::<u32>(5)?,
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, role, enforce, enforce_from, grace_days) = row;
                let role =
                    role_from_str(&role).ok_or_else(|| ApiError::internal("unknown role"))?;
                let owner = role == AccountRole::Owner;
                let scheduled = enforce_from.filter(|_| owner && enforce);
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
                    enforce_from: scheduled,
                    members_with_two_factor: counts.map(|c| c.with_two_factor),
                    // The grace days belong to the date: shown with it.
                    grace_days: scheduled.map(|_| grace_days),
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
    let (enforce_2fa, enforce_from, grace_days): (bool, Option<i64>, u32) = conn.query_row(
        "SELECT enforce_2fa, enforce_from, grace_days FROM accounts WHERE id = ?1",
        params![account_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
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
        enforce_from,
        grace_days,
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

/// What an owner asked for, checked: off, on now, or on from a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Setting {
    enforce_2fa: bool,
    from: Option<i64>,
    grace_days: u32,
}

impl Setting {
    fn describe(self) -> String {
        match (self.enforce_2fa, self.from) {
            (false, _) => "off".into(),
            (true, None) => "on".into(),
            (true, Some(from)) => format!(
                "on from {} with {} grace day{}",
                policy::date(from),
                self.grace_days,
                if self.grace_days == 1 { "" } else { "s" }
            ),
        }
    }
}

/// Checks an owner's schedule against the server's clock: a date from 24
/// hours to 90 days ahead (the date already stored is accepted as it is,
/// so saving an unchanged form works as the day comes closer), and 0 to 7
/// grace days, which only a date can have.
fn checked(body: &SetEnforcement, stored: Option<i64>, now: i64) -> ApiResult<Setting> {
    if body.grace_days > MAX_GRACE_DAYS {
        return Err(ApiError::BadRequest(format!(
            "grace_days is {}; a grace period has 0 to {MAX_GRACE_DAYS} days",
            body.grace_days
        )));
    }
    match (body.enforce_2fa, body.from) {
        (false, Some(_)) => Err(ApiError::BadRequest(
            "\"from\" schedules enforcement: send it with \"enforce_2fa\": true".into(),
        )),
        (_, None) if body.grace_days > 0 => Err(ApiError::BadRequest(
            "grace_days needs a date (\"from\"): enforcement from now has no grace period".into(),
        )),
        (true, Some(from)) if Some(from) != stored => {
            if from < now + MIN_LEAD || from > now + MAX_LEAD {
                return Err(ApiError::BadRequest(format!(
                    "\"from\" must be between tomorrow ({}) and 90 days ahead ({}); it was {}",
                    policy::date(now + MIN_LEAD),
                    policy::date(now + MAX_LEAD),
                    policy::date(from)
                )));
            }
            Ok(Setting {
                enforce_2fa: true,
                from: Some(from),
                grace_days: body.grace_days,
            })
        }
        (enforce_2fa, from) => Ok(Setting {
            enforce_2fa,
            from: from.filter(|_| enforce_2fa),
            grace_days: if enforce_2fa { body.grace_days } else { 0 },
        }),
    }
}

/// Turns "Enforce 2FA" on, off, or on from a date (owners only), with the
/// owner's password like every other 2FA change. Every owner of the
/// account is notified, so a stolen owner session cannot quietly drop the
/// requirement. Members without 2FA are restricted to setup from their
/// next request on when it is immediate; with a date, each member whose
/// deadline this sets or moves is told through the outbox, in the same
/// transaction.
pub async fn set_enforcement(
    state: &AppState,
    caller: Caller,
    account_id: i64,
    body: SetEnforcement,
) -> ApiResult<Enforcement> {
    let owner = caller.user_id;
    let now = state.clock.now();
    let stored = state
        .db
        .call(move |conn| {
            require_owner(conn, account_id, owner)?;
            Ok(conn.query_row(
                "SELECT enforce_from FROM accounts WHERE id = ?1",
                params![account_id],
                |r| r.get::<Option<i64>>(0),
            )?)
        })
        .await?;
    // Checked before the password, so a wrong date costs no attempt.
    checked(&body, stored, now)?;
    if body.password.is_empty() {
        return Err(ApiError::BadRequest(
            "enter your password to change \"Enforce 2FA\"".into(),
        ));
    }
    session::confirm_password(state, &caller, body.password.clone()).await?;
    // The date was judged against the request's arrival; judging it again
    // against a later reading would refuse a date at exactly 24 hours
    // after the password was spent. The writes carry the later time.
    let arrived = now;
    let now = state.clock.now();
    let view = state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            // Checked again inside the write: the role may have changed
            // while the password was being checked.
            require_owner(&tx, account_id, caller.user_id)?;
            let (name, enforce_2fa, from, grace_days): (String, bool, Option<i64>, u32) = tx
                .query_row(
                "SELECT name, enforce_2fa, enforce_from, grace_days FROM accounts WHERE id = ?1",
                params![account_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let before = Setting {
                enforce_2fa,
                from: from.filter(|_| enforce_2fa),
                grace_days: if enforce_2fa { grace_days } else { 0 },
            };
            let after = checked(&body, from, arrived)?;
            if before != after {
                let members: Vec<i64> = tx.query_map(
                    "SELECT user_id FROM memberships WHERE account_id = ?1",
                    params![account_id],
                    |r| r.get(0),
                )?;
                let deadlines = rollout::deadlines(&tx, &members, now)?;
                tx.execute(
                    "UPDATE accounts SET enforce_2fa = ?1, enforce_from = ?2, grace_days = ?3
                     WHERE id = ?4",
                    params![after.enforce_2fa, after.from, after.grace_days, account_id],
                )?;
                let state = after.describe();
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
                rollout::announce(&tx, now, &deadlines)?;
            }
            let view = enforcement_view(&tx, account_id, caller.user_id)?;
            tx.commit()?;
            Ok(view)
        })
        .await?;
    Ok(view)
}

/// Everyone in an account with whether they set up 2FA (owners only),
/// those without first, and when the next reminder may go.
pub async fn list_members(
    state: &AppState,
    caller: Caller,
    account_id: i64,
) -> ApiResult<AccountMembers> {
    let now = state.clock.now();
    state
        .db
        .call(move |conn| {
            require_owner(conn, account_id, caller.user_id)?;
            let rows = conn.query_map(
                "SELECT u.email, m.role, u.tfa_method IS NOT NULL, u.id FROM memberships m
                   JOIN users u ON u.id = m.user_id
                  WHERE m.account_id = ?1
                  ORDER BY u.tfa_method IS NOT NULL, u.email",
                params![account_id],
                |r| {
                    Ok((
                        r.get::<String>(0)?,
                        r.get::<String>(1)?,
                        r.get::<bool>(2)?,
                        r.get::<i64>(3)?,
                    ))
                },
            )?;
            let mut members = Vec::with_capacity(rows.len());
            for (email, role, two_factor_enabled, user_id) in rows {
                members.push(AccountMember {
                    email,
                    role: role_from_str(&role).ok_or_else(|| ApiError::internal("unknown role"))?,
                    two_factor_enabled,
                    you: user_id == caller.user_id,
                });
            }
            let last: Option<i64> = conn.query_row(
                "SELECT last_reminder_at FROM accounts WHERE id = ?1",
                params![account_id],
                |r| r.get(0),
            )?;
            Ok(AccountMembers {
                members,
                next_reminder_at: last.map(|t| t + DAY).filter(|t| *t > now),
            })
        })
        .await
}

/// Reminds every person in the account without 2FA (but the owner who
/// asks) to set it up, through the outbox; at most once a day per
/// account, whichever owner asks. The day is claimed by one conditional
/// UPDATE, so of two owners asking at once exactly one sends.
pub async fn send_reminders(
    state: &AppState,
    caller: Caller,
    account_id: i64,
) -> ApiResult<RemindersSent> {
    let now = state.clock.now();
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            require_owner(&tx, account_id, caller.user_id)?;
            let claimed = tx.execute(
                "UPDATE accounts SET last_reminder_at = ?1
                  WHERE id = ?2 AND (last_reminder_at IS NULL OR last_reminder_at <= ?3)",
                params![now, account_id, now - DAY],
            )?;
            if claimed == 0 {
                let last: i64 = tx.query_row(
                    "SELECT last_reminder_at FROM accounts WHERE id = ?1",
                    params![account_id],
                    |r| r.get(0),
                )?;
                return Err(ApiError::ReminderTooSoon {
                    retry_after: (last + DAY - now).max(1),
                });
            }
            let name: String = tx.query_row(
                "SELECT name FROM accounts WHERE id = ?1",
                params![account_id],
                |r| r.get(0),
            )?;
            let recipients: Vec<i64> = tx.query_map(
                "SELECT u.id FROM memberships m JOIN users u ON u.id = m.user_id
                  WHERE m.account_id = ?1 AND u.tfa_method IS NULL AND u.id != ?2",
                params![account_id, caller.user_id],
                |r| r.get(0),
            )?;
            for &user_id in &recipients {
                let when = match policy::requirement(&tx, user_id, now)?.deadline {
                    Some(d) if d.at > now => format!(
                        " It will be required for you from {}.",
                        policy::date(d.at)
                    ),
                    _ => String::new(),
                };
                audit::notify(
                    &tx,
                    now,
                    user_id,
                    &format!(
                        "{} of {name} asks you to set up two-factor authentication.{when} \
                         Set it up in dialer-2fa: sign in, then open My Account, Two-Factor Authentication.",
                        caller.email
                    ),
                )?;
            }
            let sent = u32::try_from(recipients.len()).unwrap_or(u32::MAX);
            audit::record(
                &tx,
                now,
                Some(caller.user_id),
                Event::RemindersSent,
                &format!("account {account_id} ({name}): {sent} reminders"),
                Some(&caller.addr),
            )?;
            tx.commit()?;
            Ok(RemindersSent {
                sent,
                next_reminder_at: now + DAY,
            })
        })
        .await
}
