//! Error codes shared by the account API's error bodies and the native
//! messaging replies, so an API error reaches the extension as the same code.

use serde::{Deserialize, Serialize};

/// A machine-readable reason. The extension decides what to show from it;
/// the `message` next to it is already written for a person.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Native messaging framing and protocol.
    /// An incoming frame announced more than [`crate::native::MAX_FRAME_BYTES`].
    FrameTooLarge,
    /// The frame's bytes were not JSON.
    MalformedJson,
    /// JSON, but not a request this protocol knows.
    InvalidRequest,
    /// The first request on a port must be `hello`.
    HelloRequired,
    /// The host is not registered with this browser (seen by the extension).
    HostNotInstalled,
    /// The host went away while a request was pending (seen by the extension).
    HostDisconnected,
    /// The OS keyring did not answer or is locked; there is no fallback.
    KeyringUnavailable,

    // Reaching the account API.
    /// The API did not answer within the host's timeout.
    ApiUnreachable,

    // Account API.
    /// The request body or parameters were wrong.
    BadRequest,
    /// No valid session or credentials.
    Unauthorized,
    /// Signed in, but not allowed to do this.
    Forbidden,
    NotFound,
    Conflict,
    /// Too many attempts; retry later.
    RateLimited,
    InvalidCredentials,
    InvalidCode,
    /// The server failed; the message says nothing secret.
    Internal,

    // Account API: second factor and policy.
    /// The code was right once but has been used already (RFC 6238 §5.2).
    ReusedCode,
    /// The code or challenge is past its expiry; ask for a new one.
    CodeExpired,
    /// This code or challenge took too many wrong answers and is dead.
    TooManyAttempts,
    /// The password was right; a second factor is needed.
    TwoFactorRequired,
    /// 2FA is required for this user and not set up: only setup is allowed.
    SetupRequired,
    /// This change needs the password again.
    PasswordRequired,
    /// 2FA is required for this user, so it cannot be turned off.
    NotAllowedWhileEnforced,
    /// The phone number is one of the platform's own lines.
    PhoneIsPlatformLine,
    /// The phone number is not E.164 (`+` then 8 to 15 digits), or not a
    /// valid mobile number for its country (landline, premium-rate, ...).
    InvalidPhone,
    /// A code was sent moments ago; wait before asking again.
    ResendCooldown,
    /// The user has no second factor set up.
    TwoFactorNotEnabled,
    /// A destructive change was asked without explicit confirmation.
    ConfirmationRequired,
    /// The new password does not meet the length rules.
    WeakPassword,
    /// The grace period after a 2FA deadline is over, or its skips are
    /// used up: 2FA must be set up now.
    GraceExhausted,
    /// An owner already sent a reminder to this account today.
    ReminderTooSoon,
    /// The SMS provider refused or could not be reached; no code was sent,
    /// and the next request sends a new one. The message is generic: the
    /// provider's own words stay in the server's log.
    SmsDeliveryFailed,

    // Account API: limits of the server itself.
    /// The request body is larger than the API accepts (HTTP 413).
    PayloadTooLarge,
    /// The API gave up on the request after its time limit; try again.
    Timeout,
    /// `/v1/ready`: this node cannot serve (its database or server key
    /// failed the check); a load balancer sends traffic elsewhere.
    NotReady,
    // The extension and the web app (R7).
    /// The web app asked for something only the person may allow, in the
    /// extension's own popup (a first sign-in through the extension on this
    /// computer, or a switch to another person): a page cannot answer it.
    ConsentRequired,
    /// The web app asked the extension to keep recovery codes that are not
    /// the signed-in person's current batch at the API: nothing was kept.
    RecoveryCodesNotCurrent,

    /// A code this build does not know yet: an older extension talking to a
    /// newer host or API keeps working and shows the message.
    #[serde(other)]
    Unknown,
}

/// The body of every error: `{"code": "...", "message": "..."}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_strings() {
        let body = ErrorBody::new(ErrorCode::FrameTooLarge, "too big");
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(json, r#"{"code":"frame_too_large","message":"too big"}"#);
    }

    #[test]
    fn api_codes_are_snake_case() {
        let codes = [
            (
                ErrorCode::NotAllowedWhileEnforced,
                "not_allowed_while_enforced",
            ),
            (ErrorCode::PhoneIsPlatformLine, "phone_is_platform_line"),
            (ErrorCode::ResendCooldown, "resend_cooldown"),
            (ErrorCode::ReusedCode, "reused_code"),
            (ErrorCode::SmsDeliveryFailed, "sms_delivery_failed"),
            (ErrorCode::GraceExhausted, "grace_exhausted"),
            (ErrorCode::ReminderTooSoon, "reminder_too_soon"),
            (ErrorCode::PayloadTooLarge, "payload_too_large"),
            (ErrorCode::Timeout, "timeout"),
            (ErrorCode::NotReady, "not_ready"),
            (ErrorCode::ConsentRequired, "consent_required"),
            (
                ErrorCode::RecoveryCodesNotCurrent,
                "recovery_codes_not_current",
            ),
        ];
        for (code, text) in codes.iter() {
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(text));
        }
    }

    #[test]
    fn unknown_code_is_kept_as_unknown() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"from_the_future","message":"m"}"#).unwrap();
        assert_eq!(body.code, ErrorCode::Unknown);
    }
}
