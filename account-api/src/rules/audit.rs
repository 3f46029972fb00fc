//! The audit log and the change notifications.
//!
//! Every 2FA change and every failed second factor leaves a row here, and
//! every change also leaves a notification for the user in the outbox, so a
//! user learns when someone else changed their security.

use crate::params;
use crate::store::{Conn, StoreResult};

/// Events the audit log knows. Strings, so the log stays readable with
/// plain SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    TwoFactorEnabled,
    TwoFactorDisabled,
    MethodSwitched,
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
    SecondFactorFailed,
    PasswordFailed,
    PasswordChanged,
    TrustedDeviceAdded,
    TrustedDeviceRevoked,
    EnforcementChanged,
    LockedOut,
    SignedOutEverywhere,
    /// A challenge was answered: one second factor entered. Counted by the
    /// "verify once" promise (R7, R8).
    SecondFactorVerified,
    /// A client signed in with another client's handoff code, no code entered.
    HandoffRedeemed,
    /// A person without 2FA used one of the grace period's skips.
    SetupSkipped,
    /// An owner sent the members without 2FA a reminder.
    RemindersSent,
    /// The platform's schedule was set, made immediate or cancelled.
    PlatformPolicyChanged,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::TwoFactorEnabled => "two_factor_enabled",
            Event::TwoFactorDisabled => "two_factor_disabled",
            Event::MethodSwitched => "method_switched",
            Event::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Event::RecoveryCodeUsed => "recovery_code_used",
            Event::SecondFactorFailed => "second_factor_failed",
            Event::PasswordFailed => "password_failed",
            Event::PasswordChanged => "password_changed",
            Event::TrustedDeviceAdded => "trusted_device_added",
            Event::TrustedDeviceRevoked => "trusted_device_revoked",
            Event::EnforcementChanged => "enforcement_changed",
            Event::LockedOut => "locked_out",
            Event::SignedOutEverywhere => "signed_out_everywhere",
            Event::SecondFactorVerified => "second_factor_verified",
            Event::HandoffRedeemed => "handoff_redeemed",
            Event::SetupSkipped => "setup_skipped",
            Event::RemindersSent => "reminders_sent",
            Event::PlatformPolicyChanged => "platform_policy_changed",
        }
    }
}

/// Writes one audit row. `detail` must never hold a secret or a code.
pub fn record(
    conn: &Conn,
    now: i64,
    user_id: Option<i64>,
    event: Event,
    detail: &str,
    client_addr: Option<&str>,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO audit_log (at, user_id, event, detail, client_addr) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now, user_id, event.as_str(), detail, client_addr],
    )?;
    Ok(())
}

/// Queues a notification to the user (by email) in the outbox.
pub fn notify(conn: &Conn, now: i64, user_id: i64, text: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO outbox (created_at, kind, recipient, body, user_id)
         SELECT ?1, 'notification', email, ?2, id FROM users WHERE id = ?3",
        params![now, text, user_id],
    )?;
    Ok(())
}

/// Queues the same notification to every owner of an account: a change
/// to the account's security must reach the owners who did not make it.
pub fn notify_owners(conn: &Conn, now: i64, account_id: i64, text: &str) -> StoreResult<usize> {
    conn.execute(
        "INSERT INTO outbox (created_at, kind, recipient, body, user_id)
         SELECT ?1, 'notification', u.email, ?2, u.id FROM users u
         JOIN memberships m ON m.user_id = u.id
         WHERE m.account_id = ?3 AND m.role = 'owner'",
        params![now, text, account_id],
    )
}

/// A 2FA change: an audit row and a notification.
pub fn change(
    conn: &Conn,
    now: i64,
    user_id: i64,
    event: Event,
    detail: &str,
    client_addr: Option<&str>,
    notification: &str,
) -> StoreResult<()> {
    record(conn, now, Some(user_id), event, detail, client_addr)?;
    notify(conn, now, user_id, notification)
}

/// One audit row as the CLI lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub user_id: Option<i64>,
    pub event: String,
    pub detail: Option<String>,
    pub client_addr: Option<String>,
}

pub fn list(conn: &Conn, user_id: Option<i64>) -> StoreResult<Vec<AuditRow>> {
    conn.query_map(
        "SELECT id, at, user_id, event, detail, client_addr FROM audit_log
         WHERE CAST(?1 AS BIGINT) IS NULL OR user_id = ?1 ORDER BY id",
        params![user_id],
        |r| {
            Ok(AuditRow {
                id: r.get(0)?,
                at: r.get(1)?,
                user_id: r.get(2)?,
                event: r.get(3)?,
                detail: r.get(4)?,
                client_addr: r.get(5)?,
            })
        },
    )
}
