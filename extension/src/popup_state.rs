//! What the toolbar popup shows, as a state machine with no browser types in
//! it.
//!
//! Every screen the popup can be on is a `Screen`; every thing that can happen
//! is a `Msg`; `Popup::update` is the only way from one to the next, and what
//! it wants done in the browser comes back as `Effect`s. The DOM layer
//! (`popup.rs`) renders and reports, so the behaviour lives here and its
//! tests run on the build machine.
//!
//! The way through: the host's session decides the first screen (sign in,
//! signed in, or setup when an account requires 2FA and it is not set up);
//! sign in may lead to a challenge (app code, SMS code with resend, or a
//! recovery code, and "remember this computer for 60 days"); a signed-in
//! person sees their 2FA and the recovery codes kept on this computer. The
//! host and API status sits in a footer on every screen.

use shared::api::{SmsCodeSent, TwoFactorDeadline, TwoFactorMethod, TwoFactorState};
use shared::native::{Request, StatusResult, VaultEntry, VaultListResult, VaultRevealResult};
use shared::product::install_command;
use shared::two_factor::{AccountRequest, SessionView, SignInOutcome};
use shared::web_sync::{PendingPrompt, WebAppPrompt};
use shared::{ErrorBody, ErrorCode};

use crate::effect::{decode, Answer, Effect};
use crate::text;
use crate::wizard::{Outcome, WizKey, WizMsg, Wizard};

/// The browser the install hint names when the popup cannot tell.
pub const DEFAULT_BROWSER: &str = "chrome";

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Waiting for the host's first answers.
    Loading,
    /// The browser has no host registered: show how to install it.
    HostMissing {
        command: String,
        detail: String,
    },
    /// The host is installed but failed; show what it said.
    HostFailed {
        message: String,
    },
    SignIn,
    Challenge(Challenge),
    SignedIn(SignedIn),
    /// 2FA is required and not set up: nothing else is offered (R9).
    Setup(Wizard),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    pub method: TwoFactorMethod,
    /// For SMS: the masked number the code went to.
    pub phone_hint: Option<String>,
    /// Answering with a recovery code instead of the method's code.
    pub recovery: bool,
    /// Seconds until "Resend code" works (SMS only).
    pub resend_in: u32,
    ticking: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    pub session: SessionView,
    /// This person's recovery codes kept on this computer, with the code
    /// once the host revealed it; `None` until the vault answered.
    pub vault: Option<Vec<KeptCode>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeptCode {
    pub entry: VaultEntry,
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Popup {
    pub screen: Screen,
    /// The host's view of the API, for the footer.
    pub status: Option<StatusResult>,
    /// A request is out: the screen's main button waits.
    pub busy: bool,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// Who requires 2FA (account names or "server policy"), for the
    /// forced setup's explanation.
    pub required_by: Vec<String>,
    /// What the web app asked that only the person may allow, here (a
    /// first sign-in through the extension, or a switch to another person).
    /// Shown before any screen until answered.
    pub prompt: Option<WebAppPrompt>,
    /// The session's 2FA deadline (issue 14), for the forced setup's
    /// "Skip for now" while the grace period lasts.
    pub deadline: Option<TwoFactorDeadline>,
    /// The wizard was opened from the deadline banner's "Set up now", not
    /// forced: it may be left again.
    pub setup_optional: bool,
    /// The first screen (the early sign-in form) was drawn before the
    /// host's answer on the session, which may replace it: true until that
    /// answer, whatever it says, arrives.
    pub session_pending: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// "Check again": the status line, and the first screen if it failed.
    Retry,
    SignIn {
        email: String,
        password: String,
    },
    AnswerChallenge {
        code: String,
        remember: bool,
    },
    /// Switch the challenge between the method's code and a recovery code.
    UseRecovery(bool),
    Resend,
    SignOut,
    OpenSettings,
    CopyKept(u64),
    /// Copy text shown on the page (the install command).
    CopyText(String),
    /// The person's answer to the web app's prompt: Allow or Deny.
    AnswerPrompt(bool),
    /// "Set up now" on the deadline banner.
    SetUpNow,
    /// "Not now": leave a setup opened from the banner.
    LeaveSetup,
    /// "Skip for now" on the forced setup, during the grace period.
    Skip,
    Wizard(WizMsg),
    Answered(Key, Answer),
}

/// Which effect an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Status,
    Session,
    SignIn,
    Challenge,
    Resend,
    SignOut,
    VaultList,
    Reveal(u64),
    CopyKept(u64),
    Copied,
    Tick,
    Prompt,
    /// With the answer given: Allow (true) or Deny.
    AnswerPrompt(bool),
    Skip,
    Wizard(WizKey),
}

type Fx = Vec<Effect<Key>>;

fn account(request: AccountRequest, key: Key) -> Effect<Key> {
    Effect::Send(Request::Account(request), key)
}

/// The toolbar badge for what the person should see to: "!" while 2FA must
/// be set up, the count of recovery codes left when few remain, and the
/// days left ("5d") once a 2FA deadline is a week away or less.
pub fn badge(session: &SessionView) -> String {
    match &session.two_factor {
        Some(tf) if session.signed_in && tf.setup_only => "!".into(),

        Some(tf)
            if session.signed_in
                && tf.enabled
                && tf.recovery_codes_remaining <= text::LOW_RECOVERY_CODES =>
        {
            tf.recovery_codes_remaining.to_string()
        }
        Some(tf) if session.signed_in => match deadline_shown(tf) {
            Some(d) if d.days_left <= text::DEADLINE_BADGE_DAYS => {
                text::deadline_badge(d.days_left)
            }
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// The deadline a page shows in its banner: a scheduled requirement this
/// person has not met. None once 2FA is on, whatever the API sent.
pub fn deadline_shown(tf: &TwoFactorState) -> Option<&TwoFactorDeadline> {
    if tf.enabled {
        return None;
    }
    tf.deadline.as_ref()
}

/// The skips the forced setup offers: some only while the grace period
/// after a deadline lasts and skips are left.
pub fn skips_offered(deadline: Option<&TwoFactorDeadline>) -> Option<u32> {
    match deadline.and_then(|d| d.skips_left) {
        Some(n) if n > 0 => Some(n),
        _ => None,
    }
}

impl Popup {
    /// The first screen and the requests that fill it.
    ///
    /// The sign-in form is drawn at once, before the host answers: most
    /// opens of a signed-out popup end there anyway, and waiting for the
    /// host first would put its round trip (and, cold, its start) between
    /// the click on the toolbar and a usable form (issue 12, goal 5). The
    /// session's answer then moves a signed-in person on, and the status
    /// fills in the footer.
    pub fn init() -> (Popup, Fx) {
        let popup = Popup {
            screen: Screen::SignIn,
            status: None,
            busy: false,
            error: None,
            notice: None,
            required_by: vec![],
            prompt: None,
            deadline: None,
            setup_optional: false,
            session_pending: true,
        };
        (
            popup,
            vec![
                Effect::Send(Request::Status, Key::Status),
                account(AccountRequest::Session, Key::Session),
                account(AccountRequest::WebAppPrompt, Key::Prompt),
            ],
        )
    }

    /// The `data-screen` name, which tests wait for.
    pub fn screen_name(&self) -> &'static str {
        match &self.prompt {
            Some(WebAppPrompt::SignIn { .. }) => return "web-consent",
            Some(WebAppPrompt::Switch { .. }) => return "web-switch",
            None => {}
        }
        match &self.screen {
            Screen::Loading => "loading",
            Screen::HostMissing { .. } => "host-missing",
            Screen::HostFailed { .. } => "host-failed",
            Screen::SignIn => "sign-in",
            Screen::Challenge(_) => "challenge",
            Screen::SignedIn(_) => "signed-in",
            Screen::Setup(w) => w.screen_name(),
        }
    }

    pub fn update(&mut self, msg: Msg) -> Fx {
        if let Msg::Answered(key, answer) = msg {
            return self.answered(key, answer);
        }
        if let Msg::Wizard(m) = msg {
            return self.wizard(m);
        }
        self.error = None;
        self.notice = None;
        match msg {
            Msg::Retry => {
                let mut fx = vec![Effect::Send(Request::Status, Key::Status)];
                if matches!(
                    self.screen,
                    Screen::Loading | Screen::HostMissing { .. } | Screen::HostFailed { .. }
                ) {
                    self.screen = Screen::Loading;
                    fx.push(account(AccountRequest::Session, Key::Session));
                }
                fx
            }
            Msg::SignIn { email, password } => {
                let email = email.trim().to_string();
                if email.is_empty() || password.is_empty() {
                    self.error = Some("Enter your email and password.".into());
                    return vec![];
                }
                self.busy = true;
                vec![account(
                    AccountRequest::SignIn { email, password },
                    Key::SignIn,
                )]
            }
            Msg::AnswerChallenge { code, remember } => {
                let recovery = matches!(&self.screen, Screen::Challenge(c) if c.recovery);
                let cleaned = if recovery {
                    text::clean_recovery_code(&code)
                } else {
                    text::clean_code(&code)
                };
                let code = match cleaned {
                    Ok(code) => code,
                    Err(why) => {
                        self.error = Some(why);
                        return vec![];
                    }
                };
                self.busy = true;
                let (code, recovery_code) = if recovery {
                    (None, Some(code))
                } else {
                    (Some(code), None)
                };
                vec![account(
                    AccountRequest::AnswerChallenge {
                        code,
                        recovery_code,
                        remember_device: remember,
                    },
                    Key::Challenge,
                )]
            }
            Msg::UseRecovery(on) => {
                if let Screen::Challenge(c) = &mut self.screen {
                    c.recovery = on;
                }
                vec![]
            }
            Msg::Resend => match &self.screen {
                Screen::Challenge(c) if c.resend_in == 0 && !self.busy => {
                    self.busy = true;
                    vec![account(AccountRequest::ResendSms, Key::Resend)]
                }
                _ => vec![],
            },
            Msg::SignOut => {
                self.busy = true;
                vec![account(AccountRequest::SignOut, Key::SignOut)]
            }
            Msg::OpenSettings => vec![Effect::OpenSettings],
            Msg::CopyKept(id) => match &self.screen {
                Screen::SignedIn(s) => s
                    .vault
                    .iter()
                    .flatten()
                    .find(|k| k.entry.id == id)
                    .and_then(|k| k.code.clone())
                    .map(|code| vec![Effect::Copy(code, Key::CopyKept(id))])
                    .unwrap_or_default(),
                _ => vec![],
            },
            Msg::CopyText(text) => vec![Effect::Copy(text, Key::Copied)],
            Msg::AnswerPrompt(allow) => {
                if self.prompt.is_none() || self.busy {
                    return vec![];
                }
                self.busy = true;
                vec![account(
                    AccountRequest::AnswerWebAppPrompt { allow },
                    Key::AnswerPrompt(allow),
                )]
            }
            Msg::SetUpNow => {
                if let Screen::SignedIn(s) = &self.screen {
                    let tf = s.session.two_factor.as_ref();
                    if tf.map(|t| !t.enabled).unwrap_or(false) {
                        let email = s.session.email.clone().unwrap_or_default();
                        self.screen = Screen::Setup(Wizard::setup(&email));
                        self.setup_optional = true;
                    }
                }
                vec![]
            }
            Msg::LeaveSetup => {
                if !self.setup_optional || !matches!(self.screen, Screen::Setup(_)) {
                    return vec![];
                }
                self.screen = Screen::Loading;
                vec![account(AccountRequest::Session, Key::Session)]
            }
            Msg::Skip => {
                if self.busy
                    || self.setup_optional
                    || !matches!(self.screen, Screen::Setup(_))
                    || skips_offered(self.deadline.as_ref()).is_none()
                {
                    return vec![];
                }
                self.busy = true;
                vec![account(AccountRequest::SkipSetup, Key::Skip)]
            }
            Msg::Wizard(_) | Msg::Answered(..) => vec![],
        }
    }

    /// The skips the screen offers now: only on a forced setup.
    pub fn skips_left(&self) -> Option<u32> {
        match &self.screen {
            Screen::Setup(_) if !self.setup_optional => skips_offered(self.deadline.as_ref()),
            _ => None,
        }
    }

    fn wizard(&mut self, msg: WizMsg) -> Fx {
        let (fx, outcome) = match &mut self.screen {
            Screen::Setup(w) => w.update(msg),
            _ => return vec![],
        };
        let mut fx: Fx = fx.into_iter().map(|e| e.map(Key::Wizard)).collect();
        if outcome == Outcome::Finished {
            self.notice = Some(word!("finished.on").into());
            self.screen = Screen::Loading;
            fx.push(account(AccountRequest::Session, Key::Session));
        }
        fx
    }

    fn answered(&mut self, key: Key, answer: Answer) -> Fx {
        match key {
            Key::Wizard(k) => return self.wizard(WizMsg::Answered(k, answer)),
            Key::Status => {
                match answer.and_then(|v| decode::<StatusResult>(Ok(v))) {
                    Ok(status) => self.status = Some(status),
                    Err(e) => {
                        self.status = None;
                        self.host_failed(e);
                    }
                }
                return vec![];
            }
            Key::Tick => {
                if let Screen::Challenge(c) = &mut self.screen {
                    c.resend_in = c.resend_in.saturating_sub(1);
                    if c.resend_in > 0 {
                        return vec![Effect::After(1000, Key::Tick)];
                    }
                    c.ticking = false;
                }
                return vec![];
            }
            Key::CopyKept(_) | Key::Copied => {
                match answer {
                    Ok(_) => self.notice = Some("Copied.".into()),
                    Err(e) => {
                        self.error = Some(format!(
                            "Could not copy ({}). Select the text and copy it by hand.",
                            e.message
                        ))
                    }
                }
                return vec![];
            }
            Key::VaultList => return self.vault_listed(answer),
            Key::Prompt => {
                // No answer (an older host, no host) means nothing waits.
                self.prompt = decode::<PendingPrompt>(answer).ok().and_then(|p| p.prompt);
                return vec![];
            }
            Key::Reveal(id) => {
                if let (Ok(revealed), Screen::SignedIn(s)) =
                    (decode::<VaultRevealResult>(answer), &mut self.screen)
                {
                    for kept in s.vault.iter_mut().flatten() {
                        if kept.entry.id == id {
                            kept.code = Some(revealed.code.clone());
                        }
                    }
                }
                return vec![];
            }
            _ => {}
        }
        self.busy = false;
        if key == Key::Session {
            self.session_pending = false;
        }
        match key {
            Key::Session => match decode::<SessionView>(answer) {
                Ok(session) => self.route(session),
                Err(e) => {
                    if !self.host_failed(e.clone()) {
                        // The host is there but the API is not: signing in
                        // will say so again; the footer says why.
                        self.screen = Screen::SignIn;
                        self.error = Some(text::error_text(&e));
                    }
                    vec![]
                }
            },
            Key::SignIn | Key::Challenge => match decode::<SignInOutcome>(answer) {
                Ok(outcome) => self.signed_in_outcome(outcome),
                Err(e) => {
                    if key == Key::Challenge
                        && matches!(e.code, ErrorCode::CodeExpired | ErrorCode::TooManyAttempts)
                    {
                        self.screen = Screen::SignIn;
                    }
                    self.error = Some(text::error_text(&e));
                    vec![]
                }
            },
            Key::Resend => match decode::<SmsCodeSent>(answer) {
                Ok(sent) => {
                    self.notice = Some(format!("We sent a new code to {}.", sent.phone_hint));
                    match &mut self.screen {
                        Screen::Challenge(c) => {
                            c.phone_hint = Some(sent.phone_hint.clone());
                            c.resend_in =
                                text::resend_cooldown(sent.expires_at, sent.resend_available_at);
                            start_tick(c)
                        }
                        _ => vec![],
                    }
                }
                Err(e) => {
                    self.error = Some(text::error_text(&e));
                    vec![]
                }
            },
            Key::AnswerPrompt(allow) => {
                let prompt = self.prompt.take();
                match decode::<SessionView>(answer) {
                    Ok(session) => {
                        let fx = self.route(session);
                        self.notice = prompt.map(|p| prompt_answered(&p, allow));
                        fx
                    }
                    Err(e) => {
                        self.error = Some(text::error_text(&e));
                        vec![]
                    }
                }
            }
            Key::Skip => match decode::<SessionView>(answer) {
                Ok(session) => {
                    let left = session
                        .two_factor
                        .as_ref()
                        .and_then(|t| t.deadline.as_ref())
                        .and_then(|d| d.skips_left);
                    let fx = self.route(session);
                    self.notice = Some(text::skipped_notice(left));
                    fx
                }
                Err(e) => {
                    if e.code == ErrorCode::GraceExhausted {
                        // The API says no skips are left: stop offering one.
                        if let Some(d) = &mut self.deadline {
                            d.skips_left = Some(0);
                        }
                    }
                    self.error = Some(text::error_text(&e));
                    vec![]
                }
            },
            Key::SignOut => match decode::<SessionView>(answer) {
                Ok(session) => {
                    let fx = self.route(session);
                    self.notice = Some("Signed out.".into());
                    fx
                }
                Err(e) => {
                    self.error = Some(text::error_text(&e));
                    vec![]
                }
            },
            _ => vec![],
        }
    }

    /// Shows the host screens for errors that mean the host is not there;
    /// false for errors of the API or of the request.
    fn host_failed(&mut self, e: ErrorBody) -> bool {
        match e.code {
            ErrorCode::HostNotInstalled => {
                self.screen = Screen::HostMissing {
                    command: install_command(DEFAULT_BROWSER),
                    detail: e.message,
                };
                true
            }
            ErrorCode::HostDisconnected
            | ErrorCode::HelloRequired
            | ErrorCode::KeyringUnavailable => {
                self.screen = Screen::HostFailed { message: e.message };
                true
            }
            _ => false,
        }
    }

    fn signed_in_outcome(&mut self, outcome: SignInOutcome) -> Fx {
        match outcome {
            SignInOutcome::SignedIn { session } | SignInOutcome::SetupRequired { session } => {
                self.route(session)
            }
            SignInOutcome::TwoFactorRequired {
                method, phone_hint, ..
            } => {
                let mut c = Challenge {
                    method,
                    phone_hint,
                    recovery: false,
                    resend_in: 0,
                    ticking: false,
                };
                let mut fx = vec![];
                if method == TwoFactorMethod::Sms {
                    c.resend_in = text::DEFAULT_RESEND_COOLDOWN;
                    fx = start_tick(&mut c);
                }
                self.screen = Screen::Challenge(c);
                fx
            }
        }
    }

    /// The screen a session leads to, with the badge that goes with it.
    fn route(&mut self, session: SessionView) -> Fx {
        let mut fx = vec![Effect::Badge(badge(&session))];
        let email = session.email.clone().unwrap_or_default();
        self.required_by = session
            .two_factor
            .as_ref()
            .map(|t| t.required_by.clone())
            .unwrap_or_default();
        self.deadline = session.two_factor.as_ref().and_then(|t| t.deadline.clone());
        self.setup_optional = false;
        if !session.signed_in {
            self.screen = Screen::SignIn;
        } else if session
            .two_factor
            .as_ref()
            .map(|t| t.setup_only)
            .unwrap_or(false)
        {
            self.screen = Screen::Setup(Wizard::setup(&email));
        } else {
            self.screen = Screen::SignedIn(SignedIn {
                session,
                vault: None,
            });
            fx.push(Effect::Send(
                Request::VaultList {
                    account: Some(email),
                },
                Key::VaultList,
            ));
        }
        fx
    }

    fn vault_listed(&mut self, answer: Answer) -> Fx {
        let s = match &mut self.screen {
            Screen::SignedIn(s) => s,
            _ => return vec![],
        };
        match decode::<VaultListResult>(answer) {
            Ok(list) => {
                // A replaced code no longer works: it is not revealed, only
                // counted, so the popup can say so and offer new ones.
                let fx = list
                    .entries
                    .iter()
                    .filter(|e| !e.replaced)
                    .map(|e| {
                        Effect::Send(Request::VaultReveal { code_id: e.id }, Key::Reveal(e.id))
                    })
                    .collect();
                s.vault = Some(
                    list.entries
                        .into_iter()
                        .map(|entry| KeptCode { entry, code: None })
                        .collect(),
                );
                fx
            }
            Err(e) => {
                s.vault = Some(vec![]);
                self.error = Some(format!(
                    "Could not read the codes kept on this computer: {}",
                    text::error_text(&e)
                ));
                vec![]
            }
        }
    }
}

fn start_tick(c: &mut Challenge) -> Fx {
    if c.resend_in > 0 && !c.ticking {
        c.ticking = true;
        vec![Effect::After(1000, Key::Tick)]
    } else {
        vec![]
    }
}

/// The question the popup asks for the web app, in words.
pub fn prompt_question(prompt: &WebAppPrompt) -> String {
    match prompt {
        WebAppPrompt::SignIn { origin, email } => format!(
            "{} asks to sign in as {}, using this computer's sign-in in the extension. Allow it?",
            origin,
            email.as_deref().unwrap_or("the person signed in here")
        ),
        WebAppPrompt::Switch { origin, from, to } => format!(
            "{} offers a sign-in as {}. Switch from {} to {}?",
            origin,
            to.as_deref().unwrap_or("another person"),
            from.as_deref().unwrap_or("the person signed in here"),
            to.as_deref().unwrap_or("them")
        ),
    }
}

/// What the popup says once the person answered.
pub fn prompt_answered(prompt: &WebAppPrompt, allow: bool) -> String {
    match (prompt, allow) {
        (WebAppPrompt::SignIn { .. }, true) => {
            "Allowed. Go back to the web app and press Try again.".into()
        }
        (WebAppPrompt::SignIn { .. }, false) => "Refused: the web app was not signed in.".into(),
        (WebAppPrompt::Switch { to, .. }, true) => format!(
            "Switched to {}.",
            to.as_deref().unwrap_or("the offered sign-in")
        ),
        (WebAppPrompt::Switch { from, .. }, false) => format!(
            "Kept {} signed in.",
            from.as_deref().unwrap_or("this sign-in")
        ),
    }
}

/// Unused codes among those kept on this computer.
pub fn unused(kept: &[KeptCode]) -> u32 {
    kept.iter()
        .filter(|k| !k.entry.used && !k.entry.replaced)
        .count() as u32
}

/// Why setup is forced, in words: who requires it.
pub fn required_text(required_by: &[String]) -> String {
    if required_by.is_empty() {
        word!("required.anyone").into()
    } else {
        fill!("required.by", &[("names", &required_by.join(", "))])
    }
}

/// One line about the API, written for a person.
pub fn api_summary(status: &StatusResult) -> String {
    let api = &status.api;
    if api.reachable {
        let version = api.version.as_deref().unwrap_or("unknown version");
        match api.latency_ms {
            Some(ms) => format!(
                "Account API reachable at {} (version {}, {} ms)",
                api.url, version, ms
            ),
            None => format!("Account API reachable at {} (version {})", api.url, version),
        }
    } else {
        let why = api.problem.as_deref().unwrap_or("no answer");
        format!("Account API not reachable at {}: {}", api.url, why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::api::TwoFactorState;
    use shared::native::ApiReachability;

    fn ok<T: serde::Serialize>(v: T) -> Answer {
        Ok(serde_json::to_value(v).unwrap().into())
    }

    fn status(reachable: bool) -> StatusResult {
        StatusResult {
            host_version: "0.1.0".into(),
            api: ApiReachability {
                url: "http://127.0.0.1:9".into(),
                reachable,
                version: if reachable {
                    Some("0.1.0".into())
                } else {
                    None
                },
                latency_ms: if reachable { Some(3) } else { None },
                problem: if reachable {
                    None
                } else {
                    Some("connection refused".into())
                },
            },
        }
    }

    fn two_factor(enabled: bool, setup_only: bool, left: u32) -> TwoFactorState {
        TwoFactorState {
            enabled,
            method: if enabled {
                Some(TwoFactorMethod::Authenticator)
            } else {
                None
            },
            phone_hint: None,
            recovery_codes_remaining: left,
            recovery_codes_used: vec![],
            recovery_codes_batch: None,
            verified_until: None,
            required: setup_only,
            required_by: if setup_only {
                vec!["Acme".into()]
            } else {
                vec![]
            },
            setup_only,
            deadline: None,
        }
    }

    fn session(tf: TwoFactorState) -> SessionView {
        SessionView {
            signed_in: true,
            email: Some("a@example.com".into()),
            two_factor: Some(tf),
            ..SessionView::signed_out()
        }
    }

    fn signed_out_popup() -> Popup {
        let (mut p, _) = Popup::init();
        p.update(Msg::Answered(Key::Session, ok(SessionView::signed_out())));
        p
    }

    #[test]
    fn starts_on_the_sign_in_form_and_asks_status_and_session() {
        let (p, fx) = Popup::init();
        assert_eq!(p.screen_name(), "sign-in");
        assert!(!p.busy, "the form works before the host answers");
        assert_eq!(
            fx,
            vec![
                Effect::Send(Request::Status, Key::Status),
                Effect::Send(Request::Account(AccountRequest::Session), Key::Session),
                Effect::Send(Request::Account(AccountRequest::WebAppPrompt), Key::Prompt)
            ]
        );
    }

    #[test]
    fn a_signed_in_session_replaces_the_early_sign_in_form() {
        let (mut p, _) = Popup::init();
        assert_eq!(p.screen_name(), "sign-in");
        let fx = p.update(Msg::Answered(
            Key::Session,
            ok(session(two_factor(true, false, 10))),
        ));
        assert_eq!(p.screen_name(), "signed-in");
        assert!(fx.contains(&Effect::Send(
            Request::VaultList {
                account: Some("a@example.com".into())
            },
            Key::VaultList
        )));
    }

    #[test]
    fn a_missing_host_replaces_the_early_sign_in_form() {
        let (mut p, _) = Popup::init();
        p.update(Msg::Answered(
            Key::Session,
            Err(ErrorBody::new(ErrorCode::HostNotInstalled, "not found")),
        ));
        assert_eq!(p.screen_name(), "host-missing");
        assert!(!p.session_pending);
    }

    #[test]
    fn the_early_form_is_pending_until_the_session_answers_whatever_comes_first() {
        let (mut p, _) = Popup::init();
        assert!(p.session_pending);
        // The status and the web app's prompt do not settle the screen.
        p.update(Msg::Answered(Key::Prompt, ok(PendingPrompt::default())));
        assert!(p.session_pending);
        p.update(Msg::Answered(
            Key::Status,
            Err(ErrorBody::new(ErrorCode::ApiUnreachable, "down")),
        ));
        assert!(p.session_pending);
        p.update(Msg::Answered(Key::Session, ok(SessionView::signed_out())));
        assert!(!p.session_pending);
        assert_eq!(p.screen_name(), "sign-in");
    }

    fn signed_in_popup() -> Popup {
        let mut p = signed_out_popup();
        p.update(Msg::Answered(
            Key::Session,
            ok(session(two_factor(true, false, 10))),
        ));
        p
    }

    #[test]
    fn a_web_app_prompt_comes_first_and_is_answered_here() {
        let mut p = signed_in_popup();
        assert_eq!(p.update(Msg::AnswerPrompt(true)), vec![]);
        let asked = WebAppPrompt::SignIn {
            origin: "http://127.0.0.1:8787".into(),
            email: Some("a@example.com".into()),
        };
        p.update(Msg::Answered(
            Key::Prompt,
            ok(PendingPrompt {
                prompt: Some(asked.clone()),
            }),
        ));
        assert_eq!(p.screen_name(), "web-consent");
        assert_eq!(
            prompt_question(&asked),
            "http://127.0.0.1:8787 asks to sign in as a@example.com, using this computer's sign-in in the extension. Allow it?"
        );
        assert_eq!(
            p.update(Msg::AnswerPrompt(true)),
            vec![account(
                AccountRequest::AnswerWebAppPrompt { allow: true },
                Key::AnswerPrompt(true)
            )]
        );
        // A second click while the answer is out asks nothing more.
        assert_eq!(p.update(Msg::AnswerPrompt(false)), vec![]);
        p.update(Msg::Answered(
            Key::AnswerPrompt(true),
            ok(session(two_factor(true, false, 10))),
        ));
        assert_eq!(p.screen_name(), "signed-in");
        assert_eq!(
            p.notice.as_deref(),
            Some("Allowed. Go back to the web app and press Try again.")
        );
    }

    #[test]
    fn a_switch_names_both_people_and_deny_keeps_the_first() {
        let mut p = signed_in_popup();
        let asked = WebAppPrompt::Switch {
            origin: "https://app.example.com".into(),
            from: Some("a@example.com".into()),
            to: Some("m@example.com".into()),
        };
        p.update(Msg::Answered(
            Key::Prompt,
            ok(PendingPrompt {
                prompt: Some(asked.clone()),
            }),
        ));
        assert_eq!(p.screen_name(), "web-switch");
        assert!(prompt_question(&asked).ends_with("Switch from a@example.com to m@example.com?"));
        p.update(Msg::AnswerPrompt(false));
        p.update(Msg::Answered(
            Key::AnswerPrompt(false),
            ok(session(two_factor(true, false, 10))),
        ));
        assert_eq!(p.screen_name(), "signed-in");
        assert_eq!(p.notice.as_deref(), Some("Kept a@example.com signed in."));
        // Nothing waiting: the popup opens as before.
        let mut q = signed_in_popup();
        q.update(Msg::Answered(Key::Prompt, ok(PendingPrompt::default())));
        assert_eq!(q.screen_name(), "signed-in");
    }

    #[test]
    fn status_fills_the_footer_on_any_screen() {
        let mut p = signed_out_popup();
        p.update(Msg::Answered(Key::Status, ok(status(true))));
        assert_eq!(p.status, Some(status(true)));
        assert_eq!(p.screen_name(), "sign-in");
        let fx = p.update(Msg::Retry);
        assert_eq!(fx, vec![Effect::Send(Request::Status, Key::Status)]);
        p.update(Msg::Answered(Key::Status, ok(status(false))));
        assert_eq!(p.status, Some(status(false)));
    }

    #[test]
    fn missing_host_shows_the_install_command() {
        let (mut p, _) = Popup::init();
        let error = ErrorBody::new(
            ErrorCode::HostNotInstalled,
            "Specified native messaging host not found.",
        );
        p.update(Msg::Answered(Key::Session, Err(error)));
        match &p.screen {
            Screen::HostMissing { command, .. } => {
                assert!(
                    command.starts_with("dialer-2fa-host install --browser chrome --api-url http")
                );
            }
            other => panic!("expected the install screen, got {:?}", other),
        }
        let fx = p.update(Msg::Retry);
        assert_eq!(fx.len(), 2);
        assert_eq!(p.screen, Screen::Loading);
    }

    #[test]
    fn other_host_errors_are_shown_as_failures() {
        let (mut p, _) = Popup::init();
        let error = ErrorBody::new(ErrorCode::HostDisconnected, "The helper stopped");
        p.update(Msg::Answered(Key::Status, Err(error)));
        assert_eq!(
            p.screen,
            Screen::HostFailed {
                message: "The helper stopped".into()
            }
        );
    }

    #[test]
    fn sign_in_needs_both_fields() {
        let mut p = signed_out_popup();
        assert_eq!(
            p.update(Msg::SignIn {
                email: " ".into(),
                password: "x".into()
            }),
            vec![]
        );
        assert_eq!(p.error.as_deref(), Some("Enter your email and password."));
        let fx = p.update(Msg::SignIn {
            email: " a@example.com ".into(),
            password: "pw".into(),
        });
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::SignIn {
                    email: "a@example.com".into(),
                    password: "pw".into()
                },
                Key::SignIn
            )]
        );
        assert!(p.busy);
        assert_eq!(p.error, None);
    }

    #[test]
    fn wrong_password_stays_on_sign_in_with_the_reason() {
        let mut p = signed_out_popup();
        p.update(Msg::SignIn {
            email: "a@example.com".into(),
            password: "no".into(),
        });
        p.update(Msg::Answered(
            Key::SignIn,
            Err(ErrorBody::new(
                ErrorCode::InvalidCredentials,
                "The email or password is not right.",
            )),
        ));
        assert_eq!(p.screen_name(), "sign-in");
        assert!(!p.busy);
        assert_eq!(
            p.error.as_deref(),
            Some("The email or password is not right.")
        );
    }

    fn sms_challenge() -> Popup {
        let mut p = signed_out_popup();
        p.update(Msg::SignIn {
            email: "a@example.com".into(),
            password: "pw".into(),
        });
        let fx = p.update(Msg::Answered(
            Key::SignIn,
            ok(SignInOutcome::TwoFactorRequired {
                method: TwoFactorMethod::Sms,
                phone_hint: Some("+1•••0123".into()),
                expires_at: 99,
            }),
        ));
        assert_eq!(fx, vec![Effect::After(1000, Key::Tick)]);
        p
    }

    #[test]
    fn sms_challenge_counts_down_before_resend() {
        let mut p = sms_challenge();
        assert_eq!(p.screen_name(), "challenge");
        assert_eq!(p.update(Msg::Resend), vec![]);
        for _ in 0..text::DEFAULT_RESEND_COOLDOWN {
            p.update(Msg::Answered(Key::Tick, Ok(json!(null).into())));
        }
        match &p.screen {
            Screen::Challenge(c) => assert_eq!(c.resend_in, 0),
            other => panic!("{:?}", other),
        }
        assert_eq!(
            p.update(Msg::Resend),
            vec![account(AccountRequest::ResendSms, Key::Resend)]
        );
        let fx = p.update(Msg::Answered(
            Key::Resend,
            ok(SmsCodeSent {
                phone_hint: "+1•••0123".into(),
                expires_at: 2000 + 600,
                resend_available_at: 2030,
            }),
        ));
        assert_eq!(fx, vec![Effect::After(1000, Key::Tick)]);
        assert_eq!(
            p.notice.as_deref(),
            Some("We sent a new code to +1•••0123.")
        );
    }

    #[test]
    fn challenge_answers_with_code_or_recovery_code_and_remember() {
        let mut p = sms_challenge();
        let fx = p.update(Msg::AnswerChallenge {
            code: "12 34 56".into(),
            remember: true,
        });
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::AnswerChallenge {
                    code: Some("123456".into()),
                    recovery_code: None,
                    remember_device: true
                },
                Key::Challenge
            )]
        );
        p.busy = false;
        p.update(Msg::UseRecovery(true));
        let fx = p.update(Msg::AnswerChallenge {
            code: " 7kq2-m9xd ".into(),
            remember: false,
        });
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::AnswerChallenge {
                    code: None,
                    recovery_code: Some("7kq2-m9xd".into()),
                    remember_device: false
                },
                Key::Challenge
            )]
        );
    }

    #[test]
    fn kept_codes_replaced_elsewhere_are_neither_revealed_nor_counted() {
        let mut p = signed_out_popup();
        p.update(Msg::Answered(
            Key::Challenge,
            ok(SignInOutcome::SignedIn {
                session: session(two_factor(true, false, 10)),
            }),
        ));
        let entry = |id, replaced| VaultEntry {
            id,
            account: "a@example.com".into(),
            position: id as u32,
            used: false,
            saved_at: 0,
            replaced,
        };
        let fx = p.update(Msg::Answered(
            Key::VaultList,
            ok(VaultListResult {
                entries: vec![entry(1, true), entry(2, true)],
            }),
        ));
        assert_eq!(fx, vec![], "a dead code is not even decrypted");
        match &p.screen {
            Screen::SignedIn(s) => assert_eq!(unused(s.vault.as_ref().unwrap()), 0),
            other => panic!("{:?}", other),
        }
    }

    #[test]
    fn signed_in_lists_and_reveals_kept_codes() {
        let mut p = signed_out_popup();
        let fx = p.update(Msg::Answered(
            Key::Challenge,
            ok(SignInOutcome::SignedIn {
                session: session(two_factor(true, false, 10)),
            }),
        ));
        assert_eq!(p.screen_name(), "signed-in");
        assert_eq!(
            fx,
            vec![
                Effect::Badge(String::new()),
                Effect::Send(
                    Request::VaultList {
                        account: Some("a@example.com".into())
                    },
                    Key::VaultList
                )
            ]
        );
        let entry = |id, used| VaultEntry {
            id,
            account: "a@example.com".into(),
            position: id as u32,
            used,
            saved_at: 0,
            replaced: false,
        };
        let fx = p.update(Msg::Answered(
            Key::VaultList,
            ok(VaultListResult {
                entries: vec![entry(1, true), entry(2, false)],
            }),
        ));
        assert_eq!(fx.len(), 2);
        p.update(Msg::Answered(
            Key::Reveal(2),
            ok(VaultRevealResult {
                id: 2,
                account: "a@example.com".into(),
                code: "abcd".into(),
            }),
        ));
        match &p.screen {
            Screen::SignedIn(s) => {
                let kept = s.vault.as_ref().unwrap();
                assert_eq!(kept[1].code.as_deref(), Some("abcd"));
                assert_eq!(unused(kept), 1);
            }
            other => panic!("{:?}", other),
        }
        assert_eq!(
            p.update(Msg::CopyKept(2)),
            vec![Effect::Copy("abcd".into(), Key::CopyKept(2))]
        );
    }

    #[test]
    fn required_setup_goes_straight_into_the_wizard() {
        let mut p = signed_out_popup();
        let fx = p.update(Msg::Answered(
            Key::SignIn,
            ok(SignInOutcome::SetupRequired {
                session: session(two_factor(false, true, 0)),
            }),
        ));
        assert_eq!(p.screen_name(), "setup-choose");
        assert_eq!(fx, vec![Effect::Badge("!".into())]);
        assert_eq!(p.required_by, vec!["Acme".to_string()]);
        // The wizard's requests are the popup's effects.
        p.update(Msg::Wizard(WizMsg::Choose(TwoFactorMethod::Authenticator)));
        let fx = p.update(Msg::Wizard(WizMsg::StartApp {
            password: String::new(),
        }));
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::AuthenticatorSetup { password: None },
                Key::Wizard(WizKey::AppSetup)
            )]
        );
    }

    #[test]
    fn badge_warns_of_few_codes() {
        assert_eq!(badge(&session(two_factor(true, false, 3))), "3");
        assert_eq!(badge(&session(two_factor(true, false, 4))), "");
        assert_eq!(badge(&SessionView::signed_out()), "");
    }

    #[test]
    fn sign_out_returns_to_sign_in() {
        let mut p = signed_out_popup();
        p.update(Msg::Answered(
            Key::Session,
            ok(session(two_factor(true, false, 10))),
        ));
        assert_eq!(
            p.update(Msg::SignOut),
            vec![account(AccountRequest::SignOut, Key::SignOut)]
        );
        p.update(Msg::Answered(Key::SignOut, ok(SessionView::signed_out())));
        assert_eq!(p.screen_name(), "sign-in");
        assert_eq!(p.notice.as_deref(), Some("Signed out."));
    }

    #[test]
    fn expired_challenge_returns_to_sign_in_with_the_reason() {
        let mut p = sms_challenge();
        p.update(Msg::AnswerChallenge {
            code: "123456".into(),
            remember: false,
        });
        p.update(Msg::Answered(
            Key::Challenge,
            Err(ErrorBody::new(
                ErrorCode::CodeExpired,
                "the sign-in took too long; sign in again",
            )),
        ));
        assert_eq!(p.screen_name(), "sign-in");
        assert_eq!(
            p.error.as_deref(),
            Some("The sign-in took too long; sign in again.")
        );
    }

    #[test]
    fn malformed_code_is_refused_before_the_host_is_asked() {
        let mut p = sms_challenge();
        assert_eq!(
            p.update(Msg::AnswerChallenge {
                code: "12345".into(),
                remember: false
            }),
            vec![]
        );
        assert_eq!(
            p.error.as_deref(),
            Some("The code is 6 digits, like 123 456.")
        );
        assert!(!p.busy);
    }

    #[test]
    fn api_down_at_open_still_offers_sign_in() {
        let (mut p, _) = Popup::init();
        p.update(Msg::Answered(
            Key::Session,
            Err(ErrorBody::new(ErrorCode::ApiUnreachable, "refused")),
        ));
        assert_eq!(p.screen_name(), "sign-in");
        assert!(p
            .error
            .as_deref()
            .unwrap()
            .starts_with("The account server did not answer."));
    }

    #[test]
    fn finished_setup_reloads_the_session() {
        let mut p = signed_out_popup();
        p.update(Msg::Answered(
            Key::SignIn,
            ok(SignInOutcome::SetupRequired {
                session: session(two_factor(false, true, 0)),
            }),
        ));
        if let Screen::Setup(w) = &mut p.screen {
            w.step = crate::wizard::Step::Codes {
                codes: vec!["c".into(); 10],
                copied: true,
                kept: false,
            };
        }
        let fx = p.update(Msg::Wizard(WizMsg::Complete));
        assert_eq!(fx, vec![account(AccountRequest::Session, Key::Session)]);
        assert_eq!(
            p.notice.as_deref(),
            Some("Two-factor authentication is on.")
        );
    }

    #[test]
    fn summary_names_url_version_and_latency() {
        assert_eq!(
            api_summary(&status(true)),
            "Account API reachable at http://127.0.0.1:9 (version 0.1.0, 3 ms)"
        );
        assert_eq!(
            api_summary(&status(false)),
            "Account API not reachable at http://127.0.0.1:9: connection refused"
        );
    }

    fn scheduled(days_left: i64, skips_left: Option<u32>) -> TwoFactorDeadline {
        TwoFactorDeadline {
            at: 1_801_000_000,
            days_left,
            set_by: vec!["Acme".into()],
            grace_days: 2,
            skips_left,
        }
    }

    fn with_deadline(mut tf: TwoFactorState, d: TwoFactorDeadline) -> TwoFactorState {
        tf.deadline = Some(d);
        tf
    }

    #[test]
    fn the_badge_counts_down_the_last_week_before_a_deadline() {
        let soon = |days| {
            session(with_deadline(
                two_factor(false, false, 0),
                scheduled(days, None),
            ))
        };
        assert_eq!(badge(&soon(30)), "", "a month away: no badge yet");
        assert_eq!(badge(&soon(8)), "");
        assert_eq!(badge(&soon(7)), "7d");
        assert_eq!(badge(&soon(1)), "1d");
        // After a skip in the grace period the session is a full one again.
        assert_eq!(badge(&soon(0)), "0d");
        // Forced setup keeps its "!"; 2FA on means no deadline at all.
        let forced = session(with_deadline(
            two_factor(false, true, 0),
            scheduled(0, Some(2)),
        ));
        assert_eq!(badge(&forced), "!");
        let done = session(with_deadline(
            two_factor(true, false, 10),
            scheduled(3, None),
        ));
        assert_eq!(badge(&done), "");
    }

    #[test]
    fn the_banners_set_up_now_opens_a_setup_that_may_be_left() {
        let mut p = signed_out_popup();
        let fx = p.update(Msg::Answered(
            Key::Session,
            ok(session(with_deadline(
                two_factor(false, false, 0),
                scheduled(5, None),
            ))),
        ));
        assert_eq!(p.screen_name(), "signed-in");
        assert!(fx.contains(&Effect::Badge("5d".into())));
        assert_eq!(p.skips_left(), None, "no skip before the deadline");
        p.update(Msg::SetUpNow);
        assert_eq!(p.screen_name(), "setup-choose");
        assert!(p.setup_optional);
        assert_eq!(
            p.skips_left(),
            None,
            "no skip on a setup that is not forced"
        );
        assert_eq!(p.update(Msg::Skip), vec![]);
        let fx = p.update(Msg::LeaveSetup);
        assert_eq!(fx, vec![account(AccountRequest::Session, Key::Session)]);
        p.update(Msg::Answered(
            Key::Session,
            ok(session(with_deadline(
                two_factor(false, false, 0),
                scheduled(5, None),
            ))),
        ));
        assert_eq!(p.screen_name(), "signed-in");
        assert!(!p.setup_optional);
    }

    #[test]
    fn a_forced_setup_leaves_no_way_out_but_the_skips() {
        let mut p = signed_out_popup();
        p.update(Msg::Answered(
            Key::Session,
            ok(session(two_factor(false, true, 0))),
        ));
        assert_eq!(p.update(Msg::LeaveSetup), vec![], "forced: no leaving");
        assert_eq!(p.screen_name(), "setup-choose");
        assert_eq!(p.skips_left(), None, "no deadline, no skips");
        assert_eq!(p.update(Msg::Skip), vec![]);
    }

    #[test]
    fn the_grace_period_offers_skips_and_counts_them() {
        let mut p = signed_out_popup();
        let fx = p.update(Msg::Answered(
            Key::SignIn,
            ok(SignInOutcome::SetupRequired {
                session: session(with_deadline(
                    two_factor(false, true, 0),
                    scheduled(0, Some(2)),
                )),
            }),
        ));
        assert_eq!(fx, vec![Effect::Badge("!".into())]);
        assert_eq!(p.screen_name(), "setup-choose");
        assert_eq!(p.skips_left(), Some(2));
        let fx = p.update(Msg::Skip);
        assert_eq!(fx, vec![account(AccountRequest::SkipSetup, Key::Skip)]);
        assert!(p.busy);
        assert_eq!(p.update(Msg::Skip), vec![], "one skip at a time");
        let fx = p.update(Msg::Answered(
            Key::Skip,
            ok(session(with_deadline(
                two_factor(false, false, 0),
                scheduled(0, Some(1)),
            ))),
        ));
        assert_eq!(p.screen_name(), "signed-in");
        assert_eq!(p.notice.as_deref(), Some("Skipped for now. 1 skip left."));
        assert!(fx.contains(&Effect::Badge("0d".into())));
    }

    #[test]
    fn no_skips_left_means_no_skip_and_a_refusal_says_why() {
        let mut p = signed_out_popup();
        p.update(Msg::Answered(
            Key::Session,
            ok(session(with_deadline(
                two_factor(false, true, 0),
                scheduled(0, Some(0)),
            ))),
        ));
        assert_eq!(p.skips_left(), None, "skips used up");
        assert_eq!(p.update(Msg::Skip), vec![]);
        // The grace period ended while the screen was open: the API refuses
        // and the button goes.
        let mut p = signed_out_popup();
        p.update(Msg::Answered(
            Key::Session,
            ok(session(with_deadline(
                two_factor(false, true, 0),
                scheduled(0, Some(1)),
            ))),
        ));
        p.update(Msg::Skip);
        p.update(Msg::Answered(
            Key::Skip,
            Err(ErrorBody::new(
                ErrorCode::GraceExhausted,
                "the grace period is over",
            )),
        ));
        assert_eq!(p.screen_name(), "setup-choose");
        assert_eq!(p.skips_left(), None);
        assert_eq!(
            p.error.as_deref(),
            Some("No more skips: set up two-factor authentication now to continue.")
        );
        assert!(!p.busy);
    }
}
