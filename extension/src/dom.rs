//! The browser side of a page: runs a state machine's effects, feeds the
//! answers back, and rebuilds `#app` after every change with a few builder
//! helpers. No decisions live here.
//!
//! Rebuilding the whole page is simple and the pages are small; what a full
//! rebuild would lose (typed text, focus) is carried over while the screen
//! stays the same, so a countdown tick or an error does not wipe a half-typed
//! code.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use shared::{ErrorBody, ErrorCode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement};

use crate::chrome;
use crate::effect::{Answer, Effect, Json};

/// A page's state machine as the runtime drives it.
pub trait Page: 'static {
    type Msg: 'static;
    type Key: Copy + 'static;
    fn update(&mut self, msg: Self::Msg) -> Vec<Effect<Self::Key>>;
    fn answered(key: Self::Key, answer: Answer) -> Self::Msg;
    fn screen_name(&self) -> &'static str;
    /// The screen drawn is provisional: an answer on its way may replace it
    /// (the popup's early sign-in form before the host's session answer).
    /// Shown as `data-pending` on `#app`, so tests and tools wait for the
    /// settled screen instead of racing the answer.
    fn pending(&self) -> bool {
        false
    }
    fn render(&self, ui: &Ui<Self::Msg>, app: &Element) -> Result<(), JsValue>;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
    fn clipboard_write_text(text: &str) -> Result<Thenable, JsValue>;

    /// A promise, seen only through `then(ok, err)`.
    type Thenable;

    #[wasm_bindgen(method, js_name = then)]
    fn then_or_else(this: &Thenable, ok: &JsValue, err: &JsValue) -> JsValue;
}

thread_local! {
    /// Event handlers of the page as drawn now, and of the drawing before:
    /// the handler that triggered a redraw is still running while the
    /// redraw happens, so it is dropped one redraw later.
    static HANDLERS: RefCell<(Vec<Closure<dyn FnMut(web_sys::Event)>>, Vec<Closure<dyn FnMut(web_sys::Event)>>)> =
        RefCell::new((Vec::new(), Vec::new()));
}

struct Runtime<P: Page> {
    page: RefCell<P>,
    last_screen: RefCell<&'static str>,
    /// The control that opened a panel on the same screen (a confirmation
    /// asking for the password): the keyboard's place to return to when the
    /// panel closes and takes the focused control with it.
    return_focus: RefCell<String>,
    /// The control focused when the person left each screen, so coming back
    /// (a finished wizard back to the settings page) puts the keyboard where
    /// it was.
    left_focus: RefCell<HashMap<&'static str, [String; 2]>>,
}

/// Shows the page's first screen and runs its first effects.
pub fn start<P: Page>(page: P, effects: Vec<Effect<P::Key>>) -> Result<(), JsValue> {
    let rt = Rc::new(Runtime {
        page: RefCell::new(page),
        last_screen: RefCell::new(""),
        return_focus: RefCell::new(String::new()),
        left_focus: RefCell::new(HashMap::new()),
    });
    draw(&rt)?;
    for e in effects {
        run(&rt, e);
    }
    Ok(())
}

fn dispatch<P: Page>(rt: &Rc<Runtime<P>>, msg: P::Msg) {
    let effects = rt.page.borrow_mut().update(msg);
    if let Err(e) = draw(rt) {
        web_sys::console::error_2(
            &JsValue::from_str("dialer-2fa: could not draw the page"),
            &e,
        );
    }
    for e in effects {
        run(rt, e);
    }
}

fn sender<P: Page>(rt: &Rc<Runtime<P>>) -> Rc<dyn Fn(P::Msg)> {
    let rt = rt.clone();
    Rc::new(move |msg| dispatch(&rt, msg))
}

fn answer_later<P: Page>(rt: &Rc<Runtime<P>>, key: P::Key) -> impl FnOnce(Answer) + 'static {
    let rt = rt.clone();
    move |answer| dispatch(&rt, P::answered(key, answer))
}

fn run<P: Page>(rt: &Rc<Runtime<P>>, effect: Effect<P::Key>) {
    match effect {
        Effect::Send(request, key) => {
            let done = answer_later(rt, key);
            let callback = Closure::once_into_js(move |reply: JsValue| done(read_reply(reply)));
            chrome::send_message(&chrome::to_js(&request), callback.unchecked_ref());
        }
        Effect::Copy(text, key) => {
            let done = Rc::new(RefCell::new(Some(answer_later(rt, key))));
            let (d1, d2) = (done.clone(), done);
            let ok = Closure::once_into_js(move |_: JsValue| {
                if let Some(f) = d1.borrow_mut().take() {
                    f(Ok(Json::null()))
                }
            });
            let err = Closure::once_into_js(move |e: JsValue| {
                if let Some(f) = d2.borrow_mut().take() {
                    f(Err(js_error(&e)))
                }
            });
            match clipboard_write_text(&text) {
                Ok(promise) => {
                    promise.then_or_else(&ok, &err);
                }
                Err(e) => {
                    let _ = err
                        .unchecked_ref::<js_sys::Function>()
                        .call1(&JsValue::NULL, &e);
                }
            }
        }
        Effect::Download { file_name, text } => {
            if let Err(e) = download(&file_name, &text) {
                web_sys::console::error_2(&JsValue::from_str("dialer-2fa: download failed"), &e);
            }
        }
        Effect::Badge(text) => chrome::set_badge(&text),
        Effect::OpenSettings => chrome::open_options_page(),
        Effect::After(ms, key) => {
            let done = answer_later(rt, key);
            let callback = Closure::once_into_js(move || done(Ok(Json::null())));
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    callback.unchecked_ref(),
                    ms as i32,
                );
            }
        }
    }
}

fn js_error(e: &JsValue) -> ErrorBody {
    let message = js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the browser refused".into());
    ErrorBody::new(ErrorCode::Unknown, message)
}

/// A service-worker reply, or why there is none.
fn read_reply(reply: JsValue) -> Answer {
    if let Some(problem) = chrome::last_error() {
        return Err(ErrorBody::new(
            ErrorCode::HostDisconnected,
            format!(
                "The extension's background worker did not answer: {}",
                problem
            ),
        ));
    }
    if reply.is_undefined() || reply.is_null() {
        return Err(ErrorBody::new(
            ErrorCode::HostDisconnected,
            "The extension's background worker did not answer.",
        ));
    }
    chrome::reply_parts(&reply).map(Json)
}

fn download(file_name: &str, text: &str) -> Result<(), JsValue> {
    let doc = document()?;
    let a = doc.create_element("a")?;
    let href = format!(
        "data:text/plain;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(text))
    );
    a.set_attribute("href", &href)?;
    a.set_attribute("download", file_name)?;
    a.unchecked_ref::<HtmlElement>().click();
    Ok(())
}

pub fn document() -> Result<Document, JsValue> {
    web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))
}

/// A date on the server's clock in the person's own locale (`Intl`, the
/// same `dateStyle: "medium"` the web app uses), so both read alike.
pub fn date(unix_seconds: i64) -> String {
    intl_format("date", unix_seconds)
}

/// A date and time of day on the server's clock in the person's locale
/// (`dateStyle: "medium"`, `timeStyle: "short"`): when the next reminder
/// may go out, at most a day away, needs the hour.
#[cfg(feature = "options")]
pub fn date_time(unix_seconds: i64) -> String {
    intl_format("date_time", unix_seconds)
}

/// `Intl.DateTimeFormat` with the catalogue's options named `kind`; the
/// plain date of `text::date` if the browser refuses them.
fn intl_format(kind: &str, unix_seconds: i64) -> String {
    let options = js_sys::Object::new();
    for (k, v) in crate::text::intl_options(kind) {
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &options).format();
    let when = js_sys::Date::new(&JsValue::from_f64(unix_seconds as f64 * 1000.0));
    format
        .call1(&JsValue::NULL, &when)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| crate::text::date(unix_seconds))
}

/// This computer's clock in unix seconds, for an owner's "in 7 days".
#[cfg(feature = "options")]
pub fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The banner of a 2FA deadline (issue 14): the date and days left, who
/// set it, the skips left after one was used, and "Set up now". The popup
/// and the settings page draw the same one.
pub fn deadline_banner<M: 'static>(
    ui: &Ui<M>,
    parent: &Element,
    d: &shared::api::TwoFactorDeadline,
    set_up: impl Fn() -> M + 'static,
) -> Result<Element, JsValue> {
    use crate::text;
    let banner = ui.class(parent, "section", "banner", "")?;
    banner.set_id("deadline-banner");
    banner.set_attribute("role", "status")?;
    banner.set_attribute("data-days-left", &d.days_left.to_string())?;
    banner.set_attribute("data-at", &d.at.to_string())?;
    ui.el(&banner, "p", &text::deadline_text(d.days_left, &date(d.at)))?
        .set_id("deadline-text");
    ui.class(&banner, "p", "muted", &text::set_by_text(&d.set_by))?
        .set_id("deadline-set-by");
    if let Some(left) = d.skips_left {
        ui.class(&banner, "p", "muted", &text::skips_left_text(left))?
            .set_id("deadline-skips");
    }
    ui.button(
        &banner,
        "set-up-now",
        word!("deadline.set_up_now"),
        true,
        set_up,
    )?
    .set_class_name("primary");
    Ok(banner)
}

/// The value of the input with this id, or "" when there is none.
pub fn value(id: &str) -> String {
    input(id).map(|i| i.value()).unwrap_or_default()
}

/// Whether the checkbox with this id is ticked.
pub fn checked(id: &str) -> bool {
    input(id).map(|i| i.checked()).unwrap_or(false)
}

fn input(id: &str) -> Option<HtmlInputElement> {
    document()
        .ok()?
        .get_element_by_id(id)?
        .dyn_into::<HtmlInputElement>()
        .ok()
}

fn draw<P: Page>(rt: &Rc<Runtime<P>>) -> Result<(), JsValue> {
    let doc = document()?;
    let app = doc
        .get_element_by_id("app")
        .ok_or_else(|| JsValue::from_str("the page has no #app"))?;
    let screen = rt.page.borrow().screen_name();
    let same_screen = *rt.last_screen.borrow() == screen;
    // What the person typed and where they were, to carry over.
    let mut typed: HashMap<String, (String, bool)> = HashMap::new();
    let inputs = app.query_selector_all("input")?;
    for i in 0..inputs.length() {
        if let Some(input) = inputs
            .get(i)
            .and_then(|n| n.dyn_into::<HtmlInputElement>().ok())
        {
            typed.insert(input.id(), (input.value(), input.checked()));
        }
    }
    let focused = doc.active_element().map(|e| e.id()).unwrap_or_default();
    // Every control drawn now, to tell a panel that appears with this redraw.
    let mut before: Vec<String> = Vec::new();
    let with_id = app.query_selector_all("[id]")?;
    for i in 0..with_id.length() {
        if let Some(e) = with_id.get(i).and_then(|n| n.dyn_into::<Element>().ok()) {
            before.push(e.id());
        }
    }
    // Disclosures the person opened ("Details"): a redraw (a countdown
    // tick, an error) must not fold them shut again.
    let mut open: Vec<String> = Vec::new();
    let disclosures = app.query_selector_all("details[open]")?;
    for i in 0..disclosures.length() {
        if let Some(d) = disclosures
            .get(i)
            .and_then(|n| n.dyn_into::<Element>().ok())
        {
            open.push(d.id());
        }
    }

    HANDLERS.with(|h| {
        let mut h = h.borrow_mut();
        let current = std::mem::take(&mut h.0);
        h.1 = current;
    });
    app.set_inner_html("");
    app.set_attribute("data-screen", screen)?;
    if rt.page.borrow().pending() {
        app.set_attribute("data-pending", "")?;
    } else {
        app.remove_attribute("data-pending")?;
    }
    let ui = Ui {
        doc: doc.clone(),
        send: sender(rt),
    };
    rt.page.borrow().render(&ui, &app)?;
    for id in open.iter().filter(|id| !id.is_empty()) {
        if let Some(d) = doc.get_element_by_id(id) {
            d.set_attribute("open", "")?;
        }
    }

    if same_screen {
        for (id, (value, is_checked)) in typed {
            if let Some(input) = input(&id) {
                let kind = input.type_();
                if kind == "checkbox" {
                    input.set_checked(is_checked);
                } else if input.value().is_empty() {
                    input.set_value(&value);
                }
            }
        }
        // Keyboard use: a field that appears with this redraw and asks for
        // the focus (a confirmation's password) gets it, and the control
        // that opened it is remembered; when the focused control is gone
        // (the panel closed), the focus returns there, not to the page.
        let appeared = first_new_focus(&app, &before)?;
        if let Some(e) = appeared {
            *rt.return_focus.borrow_mut() = focused;
            let _ = e.unchecked_ref::<HtmlElement>().focus();
        } else if let Some(e) = doc.get_element_by_id(&focused) {
            let _ = e.unchecked_ref::<HtmlElement>().focus();
        } else if let Some(e) = doc.get_element_by_id(&rt.return_focus.borrow()) {
            let _ = e.unchecked_ref::<HtmlElement>().focus();
        }
    } else {
        // Leaving from a panel: its opener is the place to come back to.
        let opener = std::mem::take(&mut *rt.return_focus.borrow_mut());
        let last = *rt.last_screen.borrow();
        rt.left_focus.borrow_mut().insert(last, [focused, opener]);
        let back_to = rt.left_focus.borrow().get(screen).and_then(|ids| {
            ids.iter()
                .filter(|id| !id.is_empty())
                .find_map(|id| doc.get_element_by_id(id))
        });
        let first = app
            .query_selector("[data-focus]")?
            .or(back_to)
            .or(app.query_selector("input")?);
        if let Some(e) = first {
            let _ = e.unchecked_ref::<HtmlElement>().focus();
        }
    }
    *rt.last_screen.borrow_mut() = screen;
    Ok(())
}

/// The first `[data-focus]` control whose id was not drawn before.
fn first_new_focus(app: &Element, before: &[String]) -> Result<Option<Element>, JsValue> {
    let wanting = app.query_selector_all("[data-focus]")?;
    for i in 0..wanting.length() {
        if let Some(e) = wanting.get(i).and_then(|n| n.dyn_into::<Element>().ok()) {
            if !e.id().is_empty() && !before.contains(&e.id()) {
                return Ok(Some(e));
            }
        }
    }
    Ok(None)
}

/// Adds a drawn page's event handler; it lives until the next redraw but one.
fn listen(
    target: &Element,
    event: &str,
    handler: Closure<dyn FnMut(web_sys::Event)>,
) -> Result<(), JsValue> {
    target.add_event_listener_with_callback(event, handler.as_ref().unchecked_ref())?;
    HANDLERS.with(|h| h.borrow_mut().0.push(handler));
    Ok(())
}

/// `<button type="button" id=...>label</button>`, appended to `parent`.
fn button_element(
    doc: &Document,
    parent: &Element,
    id: &str,
    label: &str,
    enabled: bool,
) -> Result<Element, JsValue> {
    let b = doc.create_element("button")?;
    if !label.is_empty() {
        b.set_text_content(Some(label));
    }
    parent.append_child(&b)?;
    b.set_id(id);
    b.set_attribute("type", "button")?;
    if !enabled {
        b.set_attribute("disabled", "")?;
    }
    Ok(b)
}

/// Builds elements and wires their events to the page's messages.
pub struct Ui<M> {
    pub doc: Document,
    send: Rc<dyn Fn(M)>,
}

impl<M: 'static> Ui<M> {
    /// Appends `<tag>text</tag>` to `parent`.
    pub fn el(&self, parent: &Element, tag: &str, text: &str) -> Result<Element, JsValue> {
        let e = self.doc.create_element(tag)?;
        if !text.is_empty() {
            e.set_text_content(Some(text));
        }
        parent.append_child(&e)?;
        Ok(e)
    }

    /// The product's icon and name at the head of every page. The icon is
    /// decorative (empty alt): the name beside it says the same.
    pub fn brand(&self, parent: &Element) -> Result<Element, JsValue> {
        let h = self.class(parent, "header", "brand", "")?;
        let logo = self.class(&h, "img", "logo", "")?;
        logo.set_attribute("src", "icons/icon-32.png")?;
        logo.set_attribute("alt", "")?;
        logo.set_attribute("width", "20")?;
        logo.set_attribute("height", "20")?;
        self.el(&h, "span", shared::product::PRODUCT)?
            .set_id("product");
        Ok(h)
    }

    /// Appends an element with a class.
    pub fn class(
        &self,
        parent: &Element,
        tag: &str,
        class: &str,
        text: &str,
    ) -> Result<Element, JsValue> {
        let e = self.el(parent, tag, text)?;
        e.set_class_name(class);
        Ok(e)
    }

    /// Sends `msg()` when `event` fires on `target`.
    ///
    /// The closure is boxed at once: the wiring below is then compiled once
    /// per page, not once per button (each closure is its own type), which
    /// was a tenth of the module's code (issue 12). Only the settings
    /// page's inputs use it.
    #[cfg(feature = "options")]
    pub fn on(
        &self,
        target: &Element,
        event: &str,
        msg: impl Fn() -> M + 'static,
    ) -> Result<(), JsValue> {
        self.on_boxed(target, event, Box::new(msg))
    }

    fn on_boxed(
        &self,
        target: &Element,
        event: &str,
        msg: Box<dyn Fn() -> M>,
    ) -> Result<(), JsValue> {
        let send = self.send.clone();
        let submit = event == "submit";
        let handler = Closure::wrap(Box::new(move |e: web_sys::Event| {
            if submit {
                e.prevent_default();
            }
            send(msg())
        }) as Box<dyn FnMut(web_sys::Event)>);
        listen(target, event, handler)
    }

    /// A button; `enabled: false` draws it disabled (never a dead button:
    /// the page says why next to it).
    pub fn button(
        &self,
        parent: &Element,
        id: &str,
        label: &str,
        enabled: bool,
        msg: impl Fn() -> M + 'static,
    ) -> Result<Element, JsValue> {
        let b = button_element(&self.doc, parent, id, label, enabled)?;
        self.on_boxed(&b, "click", Box::new(msg))?;
        Ok(b)
    }

    /// A form whose submit (its submit button, or Enter in a field) sends
    /// `msg()`; the caller adds the fields and a submit button.
    pub fn form(
        &self,
        parent: &Element,
        id: &str,
        msg: impl Fn() -> M + 'static,
    ) -> Result<Element, JsValue> {
        let f = self.el(parent, "form", "")?;
        f.set_id(id);
        f.set_attribute("novalidate", "")?;
        self.on_boxed(&f, "submit", Box::new(msg))?;
        Ok(f)
    }

    pub fn submit(
        &self,
        form: &Element,
        id: &str,
        label: &str,
        enabled: bool,
    ) -> Result<Element, JsValue> {
        let b = self.el(form, "button", label)?;
        b.set_id(id);
        b.set_attribute("type", "submit")?;
        b.set_class_name("primary");
        if !enabled {
            b.set_attribute("disabled", "")?;
        }
        Ok(b)
    }

    /// A labelled input; `attrs` are extra attributes such as
    /// `("autocomplete", "one-time-code")`.
    pub fn field(
        &self,
        parent: &Element,
        id: &str,
        label: &str,
        kind: &str,
        attrs: &[(&str, &str)],
    ) -> Result<Element, JsValue> {
        let l = self.el(parent, "label", label)?;
        l.set_attribute("for", id)?;
        let i = self.el(parent, "input", "")?;
        i.set_id(id);
        i.set_attribute("type", kind)?;
        i.set_attribute("name", id)?;
        for (k, v) in attrs {
            i.set_attribute(k, v)?;
        }
        Ok(i)
    }

    /// A 6-digit code field as phones and password managers expect it.
    pub fn code_field(&self, parent: &Element, id: &str, label: &str) -> Result<Element, JsValue> {
        self.field(
            parent,
            id,
            label,
            "text",
            &[
                ("autocomplete", "one-time-code"),
                ("inputmode", "numeric"),
                ("maxlength", "12"),
                ("spellcheck", "false"),
                ("data-focus", ""),
            ],
        )
    }

    /// A checkbox with its label after it.
    pub fn checkbox(
        &self,
        parent: &Element,
        id: &str,
        label: &str,
        on: bool,
    ) -> Result<Element, JsValue> {
        let l = self.class(parent, "label", "check", "")?;
        let i = self.el(&l, "input", "")?;
        i.set_id(id);
        i.set_attribute("type", "checkbox")?;
        if on {
            i.set_attribute("checked", "")?;
        }
        self.el(&l, "span", label)?;
        Ok(i)
    }

    /// The error and the notice of the page, if any, where screen readers
    /// announce them.
    pub fn messages(
        &self,
        parent: &Element,
        error: &Option<String>,
        notice: &Option<String>,
    ) -> Result<(), JsValue> {
        if let Some(e) = error {
            self.error(parent, e)?;
        }
        if let Some(n) = notice {
            let p = self.class(parent, "p", "notice", n)?;
            p.set_id("notice");
            p.set_attribute("role", "status")?;
            p.set_attribute("aria-live", "polite")?;
        }
        Ok(())
    }

    fn error(&self, parent: &Element, text: &str) -> Result<Element, JsValue> {
        let p = self.class(parent, "p", "error", text)?;
        p.set_id("error");
        p.set_attribute("role", "alert")?;
        p.set_attribute("aria-live", "assertive")?;
        Ok(p)
    }

    /// The page's error right under the field it is about, tied to it
    /// (`aria-describedby`, `aria-invalid`) so a screen reader reads it with
    /// the field. Returns whether there was one, so the caller does not
    /// draw it a second time with the page's other messages.
    pub fn field_error(
        &self,
        parent: &Element,
        input: &Element,
        error: &Option<String>,
    ) -> Result<bool, JsValue> {
        match error {
            Some(e) => {
                self.error(parent, e)?;
                input.set_attribute("aria-describedby", "error")?;
                input.set_attribute("aria-invalid", "true")?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
