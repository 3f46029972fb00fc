//! Native messages about signing in and the user's own 2FA: what the
//! extension asks the host, which asks the account API.
//!
//! The host adds what the extension must never hold (session, challenge and
//! trusted-device tokens, all kept by the host) and strips it from what it
//! answers. The bodies the API returns are reused from [`crate::api`] where
//! they carry nothing secret.
//!
//! These requests travel inside [`crate::native::Request::Account`], with the
//! same flat wire shape as every request: `{"id": 7, "type": "sign_in", ...}`.

use serde::{Deserialize, Serialize};

use crate::api::{TwoFactorMethod, TwoFactorState};

/// Everything the extension can ask about the signed-in person.
///
/// `Debug` prints only the type, never a password or code (see
/// [`crate::native::Request`]).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AccountRequest {
    /// Password sign-in; the host presents this computer's trusted-device
    /// token if it has one. Answered with [`SignInOutcome`].
    SignIn { email: String, password: String },
    /// Answer the pending challenge with exactly one of `code` and
    /// `recovery_code`. Answered with [`SignInOutcome::SignedIn`].
    AnswerChallenge {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recovery_code: Option<String>,
        /// "Remember this computer for 60 days".
        #[serde(default)]
        remember_device: bool,
    },
    /// Send the pending SMS challenge's code again. Answered with
    /// [`crate::api::SmsCodeSent`].
    ResendSms,
    /// End this computer's session; other clients stay signed in.
    /// Answered with [`SessionView`].
    SignOut,
    /// End every session of the person. Answered with [`SessionView`].
    SignOutEverywhere,
    /// Who is signed in here and their 2FA. Answered with [`SessionView`].
    Session,
    /// Start the authenticator app setup. Answered with
    /// [`crate::api::AuthenticatorSetup`].
    AuthenticatorSetup {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    /// Confirm the authenticator app with a code. Answered with
    /// [`crate::api::EnrollmentComplete`].
    AuthenticatorConfirm { code: String },
    /// Start SMS setup; `phone` may be left out when switching back to the
    /// kept number. Answered with [`crate::api::SmsCodeSent`].
    SmsSetup {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    /// Confirm SMS with the code sent. Answered with
    /// [`crate::api::EnrollmentComplete`].
    SmsConfirm { code: String },
    /// Begin switching method (R5). Answered with [`crate::api::SwitchStarted`].
    SwitchMethod {
        method: TwoFactorMethod,
        password: String,
    },
    /// Turn 2FA off (R6). Answered with [`SessionView`].
    Disable { password: String, confirm: bool },
    /// Replace all 10 recovery codes. Answered with
    /// [`crate::api::RecoveryCodes`].
    RegenerateRecoveryCodes { password: String },
    /// Answered with [`crate::api::TrustedDeviceList`].
    ListTrustedDevices,
    /// Answered with [`Done`]. On the wire the field is `device_id`:
    /// `id` is the frame's own request id, which would swallow it.
    RevokeTrustedDevice {
        #[serde(rename = "device_id")]
        id: i64,
    },
    /// The accounts the person belongs to, with their role. Answered with
    /// [`crate::api::AccountList`].
    ListAccounts,
    /// Owners only (R9), with the owner's password. Answered with
    /// [`crate::api::Enforcement`].
    SetEnforcement {
        account_id: i64,
        enforce_2fa: bool,
        password: String,
        /// Require from this date (unix seconds) instead of now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<i64>,
        #[serde(default)]
        grace_days: u32,
    },
    /// Owners only. Answered with [`crate::api::AccountMembers`].
    ListMembers { account_id: i64 },
    /// Owners only, once a day per account. Answered with
    /// [`crate::api::RemindersSent`].
    SendReminder { account_id: i64 },
    /// Use one of the grace period's skips for this session. Answered with
    /// [`SessionView`].
    SkipSetup,
    /// A one-time code the web app at `origin` (checked by the service
    /// worker against the configured one) redeems for its own session (R7).
    /// The first time for this computer, origin and person the host answers
    /// `consent_required` and waits for the person's answer in the popup.
    /// Answered with [`crate::api::HandoffCode`].
    CreateHandoff { origin: String },
    /// Sign in by redeeming the web app's handoff code. A code of another
    /// person than the one signed in here waits for the person's answer in
    /// the popup (`consent_required`). Answered with [`SessionView`].
    RedeemHandoff {
        code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<String>,
    },
    /// What the web app waits on the person for, if anything. Answered
    /// with [`crate::web_sync::PendingPrompt`].
    WebAppPrompt,
    /// The person's answer, in the popup, to the waiting prompt. Answered
    /// with [`SessionView`].
    AnswerWebAppPrompt { allow: bool },
}

impl std::fmt::Debug for AccountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccountRequest({})", self.kind())
    }
}

impl AccountRequest {
    /// The `type` string, for logs that must not contain parameters.
    pub fn kind(&self) -> &'static str {
        match self {
            AccountRequest::SignIn { .. } => "sign_in",
            AccountRequest::AnswerChallenge { .. } => "answer_challenge",
            AccountRequest::ResendSms => "resend_sms",
            AccountRequest::SignOut => "sign_out",
            AccountRequest::SignOutEverywhere => "sign_out_everywhere",
            AccountRequest::Session => "session",
            AccountRequest::AuthenticatorSetup { .. } => "authenticator_setup",
            AccountRequest::AuthenticatorConfirm { .. } => "authenticator_confirm",
            AccountRequest::SmsSetup { .. } => "sms_setup",
            AccountRequest::SmsConfirm { .. } => "sms_confirm",
            AccountRequest::SwitchMethod { .. } => "switch_method",
            AccountRequest::Disable { .. } => "disable",
            AccountRequest::RegenerateRecoveryCodes { .. } => "regenerate_recovery_codes",
            AccountRequest::ListTrustedDevices => "list_trusted_devices",
            AccountRequest::RevokeTrustedDevice { .. } => "revoke_trusted_device",
            AccountRequest::ListAccounts => "list_accounts",
            AccountRequest::SetEnforcement { .. } => "set_enforcement",
            AccountRequest::ListMembers { .. } => "list_members",
            AccountRequest::SendReminder { .. } => "send_reminder",
            AccountRequest::SkipSetup => "skip_setup",
            AccountRequest::CreateHandoff { .. } => "create_handoff",
            AccountRequest::RedeemHandoff { .. } => "redeem_handoff",
            AccountRequest::WebAppPrompt => "web_app_prompt",
            AccountRequest::AnswerWebAppPrompt { .. } => "answer_web_app_prompt",
        }
    }
}

/// Who is signed in on this computer, as the popup shows it. No tokens.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub signed_in: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The person's 2FA, when signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_factor: Option<TwoFactorState>,
    /// The API could not be asked: this is the host's last known answer,
    /// and `two_factor` may be out of date.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stale: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl SessionView {
    pub fn signed_out() -> SessionView {
        SessionView {
            signed_in: false,
            email: None,
            two_factor: None,
            stale: false,
        }
    }
}

/// What a sign-in step led to.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignInOutcome {
    /// Signed in: the code was right, not needed, or skipped by this
    /// computer's trusted-device token.
    SignedIn { session: SessionView },
    /// The host holds the challenge; answer it with `answer_challenge`.
    TwoFactorRequired {
        method: TwoFactorMethod,
        /// For SMS: the masked number the code went to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone_hint: Option<String>,
        /// Unix seconds when the challenge stops working.
        expires_at: i64,
    },
    /// 2FA is required but not set up: the session may only set it up.
    SetupRequired { session: SessionView },
}

/// The answer of requests that only succeed or fail.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct Done {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_flat_wire_shape() {
        let r = AccountRequest::AnswerChallenge {
            code: Some("123456".into()),
            recovery_code: None,
            remember_device: true,
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"type": "answer_challenge", "code": "123456", "remember_device": true})
        );
        assert_eq!(r.kind(), "answer_challenge");
    }

    #[test]
    fn revoke_does_not_collide_with_the_frame_id() {
        let frame: crate::native::RequestFrame =
            serde_json::from_str(r#"{"id":3,"type":"revoke_trusted_device","device_id":42}"#)
                .unwrap();
        assert_eq!(frame.id, 3);
        assert_eq!(
            frame.request,
            crate::native::Request::Account(AccountRequest::RevokeTrustedDevice { id: 42 })
        );
    }

    #[test]
    fn outcome_is_tagged_by_status() {
        let o: SignInOutcome = serde_json::from_str(
            r#"{"status":"two_factor_required","method":"sms","phone_hint":"+1******0123","expires_at":9}"#,
        )
        .unwrap();
        assert_eq!(
            o,
            SignInOutcome::TwoFactorRequired {
                method: TwoFactorMethod::Sms,
                phone_hint: Some("+1******0123".into()),
                expires_at: 9
            }
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let r = crate::native::Request::Account(AccountRequest::SignIn {
            email: "a@example.com".into(),
            password: "hunter2 hunter2".into(),
        });
        let text = format!("{:?}", r);
        assert_eq!(text, "Request(sign_in)");
        let vault = crate::native::Request::VaultSave {
            account: "a".into(),
            codes: vec!["abcd-efgh".into()],
        };
        assert!(!format!("{:?}", vault).contains("abcd"));
    }
}
