//! The settings page's DOM layer: draws `settings_state::Settings` and turns
//! clicks into `settings_state::Msg`s. No decisions live here.

use shared::api::{AccountRole, TwoFactorMethod};
use wasm_bindgen::prelude::*;
use web_sys::Element;

use crate::dom::{self, checked, value, Page, Ui};
use crate::effect::{Answer, Effect};
use crate::popup_state::deadline_shown;
use crate::settings_state::{Key, Msg, Pending, Settings, View};
use crate::text;
use crate::wizard_view;

pub fn start() -> Result<(), JsValue> {
    let (settings, effects) = Settings::init();
    dom::start(settings, effects)
}

impl Page for Settings {
    type Msg = Msg;
    type Key = Key;

    fn update(&mut self, msg: Msg) -> Vec<Effect<Key>> {
        Settings::update(self, msg)
    }

    fn answered(key: Key, answer: Answer) -> Msg {
        Msg::Answered(key, answer)
    }

    fn screen_name(&self) -> &'static str {
        Settings::screen_name(self)
    }

    fn render(&self, ui: &Ui<Msg>, app: &Element) -> Result<(), JsValue> {
        ui.brand(app)?;
        match &self.view {
            View::Loading => {
                ui.el(app, "h1", "dialer-2fa settings")?;
                ui.class(app, "p", "muted", "Loading…")?;
            }
            View::SignedOut => {
                ui.el(app, "h1", "dialer-2fa settings")?;
                ui.el(app, "p", "You are not signed in on this computer. Sign in from the dialer-2fa button in the toolbar, then come back.")?;
                ui.button(app, "reload", "Check again", true, || Msg::Reload)?;
            }
            View::Problem(why) => {
                ui.el(app, "h1", "dialer-2fa settings")?;
                ui.class(app, "p", "problem", why)?.set_id("problem");
                ui.button(app, "reload", "Check again", true, || Msg::Reload)?;
            }
            View::Wizard(w) => {
                wizard_view::render(ui, app, w, Msg::Wizard)?;
                if self.can_leave_wizard() {
                    ui.button(app, "cancel", word!("button.cancel"), true, || Msg::Reload)?
                        .set_class_name("link");
                }
                // The grace period after a deadline: setup may wait, a
                // counted number of times.
                if let Some(left) = self.skips_left() {
                    if !matches!(w.step, crate::wizard::Step::Codes { .. }) {
                        ui.button(app, "skip", &text::skip_label(left), !self.busy, || {
                            Msg::Skip
                        })?;
                    }
                }
                return ui.messages(app, &self.error, &self.notice);
            }
            // The main view places its messages at the top itself.
            View::Main => return main(ui, app, self),
        }
        ui.messages(app, &self.error, &self.notice)
    }
}

fn main(ui: &Ui<Msg>, app: &Element, s: &Settings) -> Result<(), JsValue> {
    ui.el(app, "h1", word!("settings.title"))?;
    let session = match &s.session {
        Some(session) => session,
        None => return Ok(()),
    };
    ui.el(
        app,
        "p",
        &fill!(
            "settings.signed_in_as",
            &[("email", session.email.as_deref().unwrap_or("?"))],
        ),
    )?
    .set_id("who");
    // The messages sit at the top, next to what they are about; while a
    // confirmation panel is open its error sits under its password field.
    let error = if s.pending.is_some() {
        None
    } else {
        s.error.clone()
    };
    ui.messages(app, &error, &s.notice)?;
    let tf = match &session.two_factor {
        Some(tf) => tf,
        None => return Ok(()),
    };
    if let Some(d) = deadline_shown(tf) {
        dom::deadline_banner(ui, app, d, || Msg::SetUp)?;
    }
    let section = ui.class(app, "section", "card", "")?;
    section.set_id("method-section");
    match tf.method {
        Some(method) if tf.enabled => {
            let line = match (method, &tf.phone_hint) {
                (TwoFactorMethod::Sms, Some(hint)) => {
                    fill!("method.sms_to", &[("phone", hint)])
                }
                _ => text::method_name(method).to_string(),
            };
            let p = ui.el(
                &section,
                "p",
                &fill!("settings.current_method", &[("method", &line)]),
            )?;
            p.set_id("current-method");
            p.set_attribute(
                "data-method",
                match method {
                    TwoFactorMethod::Sms => "sms",
                    TwoFactorMethod::Authenticator => "authenticator",
                },
            )?;
            let other = match method {
                TwoFactorMethod::Sms => TwoFactorMethod::Authenticator,
                TwoFactorMethod::Authenticator => TwoFactorMethod::Sms,
            };
            let label = match other {
                TwoFactorMethod::Sms => word!("settings.switch_to_sms"),
                TwoFactorMethod::Authenticator => word!("settings.switch_to_app"),
            };
            ui.button(&section, "switch", label, !s.busy, move || {
                Msg::Ask(Pending::Switch(other))
            })?;
            ui.el(
                &section,
                "p",
                &format!("{} recovery codes left.", tf.recovery_codes_remaining),
            )?
            .set_id("codes-left");
            if s.kept_replaced {
                ui.class(
                    &section,
                    "p",
                    "problem",
                    "The recovery codes kept on this computer were replaced by new ones made elsewhere and no longer work. Make new ones here, or keep the new ones from the web app.",
                )?
                .set_id("vault-replaced");
            }
            ui.button(
                &section,
                "regenerate",
                word!("settings.new_codes"),
                !s.busy,
                || Msg::Ask(Pending::Regenerate),
            )?;
            let blocked = s.disable_blocked();
            ui.button(
                &section,
                "disable",
                word!("settings.disable"),
                blocked.is_none() && !s.busy,
                || Msg::Ask(Pending::Disable),
            )?;
            if let Some(why) = blocked {
                ui.class(&section, "p", "muted", &why)?
                    .set_id("disable-reason");
            }
            match s.pending {
                Some(Pending::Enforce { .. }) | None => {}
                Some(p) => pending(ui, &section, s, p)?,
            }
        }
        _ => {
            match s.own_requirement() {
                Some(why) => {
                    let p = ui.class(&section, "p", "required", &why)?;
                    p.set_id("current-method");
                    p.set_attribute("data-required", "true")?;
                }
                None => {
                    ui.el(&section, "p", word!("settings.off"))?
                        .set_id("current-method");
                }
            }
            ui.button(&section, "set-up", word!("settings.set_up"), true, || {
                Msg::SetUp
            })?
            .set_class_name("primary");
        }
    }

    if let Some(devices) = &s.devices {
        let section = ui.class(app, "section", "card", "")?;
        ui.el(&section, "h2", word!("settings.remembered"))?;
        if devices.is_empty() {
            ui.class(
                &section,
                "p",
                "muted",
                &fill!(
                    "settings.none_remembered",
                    &[("days", &shared::rules::TRUSTED_DEVICE_DAYS.to_string())],
                ),
            )?;
        }
        let list = ui.el(&section, "ul", "")?;
        list.set_id("devices");
        for d in devices {
            let li = ui.el(&list, "li", "")?;
            let name = d
                .label
                .clone()
                .unwrap_or_else(|| word!("settings.a_computer").to_string());
            let date = dom::date(d.expires_at);
            let line = if d.current {
                fill!("settings.device_here", &[("name", &name), ("date", &date)])
            } else {
                fill!("settings.device", &[("name", &name), ("date", &date)])
            };
            ui.el(&li, "span", &line)?;
            let id = d.id;
            ui.button(
                &li,
                &format!("revoke-{}", id),
                word!("button.revoke"),
                !s.busy,
                move || Msg::Revoke(id),
            )?;
        }
    }

    if let Some(accounts) = &s.accounts {
        if !accounts.is_empty() {
            let section = ui.class(app, "section", "card", "")?;
            section.set_id("accounts");
            ui.el(&section, "h2", "Your accounts")?;
            let list = ui.el(&section, "ul", "")?;
            for a in accounts {
                let li = ui.el(&list, "li", "")?;
                li.set_attribute("data-account", &a.name)?;
                if a.role != AccountRole::Owner {
                    // Only owners decide enforcement (R9): members see no toggle.
                    ui.el(&li, "span", &format!("{} (member)", a.name))?;
                    continue;
                }
                let id = a.id;
                // While the change waits for the password the box shows the
                // asked-for value under another id, so the page's carry-over
                // of ticked boxes cannot keep a change that was cancelled or
                // refused: once the panel closes, the box shows the setting.
                let asked = match s.pending {
                    Some(Pending::Enforce { account_id, on }) if account_id == id => Some(on),
                    _ => None,
                };
                let input_id = match asked {
                    Some(_) => format!("enforce-{}-asked", id),
                    None => format!("enforce-{}", id),
                };
                let input = ui.checkbox(
                    &li,
                    &input_id,
                    &fill!("settings.enforce_box", &[("name", &a.name)]),
                    asked.unwrap_or_else(|| a.enforce_2fa.unwrap_or(false)),
                )?;
                input.set_attribute("data-account", &a.name)?;
                if s.busy {
                    input.set_attribute("disabled", "")?;
                }
                ui.on(&input, "change", move || Msg::Enforce {
                    account_id: id,
                    on: checked(&input_id),
                })?;
                if let Some(from) = a.enforce_from {
                    ui.el(
                        &li,
                        "p",
                        &text::scheduled_text(&dom::date(from), s.grace_of(id)),
                    )?
                    .set_id(&format!("scheduled-{}", id));
                }
                if let Some(p @ Pending::Enforce { account_id, .. }) = s.pending {
                    if account_id == id {
                        pending(ui, &li, s, p)?;
                    }
                }
                rollout(ui, &li, s, id)?;
            }
        }
    }
    Ok(())
}

/// Who in an owned account has not set up 2FA, and "Send reminder"
/// (issue 14): once sent, the button waits for the next allowed time.
fn rollout(ui: &Ui<Msg>, li: &Element, s: &Settings, id: i64) -> Result<(), JsValue> {
    let missing = match s.not_set_up(id) {
        Some(m) => m,
        None => return Ok(()),
    };
    let p = ui.el(li, "p", &text::not_set_up_text(&missing))?;
    p.set_id(&format!("not-set-up-{}", id));
    p.set_attribute("data-count", &missing.len().to_string())?;
    if s.you_not_set_up(id) {
        ui.class(li, "p", "muted", text::reminder_not_to_you())?
            .set_id(&format!("reminder-not-you-{}", id));
    }
    // Nobody a reminder would reach: the owner alone is not set up.
    if s.reminder_recipients(id) == 0 {
        return Ok(());
    }
    let next = s.members_of(id).and_then(|m| m.next_reminder_at);
    ui.button(
        li,
        &format!("remind-{}", id),
        word!("reminder.send"),
        next.is_none() && !s.busy,
        move || Msg::Remind(id),
    )?;
    if let Some(at) = next {
        ui.class(
            li,
            "p",
            "muted",
            &text::next_reminder_text(&dom::date_time(at)),
        )?
        .set_id(&format!("next-reminder-{}", id));
    }
    Ok(())
}

/// "Require now" or "Require from" 7, 14 or 30 days ahead, and the grace
/// days, in the panel that turns enforcement on.
fn schedule_choice(ui: &Ui<Msg>, parent: &Element, s: &Settings) -> Result<(), JsValue> {
    let set = ui.class(parent, "fieldset", "when", "")?;
    ui.el(&set, "legend", word!("settings.when"))?;
    let mut choices: Vec<Option<u32>> = vec![None];
    choices.extend(text::ENFORCE_IN_DAYS.iter().map(|d| Some(*d)));
    for choice in choices {
        let id = match choice {
            None => "enforce-when-now".to_string(),
            Some(d) => format!("enforce-when-{}", d),
        };
        let l = ui.class(&set, "label", "check", "")?;
        let r = ui.el(&l, "input", "")?;
        r.set_id(&id);
        r.set_attribute("type", "radio")?;
        r.set_attribute("name", "enforce-when")?;
        if s.schedule.in_days == choice {
            r.set_attribute("checked", "")?;
        }
        ui.el(&l, "span", &text::enforce_when_label(choice))?;
        ui.on(&r, "change", move || Msg::Schedule {
            in_days: choice,
            grace_days: value("grace-days"),
            now: dom::now(),
        })?;
    }
    if let Some(days) = s.schedule.in_days {
        let l = ui.el(
            &set,
            "label",
            &fill!(
                "settings.grace_field",
                &[("max", &text::MAX_GRACE_DAYS.to_string())],
            ),
        )?;
        l.set_attribute("for", "grace-days")?;
        let g = ui.el(&set, "input", "")?;
        g.set_id("grace-days");
        g.set_attribute("type", "number")?;
        g.set_attribute("min", "0")?;
        g.set_attribute("max", &text::MAX_GRACE_DAYS.to_string())?;
        g.set_attribute("value", &s.schedule.grace_days.to_string())?;
        ui.on(&g, "change", move || Msg::Schedule {
            in_days: Some(days),
            grace_days: value("grace-days"),
            now: dom::now(),
        })?;
        ui.class(
            &set,
            "p",
            "muted",
            &text::grace_label(s.schedule.grace_days),
        )?
        .set_id("grace-label");
    }
    Ok(())
}

/// The confirmation panel of a change that needs the password again.
fn pending(ui: &Ui<Msg>, parent: &Element, s: &Settings, p: Pending) -> Result<(), JsValue> {
    let question = s.question(p);
    let f = ui.form(parent, "confirm-form", || Msg::Confirm {
        password: value("confirm-password"),
        confirmed: checked("confirm-disable"),
    })?;
    f.set_class_name("confirm");
    if let Pending::Enforce { on: true, .. } = p {
        schedule_choice(ui, &f, s)?;
    }
    ui.el(&f, "p", &question)?.set_id("confirm-question");
    if p == Pending::Disable {
        ui.checkbox(&f, "confirm-disable", word!("settings.disable_tick"), false)?;
    }
    let input = ui.field(
        &f,
        "confirm-password",
        word!("label.password"),
        "password",
        &[("autocomplete", "current-password"), ("data-focus", "")],
    )?;
    ui.field_error(&f, &input, &s.error)?;
    ui.submit(&f, "confirm", word!("button.confirm"), !s.busy)?;
    ui.button(&f, "cancel", word!("button.cancel"), true, || Msg::Cancel)?;
    Ok(())
}
