//! Admin operations on the database file, used by the CLI subcommands
//! (no server needed; WAL lets them run beside a running server).

use std::path::Path;

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreError};
use rand::Rng;
use shared::api::AccountRole;

use crate::error::{ApiError, ApiResult};
use crate::password::{self, PasswordCost};
use crate::phone;
use crate::rules::audit::{self, Event};
use crate::rules::policy::{self, MAX_GRACE_DAYS};
use crate::rules::{rollout, throttle};

pub fn open(path: &Path) -> Result<Conn, crate::store::db::DbOpenError> {
    crate::store::db::open(path)
}

fn now() -> i64 {
    crate::clock::Clock::new().now()
}

/// An email we can use as a TOTP account name: one `@`, no spaces, no `:`.
pub fn validate_email(email: &str) -> ApiResult<String> {
    let email = email.trim();
    let ok = email.len() <= 254
        && email.matches('@').count() == 1
        && !email.starts_with('@')
        && !email.ends_with('@')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c == ':' || c.is_control());
    if ok {
        Ok(email.to_string())
    } else {
        Err(ApiError::BadRequest(format!(
            "{email:?} is not a usable email address"
        )))
    }
}

pub fn create_user(conn: &Conn, cost: PasswordCost, email: &str, password: &str) -> ApiResult<i64> {
    let email = validate_email(email)?;
    password::validate_new(password)?;
    let hash = password::hash_blocking(cost, password)?;
    match conn.query_row(
        "INSERT INTO users (email, password_hash, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        params![email, hash, now()],
        |r| r.get(0),
    ) {
        Ok(id) => Ok(id),
        Err(StoreError::Constraint(_)) => Err(ApiError::Conflict(format!(
            "a user with the email {email} exists already"
        ))),
        Err(e) => Err(e.into()),
    }
}

pub fn create_account(conn: &Conn, name: &str) -> ApiResult<i64> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::BadRequest(
            "an account name has 1 to 200 characters".into(),
        ));
    }
    match conn.query_row(
        "INSERT INTO accounts (name, created_at) VALUES (?1, ?2) RETURNING id",
        params![name, now()],
        |r| r.get(0),
    ) {
        Ok(id) => Ok(id),
        Err(StoreError::Constraint(_)) => Err(ApiError::Conflict(format!(
            "an account named {name} exists already"
        ))),
        Err(e) => Err(e.into()),
    }
}

fn user_id(conn: &Conn, email: &str) -> ApiResult<i64> {
    conn.query_row(
        "SELECT id FROM users WHERE email = ?1",
        params![email.trim()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| ApiError::NotFound(format!("no user with the email {email}")))
}

fn account_id(conn: &Conn, name: &str) -> ApiResult<i64> {
    conn.query_row(
        "SELECT id FROM accounts WHERE name = ?1",
        params![name.trim()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| ApiError::NotFound(format!("no account named {name}")))
}

/// Adds the user to the account, or changes their role if already in it.
pub fn add_membership(conn: &Conn, account: &str, email: &str, role: AccountRole) -> ApiResult<()> {
    let account_id = account_id(conn, account)?;
    let user_id = user_id(conn, email)?;
    let role = match role {
        AccountRole::Owner => "owner",
        AccountRole::Member => "member",
    };
    conn.execute(
        "INSERT INTO memberships (account_id, user_id, role) VALUES (?1, ?2, ?3)
         ON CONFLICT (account_id, user_id) DO UPDATE SET role = ?3",
        params![account_id, user_id, role],
    )?;
    Ok(())
}

/// `account enforce`: on now (with no date and no grace) or off. An
/// owner's date is cleared either way: left behind, "on" would bring the
/// old date back instead of requiring 2FA now, and a stored date is one
/// the owners' form accepts again without the 24-hour check.
pub fn set_enforcement(conn: &Conn, account: &str, on: bool) -> ApiResult<()> {
    let id = account_id(conn, account)?;
    conn.execute(
        "UPDATE accounts SET enforce_2fa = ?1, enforce_from = NULL, grace_days = 0 WHERE id = ?2",
        params![on, id],
    )?;
    Ok(())
}

/// What `dialer-2fa-api policy mandatory` asks for (R10, issue 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformPolicy {
    /// Mandatory for everyone from this moment (unix seconds), with grace.
    From { at: i64, grace_days: u32 },
    /// Mandatory for everyone now, with no grace (R10 as it always was).
    Now,
    /// No platform requirement: deadlines and banners it caused go.
    Cancel,
}

/// Sets the platform's schedule in the database every node reads on every
/// request, audits it, and tells each person without 2FA whose deadline
/// this sets or moves, in the same transaction. Returns what it did, in
/// words.
pub fn set_platform_policy(conn: &Conn, change: PlatformPolicy) -> ApiResult<String> {
    let now = now();
    let tx = conn.transaction()?;
    let users: Vec<i64> = tx.query_map(
        "SELECT id FROM users WHERE tfa_method IS NULL",
        params![],
        |r| r.get(0),
    )?;
    let before = rollout::deadlines(&tx, &users, now)?;
    let done = match change {
        PlatformPolicy::From { at, grace_days } => {
            if grace_days > MAX_GRACE_DAYS {
                return Err(ApiError::BadRequest(format!(
                    "--grace-days is {grace_days}; a grace period has 0 to {MAX_GRACE_DAYS} days"
                )));
            }
            if at <= now {
                return Err(ApiError::BadRequest(format!(
                    "{} is not in the future; use --now to make 2FA mandatory at once",
                    policy::date(at)
                )));
            }
            policy::set_platform(&tx, now, Some(at), grace_days)?;
            format!(
                "2FA is mandatory for everyone from {} with {grace_days} grace day{}",
                policy::date(at),
                if grace_days == 1 { "" } else { "s" }
            )
        }
        PlatformPolicy::Now => {
            policy::set_platform(&tx, now, None, 0)?;
            "2FA is mandatory for everyone now".to_string()
        }
        PlatformPolicy::Cancel => {
            if policy::cancel_platform(&tx)? {
                "the platform's 2FA requirement is cancelled".to_string()
            } else {
                "nothing was scheduled; nothing changed".to_string()
            }
        }
    };
    audit::record(&tx, now, None, Event::PlatformPolicyChanged, &done, None)?;
    let told = rollout::announce(&tx, now, &before)?;
    tx.commit()?;
    Ok(if told > 0 {
        format!("{done}; {told} people without 2FA were notified")
    } else {
        done
    })
}

/// The platform's schedule, in words.
pub fn show_platform_policy(conn: &Conn) -> ApiResult<String> {
    Ok(match policy::platform_schedule(conn)? {
        None => "2FA is not mandatory for everyone (nothing scheduled)".to_string(),
        Some(policy::Schedule { from: None, .. }) => {
            "2FA is mandatory for everyone now".to_string()
        }
        Some(policy::Schedule {
            from: Some(at),
            grace_days,
            ..
        }) => format!(
            "2FA is mandatory for everyone from {} ({at}) with {grace_days} grace day{}",
            policy::date(at),
            if grace_days == 1 { "" } else { "s" }
        ),
    })
}

/// Registers one of the platform's own numbers, which users may not use
/// for SMS codes.
pub fn add_platform_line(conn: &Conn, phone_number: &str) -> ApiResult<String> {
    let phone = phone::normalize_e164(phone_number)?;
    conn.execute(
        "INSERT INTO platform_lines (phone, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![phone, now()],
    )?;
    Ok(phone)
}

pub fn unlock_user(conn: &Conn, email: &str) -> ApiResult<usize> {
    let id = user_id(conn, email)?;
    Ok(throttle::unlock_user(conn, email, id)?)
}

/// The demo users `--seed-demo` creates.
pub const DEMO_OWNER: &str = "owner@demo.dialer-2fa.test";
pub const DEMO_MEMBER: &str = "member@demo.dialer-2fa.test";
pub const DEMO_ACCOUNT: &str = "Demo Dialer Co";

pub enum Seeded {
    Created {
        owner_password: String,
        member_password: String,
    },
    AlreadyThere,
}

fn demo_password() -> String {
    const WORDS: &[&str] = &[
        "amber", "birch", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "indigo",
        "juniper", "kestrel", "lumen", "meadow", "nectar", "onyx", "prairie", "quartz", "raven",
        "sierra", "tundra", "umber", "violet", "willow", "zephyr",
    ];
    let mut rng = rand::rngs::OsRng;
    let words: Vec<&str> = (0..4)
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
        .collect();
    format!("{}-{}", words.join("-"), rng.gen_range(10..100))
}

/// Creates the demo owner, account and member when the database has no
/// users. Passwords are random and only printed, never stored in clear.
pub fn seed_demo(conn: &Conn, cost: PasswordCost) -> ApiResult<Seeded> {
    let users: i64 = conn.query_row("SELECT COUNT(*) FROM users", params![], |r| r.get(0))?;
    if users > 0 {
        return Ok(Seeded::AlreadyThere);
    }
    let owner_password = demo_password();
    let member_password = demo_password();
    create_user(conn, cost, DEMO_OWNER, &owner_password)?;
    create_user(conn, cost, DEMO_MEMBER, &member_password)?;
    create_account(conn, DEMO_ACCOUNT)?;
    add_membership(conn, DEMO_ACCOUNT, DEMO_OWNER, AccountRole::Owner)?;
    add_membership(conn, DEMO_ACCOUNT, DEMO_MEMBER, AccountRole::Member)?;
    Ok(Seeded::Created {
        owner_password,
        member_password,
    })
}
