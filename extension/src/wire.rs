//! Host results read field by field into the `shared` types, without
//! serde's derived deserializers or serde_json's parser.
//!
//! Why: those derives, the buffering of the internally tagged enums and the
//! float formatting serde's error messages reach were about 70 KB of the
//! popup's 129 KB of gzipped wasm (issue 12, goal 4; figures in README.md).
//! A host result reaches a page as a JS object already (the service worker
//! forwards the host's reply without decoding it), so it is read through
//! `Reflect` property by property, by the [`Decode`] impls below.
//!
//! The types stay defined once, in `shared`, with their serde attributes:
//! the host and the API write them with serde. These impls read the same
//! wire shape (field names, tags, which fields may be absent), and the tests
//! at the bottom hold them to it: every type is written by its serde
//! `Serialize`, read back here, and must come back equal. Unit enums (error
//! codes, methods, roles) are read by their own serde derive from the string,
//! so their wire spellings are written nowhere else.
//!
//! [`Source`] is the value being read: `JsValue` in the browser, and
//! `serde_json::Value` on the build machine, where the state machines'
//! tests feed answers written by serde.

use serde::de::{DeserializeOwned, IntoDeserializer};
use shared::api::{
    AccountList, AccountMember, AccountMembers, AccountMembership, AccountRole, AuthenticatorSetup,
    Enforcement, EnrollmentComplete, HandoffCode, RecoveryCodes, RemindersSent, SmsCodeSent,
    SwitchStarted, TrustedDevice, TrustedDeviceList, TwoFactorDeadline, TwoFactorMethod,
    TwoFactorState,
};
use shared::native::{
    ApiReachability, HelloResult, StatusResult, VaultEntry, VaultListResult, VaultRevealResult,
    VaultSaveResult,
};
use shared::two_factor::{SessionView, SignInOutcome};
use shared::web_sync::{ExternalRequest, PendingPrompt, WebAppConfig, WebAppPrompt};
use shared::{ErrorBody, ErrorCode};

/// A JSON-shaped value as the decoders see it.
pub trait Source: Sized {
    /// The named property; `None` when absent, `undefined` or `null` (serde
    /// reads a `null` optional field as `None` too).
    fn prop(&self, name: &str) -> Option<Self>;
    fn string(&self) -> Option<String>;
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    /// The elements, when the value is an array.
    fn items(&self) -> Option<Vec<Self>>;
}

/// Why a value could not be read: where (the field names from the outside
/// in) and what was expected there. Static words only, so no number is ever
/// formatted (float formatting is bytes the popup cannot afford).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: Vec<&'static str>,
    pub expected: &'static str,
}

impl Problem {
    fn new(expected: &'static str) -> Problem {
        Problem {
            at: Vec::new(),
            expected,
        }
    }

    fn within(mut self, field: &'static str) -> Problem {
        self.at.insert(0, field);
        self
    }

    /// For the person reading the error, e.g. "`session.email`: expected a
    /// string".
    pub fn describe(&self) -> String {
        if self.at.is_empty() {
            format!("expected {}", self.expected)
        } else {
            format!("`{}`: expected {}", self.at.join("."), self.expected)
        }
    }
}

/// A type read from a [`Source`].
pub trait Decode: Sized {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem>;
}

/// A field that must be present.
pub fn req<S: Source, T: Decode>(value: &S, field: &'static str) -> Result<T, Problem> {
    match value.prop(field) {
        Some(v) => T::decode(&v).map_err(|p| p.within(field)),
        None => Err(Problem::new("a value").within(field)),
    }
}

/// An `Option` field: absent or null is `None`.
pub fn opt<S: Source, T: Decode>(value: &S, field: &'static str) -> Result<Option<T>, Problem> {
    match value.prop(field) {
        Some(v) => T::decode(&v).map(Some).map_err(|p| p.within(field)),
        None => Ok(None),
    }
}

/// A `#[serde(default)]` field: absent or null is the default.
pub fn or_default<S: Source, T: Decode + Default>(
    value: &S,
    field: &'static str,
) -> Result<T, Problem> {
    opt(value, field).map(Option::unwrap_or_default)
}

/// The tag of an internally tagged enum.
fn tag<S: Source>(value: &S, field: &'static str) -> Result<String, Problem> {
    req(value, field)
}

fn unknown_variant(field: &'static str) -> Problem {
    Problem::new("a known kind").within(field)
}

/// A unit enum read from its string by its own serde derive, so the wire
/// spellings stay in `shared`'s attributes.
fn unit_enum<S: Source, T: DeserializeOwned>(value: &S) -> Result<T, Problem> {
    let text = value.string().ok_or_else(|| Problem::new("a string"))?;
    let read: Result<T, serde::de::value::Error> =
        T::deserialize(text.as_str().into_deserializer());
    read.map_err(|_| Problem::new("a known name"))
}

/// JS numbers are doubles: integers are exact up to 2^53.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

fn integer<S: Source>(value: &S, min: f64, max: f64) -> Result<f64, Problem> {
    match value.number() {
        Some(n) if n.fract() == 0.0 && n >= min && n <= max => Ok(n),
        _ => Err(Problem::new("a whole number in range")),
    }
}

impl Decode for String {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem> {
        value.string().ok_or_else(|| Problem::new("a string"))
    }
}

impl Decode for bool {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem> {
        value.boolean().ok_or_else(|| Problem::new("true or false"))
    }
}

impl Decode for u32 {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem> {
        integer(value, 0.0, u32::MAX as f64).map(|n| n as u32)
    }
}

impl Decode for u64 {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem> {
        integer(value, 0.0, MAX_SAFE).map(|n| n as u64)
    }
}

impl Decode for i64 {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem> {
        integer(value, -MAX_SAFE, MAX_SAFE).map(|n| n as i64)
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem> {
        value
            .items()
            .ok_or_else(|| Problem::new("a list"))?
            .iter()
            .map(T::decode)
            .collect()
    }
}

impl Decode for ErrorCode {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem> {
        // A code this build does not know is `Unknown` (serde(other)).
        unit_enum(value)
    }
}

impl Decode for TwoFactorMethod {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem> {
        unit_enum(value)
    }
}

impl Decode for AccountRole {
    fn decode<S: Source>(value: &S) -> Result<Self, Problem> {
        unit_enum(value)
    }
}

impl Decode for ErrorBody {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(ErrorBody {
            code: req(v, "code")?,
            message: req(v, "message")?,
        })
    }
}

impl Decode for HelloResult {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(HelloResult {
            protocol: req(v, "protocol")?,
            host_version: req(v, "host_version")?,
        })
    }
}

impl Decode for ApiReachability {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(ApiReachability {
            url: req(v, "url")?,
            reachable: req(v, "reachable")?,
            version: opt(v, "version")?,
            latency_ms: opt(v, "latency_ms")?,
            problem: opt(v, "problem")?,
        })
    }
}

impl Decode for StatusResult {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(StatusResult {
            host_version: req(v, "host_version")?,
            api: req(v, "api")?,
        })
    }
}

impl Decode for VaultSaveResult {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(VaultSaveResult {
            account: req(v, "account")?,
            saved: req(v, "saved")?,
        })
    }
}

impl Decode for VaultEntry {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(VaultEntry {
            id: req(v, "id")?,
            account: req(v, "account")?,
            position: req(v, "position")?,
            used: req(v, "used")?,
            saved_at: req(v, "saved_at")?,
            replaced: or_default(v, "replaced")?,
        })
    }
}

impl Decode for VaultListResult {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(VaultListResult {
            entries: req(v, "entries")?,
        })
    }
}

impl Decode for VaultRevealResult {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(VaultRevealResult {
            id: req(v, "id")?,
            account: req(v, "account")?,
            code: req(v, "code")?,
        })
    }
}

impl Decode for TwoFactorDeadline {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(TwoFactorDeadline {
            at: req(v, "at")?,
            days_left: req(v, "days_left")?,
            set_by: req(v, "set_by")?,
            grace_days: or_default(v, "grace_days")?,
            skips_left: opt(v, "skips_left")?,
        })
    }
}

impl Decode for TwoFactorState {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(TwoFactorState {
            enabled: req(v, "enabled")?,
            method: opt(v, "method")?,
            phone_hint: opt(v, "phone_hint")?,
            recovery_codes_remaining: req(v, "recovery_codes_remaining")?,
            recovery_codes_used: or_default(v, "recovery_codes_used")?,
            recovery_codes_batch: opt(v, "recovery_codes_batch")?,
            verified_until: opt(v, "verified_until")?,
            required: req(v, "required")?,
            required_by: req(v, "required_by")?,
            setup_only: req(v, "setup_only")?,
            deadline: opt(v, "deadline")?,
        })
    }
}

impl Decode for SessionView {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(SessionView {
            signed_in: req(v, "signed_in")?,
            email: opt(v, "email")?,
            two_factor: opt(v, "two_factor")?,
            stale: or_default(v, "stale")?,
        })
    }
}

impl Decode for SignInOutcome {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        match tag(v, "status")?.as_str() {
            "signed_in" => Ok(SignInOutcome::SignedIn {
                session: req(v, "session")?,
            }),
            "two_factor_required" => Ok(SignInOutcome::TwoFactorRequired {
                method: req(v, "method")?,
                phone_hint: opt(v, "phone_hint")?,
                expires_at: req(v, "expires_at")?,
            }),
            "setup_required" => Ok(SignInOutcome::SetupRequired {
                session: req(v, "session")?,
            }),
            _ => Err(unknown_variant("status")),
        }
    }
}

impl Decode for SmsCodeSent {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(SmsCodeSent {
            phone_hint: req(v, "phone_hint")?,
            expires_at: req(v, "expires_at")?,
            resend_available_at: req(v, "resend_available_at")?,
        })
    }
}

impl Decode for AuthenticatorSetup {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(AuthenticatorSetup {
            secret_base32: req(v, "secret_base32")?,
            otpauth_uri: req(v, "otpauth_uri")?,
            qr_png_base64: req(v, "qr_png_base64")?,
        })
    }
}

impl Decode for EnrollmentComplete {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(EnrollmentComplete {
            method: req(v, "method")?,
            recovery_codes: req(v, "recovery_codes")?,
        })
    }
}

impl Decode for SwitchStarted {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(SwitchStarted {
            method: req(v, "method")?,
            authenticator: opt(v, "authenticator")?,
            sms: opt(v, "sms")?,
        })
    }
}

impl Decode for RecoveryCodes {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(RecoveryCodes {
            codes: req(v, "codes")?,
        })
    }
}

impl Decode for TrustedDevice {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(TrustedDevice {
            id: req(v, "id")?,
            label: opt(v, "label")?,
            created_at: req(v, "created_at")?,
            expires_at: req(v, "expires_at")?,
            last_used_at: opt(v, "last_used_at")?,
            current: req(v, "current")?,
        })
    }
}

impl Decode for TrustedDeviceList {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(TrustedDeviceList {
            devices: req(v, "devices")?,
        })
    }
}

impl Decode for AccountMembership {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(AccountMembership {
            id: req(v, "id")?,
            name: req(v, "name")?,
            role: req(v, "role")?,
            enforce_2fa: opt(v, "enforce_2fa")?,
            members_without_two_factor: opt(v, "members_without_two_factor")?,
            member_count: opt(v, "member_count")?,
            enforce_from: opt(v, "enforce_from")?,
            members_with_two_factor: opt(v, "members_with_two_factor")?,
            grace_days: opt(v, "grace_days")?,
        })
    }
}

impl Decode for AccountList {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(AccountList {
            accounts: req(v, "accounts")?,
        })
    }
}

impl Decode for Enforcement {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(Enforcement {
            account_id: req(v, "account_id")?,
            enforce_2fa: req(v, "enforce_2fa")?,
            members_without_two_factor: or_default(v, "members_without_two_factor")?,
            caller_two_factor_enabled: or_default(v, "caller_two_factor_enabled")?,
            enforce_from: opt(v, "enforce_from")?,
            grace_days: or_default(v, "grace_days")?,
        })
    }
}

impl Decode for AccountMember {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(AccountMember {
            email: req(v, "email")?,
            role: req(v, "role")?,
            two_factor_enabled: req(v, "two_factor_enabled")?,
            you: or_default(v, "you")?,
        })
    }
}

impl Decode for AccountMembers {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(AccountMembers {
            members: req(v, "members")?,
            next_reminder_at: opt(v, "next_reminder_at")?,
        })
    }
}

impl Decode for RemindersSent {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(RemindersSent {
            sent: req(v, "sent")?,
            next_reminder_at: req(v, "next_reminder_at")?,
        })
    }
}

impl Decode for HandoffCode {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(HandoffCode {
            code: req(v, "code")?,
            expires_at: req(v, "expires_at")?,
        })
    }
}

impl Decode for WebAppPrompt {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        match tag(v, "kind")?.as_str() {
            "sign_in" => Ok(WebAppPrompt::SignIn {
                origin: req(v, "origin")?,
                email: opt(v, "email")?,
            }),
            "switch" => Ok(WebAppPrompt::Switch {
                origin: req(v, "origin")?,
                from: opt(v, "from")?,
                to: opt(v, "to")?,
            }),
            _ => Err(unknown_variant("kind")),
        }
    }
}

impl Decode for PendingPrompt {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(PendingPrompt {
            prompt: opt(v, "prompt")?,
        })
    }
}

impl Decode for WebAppConfig {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        Ok(WebAppConfig {
            origin: req(v, "origin")?,
        })
    }
}

impl Decode for ExternalRequest {
    fn decode<S: Source>(v: &S) -> Result<Self, Problem> {
        match tag(v, "type")?.as_str() {
            "handoff_offer" => Ok(ExternalRequest::HandoffOffer {
                code: req(v, "code")?,
            }),
            "handoff_request" => Ok(ExternalRequest::HandoffRequest),
            "keep_recovery_codes" => Ok(ExternalRequest::KeepRecoveryCodes {
                codes: req(v, "codes")?,
            }),
            _ => Err(unknown_variant("type")),
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl Source for wasm_bindgen::JsValue {
    fn prop(&self, name: &str) -> Option<Self> {
        // Reflect.get throws on a primitive: no property there either.
        js_sys::Reflect::get(self, &wasm_bindgen::JsValue::from_str(name))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn string(&self) -> Option<String> {
        self.as_string()
    }

    fn number(&self) -> Option<f64> {
        self.as_f64()
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn items(&self) -> Option<Vec<Self>> {
        if js_sys::Array::is_array(self) {
            Some(js_sys::Array::from(self).iter().collect())
        } else {
            None
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Source for serde_json::Value {
    fn prop(&self, name: &str) -> Option<Self> {
        self.get(name).filter(|v| !v.is_null()).cloned()
    }

    fn string(&self) -> Option<String> {
        self.as_str().map(str::to_string)
    }

    fn number(&self) -> Option<f64> {
        self.as_f64()
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn items(&self) -> Option<Vec<Self>> {
        self.as_array().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;
    use std::fmt::Debug;

    /// Written by serde (as the host and the API write it), read here: the
    /// same value must come back.
    fn round_trip<T: Serialize + Decode + PartialEq + Debug>(value: T) {
        let wire = serde_json::to_value(&value).unwrap();
        assert_eq!(T::decode(&wire), Ok(value), "{}", wire);
    }

    fn read<T: Decode>(wire: serde_json::Value) -> Result<T, Problem> {
        T::decode(&wire)
    }

    fn deadline() -> TwoFactorDeadline {
        TwoFactorDeadline {
            at: 1_800_000_000,
            days_left: -3,
            set_by: vec!["Acme".into(), "Beta".into()],
            grace_days: 7,
            skips_left: Some(2),
        }
    }

    fn two_factor() -> TwoFactorState {
        TwoFactorState {
            enabled: true,
            method: Some(TwoFactorMethod::Sms),
            phone_hint: Some("+1•••0123".into()),
            recovery_codes_remaining: 8,
            recovery_codes_used: vec![1, 4],
            recovery_codes_batch: Some("b1".into()),
            verified_until: Some(1_700_000_000),
            required: true,
            required_by: vec!["Acme".into()],
            setup_only: false,
            deadline: Some(deadline()),
        }
    }

    fn session() -> SessionView {
        SessionView {
            signed_in: true,
            email: Some("a@example.com".into()),
            two_factor: Some(two_factor()),
            stale: true,
        }
    }

    #[test]
    fn every_reply_type_reads_what_serde_writes() {
        round_trip(ErrorBody::new(ErrorCode::InvalidCode, "wrong"));
        round_trip(ErrorBody::new(ErrorCode::SmsDeliveryFailed, "no"));
        round_trip(HelloResult {
            protocol: 1,
            host_version: "0.1.0".into(),
        });
        round_trip(StatusResult {
            host_version: "0.1.0".into(),
            api: ApiReachability {
                url: "http://127.0.0.1:8787".into(),
                reachable: true,
                version: Some("0.1.0".into()),
                latency_ms: Some(3),
                problem: Some("slow".into()),
            },
        });
        round_trip(StatusResult {
            host_version: "0.1.0".into(),
            api: ApiReachability {
                url: "u".into(),
                reachable: false,
                version: None,
                latency_ms: None,
                problem: None,
            },
        });
        round_trip(VaultSaveResult {
            account: "a@example.com".into(),
            saved: 10,
        });
        let entry = VaultEntry {
            id: 9_007_199_254_740_991,
            account: "a@example.com".into(),
            position: 3,
            used: true,
            saved_at: 1_700_000_000,
            replaced: true,
        };
        round_trip(VaultListResult {
            entries: vec![
                entry.clone(),
                VaultEntry {
                    replaced: false,
                    ..entry
                },
            ],
        });
        round_trip(VaultListResult { entries: vec![] });
        round_trip(VaultRevealResult {
            id: 2,
            account: "a".into(),
            code: "abcd-efgh".into(),
        });
        round_trip(session());
        round_trip(SessionView::signed_out());
        round_trip(SessionView {
            two_factor: Some(TwoFactorState {
                method: None,
                phone_hint: None,
                recovery_codes_used: vec![],
                recovery_codes_batch: None,
                verified_until: None,
                deadline: Some(TwoFactorDeadline {
                    skips_left: None,
                    grace_days: 0,
                    ..deadline()
                }),
                ..two_factor()
            }),
            ..session()
        });
        round_trip(SignInOutcome::SignedIn { session: session() });
        round_trip(SignInOutcome::SetupRequired { session: session() });
        for phone_hint in [None, Some("+1•••0123".to_string())] {
            round_trip(SignInOutcome::TwoFactorRequired {
                method: TwoFactorMethod::Authenticator,
                phone_hint,
                expires_at: 42,
            });
        }
        let sms = SmsCodeSent {
            phone_hint: "+1•••0123".into(),
            expires_at: 100,
            resend_available_at: 60,
        };
        round_trip(sms.clone());
        let app = AuthenticatorSetup {
            secret_base32: "JBSWY3DP".into(),
            otpauth_uri: "otpauth://totp/x".into(),
            qr_png_base64: "iVBOR".into(),
        };
        round_trip(app.clone());
        round_trip(EnrollmentComplete {
            method: TwoFactorMethod::Sms,
            recovery_codes: vec!["a".into(), "b".into()],
        });
        round_trip(SwitchStarted {
            method: TwoFactorMethod::Authenticator,
            authenticator: Some(app),
            sms: Some(sms),
        });
        round_trip(SwitchStarted {
            method: TwoFactorMethod::Sms,
            authenticator: None,
            sms: None,
        });
        round_trip(RecoveryCodes {
            codes: vec!["x".into()],
        });
        let device = TrustedDevice {
            id: 5,
            label: Some("Firefox on Linux".into()),
            created_at: 1,
            expires_at: 2,
            last_used_at: Some(3),
            current: true,
        };
        round_trip(TrustedDeviceList {
            devices: vec![
                device.clone(),
                TrustedDevice {
                    label: None,
                    last_used_at: None,
                    current: false,
                    ..device
                },
            ],
        });
        let membership = AccountMembership {
            id: 7,
            name: "Acme".into(),
            role: AccountRole::Owner,
            enforce_2fa: Some(true),
            members_without_two_factor: Some(2),
            member_count: Some(5),
            enforce_from: Some(1_800_000_000),
            members_with_two_factor: Some(3),
            grace_days: Some(14),
        };
        round_trip(AccountList {
            accounts: vec![
                membership.clone(),
                AccountMembership {
                    id: 8,
                    name: "Beta".into(),
                    role: AccountRole::Member,
                    enforce_2fa: None,
                    members_without_two_factor: None,
                    member_count: None,
                    enforce_from: None,
                    members_with_two_factor: None,
                    grace_days: None,
                },
            ],
        });
        round_trip(Enforcement {
            account_id: 7,
            enforce_2fa: true,
            members_without_two_factor: 2,
            caller_two_factor_enabled: true,
            enforce_from: Some(5),
            grace_days: 3,
        });
        round_trip(AccountMembers {
            members: vec![
                AccountMember {
                    email: "a@example.com".into(),
                    role: AccountRole::Owner,
                    two_factor_enabled: true,
                    you: true,
                },
                AccountMember {
                    email: "b@example.com".into(),
                    role: AccountRole::Member,
                    two_factor_enabled: false,
                    you: false,
                },
            ],
            next_reminder_at: Some(9),
        });
        round_trip(RemindersSent {
            sent: 2,
            next_reminder_at: 9,
        });
        round_trip(HandoffCode {
            code: "c".into(),
            expires_at: 9,
        });
        round_trip(PendingPrompt { prompt: None });
        round_trip(PendingPrompt {
            prompt: Some(WebAppPrompt::SignIn {
                origin: "http://127.0.0.1:8787".into(),
                email: Some("a@example.com".into()),
            }),
        });
        round_trip(PendingPrompt {
            prompt: Some(WebAppPrompt::Switch {
                origin: "http://127.0.0.1:8787".into(),
                from: Some("a@example.com".into()),
                to: None,
            }),
        });
        round_trip(WebAppConfig {
            origin: "http://127.0.0.1:8787".into(),
        });
        round_trip(ExternalRequest::HandoffOffer { code: "c".into() });
        round_trip(ExternalRequest::HandoffRequest);
        round_trip(ExternalRequest::KeepRecoveryCodes {
            codes: vec!["a".into()],
        });
    }

    #[test]
    fn absent_defaults_and_nulls_read_as_serde_reads_them() {
        // `replaced` and `stale` have serde defaults; optional fields may be
        // null or absent.
        let entry: VaultEntry =
            read(json!({"id": 1, "account": "a", "position": 0, "used": false, "saved_at": 5}))
                .unwrap();
        assert!(!entry.replaced);
        let view: SessionView = read(json!({"signed_in": false, "email": null})).unwrap();
        assert_eq!(view, SessionView::signed_out());
        // Unknown fields are ignored, as serde does.
        let hello: HelloResult =
            read(json!({"protocol": 1, "host_version": "1", "extra": [1, 2]})).unwrap();
        assert_eq!(hello.protocol, 1);
    }

    #[test]
    fn an_error_code_this_build_does_not_know_is_unknown() {
        let body: ErrorBody = read(json!({"code": "brand_new_code", "message": "m"})).unwrap();
        assert_eq!(body.code, ErrorCode::Unknown);
        let body: ErrorBody = read(json!({"code": "rate_limited", "message": "m"})).unwrap();
        assert_eq!(body.code, ErrorCode::RateLimited);
    }

    #[test]
    fn a_wrong_shape_is_refused_and_says_where() {
        let missing = read::<SessionView>(json!({"email": "a"})).unwrap_err();
        assert_eq!(missing.describe(), "`signed_in`: expected a value");
        let nested = read::<SessionView>(json!({
            "signed_in": true,
            "two_factor": {"enabled": "yes"}
        }))
        .unwrap_err();
        assert_eq!(
            nested.describe(),
            "`two_factor.enabled`: expected true or false"
        );
        let tag = read::<SignInOutcome>(json!({"status": "launched"})).unwrap_err();
        assert_eq!(tag.describe(), "`status`: expected a known kind");
        let method =
            read::<EnrollmentComplete>(json!({"method": "fax", "recovery_codes": []})).unwrap_err();
        assert_eq!(method.describe(), "`method`: expected a known name");
        let list = read::<RecoveryCodes>(json!({"codes": "abc"})).unwrap_err();
        assert_eq!(list.describe(), "`codes`: expected a list");
        let item = read::<RecoveryCodes>(json!({"codes": ["a", 1]})).unwrap_err();
        assert_eq!(item.describe(), "`codes`: expected a string");
        assert_eq!(
            read::<ExternalRequest>(json!("handoff_request"))
                .unwrap_err()
                .describe(),
            "`type`: expected a value"
        );
    }

    #[test]
    fn numbers_must_be_whole_and_in_range() {
        let saved =
            |n: serde_json::Value| read::<VaultSaveResult>(json!({"account": "a", "saved": n}));
        assert!(saved(json!(4_294_967_295u64)).is_ok());
        for bad in [json!(-1), json!(1.5), json!(4_294_967_296u64), json!("3")] {
            assert_eq!(
                saved(bad).unwrap_err().describe(),
                "`saved`: expected a whole number in range"
            );
        }
        let at = |n: serde_json::Value| {
            read::<HandoffCode>(json!({"code": "c", "expires_at": n})).map(|h| h.expires_at)
        };
        assert_eq!(at(json!(-5)), Ok(-5));
        assert!(at(json!(9_007_199_254_740_992u64)).is_err());
        assert!(at(json!(-9_007_199_254_740_992i64)).is_err());
    }
}
