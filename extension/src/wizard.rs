//! The 2FA setup wizard (R2, R3, R4), shared by the popup (setup that an
//! account requires) and the settings page (setup, switching method and new
//! recovery codes).
//!
//! Steps: choose a method; authenticator app: "Start setup", QR and key,
//! "Continue", code, "Verify"; SMS: number, "Continue", code, "Verify";
//! then the 10 recovery codes, where "Complete" stays disabled until "Copy"
//! succeeded. A switch of method enters at the QR or the SMS code and ends
//! without new codes (the old ones stay valid); regenerating enters at the
//! codes.

use shared::api::{
    AuthenticatorSetup, EnrollmentComplete, RecoveryCodes, SmsCodeSent, SwitchStarted,
    TwoFactorMethod,
};
use shared::native::{Request, VaultSaveResult};
use shared::two_factor::AccountRequest;
use shared::{ErrorBody, ErrorCode};

use crate::effect::{decode, Answer, Effect};
use crate::text;

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Choose,
    AppStart,
    AppScan(AuthenticatorSetup),
    AppCode,
    SmsPhone,
    SmsCode {
        phone_hint: String,
    },
    Codes {
        codes: Vec<String>,
        copied: bool,
        kept: bool,
    },
}

/// Why the wizard runs; decides where it starts and whether codes follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Turning 2FA on: recovery codes follow the verified code.
    Setup,
    /// Changing method: the old recovery codes stay, none are shown.
    Switch,
    /// New recovery codes: only the codes step.
    Regenerate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wizard {
    pub step: Step,
    pub kind: Kind,
    /// Whose codes: the vault's account name and the download's heading.
    pub email: String,
    /// The number typed at the SMS step, for "Resend"; `None` when a switch
    /// reuses the kept number.
    pub phone: Option<String>,
    /// Seconds until "Resend code" works again.
    pub resend_in: u32,
    ticking: bool,
    /// A request is out: the step's main button waits.
    pub busy: bool,
    pub error: Option<String>,
    /// Good news for the person, e.g. that the key was copied.
    pub notice: Option<String>,
    /// The API wants the password again before this change.
    pub needs_password: bool,
    /// "10 codes kept on this computer.": stays on the codes step after
    /// later notices ("Codes copied"), so keeping them never shows only as
    /// a greyed button.
    pub kept_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WizMsg {
    Choose(TwoFactorMethod),
    /// Back to choosing the method (setup only, before a code is verified).
    Back,
    StartApp {
        password: String,
    },
    CopyKey,
    /// From the QR to the code.
    Continue,
    Verify {
        code: String,
    },
    SubmitPhone {
        phone: String,
        password: String,
    },
    Resend,
    CopyCodes,
    /// Copies one code (its place in the list); never unlocks Complete,
    /// which waits for the whole list to be copied (R4).
    CopyCode(usize),
    KeepCodes,
    DownloadCodes,
    Complete,
    Answered(WizKey, Answer),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizKey {
    AppSetup,
    AppConfirm,
    SmsSetup,
    SmsConfirm,
    CopyKey,
    CopyCodes,
    CopyCode(usize),
    Keep,
    Tick,
}

/// Whether the wizard is over after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Running,
    Finished,
}

type Out = (Vec<Effect<WizKey>>, Outcome);

fn run(effects: Vec<Effect<WizKey>>) -> Out {
    (effects, Outcome::Running)
}

impl Wizard {
    fn with(step: Step, kind: Kind, email: &str) -> Wizard {
        Wizard {
            step,
            kind,
            email: email.to_string(),
            phone: None,
            resend_in: 0,
            ticking: false,
            busy: false,
            error: None,
            notice: None,
            needs_password: false,
            kept_note: None,
        }
    }

    /// Turning 2FA on, from the choice of method.
    pub fn setup(email: &str) -> Wizard {
        Wizard::with(Step::Choose, Kind::Setup, email)
    }

    /// After `switch_method` answered: straight to the QR, or to the SMS code
    /// sent to the kept number (R5: no number asked).
    pub fn switch(email: &str, started: SwitchStarted) -> (Wizard, Vec<Effect<WizKey>>) {
        if let Some(setup) = started.authenticator {
            return (
                Wizard::with(Step::AppScan(setup), Kind::Switch, email),
                vec![],
            );
        }
        let mut w = Wizard::with(
            Step::SmsCode {
                phone_hint: String::new(),
            },
            Kind::Switch,
            email,
        );
        let effects = match started.sms {
            Some(sent) => w.code_sent(sent),
            None => vec![],
        };
        (w, effects)
    }

    /// Fresh recovery codes to show once.
    pub fn codes(email: &str, codes: RecoveryCodes) -> Wizard {
        Wizard::with(
            Step::Codes {
                codes: codes.codes,
                copied: false,
                kept: false,
            },
            Kind::Regenerate,
            email,
        )
    }

    /// The `data-screen` name of the step, which tests wait for.
    pub fn screen_name(&self) -> &'static str {
        match self.step {
            Step::Choose => "setup-choose",
            Step::AppStart => "setup-app-start",
            Step::AppScan(_) => "setup-app-scan",
            Step::AppCode => "setup-app-code",
            Step::SmsPhone => "setup-sms-phone",
            Step::SmsCode { .. } => "setup-sms-code",
            Step::Codes { .. } => "setup-codes",
        }
    }

    /// "Complete" works only once the codes were copied (R4).
    pub fn can_complete(&self) -> bool {
        matches!(self.step, Step::Codes { copied: true, .. }) && !self.busy
    }

    pub fn update(&mut self, msg: WizMsg) -> Out {
        match msg {
            WizMsg::Answered(key, answer) => return self.answered(key, answer),
            // Every action below starts fresh; only a reply sets a new error.
            _ => {
                self.error = None;
            }
        }
        match msg {
            WizMsg::Choose(TwoFactorMethod::Authenticator) => {
                self.step = Step::AppStart;
                self.needs_password = false;
                run(vec![])
            }
            WizMsg::Choose(TwoFactorMethod::Sms) => {
                self.step = Step::SmsPhone;
                self.needs_password = false;
                run(vec![])
            }
            WizMsg::Back => {
                if self.kind == Kind::Setup {
                    self.step = Step::Choose;
                    self.notice = None;
                }
                run(vec![])
            }
            WizMsg::StartApp { password } => {
                if self.needs_password && password.is_empty() {
                    self.error = Some(word!("input.password_to_continue").into());
                    return run(vec![]);
                }
                self.busy = true;
                let password = if password.is_empty() {
                    None
                } else {
                    Some(password)
                };
                run(vec![send(
                    AccountRequest::AuthenticatorSetup { password },
                    WizKey::AppSetup,
                )])
            }
            WizMsg::CopyKey => match &self.step {
                Step::AppScan(setup) => run(vec![Effect::Copy(
                    setup.secret_base32.clone(),
                    WizKey::CopyKey,
                )]),
                _ => run(vec![]),
            },
            WizMsg::Continue => {
                if let Step::AppScan(_) = self.step {
                    self.step = Step::AppCode;
                    self.notice = None;
                }
                run(vec![])
            }
            WizMsg::Verify { code } => {
                let code = match text::clean_code(&code) {
                    Ok(code) => code,
                    Err(why) => {
                        self.error = Some(why);
                        return run(vec![]);
                    }
                };
                self.busy = true;
                match self.step {
                    Step::SmsCode { .. } => run(vec![send(
                        AccountRequest::SmsConfirm { code },
                        WizKey::SmsConfirm,
                    )]),
                    _ => run(vec![send(
                        AccountRequest::AuthenticatorConfirm { code },
                        WizKey::AppConfirm,
                    )]),
                }
            }
            WizMsg::SubmitPhone { phone, password } => {
                let phone = match text::clean_phone(&phone) {
                    Ok(phone) => phone,
                    Err(why) => {
                        self.error = Some(why);
                        return run(vec![]);
                    }
                };
                if self.needs_password && password.is_empty() {
                    self.error = Some(word!("input.password_to_continue").into());
                    return run(vec![]);
                }
                self.busy = true;
                self.phone = Some(phone.clone());
                let password = if password.is_empty() {
                    None
                } else {
                    Some(password)
                };
                run(vec![send(
                    AccountRequest::SmsSetup {
                        phone: Some(phone),
                        password,
                    },
                    WizKey::SmsSetup,
                )])
            }
            WizMsg::Resend => {
                if self.resend_in > 0 || self.busy {
                    return run(vec![]);
                }
                self.busy = true;
                run(vec![send(
                    AccountRequest::SmsSetup {
                        phone: self.phone.clone(),
                        password: None,
                    },
                    WizKey::SmsSetup,
                )])
            }
            WizMsg::CopyCodes => match &self.step {
                Step::Codes { codes, .. } => {
                    run(vec![Effect::Copy(codes.join("\n"), WizKey::CopyCodes)])
                }
                _ => run(vec![]),
            },
            WizMsg::CopyCode(i) => match &self.step {
                Step::Codes { codes, .. } => match codes.get(i) {
                    Some(code) => run(vec![Effect::Copy(code.clone(), WizKey::CopyCode(i))]),
                    None => run(vec![]),
                },
                _ => run(vec![]),
            },
            WizMsg::KeepCodes => match &self.step {
                Step::Codes { codes, .. } => {
                    self.busy = true;
                    run(vec![Effect::Send(
                        Request::VaultSave {
                            account: self.email.clone(),
                            codes: codes.clone(),
                        },
                        WizKey::Keep,
                    )])
                }
                _ => run(vec![]),
            },
            WizMsg::DownloadCodes => match &self.step {
                Step::Codes { codes, .. } => run(vec![Effect::Download {
                    file_name: "dialer-2fa-recovery-codes.txt".into(),
                    text: text::codes_file(&self.email, codes),
                }]),
                _ => run(vec![]),
            },
            WizMsg::Complete => {
                if self.can_complete() {
                    (vec![], Outcome::Finished)
                } else {
                    self.error = Some(word!("codes.copy_first").into());
                    run(vec![])
                }
            }
            WizMsg::Answered(..) => run(vec![]),
        }
    }

    fn answered(&mut self, key: WizKey, answer: Answer) -> Out {
        match key {
            WizKey::Tick => {
                self.resend_in = self.resend_in.saturating_sub(1);
                if self.resend_in > 0 {
                    return run(vec![Effect::After(1000, WizKey::Tick)]);
                }
                self.ticking = false;
                return run(vec![]);
            }
            WizKey::CopyKey => {
                match answer {
                    Ok(_) => self.notice = Some(word!("codes.key_copied").into()),
                    Err(e) => self.error = Some(copy_failed(&e)),
                }
                return run(vec![]);
            }
            WizKey::CopyCodes => {
                match answer {
                    Ok(_) => {
                        if let Step::Codes { copied, .. } = &mut self.step {
                            *copied = true;
                        }
                        self.notice = Some(word!("codes.copied").into());
                    }
                    Err(e) => self.error = Some(copy_failed(&e)),
                }
                return run(vec![]);
            }
            WizKey::CopyCode(i) => {
                match answer {
                    Ok(_) => {
                        self.notice = Some(fill!(
                            "codes.one_copied",
                            &[("number", &(i + 1).to_string())],
                        ))
                    }
                    Err(e) => self.error = Some(copy_failed(&e)),
                }
                return run(vec![]);
            }
            _ => {}
        }
        self.busy = false;
        match key {
            WizKey::AppSetup => match decode::<AuthenticatorSetup>(answer) {
                Ok(setup) => {
                    self.needs_password = false;
                    self.step = Step::AppScan(setup);
                    run(vec![])
                }
                Err(e) => self.failed(e),
            },
            WizKey::SmsSetup => match decode::<SmsCodeSent>(answer) {
                Ok(sent) => {
                    self.needs_password = false;
                    let effects = self.code_sent(sent);
                    run(effects)
                }
                Err(e) => self.failed(e),
            },
            WizKey::AppConfirm | WizKey::SmsConfirm => match decode::<EnrollmentComplete>(answer) {
                Ok(done) => {
                    if done.recovery_codes.is_empty() {
                        (vec![], Outcome::Finished)
                    } else {
                        self.notice = None;
                        self.step = Step::Codes {
                            codes: done.recovery_codes,
                            copied: false,
                            kept: false,
                        };
                        run(vec![])
                    }
                }
                Err(e) => self.failed(e),
            },
            WizKey::Keep => match decode::<VaultSaveResult>(answer) {
                Ok(saved) => {
                    if let Step::Codes { kept, .. } = &mut self.step {
                        *kept = true;
                    }
                    self.notice = None;
                    self.kept_note = Some(fill!(
                        "codes.kept_notice",
                        &[("count", &saved.saved.to_string())]
                    ));
                    run(vec![])
                }
                Err(e) => self.failed(e),
            },
            WizKey::Tick | WizKey::CopyKey | WizKey::CopyCodes | WizKey::CopyCode(_) => run(vec![]),
        }
    }

    fn code_sent(&mut self, sent: SmsCodeSent) -> Vec<Effect<WizKey>> {
        self.step = Step::SmsCode {
            phone_hint: sent.phone_hint.clone(),
        };
        self.notice = Some(fill!("codes.sms_sent", &[("phone", &sent.phone_hint)]));
        self.resend_in = text::resend_cooldown(sent.expires_at, sent.resend_available_at);
        self.tick()
    }

    fn tick(&mut self) -> Vec<Effect<WizKey>> {
        if self.resend_in > 0 && !self.ticking {
            self.ticking = true;
            vec![Effect::After(1000, WizKey::Tick)]
        } else {
            vec![]
        }
    }

    fn failed(&mut self, e: ErrorBody) -> Out {
        if e.code == ErrorCode::PasswordRequired {
            self.needs_password = true;
        }
        self.error = Some(text::error_text(&e));
        run(vec![])
    }
}

fn send(request: AccountRequest, key: WizKey) -> Effect<WizKey> {
    Effect::Send(Request::Account(request), key)
}

fn copy_failed(e: &ErrorBody) -> String {
    fill!("codes.copy_failed", &[("error", &e.message)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok<T: serde::Serialize>(v: T) -> Answer {
        Ok(serde_json::to_value(v).unwrap().into())
    }

    fn setup_answer() -> AuthenticatorSetup {
        AuthenticatorSetup {
            secret_base32: "JBSWY3DPEHPK3PXP".into(),
            otpauth_uri: "otpauth://totp/x".into(),
            qr_png_base64: "iVBOR".into(),
        }
    }

    fn ten_codes() -> Vec<String> {
        (0..10).map(|i| format!("code-{}", i)).collect()
    }

    #[test]
    fn authenticator_path_ends_at_codes() {
        let mut w = Wizard::setup("a@example.com");
        assert_eq!(w.screen_name(), "setup-choose");
        w.update(WizMsg::Choose(TwoFactorMethod::Authenticator));
        assert_eq!(w.step, Step::AppStart);
        let (fx, _) = w.update(WizMsg::StartApp {
            password: String::new(),
        });
        assert_eq!(
            fx,
            vec![Effect::Send(
                Request::Account(AccountRequest::AuthenticatorSetup { password: None }),
                WizKey::AppSetup
            )]
        );
        assert!(w.busy);
        w.update(WizMsg::Answered(WizKey::AppSetup, ok(setup_answer())));
        assert_eq!(w.screen_name(), "setup-app-scan");
        let (fx, _) = w.update(WizMsg::CopyKey);
        assert_eq!(
            fx,
            vec![Effect::Copy("JBSWY3DPEHPK3PXP".into(), WizKey::CopyKey)]
        );
        w.update(WizMsg::Continue);
        assert_eq!(w.step, Step::AppCode);
        let (fx, _) = w.update(WizMsg::Verify {
            code: "123 456".into(),
        });
        assert_eq!(
            fx,
            vec![Effect::Send(
                Request::Account(AccountRequest::AuthenticatorConfirm {
                    code: "123456".into()
                }),
                WizKey::AppConfirm
            )]
        );
        let done = EnrollmentComplete {
            method: TwoFactorMethod::Authenticator,
            recovery_codes: ten_codes(),
        };
        let (_, outcome) = w.update(WizMsg::Answered(WizKey::AppConfirm, ok(done)));
        assert_eq!(outcome, Outcome::Running);
        assert_eq!(w.screen_name(), "setup-codes");
    }

    #[test]
    fn complete_waits_for_a_successful_copy() {
        let mut w = Wizard::codes("a@example.com", RecoveryCodes { codes: ten_codes() });
        assert!(!w.can_complete());
        let (_, outcome) = w.update(WizMsg::Complete);
        assert_eq!(outcome, Outcome::Running);
        assert!(w.error.is_some());
        let (fx, _) = w.update(WizMsg::CopyCodes);
        assert_eq!(
            fx,
            vec![Effect::Copy(ten_codes().join("\n"), WizKey::CopyCodes)]
        );
        // A failed copy does not open the gate.
        w.update(WizMsg::Answered(
            WizKey::CopyCodes,
            Err(ErrorBody::new(ErrorCode::Unknown, "denied")),
        ));
        assert!(!w.can_complete());
        w.update(WizMsg::Answered(WizKey::CopyCodes, Ok(json!(null).into())));
        assert!(w.can_complete());
        let (_, outcome) = w.update(WizMsg::Complete);
        assert_eq!(outcome, Outcome::Finished);
    }

    #[test]
    fn keep_saves_codes_in_the_vault_under_the_email() {
        let mut w = Wizard::codes("a@example.com", RecoveryCodes { codes: ten_codes() });
        let (fx, _) = w.update(WizMsg::KeepCodes);
        assert_eq!(
            fx,
            vec![Effect::Send(
                Request::VaultSave {
                    account: "a@example.com".into(),
                    codes: ten_codes()
                },
                WizKey::Keep
            )]
        );
        w.update(WizMsg::Answered(
            WizKey::Keep,
            ok(VaultSaveResult {
                account: "a@example.com".into(),
                saved: 10,
            }),
        ));
        assert!(matches!(w.step, Step::Codes { kept: true, .. }));
        assert_eq!(
            w.kept_note.as_deref(),
            Some("10 codes kept on this computer.")
        );
        // Copying afterwards adds its own notice; the kept note stays.
        w.update(WizMsg::Answered(WizKey::CopyCodes, ok(())));
        assert_eq!(
            w.kept_note.as_deref(),
            Some("10 codes kept on this computer.")
        );
        assert!(w
            .notice
            .as_deref()
            .unwrap_or("")
            .starts_with("Codes copied"));
    }

    #[test]
    fn one_code_copies_alone_and_does_not_unlock_complete() {
        let mut w = Wizard::codes("a@example.com", RecoveryCodes { codes: ten_codes() });
        let (fx, _) = w.update(WizMsg::CopyCode(2));
        assert_eq!(
            fx,
            vec![Effect::Copy(ten_codes()[2].clone(), WizKey::CopyCode(2))]
        );
        w.update(WizMsg::Answered(WizKey::CopyCode(2), ok(())));
        assert_eq!(w.notice.as_deref(), Some("Code 3 copied."));
        assert!(!w.can_complete(), "R4: only the whole list's Copy unlocks");
        let (fx, _) = w.update(WizMsg::CopyCode(99));
        assert!(fx.is_empty());
    }

    #[test]
    fn download_offers_a_text_file() {
        let mut w = Wizard::codes("a@example.com", RecoveryCodes { codes: ten_codes() });
        let (fx, _) = w.update(WizMsg::DownloadCodes);
        match &fx[0] {
            Effect::Download { file_name, text } => {
                assert!(file_name.ends_with(".txt"));
                assert!(text.contains("code-9"));
            }
            other => panic!("{:?}", other),
        }
    }

    #[test]
    fn sms_path_with_cooldown_and_resend() {
        let mut w = Wizard::setup("a@example.com");
        w.update(WizMsg::Choose(TwoFactorMethod::Sms));
        assert_eq!(w.screen_name(), "setup-sms-phone");
        let (fx, _) = w.update(WizMsg::SubmitPhone {
            phone: "4155550123".into(),
            password: String::new(),
        });
        assert!(fx.is_empty());
        assert!(w.error.as_deref().unwrap().contains("country code"));
        let (fx, _) = w.update(WizMsg::SubmitPhone {
            phone: "+1 415 555 0123".into(),
            password: String::new(),
        });
        assert_eq!(
            fx,
            vec![Effect::Send(
                Request::Account(AccountRequest::SmsSetup {
                    phone: Some("+14155550123".into()),
                    password: None
                }),
                WizKey::SmsSetup
            )]
        );
        let sent = SmsCodeSent {
            phone_hint: "+1•••0123".into(),
            expires_at: 1000 + text::SMS_CODE_LIFETIME,
            resend_available_at: 1030,
        };
        let (fx, _) = w.update(WizMsg::Answered(WizKey::SmsSetup, ok(sent)));
        assert_eq!(fx, vec![Effect::After(1000, WizKey::Tick)]);
        assert_eq!(w.resend_in, 30);
        assert_eq!(w.update(WizMsg::Resend).0, vec![]);
        for _ in 0..29 {
            let (fx, _) = w.update(WizMsg::Answered(WizKey::Tick, Ok(json!(null).into())));
            assert_eq!(fx.len(), 1);
        }
        let (fx, _) = w.update(WizMsg::Answered(WizKey::Tick, Ok(json!(null).into())));
        assert!(fx.is_empty());
        let (fx, _) = w.update(WizMsg::Resend);
        assert_eq!(
            fx,
            vec![Effect::Send(
                Request::Account(AccountRequest::SmsSetup {
                    phone: Some("+14155550123".into()),
                    password: None
                }),
                WizKey::SmsSetup
            )]
        );
    }

    #[test]
    fn password_asked_only_when_the_api_wants_it() {
        let mut w = Wizard::setup("a@example.com");
        w.update(WizMsg::Choose(TwoFactorMethod::Authenticator));
        w.update(WizMsg::StartApp {
            password: String::new(),
        });
        w.update(WizMsg::Answered(
            WizKey::AppSetup,
            Err(ErrorBody::new(
                ErrorCode::PasswordRequired,
                "Enter your password again.",
            )),
        ));
        assert!(w.needs_password);
        assert_eq!(w.error.as_deref(), Some("Enter your password again."));
        let (fx, _) = w.update(WizMsg::StartApp {
            password: "pw".into(),
        });
        assert_eq!(
            fx,
            vec![Effect::Send(
                Request::Account(AccountRequest::AuthenticatorSetup {
                    password: Some("pw".into())
                }),
                WizKey::AppSetup
            )]
        );
    }

    #[test]
    fn switch_to_sms_goes_straight_to_the_code() {
        let started = SwitchStarted {
            method: TwoFactorMethod::Sms,
            authenticator: None,
            sms: Some(SmsCodeSent {
                phone_hint: "+1•••0123".into(),
                expires_at: 600,
                resend_available_at: 30,
            }),
        };
        let (mut w, fx) = Wizard::switch("a@example.com", started);
        assert_eq!(w.screen_name(), "setup-sms-code");
        assert_eq!(fx, vec![Effect::After(1000, WizKey::Tick)]);
        w.update(WizMsg::Verify {
            code: "654321".into(),
        });
        let done = EnrollmentComplete {
            method: TwoFactorMethod::Sms,
            recovery_codes: vec![],
        };
        let (_, outcome) = w.update(WizMsg::Answered(WizKey::SmsConfirm, ok(done)));
        assert_eq!(outcome, Outcome::Finished);
    }

    #[test]
    fn back_returns_to_the_choice_only_during_setup() {
        let mut w = Wizard::setup("a@example.com");
        w.update(WizMsg::Choose(TwoFactorMethod::Sms));
        w.update(WizMsg::Back);
        assert_eq!(w.step, Step::Choose);
        let (mut switch, _) = Wizard::switch(
            "a@example.com",
            SwitchStarted {
                method: TwoFactorMethod::Authenticator,
                authenticator: Some(setup_answer()),
                sms: None,
            },
        );
        switch.update(WizMsg::Back);
        assert_eq!(switch.screen_name(), "setup-app-scan");
    }

    #[test]
    fn wrong_code_stays_with_the_message() {
        let mut w = Wizard::setup("a@example.com");
        w.step = Step::AppCode;
        w.update(WizMsg::Verify {
            code: "123456".into(),
        });
        w.update(WizMsg::Answered(
            WizKey::AppConfirm,
            Err(ErrorBody::new(
                ErrorCode::InvalidCode,
                "That code is not right.",
            )),
        ));
        assert_eq!(w.step, Step::AppCode);
        assert!(!w.busy);
        assert_eq!(w.error.as_deref(), Some("That code is not right."));
    }
}
