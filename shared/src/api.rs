//! Wire types of the account API v1 that other processes read.
//!
//! The API generates its OpenAPI document from its own route definitions;
//! the bodies it accepts and returns are these types, so the native host, the
//! web app and the extension read exactly what the server writes.
//!
//! Times are Unix seconds (UTC) as `i64`: the server's clock, which tests can
//! move, is the only clock that matters for expiry.
//!
//! This file builds on rustc 1.63 with serde only; the `openapi` feature adds
//! utoipa schemas for the API's document and is never enabled in wasm.

use serde::{Deserialize, Serialize};

use crate::error::ErrorBody;

/// Path prefix of every versioned route.
pub const API_PREFIX: &str = "/v1";

/// `GET /v1/health`: what the host reports as the API's status.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always "ok" when the API answers at all.
    pub status: String,
    /// The API's crate version.
    pub version: String,
}

/// The envelope of every API error: `{"error": {"code", "message"}}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub error: ErrorBody,
}

/// The second factor a user has chosen.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TwoFactorMethod {
    /// TOTP (RFC 6238) in an authenticator app.
    Authenticator,
    /// A 6-digit code sent by SMS to the user's personal number.
    Sms,
}

/// `POST /v1/sign-in`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
    /// The 60-day token of a remembered device: when valid for this user the
    /// second factor is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_device_token: Option<String>,
}

/// The three outcomes of a correct password.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignInResponse {
    /// 2FA is off and not required, or a valid trusted-device token was given.
    Authenticated {
        session_token: String,
        /// When the trusted device that skipped the code expires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verified_until: Option<i64>,
        /// 2FA is scheduled for this person and not set up yet.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<TwoFactorDeadline>,
    },
    /// Answer `POST /v1/sign-in/challenge` with this token and a code.
    TwoFactorRequired {
        challenge_token: String,
        method: TwoFactorMethod,
        /// For SMS: the number with all but the last digits masked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone_hint: Option<String>,
        expires_at: i64,
    },
    /// 2FA is required for this user but not set up: the session may only
    /// read and set up 2FA.
    TwoFactorSetupRequired {
        session_token: String,
        /// Who requires it: account names, or "server policy".
        required_by: Vec<String>,
        /// The deadline that passed, with `skips_left` while the grace
        /// period lasts; absent for a requirement without a date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<TwoFactorDeadline>,
    },
}

/// `POST /v1/sign-in/challenge`: exactly one of `code` and `recovery_code`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeAnswer {
    pub challenge_token: String,
    /// A TOTP or SMS code, depending on the user's method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// One of the user's 10 recovery codes; it is used up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
    /// "Remember this device": also return a 60-day trusted-device token.
    #[serde(default)]
    pub remember_device: bool,
    /// A name for the remembered device, shown in the device list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_label: Option<String>,
}

/// A verified sign-in.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeResult {
    pub session_token: String,
    /// Present when `remember_device` was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_device_token: Option<String>,
    /// When the trusted-device token stops skipping the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_until: Option<i64>,
    pub recovery_codes_remaining: u32,
}

/// `POST /v1/sign-in/challenge/resend`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResendRequest {
    pub challenge_token: String,
}

/// An SMS code was sent.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmsCodeSent {
    pub phone_hint: String,
    /// The code stops working at this time.
    pub expires_at: i64,
    /// The earliest time another code can be asked for.
    pub resend_available_at: i64,
}

/// A 2FA requirement with a date (issue 14). Before `at`, sign-in works
/// and every client shows the days left; from `at`, setup is required,
/// unless the grace period still lets this person skip it.
///
/// Several schedules can apply to one person (each of their accounts, the
/// platform): the earliest wins, and `set_by` names every schedule that
/// falls on that earliest date.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorDeadline {
    /// Unix seconds from which 2FA is required.
    pub at: i64,
    /// Whole days until `at`, rounded up; 0 from `at` on.
    pub days_left: i64,
    /// Who set this deadline: account names, or "server policy".
    pub set_by: Vec<String>,
    /// Days after `at` during which setup may still be skipped (0 to 7).
    #[serde(default)]
    pub grace_days: u32,
    /// From `at` until the grace period ends: how many more sign-ins may
    /// skip setup (`POST /v1/two-factor/setup/skip`). Absent before `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skips_left: Option<u32>,
}

/// `GET /v1/two-factor`: the signed-in user's 2FA as the settings page shows it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorState {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<TwoFactorMethod>,
    /// The kept phone number, masked; kept while the method is the
    /// authenticator so switching back to SMS does not ask for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_hint: Option<String>,
    pub recovery_codes_remaining: u32,
    /// Which recovery codes are used: 1-based places in the list as it was
    /// issued. The host marks the copies it keeps on the computer with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_codes_used: Vec<u32>,
    /// The fingerprint of the current batch of recovery codes
    /// (`rules::recovery_batch_preimage`, SHA-256, hex); it changes when
    /// new codes replace them, so a client keeping copies can tell they
    /// no longer work. Absent when there are no codes, or for a batch
    /// issued before fingerprints were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_codes_batch: Option<String>,
    /// When this client's trusted device expires, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_until: Option<i64>,
    /// 2FA is required for this user (enforced by an account or the server).
    pub required: bool,
    /// Who requires it: account names, or "server policy".
    pub required_by: Vec<String>,
    /// This session may only set up 2FA until setup is complete.
    pub setup_only: bool,
    /// A scheduled requirement this person has not met yet: absent once
    /// 2FA is on, and when nothing is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<TwoFactorDeadline>,
}

/// A password, when a route asks for it again before a 2FA change.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordConfirmation {
    /// Required once 2FA is on (every change of method carries it). While
    /// 2FA is off it may be left out if the session proved the password in
    /// the last 10 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `POST /v1/two-factor/authenticator/setup`: what the QR screen shows.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthenticatorSetup {
    /// The key as base32 text, for the copy button.
    pub secret_base32: String,
    /// `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER`.
    pub otpauth_uri: String,
    /// A PNG of the QR code of `otpauth_uri`, base64 (standard alphabet).
    pub qr_png_base64: String,
}

/// A code typed by the user.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeRequest {
    pub code: String,
}

/// Setup confirmed: the method is active.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollmentComplete {
    pub method: TwoFactorMethod,
    /// The 10 new recovery codes, shown once, when 2FA was just turned on.
    /// Empty when an existing method was switched: the old codes stay valid.
    pub recovery_codes: Vec<String>,
}

/// `POST /v1/two-factor/sms/setup`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmsSetupRequest {
    /// E.164, e.g. `+14155550123`. May be left out when the user has a kept
    /// number (switching back to SMS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// As in [`PasswordConfirmation`]: required once 2FA is on, except to
    /// resend (no `phone`) a setup this session began with the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `POST /v1/two-factor/switch`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SwitchRequest {
    pub method: TwoFactorMethod,
    pub password: String,
}

/// The switch has begun; confirm it with the new method's confirm route.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SwitchStarted {
    pub method: TwoFactorMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator: Option<AuthenticatorSetup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsCodeSent>,
}

/// `POST /v1/two-factor/disable`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisableRequest {
    pub password: String,
    /// Must be `true`: the user confirmed they want 2FA off.
    #[serde(default)]
    pub confirm: bool,
}

/// A route that needs the password again.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordRequest {
    pub password: String,
}

/// A fresh set of recovery codes, shown once.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

/// One remembered device.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustedDevice {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// The device this session came from.
    pub current: bool,
}

/// `GET /v1/trusted-devices`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustedDeviceList {
    pub devices: Vec<TrustedDevice>,
}

/// `POST /v1/password`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// A user's role in an account.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    Owner,
    Member,
}

/// One account the signed-in user belongs to.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountMembership {
    pub id: i64,
    pub name: String,
    pub role: AccountRole,
    /// Only shown to owners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_2fa: Option<bool>,
    /// Only shown to owners: how many people in the account (owners
    /// included) have not set up 2FA, so the settings page can say who
    /// enforcement would stop before it is turned on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_without_two_factor: Option<u32>,
    /// Only shown to owners: how many people the account has (owners
    /// included), so the owner's tab can say "N of M people have set up
    /// 2FA" and see the rollout move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u32>,
    /// Only shown to owners: the date scheduled enforcement takes effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_from: Option<i64>,
    /// Only shown to owners: how many of those people have set up 2FA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_with_two_factor: Option<u32>,
    /// Only shown to owners, with `enforce_from`: the schedule's grace
    /// days, so a settings page drawn again shows the whole schedule
    /// (absent from hosts and APIs older than this field: read as none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_days: Option<u32>,
}

/// `GET /v1/accounts`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountList {
    pub accounts: Vec<AccountMembership>,
}

/// An account's "Enforce 2FA" setting.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enforcement {
    pub account_id: i64,
    pub enforce_2fa: bool,
    /// How many people in the account (owners included) have not set up
    /// 2FA: with enforcement on they can do nothing but set it up.
    #[serde(default)]
    pub members_without_two_factor: u32,
    /// Whether the owner asking has 2FA: enforcement applies to them too.
    #[serde(default)]
    pub caller_two_factor_enabled: bool,
    /// When enforcement is scheduled rather than in force: the date it
    /// takes effect (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_from: Option<i64>,
    /// The schedule's grace period in days (0 to 7).
    #[serde(default)]
    pub grace_days: u32,
}

/// `PUT /v1/accounts/{id}/enforcement`: like every 2FA change, it carries
/// the owner's password.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetEnforcement {
    pub enforce_2fa: bool,
    pub password: String,
    /// With `enforce_2fa`: require 2FA from this date (unix seconds, from
    /// tomorrow to 90 days ahead) instead of now. Moving an existing date
    /// earlier notifies the members again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// With `from`: days after it during which members may still skip
    /// setup (0 to 7; 0 when left out).
    #[serde(default)]
    pub grace_days: u32,
}

/// One person in an account, as its owners see them
/// (`GET /v1/accounts/{id}/members`, owners only).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountMember {
    pub email: String,
    pub role: AccountRole,
    pub two_factor_enabled: bool,
    /// This is the owner asking: a reminder never goes to its sender, so
    /// the list can say that this person sets up 2FA themselves. Sent
    /// only when true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub you: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// `GET /v1/accounts/{id}/members`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountMembers {
    pub members: Vec<AccountMember>,
    /// When an owner may next send a reminder (at most one a day per
    /// account); absent when one may be sent now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_reminder_at: Option<i64>,
}

/// `POST /v1/accounts/{id}/reminders`: a reminder to every member without
/// 2FA, through the outbox.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemindersSent {
    pub sent: u32,
    pub next_reminder_at: i64,
}

/// `POST /v1/two-factor/setup/skip`: one of the grace period's skips was
/// used; this session may now do what a full session does.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupSkipped {
    pub skips_left: u32,
}

/// `POST /v1/handoff`: a one-time code for another client of the same user.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoffCode {
    pub code: String,
    pub expires_at: i64,
}

/// `POST /v1/handoff/redeem`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoffRedeem {
    pub code: String,
}

/// A new session for the redeeming client, with the same verification.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionGrant {
    pub session_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_until: Option<i64>,
    /// Whose session it is, so the redeeming client can say who is signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When the minting client's computer is trusted (R8), the redeeming
    /// client gets its own trusted-device token that ends when that trust
    /// ends: both clients on one computer then skip the code until the same
    /// day, and no long-lived token ever travelled between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_device_token: Option<String>,
}

/// `POST /v1/test/clock` (only with `--allow-clock-control`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockAdvance {
    pub advance_seconds: i64,
}

/// The server's clock after a move.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockNow {
    pub now: i64,
}

/// `POST /v1/test/fault` (only with `--allow-clock-control`): makes the
/// server fail on purpose, so a test can show it recovers.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestFault {
    pub fault: FaultKind,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Panic inside a database closure, with a transaction open.
    PanicInDatabase,
    /// Panic in the handler itself, outside any database work.
    PanicInHandler,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_outcomes_are_tagged_by_status() {
        let r = SignInResponse::TwoFactorRequired {
            challenge_token: "c".into(),
            method: TwoFactorMethod::Sms,
            phone_hint: Some("+1•••••••0123".into()),
            expires_at: 5,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["status"], "two_factor_required");
        assert_eq!(v["method"], "sms");
        let back: SignInResponse = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn challenge_answer_defaults() {
        let a: ChallengeAnswer =
            serde_json::from_str(r#"{"challenge_token":"t","code":"123456"}"#).unwrap();
        assert!(!a.remember_device);
        assert_eq!(a.recovery_code, None);
    }
}
