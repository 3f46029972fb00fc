//! Rolling scheduled 2FA out (issue 14): the grace period's skips and the
//! notices that tell people about their deadline.
//!
//! Each notice a person gets about a deadline (it was set or moved, 7
//! days left, 1 day left, due today) is a row of `deadline_notices`,
//! unique per person, deadline and kind, inserted with `ON CONFLICT DO
//! NOTHING` in the same transaction as its outbox message: a notice whose
//! row exists already is not sent again, whichever node or restart
//! tries. When the deadline changes, it is a new deadline with notices of
//! its own.

use std::collections::BTreeMap;

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreResult};
use shared::api::SetupSkipped;

use crate::error::{ApiError, ApiResult};
use crate::rules::audit::{self, Event};
use crate::rules::policy::{self, Deadline, Schedule, DAY};
use crate::rules::session::Caller;
use crate::state::AppState;

/// What a notice is about. Stored as text; each kind goes out at most once
/// per person and deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The deadline was set, or moved.
    Set,
    /// Seven days (or fewer, down to two) are left.
    Days7,
    /// One day is left.
    Days1,
    /// The deadline has come.
    Due,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Set => "set",
            NoticeKind::Days7 => "days_7",
            NoticeKind::Days1 => "days_1",
            NoticeKind::Due => "due",
        }
    }

    /// The reminder due at `now` for a deadline at `at`, if any: each
    /// covers the time until the next one starts, and the notice of the
    /// day goes out during the first day only.
    pub fn due_at(at: i64, now: i64) -> Option<NoticeKind> {
        if now >= at + DAY {
            None
        } else if now >= at {
            Some(NoticeKind::Due)
        } else if now >= at - DAY {
            Some(NoticeKind::Days1)
        } else if now >= at - 7 * DAY {
            Some(NoticeKind::Days7)
        } else {
            None
        }
    }

    /// When this reminder's window opens.
    fn opens(self, at: i64) -> i64 {
        match self {
            NoticeKind::Set => i64::MIN,
            NoticeKind::Days7 => at - 7 * DAY,
            NoticeKind::Days1 => at - DAY,
            NoticeKind::Due => at,
        }
    }
}

/// The most deadline notices one person is sent in any 24 hours, of all
/// kinds and deadlines together. Each date an owner picks is a new
/// deadline with notices of its own, and a correct password is not
/// rate-limited, so without this bound an owner (or whoever holds an
/// owner's session and password) moving the date back and forth could
/// fill every member's inbox. Four covers the busiest honest day: the
/// platform's date, two accounts' dates and one reminder.
pub const MAX_NOTICES_PER_DAY: i64 = 4;

/// Queues a notice in the outbox unless this person already got this kind
/// for this deadline, or got [`MAX_NOTICES_PER_DAY`] notices in the last
/// 24 hours (a reminder held back so is tried again by the next janitor
/// pass while its window is open; a held-back "set" notice is not, the
/// banner and the coming reminders say the same). Must run inside the
/// caller's transaction, so the notice row and its message are written
/// together or not at all.
pub fn send_notice(
    conn: &Conn,
    now: i64,
    user_id: i64,
    deadline_at: i64,
    kind: NoticeKind,
    text: &str,
) -> StoreResult<bool> {
    let recent: i64 = conn.query_row(
        "SELECT COUNT(*) FROM deadline_notices WHERE user_id = ?1 AND sent_at > ?2",
        params![user_id, now - DAY],
        |r| r.get(0),
    )?;
    if recent >= MAX_NOTICES_PER_DAY {
        tracing::info!(
            user_id,
            kind = kind.as_str(),
            "deadline notice held back: the day's notices were sent"
        );
        return Ok(false);
    }
    let fresh = conn.execute(
        "INSERT INTO deadline_notices (user_id, deadline_at, kind, sent_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
        params![user_id, deadline_at, kind.as_str(), now],
    )? == 1;
    if fresh {
        audit::notify(conn, now, user_id, text)?;
    }
    Ok(fresh)
}

fn how_to() -> &'static str {
    "Set it up in dialer-2fa: sign in, then open My Account, Two-Factor Authentication."
}

fn set_by(d: &Deadline) -> String {
    d.set_by.join(", ")
}

fn reminder_text(kind: NoticeKind, d: &Deadline, now: i64) -> String {
    match kind {
        NoticeKind::Due => {
            let grace = if d.grace_days > 0 {
                format!(
                    " You can skip setup at sign-in up to {} times until {}.",
                    d.grace_days,
                    policy::date(d.grace_ends())
                )
            } else {
                String::new()
            };
            format!(
                "Two-factor authentication is required for you from today, {} (set by {}).{grace} {}",
                policy::date(d.at),
                set_by(d),
                how_to()
            )
        }
        _ => {
            let days = policy::days_left(d.at, now);
            format!(
                "Two-factor authentication will be required for you from {} ({days} day{} left, set by {}). {}",
                policy::date(d.at),
                if days == 1 { "" } else { "s" },
                set_by(d),
                how_to()
            )
        }
    }
}

/// Each user's dated deadline now, for users without 2FA (`None`: no
/// date applies), as [`announce`] compares them before and after a change.
pub fn deadlines(conn: &Conn, users: &[i64], now: i64) -> StoreResult<Vec<(i64, Option<i64>)>> {
    let mut out = Vec::with_capacity(users.len());
    for &user_id in users {
        let requirement = policy::requirement(conn, user_id, now)?;
        out.push((user_id, requirement.deadline.map(|d| d.at)));
    }
    Ok(out)
}

/// After a schedule changed: tells every listed user without 2FA whose
/// deadline is now a new date in the future, saying so when it moved
/// earlier than `before`. Returns how many were told.
pub fn announce(conn: &Conn, now: i64, before: &[(i64, Option<i64>)]) -> StoreResult<usize> {
    let mut told = 0;
    for &(user_id, was) in before {
        let two_factor_on: bool = conn.query_row(
            "SELECT tfa_method IS NOT NULL FROM users WHERE id = ?1",
            params![user_id],
            |r| r.get(0),
        )?;
        if two_factor_on {
            continue;
        }
        let Some(d) = policy::requirement(conn, user_id, now)?.deadline else {
            continue;
        };
        if d.at <= now || was == Some(d.at) {
            continue;
        }
        let text = match was {
            Some(was) if d.at < was => format!(
                "The date from which two-factor authentication is required for you moved earlier, from {} to {} (set by {}). {}",
                policy::date(was),
                policy::date(d.at),
                set_by(&d),
                how_to()
            ),
            _ => format!(
                "{} will require two-factor authentication for you from {} ({} days from now). {}",
                set_by(&d),
                policy::date(d.at),
                policy::days_left(d.at, now),
                how_to()
            ),
        };
        if send_notice(conn, now, user_id, d.at, NoticeKind::Set, &text)? {
            told += 1;
        }
    }
    Ok(told)
}

/// The janitor's part: for every user without 2FA whose deadline is near
/// or here, the reminder of the moment, once. A reminder is left out when
/// the deadline's own "set" notice went out after the reminder's window
/// opened (it said the same moments ago). Returns how many were queued.
pub fn send_due_notices(conn: &Conn, now: i64) -> StoreResult<usize> {
    let platform = policy::platform_schedule(conn)?;
    if platform.as_ref().is_some_and(|p| p.from.is_none()) {
        // Required of everyone now: nobody has a date to be reminded of.
        return Ok(0);
    }
    let mut schedules: BTreeMap<i64, Vec<Schedule>> = BTreeMap::new();
    if let Some(p) = &platform {
        for user_id in conn.query_map(
            "SELECT id FROM users WHERE tfa_method IS NULL",
            params![],
            |r| r.get::<i64>(0),
        )? {
            schedules.insert(user_id, vec![p.clone()]);
        }
    }
    let rows = conn.query_map(
        "SELECT m.user_id, a.name, a.enforce_from, a.grace_days FROM memberships m
           JOIN accounts a ON a.id = m.account_id JOIN users u ON u.id = m.user_id
          WHERE u.tfa_method IS NULL AND a.enforce_2fa = 1
          ORDER BY m.user_id, a.name",
        params![],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                Schedule {
                    name: r.get(1)?,
                    from: r.get(2)?,
                    grace_days: r.get(3)?,
                },
            ))
        },
    )?;
    for (user_id, schedule) in rows {
        schedules.entry(user_id).or_default().push(schedule);
    }
    let mut sent = 0;
    for (user_id, list) in schedules {
        let Some(d) = policy::evaluate(&list, now).deadline else {
            continue;
        };
        let Some(kind) = NoticeKind::due_at(d.at, now) else {
            continue;
        };
        if kind != NoticeKind::Due {
            let set_at: Option<i64> = conn
                .query_row(
                    "SELECT sent_at FROM deadline_notices
                      WHERE user_id = ?1 AND deadline_at = ?2 AND kind = 'set'",
                    params![user_id, d.at],
                    |r| r.get(0),
                )
                .optional()?;
            if set_at.is_some_and(|t| t >= kind.opens(d.at)) {
                continue;
            }
        }
        if send_notice(
            conn,
            now,
            user_id,
            d.at,
            kind,
            &reminder_text(kind, &d, now),
        )? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// Uses one of the grace period's skips: this session becomes a full one
/// until the grace period ends. The skip is numbered, and the number is
/// part of the table's key, so parallel skips can never use more than
/// the deadline allows, whatever the isolation.
pub async fn skip_setup(state: &AppState, caller: Caller) -> ApiResult<SetupSkipped> {
    let now = state.clock.now();
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            let (method, skipped): (Option<String>, Option<i64>) = tx.query_row(
                "SELECT u.tfa_method, s.skipped_deadline_at FROM sessions s
                   JOIN users u ON u.id = s.user_id WHERE s.id = ?1",
                params![caller.session_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if method.is_some() {
                return Err(ApiError::Conflict(
                    "two-factor authentication is on already; there is nothing to skip".into(),
                ));
            }
            let requirement = policy::requirement(&tx, caller.user_id, now)?;
            if requirement.required_by.is_empty() {
                return Err(ApiError::Conflict(
                    "two-factor authentication is not required for you yet; there is nothing to skip"
                        .into(),
                ));
            }
            let d = match requirement.deadline {
                Some(d) if d.in_grace(now) => d,
                _ => return Err(ApiError::GraceExhausted),
            };
            if skipped == Some(d.at) {
                return Err(ApiError::Conflict(
                    "this session has skipped setup already".into(),
                ));
            }
            let used = policy::skips_used(&tx, caller.user_id, d.at)?;
            if used >= d.grace_days {
                return Err(ApiError::GraceExhausted);
            }
            let n = used + 1;
            let taken = tx.execute(
                "INSERT INTO grace_skips (user_id, deadline_at, n, session_id, at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![caller.user_id, d.at, n, caller.session_id, now],
            )?;
            if taken == 0 {
                return Err(ApiError::Conflict(
                    "another sign-in used a skip at the same moment; try again".into(),
                ));
            }
            tx.execute(
                "UPDATE sessions SET skipped_deadline_at = ?1 WHERE id = ?2",
                params![d.at, caller.session_id],
            )?;
            audit::record(
                &tx,
                now,
                Some(caller.user_id),
                Event::SetupSkipped,
                &format!(
                    "deadline {} ({}): skip {n} of {}",
                    policy::date(d.at),
                    set_by(&d),
                    d.grace_days
                ),
                Some(&caller.addr),
            )?;
            tx.commit()?;
            Ok(SetupSkipped {
                skips_left: d.grace_days - n,
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reminder_has_its_window() {
        let at = 100 * DAY;
        assert_eq!(NoticeKind::due_at(at, at - 8 * DAY), None);
        assert_eq!(
            NoticeKind::due_at(at, at - 7 * DAY),
            Some(NoticeKind::Days7)
        );
        assert_eq!(
            NoticeKind::due_at(at, at - DAY - 1),
            Some(NoticeKind::Days7)
        );
        assert_eq!(NoticeKind::due_at(at, at - DAY), Some(NoticeKind::Days1));
        assert_eq!(NoticeKind::due_at(at, at - 1), Some(NoticeKind::Days1));
        assert_eq!(NoticeKind::due_at(at, at), Some(NoticeKind::Due));
        assert_eq!(NoticeKind::due_at(at, at + DAY - 1), Some(NoticeKind::Due));
        assert_eq!(NoticeKind::due_at(at, at + DAY), None);
    }
}
