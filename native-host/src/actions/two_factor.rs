//! The person's own 2FA: setting up a method, switching, regenerating the
//! recovery codes (all passed to the API as they are), and turning it off
//! ([`super::session::disable`], which also changes the session).

use reqwest::Method;
use shared::api::{
    AuthenticatorSetup, CodeRequest, EnrollmentComplete, PasswordConfirmation, PasswordRequest,
    RecoveryCodes, SmsCodeSent, SmsSetupRequest, SwitchRequest, SwitchStarted, TwoFactorMethod,
};
use shared::ErrorBody;

use super::forward::Forward;

pub fn authenticator_setup(
    password: Option<String>,
) -> Result<Forward<AuthenticatorSetup>, ErrorBody> {
    Forward::with_body(
        Method::POST,
        "/two-factor/authenticator/setup",
        &PasswordConfirmation { password },
    )
}

pub fn authenticator_confirm(code: String) -> Result<Forward<EnrollmentComplete>, ErrorBody> {
    Forward::with_body(
        Method::POST,
        "/two-factor/authenticator/confirm",
        &CodeRequest { code },
    )
    .map(Forward::refreshing_status)
}

pub fn sms_setup(
    phone: Option<String>,
    password: Option<String>,
) -> Result<Forward<SmsCodeSent>, ErrorBody> {
    Forward::with_body(
        Method::POST,
        "/two-factor/sms/setup",
        &SmsSetupRequest { phone, password },
    )
}

pub fn sms_confirm(code: String) -> Result<Forward<EnrollmentComplete>, ErrorBody> {
    Forward::with_body(
        Method::POST,
        "/two-factor/sms/confirm",
        &CodeRequest { code },
    )
    .map(Forward::refreshing_status)
}

pub fn switch_method(
    method: TwoFactorMethod,
    password: String,
) -> Result<Forward<SwitchStarted>, ErrorBody> {
    Forward::with_body(
        Method::POST,
        "/two-factor/switch",
        &SwitchRequest { method, password },
    )
}

pub fn regenerate_recovery_codes(password: String) -> Result<Forward<RecoveryCodes>, ErrorBody> {
    Forward::with_body(
        Method::POST,
        "/two-factor/recovery-codes",
        &PasswordRequest { password },
    )
    .map(Forward::refreshing_status)
}
