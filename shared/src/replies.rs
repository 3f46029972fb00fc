//! What each native request is answered with, named once.
//!
//! A reply's `result` travels as JSON; [`Request::reply_type`] says which
//! type it must decode into, and [`Reply::into_typed`] decodes it, so
//! neither side handles a reply as a bare `serde_json::Value`. The match in
//! `reply_type` is exhaustive: a new request does not compile until it names
//! its reply type.

use serde::{Deserialize, Serialize};

use crate::api::{
    AccountList, AccountMembers, AuthenticatorSetup, Enforcement, EnrollmentComplete, HandoffCode,
    RecoveryCodes, RemindersSent, SmsCodeSent, SwitchStarted, TrustedDeviceList,
};
use crate::error::{ErrorBody, ErrorCode};
use crate::native::{
    HelloResult, Reply, Request, StatusResult, VaultDeleteResult, VaultListResult,
    VaultRevealResult, VaultSaveResult,
};
use crate::two_factor::{AccountRequest, Done, SessionView, SignInOutcome};
use crate::web_sync::PendingPrompt;

/// The type of a successful reply's `result`, one per shared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyType {
    Hello,
    Status,
    VaultSave,
    VaultList,
    VaultReveal,
    VaultDelete,
    SignInOutcome,
    SmsCodeSent,
    SessionView,
    AuthenticatorSetup,
    EnrollmentComplete,
    SwitchStarted,
    RecoveryCodes,
    TrustedDeviceList,
    Done,
    AccountList,
    Enforcement,
    HandoffCode,
    PendingPrompt,
    AccountMembers,
    RemindersSent,
}

/// A successful reply's `result`, decoded. Serialises as the inner value
/// (the wire has no tag: the request says what the result is).
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum ReplyBody {
    Hello(HelloResult),
    Status(StatusResult),
    VaultSave(VaultSaveResult),
    VaultList(VaultListResult),
    VaultReveal(VaultRevealResult),
    VaultDelete(VaultDeleteResult),
    SignInOutcome(SignInOutcome),
    SmsCodeSent(SmsCodeSent),
    SessionView(SessionView),
    AuthenticatorSetup(AuthenticatorSetup),
    EnrollmentComplete(EnrollmentComplete),
    SwitchStarted(SwitchStarted),
    RecoveryCodes(RecoveryCodes),
    TrustedDeviceList(TrustedDeviceList),
    Done(Done),
    AccountList(AccountList),
    Enforcement(Enforcement),
    HandoffCode(HandoffCode),
    PendingPrompt(PendingPrompt),
    AccountMembers(AccountMembers),
    RemindersSent(RemindersSent),
}

fn typed<T, F>(value: serde_json::Value, wrap: F) -> Result<ReplyBody, serde_json::Error>
where
    T: for<'de> Deserialize<'de>,
    F: FnOnce(T) -> ReplyBody,
{
    serde_json::from_value(value).map(wrap)
}

impl ReplyType {
    /// The Rust name of the type in `shared`, as PROTOCOL.md names it.
    pub fn name(self) -> &'static str {
        match self {
            ReplyType::Hello => "HelloResult",
            ReplyType::Status => "StatusResult",
            ReplyType::VaultSave => "VaultSaveResult",
            ReplyType::VaultList => "VaultListResult",
            ReplyType::VaultReveal => "VaultRevealResult",
            ReplyType::VaultDelete => "VaultDeleteResult",
            ReplyType::SignInOutcome => "SignInOutcome",
            ReplyType::SmsCodeSent => "SmsCodeSent",
            ReplyType::SessionView => "SessionView",
            ReplyType::AuthenticatorSetup => "AuthenticatorSetup",
            ReplyType::EnrollmentComplete => "EnrollmentComplete",
            ReplyType::SwitchStarted => "SwitchStarted",
            ReplyType::RecoveryCodes => "RecoveryCodes",
            ReplyType::TrustedDeviceList => "TrustedDeviceList",
            ReplyType::Done => "Done",
            ReplyType::AccountList => "AccountList",
            ReplyType::Enforcement => "Enforcement",
            ReplyType::HandoffCode => "HandoffCode",
            ReplyType::PendingPrompt => "PendingPrompt",
            ReplyType::AccountMembers => "AccountMembers",
            ReplyType::RemindersSent => "RemindersSent",
        }
    }

    /// Decodes a `result` as this type.
    pub fn decode(self, value: serde_json::Value) -> Result<ReplyBody, serde_json::Error> {
        match self {
            ReplyType::Hello => typed(value, ReplyBody::Hello),
            ReplyType::Status => typed(value, ReplyBody::Status),
            ReplyType::VaultSave => typed(value, ReplyBody::VaultSave),
            ReplyType::VaultList => typed(value, ReplyBody::VaultList),
            ReplyType::VaultReveal => typed(value, ReplyBody::VaultReveal),
            ReplyType::VaultDelete => typed(value, ReplyBody::VaultDelete),
            ReplyType::SignInOutcome => typed(value, ReplyBody::SignInOutcome),
            ReplyType::SmsCodeSent => typed(value, ReplyBody::SmsCodeSent),
            ReplyType::SessionView => typed(value, ReplyBody::SessionView),
            ReplyType::AuthenticatorSetup => typed(value, ReplyBody::AuthenticatorSetup),
            ReplyType::EnrollmentComplete => typed(value, ReplyBody::EnrollmentComplete),
            ReplyType::SwitchStarted => typed(value, ReplyBody::SwitchStarted),
            ReplyType::RecoveryCodes => typed(value, ReplyBody::RecoveryCodes),
            ReplyType::TrustedDeviceList => typed(value, ReplyBody::TrustedDeviceList),
            ReplyType::Done => typed(value, ReplyBody::Done),
            ReplyType::AccountList => typed(value, ReplyBody::AccountList),
            ReplyType::Enforcement => typed(value, ReplyBody::Enforcement),
            ReplyType::HandoffCode => typed(value, ReplyBody::HandoffCode),
            ReplyType::PendingPrompt => typed(value, ReplyBody::PendingPrompt),
            ReplyType::AccountMembers => typed(value, ReplyBody::AccountMembers),
            ReplyType::RemindersSent => typed(value, ReplyBody::RemindersSent),
        }
    }
}

impl ReplyBody {
    /// Which type this is, to check it against the request's.
    pub fn reply_type(&self) -> ReplyType {
        match self {
            ReplyBody::Hello(_) => ReplyType::Hello,
            ReplyBody::Status(_) => ReplyType::Status,
            ReplyBody::VaultSave(_) => ReplyType::VaultSave,
            ReplyBody::VaultList(_) => ReplyType::VaultList,
            ReplyBody::VaultReveal(_) => ReplyType::VaultReveal,
            ReplyBody::VaultDelete(_) => ReplyType::VaultDelete,
            ReplyBody::SignInOutcome(_) => ReplyType::SignInOutcome,
            ReplyBody::SmsCodeSent(_) => ReplyType::SmsCodeSent,
            ReplyBody::SessionView(_) => ReplyType::SessionView,
            ReplyBody::AuthenticatorSetup(_) => ReplyType::AuthenticatorSetup,
            ReplyBody::EnrollmentComplete(_) => ReplyType::EnrollmentComplete,
            ReplyBody::SwitchStarted(_) => ReplyType::SwitchStarted,
            ReplyBody::RecoveryCodes(_) => ReplyType::RecoveryCodes,
            ReplyBody::TrustedDeviceList(_) => ReplyType::TrustedDeviceList,
            ReplyBody::Done(_) => ReplyType::Done,
            ReplyBody::AccountList(_) => ReplyType::AccountList,
            ReplyBody::Enforcement(_) => ReplyType::Enforcement,
            ReplyBody::HandoffCode(_) => ReplyType::HandoffCode,
            ReplyBody::PendingPrompt(_) => ReplyType::PendingPrompt,
            ReplyBody::AccountMembers(_) => ReplyType::AccountMembers,
            ReplyBody::RemindersSent(_) => ReplyType::RemindersSent,
        }
    }
}

impl Request {
    /// The type this request is answered with.
    pub fn reply_type(&self) -> ReplyType {
        match self {
            Request::Hello { .. } => ReplyType::Hello,
            Request::Status => ReplyType::Status,
            Request::VaultSave { .. } => ReplyType::VaultSave,
            Request::VaultList { .. } => ReplyType::VaultList,
            Request::VaultReveal { .. } => ReplyType::VaultReveal,
            Request::VaultDelete { .. } => ReplyType::VaultDelete,
            Request::VaultKeepCurrent { .. } => ReplyType::VaultSave,
            Request::Account(request) => request.reply_type(),
        }
    }
}

impl AccountRequest {
    /// The type this request is answered with.
    pub fn reply_type(&self) -> ReplyType {
        use AccountRequest as A;
        match self {
            A::SignIn { .. } | A::AnswerChallenge { .. } => ReplyType::SignInOutcome,
            A::ResendSms => ReplyType::SmsCodeSent,
            A::SignOut
            | A::SignOutEverywhere
            | A::Session
            | A::Disable { .. }
            | A::RedeemHandoff { .. }
            | A::SkipSetup
            | A::AnswerWebAppPrompt { .. } => ReplyType::SessionView,
            A::AuthenticatorSetup { .. } => ReplyType::AuthenticatorSetup,
            A::AuthenticatorConfirm { .. } | A::SmsConfirm { .. } => ReplyType::EnrollmentComplete,
            A::SmsSetup { .. } => ReplyType::SmsCodeSent,
            A::SwitchMethod { .. } => ReplyType::SwitchStarted,
            A::RegenerateRecoveryCodes { .. } => ReplyType::RecoveryCodes,
            A::ListTrustedDevices => ReplyType::TrustedDeviceList,
            A::RevokeTrustedDevice { .. } => ReplyType::Done,
            A::ListAccounts => ReplyType::AccountList,
            A::SetEnforcement { .. } => ReplyType::Enforcement,
            A::CreateHandoff { .. } => ReplyType::HandoffCode,
            A::WebAppPrompt => ReplyType::PendingPrompt,
            A::ListMembers { .. } => ReplyType::AccountMembers,
            A::SendReminder { .. } => ReplyType::RemindersSent,
        }
    }
}

impl Reply {
    /// The result decoded into the type `request` is answered with, or the
    /// error the peer sent.
    pub fn into_typed(self, request: &Request) -> Result<ReplyBody, ErrorBody> {
        if !self.ok {
            return Err(self.error.unwrap_or_else(|| {
                ErrorBody::new(ErrorCode::Unknown, "the host failed without saying why")
            }));
        }
        let reply_type = request.reply_type();
        let value = self.result.unwrap_or(serde_json::Value::Null);
        reply_type.decode(value).map_err(|e| {
            ErrorBody::new(
                ErrorCode::InvalidRequest,
                format!(
                    "the host's reply to {} was not a {}: {}",
                    request.kind(),
                    reply_type.name(),
                    e
                ),
            )
        })
    }
}

/// One request of every type, for tests and documents that must cover them
/// all. The match in [`covers`] has no wildcard, so a new request type does
/// not compile until it is listed there, and the test beside it fails until
/// it is listed here.
pub fn one_of_each() -> Vec<Request> {
    use crate::api::TwoFactorMethod;
    use AccountRequest as A;
    let s = String::new;
    let mut all = vec![
        Request::Hello { protocol: 1 },
        Request::Status,
        Request::VaultSave {
            account: s(),
            codes: vec![],
        },
        Request::VaultList { account: None },
        Request::VaultReveal { code_id: 1 },
        Request::VaultDelete { account: s() },
        Request::VaultKeepCurrent { codes: vec![] },
    ];
    let account = vec![
        A::SignIn {
            email: s(),
            password: s(),
        },
        A::AnswerChallenge {
            code: None,
            recovery_code: None,
            remember_device: false,
        },
        A::ResendSms,
        A::SignOut,
        A::SignOutEverywhere,
        A::Session,
        A::AuthenticatorSetup { password: None },
        A::AuthenticatorConfirm { code: s() },
        A::SmsSetup {
            phone: None,
            password: None,
        },
        A::SmsConfirm { code: s() },
        A::SwitchMethod {
            method: TwoFactorMethod::Sms,
            password: s(),
        },
        A::Disable {
            password: s(),
            confirm: false,
        },
        A::RegenerateRecoveryCodes { password: s() },
        A::ListTrustedDevices,
        A::RevokeTrustedDevice { id: 1 },
        A::ListAccounts,
        A::SetEnforcement {
            account_id: 1,
            enforce_2fa: false,
            password: s(),
            from: None,
            grace_days: 0,
        },
        A::ListMembers { account_id: 1 },
        A::SendReminder { account_id: 1 },
        A::SkipSetup,
        A::CreateHandoff { origin: s() },
        A::RedeemHandoff {
            code: s(),
            origin: None,
        },
        A::WebAppPrompt,
        A::AnswerWebAppPrompt { allow: false },
    ];
    all.extend(account.into_iter().map(Request::Account));
    all
}

/// The place of `request`'s variant among all of them (0-based), and how
/// many there are: the exhaustive match that [`one_of_each`] is tested
/// against.
pub fn covers(request: &Request) -> (usize, usize) {
    use AccountRequest as A;
    const OWN: usize = 7;
    const ACCOUNT: usize = 24;
    let place = match request {
        Request::Hello { .. } => 0,
        Request::Status => 1,
        Request::VaultSave { .. } => 2,
        Request::VaultList { .. } => 3,
        Request::VaultReveal { .. } => 4,
        Request::VaultDelete { .. } => 5,
        Request::VaultKeepCurrent { .. } => 6,
        Request::Account(a) => {
            OWN + match a {
                A::SignIn { .. } => 0,
                A::AnswerChallenge { .. } => 1,
                A::ResendSms => 2,
                A::SignOut => 3,
                A::SignOutEverywhere => 4,
                A::Session => 5,
                A::AuthenticatorSetup { .. } => 6,
                A::AuthenticatorConfirm { .. } => 7,
                A::SmsSetup { .. } => 8,
                A::SmsConfirm { .. } => 9,
                A::SwitchMethod { .. } => 10,
                A::Disable { .. } => 11,
                A::RegenerateRecoveryCodes { .. } => 12,
                A::ListTrustedDevices => 13,
                A::RevokeTrustedDevice { .. } => 14,
                A::ListAccounts => 15,
                A::SetEnforcement { .. } => 16,
                A::CreateHandoff { .. } => 17,
                A::RedeemHandoff { .. } => 18,
                A::WebAppPrompt => 19,
                A::AnswerWebAppPrompt { .. } => 20,
                A::ListMembers { .. } => 21,
                A::SendReminder { .. } => 22,
                A::SkipSetup => 23,
            }
        }
    };
    (place, OWN + ACCOUNT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_each_covers_every_request_once() {
        let all = one_of_each();
        let (_, count) = covers(&all[0]);
        let mut places: Vec<usize> = all.iter().map(|r| covers(r).0).collect();
        places.sort_unstable();
        assert_eq!(places, (0..count).collect::<Vec<_>>());
        let mut kinds: Vec<&str> = all.iter().map(Request::kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), count);
    }

    /// serde's own list of `AccountRequest`'s tags (from the error for an
    /// unknown one) is complete by construction; `covers` must count them.
    #[test]
    fn the_count_matches_serdes_list_of_tags() {
        let e = serde_json::from_str::<AccountRequest>(r#"{"type":"no_such_request"}"#)
            .unwrap_err()
            .to_string();
        let tags = e.matches('`').count() / 2 - 1;
        let account = one_of_each()
            .iter()
            .filter(|r| matches!(r, Request::Account(_)))
            .count();
        assert_eq!(tags, account, "{}", e);
    }

    #[test]
    fn a_reply_decodes_into_its_requests_type() {
        let reply = Reply::success(3, &Done {});
        let request = Request::Account(AccountRequest::ListTrustedDevices);
        assert!(reply.clone().into_typed(&request).is_err());
        let revoke = Request::Account(AccountRequest::RevokeTrustedDevice { id: 1 });
        assert_eq!(reply.into_typed(&revoke), Ok(ReplyBody::Done(Done {})));
    }
}
