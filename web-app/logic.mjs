// The web app's 2FA logic, with no DOM, no fetch and no timers: what the
// page decides, as state machines that answer each message with effects
// for app.js to carry out (a request to a /web/ route, a copy, a timer, a
// download). It mirrors the extension's `wizard.rs` and
// `settings_state.rs` step for step, with the /web/ routes where those
// send native-host requests, and `tests/web-logic/logic.test.mjs` runs
// their unit tests against it. The words are the catalogue both clients
// read, `words.json` (the extension compiles it into `text.rs`); every
// rule is the API's.
//
// Answers come back as { ok: value } or { error: { code, message, status } }.

import CATALOGUE from './words.json' with { type: 'json' };

/** The catalogue's words by key (`text.rs` `word`). */
export const WORDS = CATALOGUE.words;

/** The words for `key`, or the key itself if it has none (the tests make sure none is missing). */
export function word(key) {
  return Object.hasOwn(WORDS, key) ? WORDS[key] : key;
}

/** The words for `key` with each `{name}` filled from `args`; one left unfilled stays visible (`text.rs` `fill`). */
export function fill(key, args) {
  return word(key).replace(/\{(\w+)\}/g, (m, name) => (Object.hasOwn(args, name) ? String(args[name]) : m));
}

// How long an SMS code lives on the API (shared::rules): with the expiry
// and the resend time, both on the server's clock, it gives the cooldown
// without trusting this computer's clock (text.rs `resend_cooldown`).
export const SMS_CODE_LIFETIME = 10 * 60;

export const MY_2FA = '#/my-account/two-factor';
export const OWNER_2FA = '#/account-settings/two-factor';

/**
 * Where a signed-in person lands: the forced setup wizard when 2FA is
 * required and not set up, whatever the address (R9: nothing else is
 * allowed); else the page the address names, or home.
 */
export function landing(session, hash) {
  if (session.two_factor?.setup_only) return { wizard: setupWizard(session.email, { forced: true }) };
  if (hash === MY_2FA) return { page: 'my' };
  if (hash === OWNER_2FA) return { page: 'owner' };
  return { page: 'home' };
}

// ---- Words and input clean-up (text.rs).

export function methodName(method) {
  return method === 'sms' ? word('method.sms') : word('method.authenticator');
}

export function sentence(message) {
  const m = String(message ?? '').trim();
  if (!m) return '';
  const out = m[0].toUpperCase() + m.slice(1);
  return /[.!?]$/.test(out) ? out : `${out}.`;
}

/** An API error as the page shows it (text.rs `error_text`). */
export function errorText(e) {
  if (e.code === 'sms_delivery_failed') return word('error.sms_delivery_failed');
  if (e.code === 'reminder_too_soon') return fill('error.reminder_too_soon', { message: sentence(e.message) });
  if (e.code === 'grace_exhausted') return word('error.grace_exhausted');
  return sentence(e.message);
}

/** The typed code without spaces or dashes, or why it cannot be one. */
export function cleanCode(typed) {
  const code = String(typed).replace(/[\s-]/g, '');
  if (!code) return { error: word('input.code_empty') };
  if (!/^\d{6}$/.test(code)) return { error: word('input.code_format') };
  return { value: code };
}

/** The typed number in E.164, or why it cannot be one. */
export function cleanPhone(typed) {
  const phone = String(typed).replace(/[ \-.()]/g, '');
  if (!phone) return { error: word('input.phone_empty') };
  if (!/^\+\d{8,15}$/.test(phone)) return { error: word('input.phone_format') };
  return { value: phone };
}

/** Seconds until "Resend code" works, from the server's two times. */
export function resendCooldown(expiresAt, resendAvailableAt) {
  const sentAt = expiresAt - SMS_CODE_LIFETIME;
  return Math.min(600, Math.max(0, resendAvailableAt - sentAt));
}

/**
 * A date in the person's locale through Intl, with the catalogue's options
 * (`intl.date`), which the extension uses too (extension/src/dom.rs), so
 * both read alike. `locale` is for tests; the page passes none.
 */
export function dateText(unixSeconds, locale = undefined) {
  return new Intl.DateTimeFormat(locale, CATALOGUE.intl.date).format(new Date(unixSeconds * 1000));
}

export function requiredText(requiredBy) {
  if (!requiredBy.length) return word('required.anyone');
  return fill('required.by', { names: requiredBy.join(', ') });
}

// ---- Scheduled 2FA (issue 14), in text.rs's words.

/** From this many days before a deadline the extension's badge counts down. */
export const DEADLINE_BADGE_DAYS = 7;
/** The name the API gives the platform's own schedule. */
export const PLATFORM = 'server policy';
/** The owners' choices of "Require from": days ahead. */
export const ENFORCE_IN_DAYS = [7, 14, 30];
export const MAX_GRACE_DAYS = 7;

/** The banner's line, with the date already written (`dateText`). */
export function deadlineText(daysLeft, date) {
  if (daysLeft <= 0) return fill('deadline.since', { date });
  if (daysLeft === 1) return fill('deadline.one_day', { date });
  return fill('deadline.days', { date, days: daysLeft });
}

/** Who set a deadline: account names, "the platform" for the server's. */
export function setByText(setBy) {
  const names = (setBy ?? []).map((s) => (s === PLATFORM ? word('deadline.platform') : s));
  return names.length ? fill('deadline.set_by', { names: names.join(', ') }) : word('deadline.set_by_platform');
}

export function skipLabel(skipsLeft) {
  return skipsLeft === 1 ? word('skip.one') : fill('skip.many', { skips: skipsLeft });
}

export function skipsLeftText(skipsLeft) {
  if (skipsLeft === 0) return word('skip.left_none');
  return skipsLeft === 1 ? word('skip.left_one') : fill('skip.left_many', { skips: skipsLeft });
}

export function nextReminderText(dateTime) {
  return fill('reminder.next', { date: dateTime });
}

export function enforceWhenLabel(inDays) {
  return inDays === null ? word('enforce.now') : fill('enforce.in_days', { days: inDays });
}

export function graceLabel(days) {
  if (days === 0) return word('grace.none');
  return days === 1 ? word('grace.one') : fill('grace.many', { days });
}

export function scheduledText(date, graceDays) {
  if (!graceDays) return fill('scheduled.no_grace', { date });
  return graceDays === 1
    ? fill('scheduled.grace_one', { date })
    : fill('scheduled.grace_many', { date, days: graceDays });
}

/** The owner's own entry among those who have not set up 2FA. */
export function youText(email) {
  return fill('members.you', { email });
}

export const REMINDER_NOT_TO_YOU = word('reminder.not_to_you');

export function notSetUpText(emails) {
  return emails.length ? fill('members.not_set_up', { emails: emails.join(', ') }) : word('members.all_set_up');
}

/** The deadline the banner shows: none once 2FA is on (popup_state.rs). */
export function deadlineShown(tf) {
  if (!tf || tf.enabled) return null;
  return tf.deadline ?? null;
}

/** The skips the forced setup offers: only in the grace period, if any are left. */
export function skipsOffered(session) {
  const tf = session?.two_factor;
  if (!tf?.setup_only) return null;
  const n = tf.deadline?.skips_left;
  return typeof n === 'number' && n > 0 ? n : null;
}

/** What the page says after a skip, from the session it answered with. */
export function skippedNotice(session) {
  const n = session?.two_factor?.deadline?.skips_left;
  if (typeof n !== 'number') return word('skip.done');
  if (n === 0) return word('skip.done_last');
  return n === 1 ? word('skip.done_one') : fill('skip.done_many', { skips: n });
}

/**
 * A date and time of day in the person's locale (the next reminder, at
 * most a day away, needs the hour), with the catalogue's `intl.date_time`
 * options: extension/src/dom.rs `date_time`.
 */
export function dateTimeText(unixSeconds, locale = undefined) {
  return new Intl.DateTimeFormat(locale, CATALOGUE.intl.date_time).format(new Date(unixSeconds * 1000));
}

export function codesFile(email, codes) {
  return `${fill('codes.file', { email })}${codes.map((c) => `${c}\n`).join('')}`;
}

/** The key in groups of four, as people type it into an app. */
export function groupedKey(key) {
  return key.replace(/(.{4})/g, '$1 ').trim();
}

export function resendLabel(seconds) {
  return seconds > 0 ? fill('wizard.resend_wait', { seconds }) : word('wizard.resend');
}

function copyFailed(error) {
  return fill('codes.copy_failed', { error: error.message });
}

// ---- The wizard (wizard.rs): Setup turns 2FA on and ends at the recovery
// codes; Switch enters at the QR or the SMS code and ends without codes
// (the old ones stay valid); Regenerate is only the codes.

function wizard(kind, email, step, { forced = false } = {}) {
  return {
    kind, email, step, forced,
    setup: null, // the authenticator's key and QR, at 'app-scan' and after
    phone: null, // the number typed at the SMS step, for Resend
    phoneHint: null,
    resendIn: 0,
    ticking: false,
    codes: null,
    copied: false,
    busy: false,
    error: null,
    notice: null,
    needsPassword: false,
  };
}

/** Turning 2FA on, from the choice of method; `forced` when required. */
export function setupWizard(email, { forced = false } = {}) {
  return wizard('setup', email, 'choose', { forced });
}

/**
 * After the switch answered: straight to the QR, or to the SMS code sent
 * to the kept number (R5: no number asked). Returns [wizard, effects].
 */
export function switchWizard(email, started) {
  if (started.authenticator) {
    const w = wizard('switch', email, 'app-scan');
    w.setup = started.authenticator;
    return [w, []];
  }
  const w = wizard('switch', email, 'sms-code');
  return [w, started.sms ? codeSent(w, started.sms) : []];
}

/** Fresh recovery codes to show once. */
export function codesWizard(email, codes) {
  const w = wizard('regenerate', email, 'codes');
  w.codes = codes;
  return w;
}

/** The `data-screen` name of the step, which the browser tests wait for. */
export function wizardScreen(w) {
  return `setup-${w.step}`;
}

export function wizardTitle(w) {
  if (w.step === 'codes') return word('wizard.title_codes');
  return w.kind === 'switch' ? word('wizard.title_switch') : word('wizard.title_setup');
}

/** "Complete" works only once the codes were copied (R4). */
export function canComplete(w) {
  return w.step === 'codes' && w.copied && !w.busy;
}

/**
 * Whether the wizard offers Cancel: not at the recovery codes (shown once,
 * behind the Copy gate) and not when 2FA is required and not set up (R9:
 * nothing else is allowed but signing out).
 */
export function canLeaveWizard(w) {
  return !w.forced && w.step !== 'codes';
}

/** Back to the choice: only while turning 2FA on. */
export function canGoBack(w) {
  return w.kind === 'setup';
}

/** What the page says once the wizard is over. */
export function finishedNotice(w) {
  if (w.kind === 'regenerate') return 'New recovery codes are ready; the old ones no longer work.';
  if (w.step === 'codes') return word('finished.on');
  return 'Saved.';
}

const send = (path, body, key) => ({ send: { path, body }, key });
const running = (effects = []) => ({ effects, finished: false });

/**
 * One message to the wizard: { type, ... } as listed in the switch below.
 * Changes `w` and returns { effects, finished }.
 */
export function wizardUpdate(w, msg) {
  if (msg.type === 'answered') return answered(w, msg.key, msg.answer);
  // Every action starts fresh; only an answer sets a new error.
  w.error = null;
  switch (msg.type) {
    case 'choose':
      w.step = msg.method === 'sms' ? 'sms-phone' : 'app-start';
      w.needsPassword = false;
      return running();
    case 'back':
      if (canGoBack(w)) {
        w.step = 'choose';
        w.notice = null;
      }
      return running();
    case 'start-app': {
      if (w.needsPassword && !msg.password) {
        w.error = word('input.password_to_continue');
        return running();
      }
      w.busy = true;
      return running([send('/web/two-factor/authenticator/setup', msg.password ? { password: msg.password } : {}, 'app-setup')]);
    }
    case 'copy-key':
      return running(w.step === 'app-scan' ? [{ copy: w.setup.secret_base32, key: 'copy-key' }] : []);
    case 'continue':
      if (w.step === 'app-scan') {
        w.step = 'app-code';
        w.notice = null;
      }
      return running();
    case 'verify': {
      const code = cleanCode(msg.code);
      if (code.error) {
        w.error = code.error;
        return running();
      }
      w.busy = true;
      return w.step === 'sms-code'
        ? running([send('/web/two-factor/sms/confirm', { code: code.value }, 'sms-confirm')])
        : running([send('/web/two-factor/authenticator/confirm', { code: code.value }, 'app-confirm')]);
    }
    case 'submit-phone': {
      const phone = cleanPhone(msg.phone);
      if (phone.error) {
        w.error = phone.error;
        return running();
      }
      if (w.needsPassword && !msg.password) {
        w.error = word('input.password_to_continue');
        return running();
      }
      w.busy = true;
      w.phone = phone.value;
      const body = msg.password ? { phone: phone.value, password: msg.password } : { phone: phone.value };
      return running([send('/web/two-factor/sms/setup', body, 'sms-setup')]);
    }
    case 'resend':
      if (w.resendIn > 0 || w.busy) return running();
      w.busy = true;
      return running([send('/web/two-factor/sms/setup', w.phone ? { phone: w.phone } : {}, 'sms-setup')]);
    case 'copy-codes':
      return running(w.step === 'codes' ? [{ copy: w.codes.join('\n'), key: 'copy-codes' }] : []);
    case 'copy-code': {
      // One code alone; only the whole list's Copy unlocks Complete (R4).
      const code = w.step === 'codes' ? w.codes[msg.index] : undefined;
      return running(code === undefined ? [] : [{ copy: code, key: `copy-code:${msg.index}` }]);
    }
    case 'download-codes':
      return running(w.step === 'codes'
        ? [{ download: { fileName: 'dialer-2fa-recovery-codes.txt', text: codesFile(w.email, w.codes) } }]
        : []);
    case 'complete':
      if (canComplete(w)) return { effects: [], finished: true };
      w.error = word('codes.copy_first');
      return running();
    default:
      return running();
  }
}

function answered(w, key, answer) {
  if (key.startsWith('copy-code:')) {
    if (answer.error) w.error = copyFailed(answer.error);
    else w.notice = fill('codes.one_copied', { number: Number(key.slice('copy-code:'.length)) + 1 });
    return running();
  }
  switch (key) {
    case 'tick':
      w.resendIn = Math.max(0, w.resendIn - 1);
      if (w.resendIn > 0) return running([{ after: 1000, key: 'tick' }]);
      w.ticking = false;
      return running();
    case 'copy-key':
      if (answer.error) w.error = copyFailed(answer.error);
      else w.notice = word('codes.key_copied');
      return running();
    case 'copy-codes':
      if (answer.error) {
        w.error = copyFailed(answer.error);
      } else if (w.step === 'codes') {
        w.copied = true;
        w.notice = word('codes.copied');
      }
      return running();
    default:
      break;
  }
  w.busy = false;
  if (answer.error) return failed(w, answer.error);
  const value = answer.ok;
  switch (key) {
    case 'app-setup':
      w.needsPassword = false;
      w.setup = value;
      w.step = 'app-scan';
      return running();
    case 'sms-setup':
      w.needsPassword = false;
      return running(codeSent(w, value));
    case 'app-confirm':
    case 'sms-confirm':
      if (!value.recovery_codes.length) return { effects: [], finished: true };
      w.notice = null;
      w.step = 'codes';
      w.codes = value.recovery_codes;
      w.copied = false;
      return running();
    default:
      return running();
  }
}

function codeSent(w, sent) {
  w.step = 'sms-code';
  w.phoneHint = sent.phone_hint;
  w.notice = fill('codes.sms_sent', { phone: sent.phone_hint });
  w.resendIn = resendCooldown(sent.expires_at, sent.resend_available_at);
  if (w.resendIn > 0 && !w.ticking) {
    w.ticking = true;
    return [{ after: 1000, key: 'tick' }];
  }
  return [];
}

function failed(w, error) {
  if (error.code === 'password_required') w.needsPassword = true;
  w.error = errorText(error);
  return running();
}

// ---- My Account → Two-Factor Authentication and the owner's Account
// Settings tab (settings_state.rs): changes the API guards with the
// password go through one confirmation panel.

/** The page's state; `kind` is 'my' or 'owner'. */
export function settingsPage(kind) {
  return {
    kind, error: null, notice: null, pending: null, busy: false, devices: null, accounts: null,
    // Issue 14: the owner's choice in the enforcement panel, each owned
    // account's people ({ members, next_reminder_at }).
    schedule: noSchedule(), members: {},
  };
}

function noSchedule() {
  return { inDays: null, graceDays: 0, from: null };
}

/** The people of an owned account who have not set up 2FA, or null. */
export function notSetUp(page, accountId) {
  const m = page.members?.[accountId];
  return m ? m.members.filter((p) => !p.two_factor_enabled).map((p) => (p.you ? youText(p.email) : p.email)) : null;
}

/** Whether the owner reading the page is among those without 2FA (a reminder skips its sender). */
export function youNotSetUp(page, accountId) {
  return (page.members?.[accountId]?.members ?? []).some((p) => p.you && !p.two_factor_enabled);
}

/** How many people "Send reminder" would reach: those without 2FA but the sender. */
export function reminderRecipients(page, accountId) {
  return (page.members?.[accountId]?.members ?? []).filter((p) => !p.two_factor_enabled && !p.you).length;
}

/** The grace days of an owned account's schedule, as the accounts list gives them with the date. */
export function graceOf(page, accountId) {
  return (page.accounts ?? []).find((a) => a.id === accountId)?.grace_days ?? 0;
}

/** Why 2FA cannot be turned off, when it cannot (R9, R10); else null. */
export function disableBlocked(tf) {
  if (!tf?.required) return null;
  const by = tf.required_by.length ? tf.required_by.join(', ') : word('settings.disable_blocked_org');
  return fill('settings.disable_blocked', { names: by });
}

/** The accounts this person owns, where "Enforce 2FA" is theirs to set. */
export function owned(accounts) {
  return (accounts ?? []).filter((a) => a.role === 'owner');
}

/** "N of M people have set up 2FA." for an owned account. */
export function setUpCountText(account) {
  const m = account.member_count;
  const n = account.members_with_two_factor;
  if (m === undefined || m === null || n === undefined || n === null) return '';
  return `${n} of ${m} ${m === 1 ? 'person has' : 'people have'} set up 2FA.`;
}

/** How many in an owned account lack 2FA, as the tab says it. */
export function withoutText(account) {
  const n = account.members_without_two_factor ?? 0;
  if (n === 0) return word('members.all_set_up');
  return n === 1 ? '1 person has not set up 2FA yet.' : `${n} people have not set up 2FA yet.`;
}

function scheduleQuestion(account, name, days, graceDays) {
  const n = account?.members_without_two_factor;
  const waiting = n === undefined || n === null ? word('enforce.later_waiting_unknown')
    : n === 0 ? word('enforce.all_set_up')
      : n === 1 ? word('enforce.later_waiting_one')
        : fill('enforce.later_waiting_many', { count: n });
  const grace = graceDays === 0 ? word('enforce.grace_none')
    : graceDays === 1 ? word('enforce.grace_one')
      : fill('enforce.grace_many', { days: graceDays });
  return fill('enforce.ask_scheduled', { name, days, waiting, grace });
}

function enforceQuestion(account, on, tf, schedule) {
  const name = account ? account.name : word('enforce.this_account');
  if (!on) return fill('enforce.ask_stop', { name });
  if (schedule?.inDays) return scheduleQuestion(account, name, schedule.inDays, schedule.graceDays);
  const n = account?.members_without_two_factor;
  const waiting = n === undefined || n === null ? word('enforce.now_waiting_unknown')
    : n === 0 ? word('enforce.all_set_up')
      : n === 1 ? word('enforce.now_waiting_one')
        : fill('enforce.now_waiting_many', { count: n });
  const yourself = tf?.enabled ? word('enforce.owner_has_it') : word('enforce.owner_lacks_it');
  return fill('enforce.ask_now', { name, waiting, yourself });
}

/**
 * What the confirmation panel asks before a change. Before enforcement is
 * turned on it says how many people it will hold to setup and that the
 * owner needs 2FA too.
 */
export function question(page, pending, tf) {
  switch (pending.what) {
    case 'switch':
      return pending.method === 'sms' ? word('settings.ask_switch_sms') : word('settings.ask_switch_app');
    case 'regenerate':
      return word('settings.ask_regenerate');
    case 'disable':
      return word('settings.ask_disable');
    case 'enforce':
      return enforceQuestion((page.accounts ?? []).find((a) => a.id === pending.accountId), pending.on, tf, page.schedule);
    default:
      return '';
  }
}

/**
 * One message to the page: { type: 'ask', pending }, { type: 'cancel' },
 * { type: 'confirm', password, confirmed }, { type: 'revoke', id },
 * { type: 'enforce', accountId, on }, or the answer to an effect,
 * { type: 'answered', key, answer, email, id } (`id` the revoked device's).
 * `tf` is the session's two_factor. Returns { effects, next }: `next`,
 * when set, is where the page goes: { wizard, effects } (a switch or new
 * codes), { reload: true, notice } (disable, enforcement) or
 * { signedOut: true }.
 */
export function pageUpdate(page, msg, tf) {
  if (msg.type === 'answered') return pageAnswered(page, msg);
  page.error = null;
  page.notice = null;
  switch (msg.type) {
    case 'ask':
      if (msg.pending.what === 'disable') {
        const why = disableBlocked(tf);
        if (why) {
          page.error = why;
          return { effects: [] };
        }
      }
      page.pending = msg.pending;
      return { effects: [] };
    case 'cancel':
      page.pending = null;
      return { effects: [] };
    case 'enforce':
      // Asked for the password first, like every other 2FA change.
      page.pending = { what: 'enforce', accountId: msg.accountId, on: msg.on };
      page.schedule = noSchedule();
      return { effects: [] };
    case 'schedule': {
      // { inDays: null for now, or 7, 14, 30; graceDays as typed; now:
      // this computer's clock, unix seconds }
      const typed = String(msg.graceDays ?? '').trim();
      const grace = typed === '' ? 0 : Number(typed);
      if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_DAYS) {
        page.error = fill('input.grace_range', { max: MAX_GRACE_DAYS });
        return { effects: [] };
      }
      const inDays = ENFORCE_IN_DAYS.includes(msg.inDays) ? msg.inDays : null;
      page.schedule = { inDays, graceDays: inDays ? grace : 0, from: inDays ? msg.now + inDays * 86_400 : null };
      return { effects: [] };
    }
    case 'remind':
      if (page.busy) return { effects: [] };
      page.busy = true;
      return { effects: [{ send: { path: `/web/accounts/${msg.accountId}/reminders`, body: {} }, key: 'remind', id: msg.accountId }] };
    case 'revoke':
      page.busy = true;
      return { effects: [{ send: { path: `/web/trusted-devices/${msg.id}`, method: 'DELETE' }, key: 'revoke', id: msg.id }] };
    case 'confirm': {
      const p = page.pending;
      if (!p) return { effects: [] };
      if (!msg.password) {
        page.error = word('input.password_to_confirm');
        return { effects: [] };
      }
      if (p.what === 'disable' && !msg.confirmed) {
        page.error = word('input.tick_to_disable');
        return { effects: [] };
      }
      page.busy = true;
      const password = msg.password;
      switch (p.what) {
        case 'switch':
          return { effects: [{ send: { path: '/web/two-factor/switch', body: { method: p.method, password } }, key: 'switch' }] };
        case 'regenerate':
          return { effects: [{ send: { path: '/web/two-factor/recovery-codes', body: { password } }, key: 'regenerate' }] };
        case 'disable':
          return { effects: [{ send: { path: '/web/two-factor/disable', body: { password, confirm: true } }, key: 'disable' }] };
        case 'enforce': {
          const body = { enforce_2fa: p.on, password };
          if (p.on && page.schedule.from !== null) {
            body.from = page.schedule.from;
            body.grace_days = page.schedule.graceDays;
          }
          return {
            effects: [{
              send: { path: `/web/accounts/${p.accountId}/enforcement`, method: 'PUT', body },
              key: 'enforce',
            }],
          };
        }
        default:
          page.busy = false;
          return { effects: [] };
      }
    }
    default:
      return { effects: [] };
  }
}

function pageAnswered(page, { key, answer, email, id }) {
  page.busy = false;
  if (answer.error) {
    if (answer.error.code === 'unauthorized') return { effects: [], next: { signedOut: true } };
    // A refused change keeps the panel for another try; the setting shown
    // is still the one the API has.
    page.error = errorText(answer.error);
    return { effects: [] };
  }
  const value = answer.ok;
  switch (key) {
    case 'switch': {
      page.pending = null;
      const [wizardState, effects] = switchWizard(email, value);
      return { effects: [], next: { wizard: wizardState, effects } };
    }
    case 'regenerate':
      page.pending = null;
      return { effects: [], next: { wizard: codesWizard(email, value.codes), effects: [] } };
    case 'disable':
      page.pending = null;
      return { effects: [], next: { reload: true, notice: word('settings.off') } };
    case 'revoke':
      page.devices = (page.devices ?? []).filter((d) => d.id !== id);
      page.notice = word('settings.device_removed');
      return { effects: [] };
    case 'members':
      page.members[id] = value;
      return { effects: [] };
    case 'remind':
      if (page.members[id]) page.members[id].next_reminder_at = value.next_reminder_at;
      page.notice = value.sent === 1 ? word('reminder.sent_one') : fill('reminder.sent_many', { count: value.sent });
      return { effects: [] };
    case 'enforce':
      page.pending = null;
      for (const a of page.accounts ?? []) {
        if (a.id === value.account_id) {
          a.enforce_2fa = value.enforce_2fa;
          a.members_without_two_factor = value.members_without_two_factor;
          a.enforce_from = value.enforce_from;
          a.grace_days = value.enforce_from ? value.grace_days ?? 0 : undefined;
        }
      }
      page.schedule = noSchedule();
      if (value.enforce_2fa && value.enforce_from) {
        return { effects: [], next: { reload: true, notice: word('enforce.done_scheduled') } };
      }
      // Enforcement applies to the owner too: without 2FA they are now held
      // to setup, which the reload shows.
      return {
        effects: [],
        next: {
          reload: true,
          notice: value.enforce_2fa ? word('enforce.done_required') : word('enforce.done_optional'),
        },
      };
    default:
      return { effects: [] };
  }
}
