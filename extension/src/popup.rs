//! The popup's DOM layer: draws `popup_state::Popup` and turns clicks into
//! `popup_state::Msg`s. No decisions live here.

use shared::api::TwoFactorMethod;
use shared::web_sync::WebAppPrompt;
use wasm_bindgen::prelude::*;
use web_sys::Element;

use crate::dom::{self, checked, value, Page, Ui};
use crate::effect::{Answer, Effect};
use crate::popup_state::{
    api_summary, deadline_shown, prompt_question, required_text, unused, Key, Msg, Popup, Screen,
    SignedIn,
};
use crate::text;
use crate::wizard_view;

pub fn start() -> Result<(), JsValue> {
    let (popup, effects) = Popup::init();
    dom::start(popup, effects)
}

impl Page for Popup {
    type Msg = Msg;
    type Key = Key;

    fn update(&mut self, msg: Msg) -> Vec<Effect<Key>> {
        Popup::update(self, msg)
    }

    fn answered(key: Key, answer: Answer) -> Msg {
        Msg::Answered(key, answer)
    }

    fn screen_name(&self) -> &'static str {
        Popup::screen_name(self)
    }

    fn pending(&self) -> bool {
        self.session_pending
    }

    fn render(&self, ui: &Ui<Msg>, app: &Element) -> Result<(), JsValue> {
        ui.brand(app)?;
        // The web app waits on the person: asked here, in the extension,
        // where no page script can click for them.
        if let Some(prompt) = &self.prompt {
            let (title, allow, deny) = match prompt {
                WebAppPrompt::SignIn { .. } => ("Sign in the web app?", "Allow", "Deny"),
                WebAppPrompt::Switch { .. } => ("Switch who is signed in?", "Switch", "Deny"),
            };
            ui.el(app, "h1", title)?;
            ui.el(app, "p", &prompt_question(prompt))?
                .set_id("prompt-question");
            ui.button(app, "allow", allow, !self.busy, || Msg::AnswerPrompt(true))?;
            ui.button(app, "deny", deny, !self.busy, || Msg::AnswerPrompt(false))?;
            ui.messages(app, &self.error, &self.notice)?;
            return footer(ui, app, self);
        }
        // Set when a screen drew the error under its own field.
        let mut error_shown = false;
        match &self.screen {
            Screen::Loading => {
                ui.el(app, "h1", "Starting")?;
                ui.class(app, "p", "muted", "Checking the dialer-2fa helper…")?;
            }
            Screen::HostMissing { command, detail } => {
                ui.el(app, "h1", "Install the dialer-2fa helper")?;
                ui.el(
                    app,
                    "p",
                    "The extension keeps your 2FA secrets in a small helper program on this computer. It is not installed for this browser yet. Run this command in a terminal, then press Check again:",
                )?;
                let code = ui.class(app, "code", "command", command)?;
                code.set_id("install-command");
                let text = command.clone();
                ui.button(app, "copy-command", "Copy command", true, move || {
                    Msg::CopyText(text.clone())
                })?;
                ui.button(app, "retry", "Check again", true, || Msg::Retry)?;
                ui.class(app, "p", "muted", detail)?;
            }
            Screen::HostFailed { message } => {
                ui.el(app, "h1", "The helper did not answer")?;
                ui.class(app, "p", "problem", message)?
                    .set_id("host-problem");
                ui.button(app, "retry", "Check again", true, || Msg::Retry)?;
            }
            Screen::SignIn => {
                ui.el(app, "h1", "Sign in")?;
                let f = ui.form(app, "sign-in-form", || Msg::SignIn {
                    email: value("email"),
                    password: value("password"),
                })?;
                ui.field(
                    &f,
                    "email",
                    "Email",
                    "email",
                    &[("autocomplete", "username"), ("data-focus", "")],
                )?;
                ui.field(
                    &f,
                    "password",
                    "Password",
                    "password",
                    &[("autocomplete", "current-password")],
                )?;
                ui.submit(&f, "sign-in", "Sign in", !self.busy)?;
            }
            Screen::Challenge(c) => {
                ui.el(app, "h1", "Confirm it is you")?;
                let f = ui.form(app, "challenge-form", || Msg::AnswerChallenge {
                    code: value("code"),
                    remember: checked("remember"),
                })?;
                let input = if c.recovery {
                    ui.field(
                        &f,
                        "code",
                        "One of your recovery codes",
                        "text",
                        &[
                            ("autocomplete", "one-time-code"),
                            ("spellcheck", "false"),
                            ("data-focus", ""),
                        ],
                    )?
                } else {
                    let label = match (c.method, &c.phone_hint) {
                        (TwoFactorMethod::Sms, Some(hint)) => {
                            format!("The 6-digit code we sent to {}", hint)
                        }
                        (TwoFactorMethod::Sms, None) => {
                            "The 6-digit code we sent by text message".to_string()
                        }
                        (TwoFactorMethod::Authenticator, _) => {
                            "The 6-digit code from your authenticator app".to_string()
                        }
                    };
                    ui.code_field(&f, "code", &label)?
                };
                // The wrong-code error under the code, above the links.
                error_shown = ui.field_error(&f, &input, &self.error)?;
                ui.checkbox(&f, "remember", &text::remember_computer_label(), false)?;
                ui.submit(&f, "verify", word!("button.verify"), !self.busy)?;
                if c.method == TwoFactorMethod::Sms && !c.recovery {
                    wizard_view::resend_button(ui, &f, c.resend_in, !self.busy, || Msg::Resend)?;
                }
                let (id, label, on) = if c.recovery {
                    ("use-code", "Use the code instead", false)
                } else {
                    ("use-recovery", "Use a recovery code", true)
                };
                ui.button(app, id, label, true, move || Msg::UseRecovery(on))?
                    .set_class_name("link");
            }
            Screen::SignedIn(s) => signed_in(ui, app, s)?,
            Screen::Setup(w) if self.setup_optional => {
                wizard_view::render(ui, app, w, Msg::Wizard)?;
                // Opened from the deadline banner: not required yet, so it
                // may be left (except at the codes, shown once).
                if !matches!(w.step, crate::wizard::Step::Codes { .. }) {
                    ui.button(app, "not-now", "Not now", true, || Msg::LeaveSetup)?
                        .set_class_name("link");
                }
                return footer(ui, app, self);
            }
            Screen::Setup(w) => {
                ui.class(app, "p", "required", &required_text(&self.required_by))?
                    .set_id("required");
                wizard_view::render(ui, app, w, Msg::Wizard)?;
                // The grace period after a deadline: setup may wait, a
                // counted number of times.
                if let Some(left) = self.skips_left() {
                    if !matches!(w.step, crate::wizard::Step::Codes { .. }) {
                        ui.button(app, "skip", &text::skip_label(left), !self.busy, || {
                            Msg::Skip
                        })?;
                    }
                }
                ui.messages(app, &self.error, &self.notice)?;
                // Nothing else is offered, but leaving is: someone at a
                // shared computer must be able to sign out.
                ui.button(app, "sign-out", word!("button.sign_out"), true, || {
                    Msg::SignOut
                })?
                .set_class_name("link");
                return footer(ui, app, self);
            }
        }
        let error = if error_shown {
            None
        } else {
            self.error.clone()
        };
        ui.messages(app, &error, &self.notice)?;
        footer(ui, app, self)
    }
}

fn signed_in(ui: &Ui<Msg>, app: &Element, s: &SignedIn) -> Result<(), JsValue> {
    let session = &s.session;
    // Whether the vault has answered, so a test (or a reader of the DOM) can
    // tell "no codes kept here" from "not known yet".
    app.set_attribute(
        "data-vault",
        if s.vault.is_some() {
            "loaded"
        } else {
            "loading"
        },
    )?;
    ui.el(app, "h1", "Signed in")?;
    let who = ui.el(
        app,
        "p",
        &fill!(
            "settings.signed_in_as",
            &[("email", session.email.as_deref().unwrap_or("?"))],
        ),
    )?;
    who.set_id("who");
    if let Some(d) = session.two_factor.as_ref().and_then(deadline_shown) {
        dom::deadline_banner(ui, app, d, || Msg::SetUpNow)?;
    }
    if session.stale {
        ui.class(
            app,
            "p",
            "problem",
            "The account server did not answer. This is what it said last time.",
        )?
        .set_id("stale");
    }
    if let Some(tf) = &session.two_factor {
        let method = match (tf.method, &tf.phone_hint) {
            (Some(TwoFactorMethod::Sms), Some(hint)) => {
                format!("Second step: text message to {}", hint)
            }
            (Some(m), _) => format!("Second step: {}", text::method_name(m)),
            (None, _) => "Two-factor authentication is off. Turn it on in Settings.".to_string(),
        };
        ui.el(app, "p", &method)?.set_id("method");
        let verified = match tf.verified_until {
            Some(t) => fill!("popup.verified_until", &[("date", &dom::date(t))]),
            None => word!("popup.code_each_time").to_string(),
        };
        ui.el(app, "p", &verified)?.set_id("verified-until");
        if tf.enabled {
            let left = ui.el(
                app,
                "p",
                &format!("{} recovery codes left.", tf.recovery_codes_remaining),
            )?;
            left.set_id("codes-left");
            if tf.recovery_codes_remaining <= text::LOW_RECOVERY_CODES {
                left.set_class_name("problem");
            }
        }
    }
    if let Some(kept) = &s.vault {
        if kept.iter().any(|k| k.entry.replaced) {
            // New codes made elsewhere (the web app) replaced these: never
            // offer a dead code as good.
            ui.class(
                app,
                "p",
                "problem",
                "The recovery codes kept on this computer were replaced by new ones made elsewhere, so they no longer work. Make new ones in Settings, or keep the new ones from the web app.",
            )?
            .set_id("vault-replaced");
            ui.button(app, "get-new-codes", "Get new codes", true, || {
                Msg::OpenSettings
            })?;
        }
        if kept.iter().any(|k| !k.entry.replaced) {
            ui.el(app, "h2", "Recovery codes on this computer")?;
            let list = ui.class(app, "ul", "kept", "")?;
            list.set_id("vault");
            for k in kept.iter().filter(|k| !k.entry.replaced) {
                let li = ui.el(&list, "li", "")?;
                li.set_attribute("data-used", if k.entry.used { "true" } else { "false" })?;
                let code = ui.el(
                    &li,
                    if k.entry.used { "s" } else { "code" },
                    k.code.as_deref().unwrap_or("…"),
                )?;
                code.set_class_name("vault-code");
                if !k.entry.used && k.code.is_some() {
                    let id = k.entry.id;
                    ui.button(
                        &li,
                        &format!("copy-kept-{}", id),
                        word!("button.copy"),
                        true,
                        move || Msg::CopyKept(id),
                    )?;
                }
            }
            let left = unused(kept);
            if left <= text::LOW_RECOVERY_CODES {
                let warn = ui.class(
                    app,
                    "p",
                    "problem",
                    &format!(
                        "Only {} unused codes left here. Make new ones in Settings.",
                        left
                    ),
                )?;
                warn.set_id("vault-low");
            }
        }
    }
    ui.button(app, "settings", "Settings", true, || Msg::OpenSettings)?;
    ui.button(app, "sign-out", word!("button.sign_out"), true, || {
        Msg::SignOut
    })?;
    Ok(())
}

/// Host and API status under every screen, with "Check again".
fn footer(ui: &Ui<Msg>, app: &Element, p: &Popup) -> Result<(), JsValue> {
    let status = match &p.status {
        Some(s) => s,
        None => return Ok(()),
    };
    if matches!(
        p.screen,
        Screen::HostMissing { .. } | Screen::HostFailed { .. }
    ) {
        return Ok(());
    }
    let f = ui.class(app, "footer", "status", "")?;
    // Plain words for everyone; versions, address and timing for support
    // behind "Details".
    let (class, words) = if status.api.reachable {
        ("ok", "Connected to your account server.")
    } else {
        (
            "problem",
            "Cannot reach your account server. Check your connection, then press Check again.",
        )
    };
    let plain = ui.class(&f, "span", class, words)?;
    plain.set_id("connection");
    plain.set_attribute(
        "data-reachable",
        if status.api.reachable {
            "true"
        } else {
            "false"
        },
    )?;
    let details = ui.el(&f, "details", "")?;
    details.set_id("details");
    ui.el(&details, "summary", "Details")?;
    ui.class(
        &details,
        "span",
        "ok",
        &format!("Helper {} connected", status.host_version),
    )?
    .set_id("host-status");
    let api = ui.class(
        &details,
        "span",
        if status.api.reachable {
            "ok"
        } else {
            "problem"
        },
        &api_summary(status),
    )?;
    api.set_id("api-status");
    api.set_attribute(
        "data-reachable",
        if status.api.reachable {
            "true"
        } else {
            "false"
        },
    )?;
    ui.button(&f, "retry", "Check again", true, || Msg::Retry)?
        .set_class_name("link");
    Ok(())
}
