//! Draws the setup wizard (`wizard.rs`) for the popup and the settings page.

use shared::api::TwoFactorMethod;
use wasm_bindgen::prelude::*;
use web_sys::Element;

use crate::dom::{value, Ui};
use crate::text;
use crate::wizard::{Kind, Step, WizMsg, Wizard};

pub fn render<M: 'static>(
    ui: &Ui<M>,
    app: &Element,
    w: &Wizard,
    wrap: fn(WizMsg) -> M,
) -> Result<(), JsValue> {
    let title = match (w.kind, &w.step) {
        (_, Step::Codes { .. }) => word!("wizard.title_codes"),
        (Kind::Switch, _) => word!("wizard.title_switch"),
        _ => word!("wizard.title_setup"),
    };
    ui.el(app, "h1", title)?;
    // Set when a step drew the error under its own field.
    let mut error_shown = false;
    match &w.step {
        Step::Choose => {
            ui.el(app, "p", word!("wizard.choose"))?;
            let b = ui.button(
                app,
                "choose-app",
                word!("method.authenticator"),
                true,
                move || wrap(WizMsg::Choose(TwoFactorMethod::Authenticator)),
            )?;
            b.set_attribute("data-focus", "")?;
            ui.button(app, "choose-sms", word!("method.sms"), true, move || {
                wrap(WizMsg::Choose(TwoFactorMethod::Sms))
            })?;
        }
        Step::AppStart => {
            ui.el(app, "p", word!("wizard.app_start"))?;
            let f = ui.form(app, "app-start-form", move || {
                wrap(WizMsg::StartApp {
                    password: value("password"),
                })
            })?;
            if w.needs_password {
                let i = ui.field(
                    &f,
                    "password",
                    word!("label.password"),
                    "password",
                    &[("autocomplete", "current-password")],
                )?;
                error_shown = ui.field_error(&f, &i, &w.error)?;
            }
            let b = ui.submit(&f, "start-setup", word!("wizard.start_setup"), !w.busy)?;
            b.set_attribute("data-focus", "")?;
            back(ui, &f, w, wrap)?;
        }
        Step::AppScan(setup) => {
            ui.el(app, "p", word!("wizard.scan"))?;
            let img = ui.el(app, "img", "")?;
            img.set_id("qr");
            img.set_attribute("alt", word!("wizard.qr_alt"))?;
            img.set_attribute("width", "180")?;
            img.set_attribute("height", "180")?;
            img.set_attribute(
                "src",
                &format!("data:image/png;base64,{}", setup.qr_png_base64),
            )?;
            // Grouped in fours to read and type; "Copy key" copies it whole.
            let key = ui.class(
                app,
                "code",
                "secret",
                &text::group_key(&setup.secret_base32),
            )?;
            key.set_id("secret-key");
            key.set_attribute("data-key", &setup.secret_base32)?;
            ui.button(app, "copy-key", word!("wizard.copy_key"), true, move || {
                wrap(WizMsg::CopyKey)
            })?;
            let b = ui.button(app, "continue", word!("button.continue"), true, move || {
                wrap(WizMsg::Continue)
            })?;
            b.set_class_name("primary");
            b.set_attribute("data-focus", "")?;
        }
        Step::AppCode => {
            let f = ui.form(app, "app-code-form", move || {
                wrap(WizMsg::Verify {
                    code: value("code"),
                })
            })?;
            let i = ui.code_field(&f, "code", word!("wizard.code_app"))?;
            error_shown = ui.field_error(&f, &i, &w.error)?;
            ui.submit(&f, "verify", word!("button.verify"), !w.busy)?;
        }
        Step::SmsPhone => {
            let f = ui.form(app, "sms-phone-form", move || {
                wrap(WizMsg::SubmitPhone {
                    phone: value("phone"),
                    password: value("password"),
                })
            })?;
            let phone = ui.field(
                &f,
                "phone",
                word!("wizard.phone"),
                "tel",
                &[("autocomplete", "tel"), ("placeholder", "+1 415 555 0123")],
            )?;
            phone.set_attribute("data-focus", "")?;
            if !w.needs_password {
                error_shown = ui.field_error(&f, &phone, &w.error)?;
            }
            if w.needs_password {
                ui.field(
                    &f,
                    "password",
                    word!("label.password"),
                    "password",
                    &[("autocomplete", "current-password")],
                )?;
            }
            ui.submit(&f, "continue", word!("button.continue"), !w.busy)?;
            back(ui, &f, w, wrap)?;
        }
        Step::SmsCode { .. } => {
            let f = ui.form(app, "sms-code-form", move || {
                wrap(WizMsg::Verify {
                    code: value("code"),
                })
            })?;
            let i = ui.code_field(&f, "code", word!("wizard.code_sms"))?;
            error_shown = ui.field_error(&f, &i, &w.error)?;
            ui.submit(&f, "verify", word!("button.verify"), !w.busy)?;
            resend_button(ui, &f, w.resend_in, !w.busy, move || wrap(WizMsg::Resend))?;
        }
        Step::Codes {
            codes,
            copied,
            kept,
        } => {
            ui.el(app, "p", word!("wizard.codes_intro"))?;
            // One code a row: its number, the code (never wrapped) and its
            // own Copy, so a code is never read across into its neighbour.
            let list = ui.class(app, "ol", "codes", "")?;
            list.set_id("recovery-codes");
            for (i, code) in codes.iter().enumerate() {
                let li = ui.el(&list, "li", "")?;
                ui.class(&li, "span", "n", &format!("{}.", i + 1))?;
                ui.class(&li, "code", "recovery-code", code)?;
                let b = ui.button(
                    &li,
                    &format!("copy-code-{}", i + 1),
                    word!("button.copy"),
                    true,
                    move || wrap(WizMsg::CopyCode(i)),
                )?;
                b.set_attribute(
                    "aria-label",
                    &fill!("codes.copy_one", &[("number", &(i + 1).to_string())]),
                )?;
            }
            ui.button(
                app,
                "copy-codes",
                word!("codes.copy_all"),
                true,
                move || wrap(WizMsg::CopyCodes),
            )?
            .set_attribute("data-focus", "")?;
            ui.button(
                app,
                "keep-codes",
                "Keep on this computer",
                !*kept && !w.busy,
                move || wrap(WizMsg::KeepCodes),
            )?;
            ui.button(
                app,
                "download-codes",
                word!("codes.download"),
                true,
                move || wrap(WizMsg::DownloadCodes),
            )?;
            let done = ui.button(
                app,
                "complete",
                word!("wizard.complete"),
                w.can_complete(),
                move || wrap(WizMsg::Complete),
            )?;
            done.set_class_name("primary");
            if !copied {
                ui.class(app, "p", "muted", word!("codes.complete_hint"))?;
            }
            if let Some(note) = &w.kept_note {
                let p = ui.class(app, "p", "notice", note)?;
                p.set_id("kept-notice");
                p.set_attribute("role", "status")?;
            }
        }
    }
    let error = if error_shown { None } else { w.error.clone() };
    ui.messages(app, &error, &w.notice)
}

fn back<M: 'static>(
    ui: &Ui<M>,
    parent: &Element,
    w: &Wizard,
    wrap: fn(WizMsg) -> M,
) -> Result<(), JsValue> {
    if w.kind == Kind::Setup {
        ui.button(parent, "back", word!("button.back"), true, move || {
            wrap(WizMsg::Back)
        })?;
    }
    Ok(())
}

/// "Resend code", showing the seconds left while it waits.
pub fn resend_button<M: 'static>(
    ui: &Ui<M>,
    parent: &Element,
    resend_in: u32,
    enabled: bool,
    msg: impl Fn() -> M + 'static,
) -> Result<Element, JsValue> {
    let label = if resend_in > 0 {
        fill!("wizard.resend_wait", &[("seconds", &resend_in.to_string())])
    } else {
        word!("wizard.resend").to_string()
    };
    let b = ui.button(parent, "resend", &label, resend_in == 0 && enabled, msg)?;
    b.set_attribute("data-cooldown", &resend_in.to_string())?;
    Ok(b)
}
