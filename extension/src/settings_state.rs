//! What the settings page (options_ui) shows, as a state machine with no
//! browser types in it; `settings.rs` renders it.
//!
//! The page reads the session, the trusted devices and the accounts, then
//! offers: set up 2FA, switch method (R5), disable (R6, refused with the
//! reason while required), new recovery codes (R4), revoke a trusted
//! device, and for owners "Enforce 2FA" per account (R9). Changes that the
//! API guards with the password go through one confirmation panel; turning
//! enforcement on first says whom it will stop (issue 9, item 7).

use shared::api::{
    AccountList, AccountMembers, AccountMembership, AccountRole, Enforcement, RecoveryCodes,
    RemindersSent, SwitchStarted, TrustedDevice, TrustedDeviceList, TwoFactorMethod,
};
use shared::native::{Request, VaultListResult};
use shared::two_factor::{AccountRequest, SessionView};
use shared::{ErrorBody, ErrorCode};

use crate::effect::{decode, Answer, Effect};
use crate::text;
use crate::wizard::{Outcome, WizKey, WizMsg, Wizard};

#[derive(Debug, Clone, PartialEq)]
pub enum View {
    Loading,
    /// No session on this computer: signing in happens in the popup.
    SignedOut,
    /// The host is missing or failed.
    Problem(String),
    Main,
    Wizard(Wizard),
}

/// A change waiting for the password (and, to disable, a confirmation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    Switch(TwoFactorMethod),
    Disable,
    Regenerate,
    /// "Enforce 2FA" on or off for one account the person owns.
    Enforce {
        account_id: i64,
        on: bool,
    },
}

/// When turning enforcement on takes effect (issue 14): now, or from a
/// date this many days ahead, with a grace period after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schedule {
    pub in_days: Option<u32>,
    pub grace_days: u32,
    /// The date sent as `from`: `in_days` after the moment it was chosen.
    pub from: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub view: View,
    pub session: Option<SessionView>,
    pub devices: Option<Vec<TrustedDevice>>,
    pub accounts: Option<Vec<AccountMembership>>,
    pub pending: Option<Pending>,
    pub busy: bool,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// The codes kept on this computer were replaced by new ones made
    /// elsewhere (the web app): they no longer work, so the page says so
    /// and offers new ones.
    pub kept_replaced: bool,
    /// What the owner chose in the open enforcement panel.
    pub schedule: Schedule,
    /// Per owned account: its people and when the next reminder may go.
    pub members: Vec<(i64, AccountMembers)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Reload,
    SetUp,
    Ask(Pending),
    Cancel,
    Confirm {
        password: String,
        confirmed: bool,
    },
    Revoke(i64),
    Enforce {
        account_id: i64,
        on: bool,
    },
    /// The owner's choice in the enforcement panel: `in_days` None for
    /// now; `grace_days` as typed; `now` this computer's clock (unix
    /// seconds) to turn days into the date sent.
    Schedule {
        in_days: Option<u32>,
        grace_days: String,
        now: i64,
    },
    /// "Send reminder" for an owned account.
    Remind(i64),
    /// "Skip for now" on the forced setup, during the grace period.
    Skip,
    Wizard(WizMsg),
    Answered(Key, Answer),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Session,
    Devices,
    Accounts,
    Switch,
    Disable,
    Regenerate,
    Revoke(i64),
    Enforce(i64),
    Members(i64),
    Remind(i64),
    Skip,
    /// The vault forgot codes that stopped working.
    VaultForgot,
    /// What the vault keeps for the signed-in person.
    Vault,
    Wizard(WizKey),
}

type Fx = Vec<Effect<Key>>;

fn account(request: AccountRequest, key: Key) -> Effect<Key> {
    Effect::Send(Request::Account(request), key)
}

fn forget_vault(account: String) -> Effect<Key> {
    Effect::Send(Request::VaultDelete { account }, Key::VaultForgot)
}

fn load() -> Fx {
    vec![
        account(AccountRequest::Session, Key::Session),
        account(AccountRequest::ListTrustedDevices, Key::Devices),
        account(AccountRequest::ListAccounts, Key::Accounts),
    ]
}

impl Settings {
    pub fn init() -> (Settings, Fx) {
        let s = Settings {
            view: View::Loading,
            session: None,
            devices: None,
            accounts: None,
            pending: None,
            busy: false,
            error: None,
            notice: None,
            kept_replaced: false,
            schedule: Schedule::default(),
            members: vec![],
        };
        (s, load())
    }

    pub fn screen_name(&self) -> &'static str {
        match &self.view {
            View::Loading => "settings-loading",
            View::SignedOut => "signed-out",
            View::Problem(_) => "settings-problem",
            View::Main => "settings",
            View::Wizard(w) => w.screen_name(),
        }
    }

    fn email(&self) -> String {
        self.session
            .as_ref()
            .and_then(|s| s.email.clone())
            .unwrap_or_default()
    }

    /// Why 2FA cannot be turned off, when it cannot (R9, R10).
    pub fn disable_blocked(&self) -> Option<String> {
        let tf = self.session.as_ref()?.two_factor.as_ref()?;
        if !tf.required {
            return None;
        }
        let by = if tf.required_by.is_empty() {
            word!("settings.disable_blocked_org").to_string()
        } else {
            tf.required_by.join(", ")
        };
        Some(fill!("settings.disable_blocked", &[("names", &by)]))
    }

    /// Whether "Cancel" may leave the wizard: not at the recovery codes
    /// (they are shown once, behind the Copy gate) and not when 2FA is
    /// required and not set up (R9: nothing else is allowed).
    pub fn can_leave_wizard(&self) -> bool {
        let setup_only = self
            .session
            .as_ref()
            .and_then(|s| s.two_factor.as_ref())
            .map(|t| t.setup_only)
            .unwrap_or(false);
        match &self.view {
            View::Wizard(w) => !setup_only && !matches!(w.step, crate::wizard::Step::Codes { .. }),
            _ => false,
        }
    }

    /// What the confirmation panel asks before a change. Before enforcement
    /// is turned on it says how many people it will hold to setup and that
    /// the owner needs 2FA too.
    pub fn question(&self, p: Pending) -> String {
        match p {
            Pending::Switch(TwoFactorMethod::Sms) => word!("settings.ask_switch_sms").into(),
            Pending::Switch(TwoFactorMethod::Authenticator) => {
                word!("settings.ask_switch_app").into()
            }
            Pending::Regenerate => word!("settings.ask_regenerate").into(),
            Pending::Disable => word!("settings.ask_disable").into(),
            Pending::Enforce { account_id, on } => self.enforce_question(account_id, on),
        }
    }

    /// The skips the forced setup offers: only while 2FA is required of
    /// this session and the grace period after its deadline lasts.
    pub fn skips_left(&self) -> Option<u32> {
        let tf = self.session.as_ref()?.two_factor.as_ref()?;
        match &self.view {
            View::Wizard(_) if tf.setup_only => {
                crate::popup_state::skips_offered(tf.deadline.as_ref())
            }
            _ => None,
        }
    }

    /// An owned account's people, once the API listed them.
    pub fn members_of(&self, account_id: i64) -> Option<&AccountMembers> {
        self.members
            .iter()
            .find(|(id, _)| *id == account_id)
            .map(|(_, m)| m)
    }

    /// The people of an owned account who have not set up 2FA, the owner
    /// reading the page named as such (a reminder skips its sender).
    pub fn not_set_up(&self, account_id: i64) -> Option<Vec<String>> {
        self.members_of(account_id).map(|m| {
            m.members
                .iter()
                .filter(|p| !p.two_factor_enabled)
                .map(|p| {
                    if p.you {
                        text::you(&p.email)
                    } else {
                        p.email.clone()
                    }
                })
                .collect()
        })
    }

    /// Whether the owner reading the page is among those without 2FA in
    /// an owned account: "Send reminder" then reaches the others only.
    pub fn you_not_set_up(&self, account_id: i64) -> bool {
        self.members_of(account_id)
            .map(|m| m.members.iter().any(|p| p.you && !p.two_factor_enabled))
            .unwrap_or(false)
    }

    /// How many people "Send reminder" would reach in an owned account:
    /// those without 2FA but the owner sending it. None: no button.
    pub fn reminder_recipients(&self, account_id: i64) -> usize {
        self.members_of(account_id)
            .map(|m| {
                m.members
                    .iter()
                    .filter(|p| !p.two_factor_enabled && !p.you)
                    .count()
            })
            .unwrap_or(0)
    }

    /// The grace days of an owned account's schedule, as the API lists
    /// them with the date (0 without a date, or from an older host).
    pub fn grace_of(&self, account_id: i64) -> u32 {
        self.accounts
            .iter()
            .flatten()
            .find(|a| a.id == account_id)
            .and_then(|a| a.grace_days)
            .unwrap_or(0)
    }

    fn enforce_question(&self, account_id: i64, on: bool) -> String {
        let account = self.accounts.iter().flatten().find(|a| a.id == account_id);
        let name = account
            .map(|a| a.name.as_str())
            .unwrap_or_else(|| word!("enforce.this_account"));
        if !on {
            return fill!("enforce.ask_stop", &[("name", name)]);
        }
        if let Some(days) = self.schedule.in_days {
            return self.schedule_question(account, name, days);
        }
        let waiting = match account.and_then(|a| a.members_without_two_factor) {
            Some(0) => word!("enforce.all_set_up").to_string(),
            Some(1) => word!("enforce.now_waiting_one").to_string(),
            Some(n) => fill!("enforce.now_waiting_many", &[("count", &n.to_string())]),
            None => word!("enforce.now_waiting_unknown").to_string(),
        };
        let own = self
            .session
            .as_ref()
            .and_then(|s| s.two_factor.as_ref())
            .map(|t| t.enabled)
            .unwrap_or(false);
        let yourself = if own {
            word!("enforce.owner_has_it")
        } else {
            word!("enforce.owner_lacks_it")
        };
        fill!(
            "enforce.ask_now",
            &[
                ("name", name),
                ("waiting", &waiting),
                ("yourself", yourself),
            ],
        )
    }

    fn schedule_question(
        &self,
        account: Option<&AccountMembership>,
        name: &str,
        days: u32,
    ) -> String {
        let waiting = match account.and_then(|a| a.members_without_two_factor) {
            Some(0) => word!("enforce.all_set_up").to_string(),
            Some(1) => word!("enforce.later_waiting_one").to_string(),
            Some(n) => fill!("enforce.later_waiting_many", &[("count", &n.to_string())]),
            None => word!("enforce.later_waiting_unknown").to_string(),
        };
        let grace = match self.schedule.grace_days {
            0 => word!("enforce.grace_none").to_string(),
            1 => word!("enforce.grace_one").to_string(),
            g => fill!("enforce.grace_many", &[("days", &g.to_string())]),
        };
        fill!(
            "enforce.ask_scheduled",
            &[
                ("name", name),
                ("days", &days.to_string()),
                ("waiting", &waiting),
                ("grace", &grace),
            ],
        )
    }

    /// Why this person must set up 2FA now although their session does not
    /// say so yet: an account they belong to enforces it (the owner who
    /// just turned it on among them). `None` once they have 2FA.
    pub fn own_requirement(&self) -> Option<String> {
        let tf = self.session.as_ref()?.two_factor.as_ref()?;
        if tf.enabled {
            return None;
        }
        let mut by: Vec<String> = tf.required_by.clone();
        for a in self.accounts.iter().flatten() {
            // A schedule in the future is the deadline banner's to tell.
            if a.enforce_2fa == Some(true) && a.enforce_from.is_none() && !by.contains(&a.name) {
                by.push(a.name.clone());
            }
        }
        if by.is_empty() {
            return None;
        }
        Some(format!(
            "{} requires two-factor authentication, you too: set it up now.",
            by.join(", ")
        ))
    }

    /// The accounts this person owns, where "Enforce 2FA" is theirs to set.
    pub fn owned(&self) -> Vec<&AccountMembership> {
        self.accounts
            .iter()
            .flatten()
            .filter(|a| a.role == AccountRole::Owner)
            .collect()
    }

    pub fn update(&mut self, msg: Msg) -> Fx {
        match msg {
            Msg::Answered(key, answer) => return self.answered(key, answer),
            Msg::Wizard(m) => return self.wizard(m),
            _ => {}
        }
        self.error = None;
        self.notice = None;
        match msg {
            Msg::Reload => {
                self.view = View::Loading;
                self.pending = None;
                load()
            }
            Msg::SetUp => {
                self.view = View::Wizard(Wizard::setup(&self.email()));
                vec![]
            }
            Msg::Ask(p) => {
                if p == Pending::Disable {
                    if let Some(why) = self.disable_blocked() {
                        self.error = Some(why);
                        return vec![];
                    }
                }
                self.pending = Some(p);
                vec![]
            }
            Msg::Cancel => {
                self.pending = None;
                vec![]
            }
            Msg::Confirm {
                password,
                confirmed,
            } => {
                let pending = match self.pending {
                    Some(p) => p,
                    None => return vec![],
                };
                if password.is_empty() {
                    self.error = Some(word!("input.password_to_confirm").into());
                    return vec![];
                }
                self.busy = true;
                match pending {
                    Pending::Switch(method) => vec![account(
                        AccountRequest::SwitchMethod { method, password },
                        Key::Switch,
                    )],
                    Pending::Regenerate => vec![account(
                        AccountRequest::RegenerateRecoveryCodes { password },
                        Key::Regenerate,
                    )],
                    Pending::Enforce { account_id, on } => vec![account(
                        AccountRequest::SetEnforcement {
                            account_id,
                            enforce_2fa: on,
                            password,
                            from: if on { self.schedule.from } else { None },
                            grace_days: if on { self.schedule.grace_days } else { 0 },
                        },
                        Key::Enforce(account_id),
                    )],
                    Pending::Disable => {
                        if !confirmed {
                            self.busy = false;
                            self.error = Some(word!("input.tick_to_disable").into());
                            return vec![];
                        }
                        vec![account(
                            AccountRequest::Disable {
                                password,
                                confirm: true,
                            },
                            Key::Disable,
                        )]
                    }
                }
            }
            Msg::Revoke(id) => {
                self.busy = true;
                vec![account(
                    AccountRequest::RevokeTrustedDevice { id },
                    Key::Revoke(id),
                )]
            }
            Msg::Enforce { account_id, on } => {
                // Asked for the password first, like every other 2FA change.
                self.pending = Some(Pending::Enforce { account_id, on });
                self.schedule = Schedule::default();
                vec![]
            }
            Msg::Schedule {
                in_days,
                grace_days,
                now,
            } => {
                let grace = match grace_days.trim() {
                    "" => 0,
                    typed => match typed.parse::<u32>() {
                        Ok(g) if g <= text::MAX_GRACE_DAYS => g,
                        _ => {
                            self.error = Some(fill!(
                                "input.grace_range",
                                &[("max", &text::MAX_GRACE_DAYS.to_string())],
                            ));
                            return vec![];
                        }
                    },
                };
                let in_days = in_days.filter(|d| text::ENFORCE_IN_DAYS.contains(d));
                self.schedule = Schedule {
                    in_days,
                    grace_days: if in_days.is_some() { grace } else { 0 },
                    from: in_days.map(|d| now + i64::from(d) * 86_400),
                };
                vec![]
            }
            Msg::Remind(account_id) => {
                if self.busy {
                    return vec![];
                }
                self.busy = true;
                vec![account(
                    AccountRequest::SendReminder { account_id },
                    Key::Remind(account_id),
                )]
            }
            Msg::Skip => {
                if self.busy || self.skips_left().is_none() {
                    return vec![];
                }
                self.busy = true;
                vec![account(AccountRequest::SkipSetup, Key::Skip)]
            }
            Msg::Wizard(_) | Msg::Answered(..) => vec![],
        }
    }

    fn wizard(&mut self, msg: WizMsg) -> Fx {
        let (fx, outcome) = match &mut self.view {
            View::Wizard(w) => w.update(msg),
            _ => return vec![],
        };
        let mut fx: Fx = fx.into_iter().map(|e| e.map(Key::Wizard)).collect();
        if outcome == Outcome::Finished {
            fx.extend(self.update(Msg::Reload));
            self.notice = Some("Saved.".into());
        }
        fx
    }

    fn answered(&mut self, key: Key, answer: Answer) -> Fx {
        if let Key::Wizard(k) = key {
            return self.wizard(WizMsg::Answered(k, answer));
        }
        self.busy = false;
        match key {
            Key::Session => match decode::<SessionView>(answer) {
                Ok(session) => {
                    let badge = crate::popup_state::badge(&session);
                    self.view = if !session.signed_in {
                        View::SignedOut
                    } else if session
                        .two_factor
                        .as_ref()
                        .map(|t| t.setup_only)
                        .unwrap_or(false)
                    {
                        View::Wizard(Wizard::setup(session.email.as_deref().unwrap_or("")))
                    } else {
                        View::Main
                    };
                    let mut fx = vec![Effect::Badge(badge)];
                    if self.view == View::Main {
                        // The host synced the vault with the API while
                        // answering the session: ask what it keeps now.
                        fx.push(Effect::Send(
                            Request::VaultList {
                                account: session.email.clone(),
                            },
                            Key::Vault,
                        ));
                    }
                    self.session = Some(session);
                    fx
                }
                Err(e) => {
                    self.view = View::Problem(text::error_text(&e));
                    vec![]
                }
            },
            Key::Devices => {
                // Signed out or setup-only sessions cannot list devices; the
                // session's answer decides what the page shows.
                self.devices = decode::<TrustedDeviceList>(answer).ok().map(|l| l.devices);
                vec![]
            }
            Key::Accounts => {
                self.accounts = decode::<AccountList>(answer).ok().map(|l| l.accounts);
                // Owners see who has not set up 2FA (issue 14).
                self.owned()
                    .iter()
                    .map(|a| {
                        account(
                            AccountRequest::ListMembers { account_id: a.id },
                            Key::Members(a.id),
                        )
                    })
                    .collect()
            }
            Key::Members(id) => {
                if let Ok(list) = decode::<AccountMembers>(answer) {
                    self.members.retain(|(a, _)| *a != id);
                    self.members.push((id, list));
                }
                vec![]
            }
            Key::Remind(id) => match decode::<RemindersSent>(answer) {
                Ok(sent) => {
                    for (a, m) in self.members.iter_mut() {
                        if *a == id {
                            m.next_reminder_at = Some(sent.next_reminder_at);
                        }
                    }
                    self.notice = Some(match sent.sent {
                        1 => word!("reminder.sent_one").to_string(),
                        n => fill!("reminder.sent_many", &[("count", &n.to_string())]),
                    });
                    vec![]
                }
                Err(e) => self.failed(e),
            },
            Key::Skip => match answer {
                Ok(json) => {
                    let fx = self.answered(Key::Session, Ok(json));
                    let left = self
                        .session
                        .as_ref()
                        .and_then(|s| s.two_factor.as_ref())
                        .and_then(|t| t.deadline.as_ref())
                        .and_then(|d| d.skips_left);
                    self.notice = Some(text::skipped_notice(left));
                    fx
                }
                Err(e) => {
                    if e.code == ErrorCode::GraceExhausted {
                        if let Some(d) = self
                            .session
                            .as_mut()
                            .and_then(|s| s.two_factor.as_mut())
                            .and_then(|t| t.deadline.as_mut())
                        {
                            d.skips_left = Some(0);
                        }
                    }
                    self.failed(e)
                }
            },
            Key::Switch => match decode::<SwitchStarted>(answer) {
                Ok(started) => {
                    self.pending = None;
                    let (w, fx) = Wizard::switch(&self.email(), started);
                    self.view = View::Wizard(w);
                    fx.into_iter().map(|e| e.map(Key::Wizard)).collect()
                }
                Err(e) => self.failed(e),
            },
            Key::Regenerate => match decode::<RecoveryCodes>(answer) {
                Ok(codes) => {
                    self.pending = None;
                    self.kept_replaced = false;
                    let email = self.email();
                    self.view = View::Wizard(Wizard::codes(&email, codes));
                    // The old codes no longer work: the popup must not list
                    // them. "Keep on this computer" saves the new ones.
                    vec![forget_vault(email)]
                }
                Err(e) => self.failed(e),
            },
            Key::Disable => match decode::<SessionView>(answer) {
                Ok(_) => {
                    let email = self.email();
                    let mut fx = self.update(Msg::Reload);
                    // R6 cleared the recovery codes; so does this computer.
                    fx.push(forget_vault(email));
                    self.notice = Some(word!("settings.off").into());
                    fx
                }
                Err(e) => self.failed(e),
            },
            Key::Revoke(id) => match answer {
                Ok(_) => {
                    if let Some(devices) = &mut self.devices {
                        devices.retain(|d| d.id != id);
                    }
                    self.notice = Some(word!("settings.device_removed").into());
                    vec![]
                }
                Err(e) => self.failed(e),
            },
            Key::Enforce(_) => match decode::<Enforcement>(answer) {
                Ok(set) => {
                    self.pending = None;
                    for a in self.accounts.iter_mut().flatten() {
                        if a.id == set.account_id {
                            a.enforce_2fa = Some(set.enforce_2fa);
                            a.members_without_two_factor = Some(set.members_without_two_factor);
                            a.enforce_from = set.enforce_from;
                            a.grace_days = set.enforce_from.map(|_| set.grace_days);
                        }
                    }
                    self.schedule = Schedule::default();
                    self.notice = Some(if set.enforce_2fa && set.enforce_from.is_some() {
                        word!("enforce.done_scheduled").into()
                    } else if set.enforce_2fa && !set.caller_two_factor_enabled {
                        "2FA is now required for everyone in this account, you too: set it up now."
                            .into()
                    } else if set.enforce_2fa {
                        word!("enforce.done_required").into()
                    } else {
                        word!("enforce.done_optional").into()
                    });
                    vec![]
                }
                Err(e) => self.failed(e),
            },
            Key::Vault => {
                // No vault (or a keyring problem) is not this page's
                // business: the popup reports it.
                self.kept_replaced = decode::<VaultListResult>(answer)
                    .map(|l| l.entries.iter().any(|e| e.replaced))
                    .unwrap_or(false);
                vec![]
            }
            Key::Wizard(_) | Key::VaultForgot => vec![],
        }
    }

    fn failed(&mut self, e: ErrorBody) -> Fx {
        if e.code == ErrorCode::Unauthorized {
            self.view = View::SignedOut;
        }
        self.error = Some(text::error_text(&e));
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::{SmsCodeSent, TwoFactorState};

    fn ok<T: serde::Serialize>(v: T) -> Answer {
        Ok(serde_json::to_value(v).unwrap().into())
    }

    fn session(method: Option<TwoFactorMethod>, required_by: &[&str]) -> SessionView {
        SessionView {
            signed_in: true,
            email: Some("a@example.com".into()),
            two_factor: Some(TwoFactorState {
                enabled: method.is_some(),
                method,
                phone_hint: Some("+1•••0123".into()),
                recovery_codes_remaining: 10,
                recovery_codes_used: vec![],
                recovery_codes_batch: None,
                verified_until: None,
                required: !required_by.is_empty(),
                required_by: required_by.iter().map(|s| s.to_string()).collect(),
                setup_only: false,
                deadline: None,
            }),
            ..SessionView::signed_out()
        }
    }

    fn loaded(s: SessionView) -> Settings {
        let (mut st, fx) = Settings::init();
        assert_eq!(fx.len(), 3);
        st.update(Msg::Answered(Key::Session, ok(s)));
        st
    }

    #[test]
    fn kept_codes_replaced_elsewhere_are_reported_until_new_ones_are_made() {
        let (mut st, _) = Settings::init();
        let fx = st.update(Msg::Answered(
            Key::Session,
            ok(session(Some(TwoFactorMethod::Authenticator), &[])),
        ));
        assert!(fx.contains(&Effect::Send(
            Request::VaultList {
                account: Some("a@example.com".into())
            },
            Key::Vault
        )));
        let entry = |replaced| shared::native::VaultEntry {
            id: 1,
            account: "a@example.com".into(),
            position: 1,
            used: false,
            saved_at: 0,
            replaced,
        };
        st.update(Msg::Answered(
            Key::Vault,
            ok(VaultListResult {
                entries: vec![entry(false)],
            }),
        ));
        assert!(!st.kept_replaced);
        st.update(Msg::Answered(
            Key::Vault,
            ok(VaultListResult {
                entries: vec![entry(true)],
            }),
        ));
        assert!(st.kept_replaced);
        st.update(Msg::Answered(
            Key::Regenerate,
            ok(RecoveryCodes {
                codes: vec!["c".into(); 10],
            }),
        ));
        assert!(!st.kept_replaced);
    }

    #[test]
    fn switch_to_sms_asks_password_then_goes_to_the_code() {
        let mut s = loaded(session(Some(TwoFactorMethod::Authenticator), &[]));
        assert_eq!(s.screen_name(), "settings");
        s.update(Msg::Ask(Pending::Switch(TwoFactorMethod::Sms)));
        assert_eq!(
            s.update(Msg::Confirm {
                password: String::new(),
                confirmed: false
            }),
            vec![]
        );
        assert!(s.error.is_some());
        let fx = s.update(Msg::Confirm {
            password: "pw".into(),
            confirmed: false,
        });
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::SwitchMethod {
                    method: TwoFactorMethod::Sms,
                    password: "pw".into()
                },
                Key::Switch
            )]
        );
        let started = SwitchStarted {
            method: TwoFactorMethod::Sms,
            authenticator: None,
            sms: Some(SmsCodeSent {
                phone_hint: "+1•••0123".into(),
                expires_at: 600,
                resend_available_at: 30,
            }),
        };
        let fx = s.update(Msg::Answered(Key::Switch, ok(started)));
        assert_eq!(s.screen_name(), "setup-sms-code");
        assert_eq!(fx, vec![Effect::After(1000, Key::Wizard(WizKey::Tick))]);
    }

    #[test]
    fn disable_is_refused_with_the_reason_while_required() {
        let mut s = loaded(session(Some(TwoFactorMethod::Sms), &["Acme"]));
        assert_eq!(
            s.disable_blocked().as_deref(),
            Some("2FA cannot be turned off: it is required by Acme.")
        );
        assert_eq!(s.update(Msg::Ask(Pending::Disable)), vec![]);
        assert_eq!(s.pending, None);
    }

    #[test]
    fn disable_needs_confirmation_and_password() {
        let mut s = loaded(session(Some(TwoFactorMethod::Sms), &[]));
        s.update(Msg::Ask(Pending::Disable));
        assert_eq!(
            s.update(Msg::Confirm {
                password: "pw".into(),
                confirmed: false
            }),
            vec![]
        );
        let fx = s.update(Msg::Confirm {
            password: "pw".into(),
            confirmed: true,
        });
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::Disable {
                    password: "pw".into(),
                    confirm: true
                },
                Key::Disable
            )]
        );
        let fx = s.update(Msg::Answered(Key::Disable, ok(SessionView::signed_out())));
        assert_eq!(fx.len(), 4, "reloads everything and empties the vault");
        assert_eq!(fx[3], forget_vault("a@example.com".into()));
        assert_eq!(
            s.notice.as_deref(),
            Some("Two-factor authentication is off.")
        );
    }

    #[test]
    fn regenerate_shows_codes_behind_the_copy_gate() {
        let mut s = loaded(session(Some(TwoFactorMethod::Sms), &[]));
        s.update(Msg::Ask(Pending::Regenerate));
        s.update(Msg::Confirm {
            password: "pw".into(),
            confirmed: false,
        });
        s.update(Msg::Answered(
            Key::Regenerate,
            ok(RecoveryCodes {
                codes: vec!["x".into(); 10],
            }),
        ));
        assert_eq!(s.screen_name(), "setup-codes");
        match &s.view {
            View::Wizard(w) => assert!(!w.can_complete()),
            other => panic!("{:?}", other),
        }
    }

    fn with_accounts(s: &mut Settings, without: u32) {
        s.update(Msg::Answered(
            Key::Accounts,
            ok(AccountList {
                accounts: vec![
                    AccountMembership {
                        id: 1,
                        name: "Acme".into(),
                        role: AccountRole::Owner,
                        enforce_2fa: Some(false),
                        members_without_two_factor: Some(without),
                        member_count: Some(without + 1),
                        enforce_from: None,
                        members_with_two_factor: Some(1),
                        grace_days: None,
                    },
                    AccountMembership {
                        id: 2,
                        name: "Other".into(),
                        role: AccountRole::Member,
                        enforce_2fa: None,
                        members_without_two_factor: None,
                        member_count: None,
                        enforce_from: None,
                        members_with_two_factor: None,
                        grace_days: None,
                    },
                ],
            }),
        ));
    }

    #[test]
    fn only_owned_accounts_get_the_toggle() {
        let mut s = loaded(session(None, &[]));
        with_accounts(&mut s, 2);
        assert_eq!(s.owned().len(), 1);
        // The toggle asks for the password before anything is sent.
        let fx = s.update(Msg::Enforce {
            account_id: 1,
            on: true,
        });
        assert_eq!(fx, vec![]);
        assert_eq!(
            s.pending,
            Some(Pending::Enforce {
                account_id: 1,
                on: true
            })
        );
        let fx = s.update(Msg::Confirm {
            password: "pw".into(),
            confirmed: false,
        });
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::SetEnforcement {
                    account_id: 1,
                    enforce_2fa: true,
                    password: "pw".into(),
                    from: None,
                    grace_days: 0,
                },
                Key::Enforce(1)
            )]
        );
        s.update(Msg::Answered(
            Key::Enforce(1),
            ok(Enforcement {
                account_id: 1,
                enforce_2fa: true,
                members_without_two_factor: 2,
                caller_two_factor_enabled: false,
                enforce_from: None,
                grace_days: 0,
            }),
        ));
        assert_eq!(s.owned()[0].enforce_2fa, Some(true));
        assert_eq!(s.pending, None);
        // The owner has no 2FA: the page says they must set it up too,
        // never "2FA is off" beside "now required".
        assert_eq!(
            s.notice.as_deref(),
            Some("2FA is now required for everyone in this account, you too: set it up now.")
        );
        assert_eq!(
            s.own_requirement().as_deref(),
            Some("Acme requires two-factor authentication, you too: set it up now.")
        );
    }

    #[test]
    fn an_owner_with_2fa_is_not_told_to_set_it_up() {
        let mut s = loaded(session(Some(TwoFactorMethod::Authenticator), &[]));
        with_accounts(&mut s, 0);
        s.update(Msg::Enforce {
            account_id: 1,
            on: true,
        });
        s.update(Msg::Confirm {
            password: "pw".into(),
            confirmed: false,
        });
        s.update(Msg::Answered(
            Key::Enforce(1),
            ok(Enforcement {
                account_id: 1,
                enforce_2fa: true,
                members_without_two_factor: 0,
                caller_two_factor_enabled: true,
                enforce_from: None,
                grace_days: 0,
            }),
        ));
        assert_eq!(
            s.notice.as_deref(),
            Some("2FA is now required for everyone in this account.")
        );
        assert_eq!(s.own_requirement(), None);
    }

    #[test]
    fn enforcing_says_who_it_stops_and_that_the_owner_needs_2fa() {
        let mut s = loaded(session(None, &[]));
        with_accounts(&mut s, 3);
        s.update(Msg::Enforce {
            account_id: 1,
            on: true,
        });
        let p = s.pending.unwrap();
        assert_eq!(
            s.question(p),
            "Require 2FA for everyone in Acme? 3 people in it have not set up 2FA yet and will be able to do nothing but set it up. As an owner you must have 2FA too: you have not set it up, so you will be asked to right away."
        );
        let mut s = loaded(session(Some(TwoFactorMethod::Sms), &[]));
        with_accounts(&mut s, 1);
        assert_eq!(
            s.question(Pending::Enforce {
                account_id: 1,
                on: true
            }),
            "Require 2FA for everyone in Acme? 1 person in it has not set up 2FA yet and will be able to do nothing but set it up. As an owner you must have 2FA too; you have it."
        );
        assert_eq!(
            s.question(Pending::Enforce {
                account_id: 1,
                on: false
            }),
            "Stop requiring 2FA in Acme? People there can then turn it off."
        );
    }

    #[test]
    fn enforcement_without_a_password_sends_nothing_and_a_refusal_keeps_the_panel() {
        let mut s = loaded(session(Some(TwoFactorMethod::Sms), &[]));
        with_accounts(&mut s, 0);
        s.update(Msg::Enforce {
            account_id: 1,
            on: true,
        });
        let fx = s.update(Msg::Confirm {
            password: String::new(),
            confirmed: false,
        });
        assert_eq!(fx, vec![]);
        assert_eq!(s.error.as_deref(), Some("Enter your password to confirm."));
        s.update(Msg::Confirm {
            password: "wrong".into(),
            confirmed: false,
        });
        s.update(Msg::Answered(
            Key::Enforce(1),
            Err(ErrorBody::new(
                ErrorCode::InvalidCredentials,
                "the email or the password is wrong",
            )),
        ));
        assert!(s.error.is_some());
        assert!(!s.busy);
        assert_eq!(s.owned()[0].enforce_2fa, Some(false), "nothing changed");
        assert!(s.pending.is_some(), "the panel stays for another try");
        s.update(Msg::Cancel);
        assert_eq!(s.pending, None);
    }

    #[test]
    fn revoked_device_leaves_the_list() {
        let mut s = loaded(session(Some(TwoFactorMethod::Sms), &[]));
        let device = |id| TrustedDevice {
            id,
            label: None,
            created_at: 0,
            expires_at: 1,
            last_used_at: None,
            current: false,
        };
        s.update(Msg::Answered(
            Key::Devices,
            ok(TrustedDeviceList {
                devices: vec![device(1), device(2)],
            }),
        ));
        s.update(Msg::Revoke(1));
        s.update(Msg::Answered(
            Key::Revoke(1),
            Ok(serde_json::json!({}).into()),
        ));
        assert_eq!(s.devices.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn a_rejected_session_shows_signed_out() {
        let mut s = loaded(session(Some(TwoFactorMethod::Sms), &[]));
        s.update(Msg::Ask(Pending::Regenerate));
        s.update(Msg::Confirm {
            password: "pw".into(),
            confirmed: false,
        });
        s.update(Msg::Answered(
            Key::Regenerate,
            Err(ErrorBody::new(ErrorCode::Unauthorized, "sign in first")),
        ));
        assert_eq!(s.screen_name(), "signed-out");
    }

    #[test]
    fn cancel_leaves_the_wizard_except_at_the_codes() {
        let mut s = loaded(session(None, &[]));
        s.update(Msg::SetUp);
        assert_eq!(s.screen_name(), "setup-choose");
        assert!(s.can_leave_wizard());
        s.update(Msg::Answered(
            Key::Regenerate,
            ok(RecoveryCodes {
                codes: vec!["x".into(); 10],
            }),
        ));
        assert_eq!(s.screen_name(), "setup-codes");
        assert!(!s.can_leave_wizard());
    }

    #[test]
    fn setup_only_session_opens_the_wizard_with_no_way_out() {
        let mut required = session(None, &["Acme"]);
        if let Some(tf) = required.two_factor.as_mut() {
            tf.setup_only = true;
        }
        let s = loaded(required);
        assert_eq!(s.screen_name(), "setup-choose");
        assert!(!s.can_leave_wizard());
    }

    #[test]
    fn signed_out_session_says_so() {
        let (mut s, _) = Settings::init();
        s.update(Msg::Answered(Key::Session, ok(SessionView::signed_out())));
        assert_eq!(s.screen_name(), "signed-out");
    }

    fn member(email: &str, two_factor_enabled: bool) -> shared::api::AccountMember {
        shared::api::AccountMember {
            email: email.into(),
            role: AccountRole::Member,
            two_factor_enabled,
            you: false,
        }
    }

    #[test]
    fn owners_see_who_has_not_set_up_2fa_and_send_one_reminder() {
        let mut s = loaded(session(Some(TwoFactorMethod::Sms), &[]));
        let fx = s.update(Msg::Answered(
            Key::Accounts,
            ok(AccountList {
                accounts: vec![
                    AccountMembership {
                        id: 1,
                        name: "Acme".into(),
                        role: AccountRole::Owner,
                        enforce_2fa: Some(false),
                        members_without_two_factor: Some(1),
                        member_count: Some(2),
                        enforce_from: None,
                        members_with_two_factor: Some(1),
                        grace_days: None,
                    },
                    AccountMembership {
                        id: 2,
                        name: "Other".into(),
                        role: AccountRole::Member,
                        enforce_2fa: None,
                        members_without_two_factor: None,
                        member_count: None,
                        enforce_from: None,
                        members_with_two_factor: None,
                        grace_days: None,
                    },
                ],
            }),
        ));
        // Only the owned account's people are asked for.
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::ListMembers { account_id: 1 },
                Key::Members(1)
            )]
        );
        s.update(Msg::Answered(
            Key::Members(1),
            ok(AccountMembers {
                members: vec![
                    member("a@example.com", true),
                    member("late@example.com", false),
                ],
                next_reminder_at: None,
            }),
        ));
        assert_eq!(s.not_set_up(1), Some(vec!["late@example.com".to_string()]));
        assert_eq!(s.not_set_up(2), None);
        let fx = s.update(Msg::Remind(1));
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::SendReminder { account_id: 1 },
                Key::Remind(1)
            )]
        );
        s.update(Msg::Answered(
            Key::Remind(1),
            ok(RemindersSent {
                sent: 1,
                next_reminder_at: 1_801_086_400,
            }),
        ));
        assert_eq!(s.notice.as_deref(), Some("Reminder sent to 1 person."));
        assert_eq!(
            s.members_of(1).and_then(|m| m.next_reminder_at),
            Some(1_801_086_400),
            "the button waits for the next allowed time"
        );
        // A second reminder the same day: the API's refusal, in plain words.
        s.update(Msg::Remind(1));
        s.update(Msg::Answered(
            Key::Remind(1),
            Err(ErrorBody::new(
                ErrorCode::ReminderTooSoon,
                "the next reminder can go out tomorrow",
            )),
        ));
        assert_eq!(
            s.error.as_deref(),
            Some("A reminder already went out for this account today: one a day at most. The next reminder can go out tomorrow.")
        );
        assert!(!s.busy);
    }

    #[test]
    fn enforcement_from_a_date_sends_the_date_and_the_grace_days() {
        let mut s = loaded(session(None, &[]));
        with_accounts(&mut s, 2);
        s.update(Msg::Enforce {
            account_id: 1,
            on: true,
        });
        let now = 1_800_000_000;
        s.update(Msg::Schedule {
            in_days: Some(14),
            grace_days: "2".into(),
            now,
        });
        assert_eq!(
            s.question(s.pending.unwrap()),
            "Require 2FA for everyone in Acme 14 days from now? 2 people in it have not set up 2FA yet: they see the date from now on and are reminded before it. After that day they may skip setup for 2 more days. As an owner you need 2FA by then too."
        );
        let fx = s.update(Msg::Confirm {
            password: "pw".into(),
            confirmed: false,
        });
        assert_eq!(
            fx,
            vec![account(
                AccountRequest::SetEnforcement {
                    account_id: 1,
                    enforce_2fa: true,
                    password: "pw".into(),
                    from: Some(now + 14 * 86_400),
                    grace_days: 2,
                },
                Key::Enforce(1)
            )]
        );
        s.update(Msg::Answered(
            Key::Enforce(1),
            ok(Enforcement {
                account_id: 1,
                enforce_2fa: true,
                members_without_two_factor: 2,
                caller_two_factor_enabled: false,
                enforce_from: Some(now + 14 * 86_400),
                grace_days: 2,
            }),
        ));
        assert_eq!(s.owned()[0].enforce_from, Some(now + 14 * 86_400));
        assert_eq!(s.grace_of(1), 2);
        assert_eq!(
            s.notice.as_deref(),
            Some("2FA is now scheduled for everyone in this account.")
        );
        // A date ahead is the banner's to tell, not "set it up now".
        assert_eq!(s.own_requirement(), None);
    }

    /// A page drawn again (reload, another window) shows the whole
    /// schedule: its grace days come with the accounts list, not only
    /// from an answer this page received.
    #[test]
    fn a_reloaded_page_shows_the_schedules_grace_days() {
        let mut s = loaded(session(None, &[]));
        s.update(Msg::Answered(
            Key::Accounts,
            ok(AccountList {
                accounts: vec![AccountMembership {
                    id: 1,
                    name: "Acme".into(),
                    role: AccountRole::Owner,
                    enforce_2fa: Some(true),
                    members_without_two_factor: Some(2),
                    member_count: Some(3),
                    enforce_from: Some(1_801_000_000),
                    members_with_two_factor: Some(1),
                    grace_days: Some(3),
                }],
            }),
        ));
        assert_eq!(s.grace_of(1), 3);
        assert_eq!(s.grace_of(2), 0, "not an account of this page");
        // An older host leaves the field out: read as no grace days.
        let old: AccountMembership = serde_json::from_str(
            r#"{"id": 1, "name": "Acme", "role": "owner", "enforce_2fa": true, "enforce_from": 1801000000}"#,
        )
        .unwrap();
        assert_eq!(old.grace_days, None);
    }

    /// The owner reading the list is named as such, and "Send reminder",
    /// which never mails its sender, is offered only when it reaches
    /// someone else.
    #[test]
    fn the_owner_is_named_in_the_list_and_a_reminder_reaches_only_the_others() {
        let mut s = loaded(session(None, &[]));
        with_accounts(&mut s, 2);
        let mut own = member("own@example.com", false);
        own.role = AccountRole::Owner;
        own.you = true;
        s.update(Msg::Answered(
            Key::Members(1),
            ok(AccountMembers {
                members: vec![own.clone(), member("late@example.com", false)],
                next_reminder_at: None,
            }),
        ));
        assert_eq!(
            s.not_set_up(1),
            Some(vec![
                "own@example.com (you)".to_string(),
                "late@example.com".to_string()
            ])
        );
        assert!(s.you_not_set_up(1));
        assert_eq!(s.reminder_recipients(1), 1);
        // Only the owner is left: nobody a reminder would reach.
        s.update(Msg::Answered(
            Key::Members(1),
            ok(AccountMembers {
                members: vec![own, member("late@example.com", true)],
                next_reminder_at: None,
            }),
        ));
        assert_eq!(s.reminder_recipients(1), 0);
        assert!(s.you_not_set_up(1));
    }

    #[test]
    fn only_the_offered_days_and_a_grace_of_at_most_seven_days_are_sent() {
        let mut s = loaded(session(None, &[]));
        with_accounts(&mut s, 0);
        s.update(Msg::Enforce {
            account_id: 1,
            on: true,
        });
        s.update(Msg::Schedule {
            in_days: Some(7),
            grace_days: "8".into(),
            now: 0,
        });
        assert_eq!(s.error.as_deref(), Some("The grace period is 0 to 7 days."));
        assert_eq!(s.schedule, Schedule::default(), "nothing chosen");
        s.update(Msg::Schedule {
            in_days: Some(45),
            grace_days: "3".into(),
            now: 0,
        });
        assert_eq!(s.schedule, Schedule::default(), "45 days is not offered");
        // "Require now" carries no grace period.
        s.update(Msg::Schedule {
            in_days: None,
            grace_days: "3".into(),
            now: 0,
        });
        let fx = s.update(Msg::Confirm {
            password: "pw".into(),
            confirmed: false,
        });
        assert!(matches!(
            &fx[0],
            Effect::Send(
                Request::Account(AccountRequest::SetEnforcement {
                    from: None,
                    grace_days: 0,
                    ..
                }),
                _
            )
        ));
    }

    #[test]
    fn the_forced_setup_offers_the_grace_periods_skips() {
        let mut tf_session = session(None, &["Acme"]);
        if let Some(tf) = tf_session.two_factor.as_mut() {
            tf.setup_only = true;
            tf.deadline = Some(shared::api::TwoFactorDeadline {
                at: 1_800_000_000,
                days_left: 0,
                set_by: vec!["Acme".into()],
                grace_days: 3,
                skips_left: Some(2),
            });
        }
        let mut s = loaded(tf_session.clone());
        assert_eq!(s.screen_name(), "setup-choose");
        assert_eq!(s.skips_left(), Some(2));
        let fx = s.update(Msg::Skip);
        assert_eq!(fx, vec![account(AccountRequest::SkipSetup, Key::Skip)]);
        let mut after = tf_session.clone();
        if let Some(tf) = after.two_factor.as_mut() {
            tf.setup_only = false;
            if let Some(d) = tf.deadline.as_mut() {
                d.skips_left = Some(1);
            }
        }
        s.update(Msg::Answered(Key::Skip, ok(after)));
        assert_eq!(s.screen_name(), "settings");
        assert_eq!(s.notice.as_deref(), Some("Skipped for now. 1 skip left."));
        assert_eq!(s.skips_left(), None, "nothing to skip on the main page");
        // No skips left: none offered.
        if let Some(d) = tf_session
            .two_factor
            .as_mut()
            .and_then(|t| t.deadline.as_mut())
        {
            d.skips_left = Some(0);
        }
        let mut s = loaded(tf_session);
        assert_eq!(s.skips_left(), None);
        assert_eq!(s.update(Msg::Skip), vec![]);
    }
}
