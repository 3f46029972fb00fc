// The web app's 2FA logic, with no DOM, no fetch and no timers: what the
// page decides, as state machines that answer each message with effects
// for app.js to carry out (a request to a /web/ route, a copy, a timer, a
// download). It mirrors the extension's `wizard.rs` and
// `settings_state.rs` step for step, with the /web/ routes where those
// send native-host requests, and `tests/web-logic/logic.test.mjs` runs
// their unit tests against it. The words are the extension's (`text.rs`,
// `wizard_view.rs`, `settings.rs`); every rule is the API's.
//
// Answers come back as { ok: value } or { error: { code, message, status } }.

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
  return method === 'sms' ? 'Text message (SMS)' : 'Authenticator app';
}

export function sentence(message) {
  const m = String(message ?? '').trim();
  if (!m) return '';
  const out = m[0].toUpperCase() + m.slice(1);
  return /[.!?]$/.test(out) ? out : `${out}.`;
}

/** An API error as the page shows it (text.rs `error_text`). */
export function errorText(e) {
  if (e.code === 'sms_delivery_failed') return 'We could not send the text message. Try again in a minute.';
  if (e.code === 'reminder_too_soon') return `A reminder already went out for this account today: one a day at most. ${sentence(e.message)}`;
  if (e.code === 'grace_exhausted') return 'No more skips: set up two-factor authentication now to continue.';
  return sentence(e.message);
}

/** The typed code without spaces or dashes, or why it cannot be one. */
export function cleanCode(typed) {
  const code = String(typed).replace(/[\s-]/g, '');
  if (!code) return { error: 'Enter the 6-digit code.' };
  if (!/^\d{6}$/.test(code)) return { error: 'The code is 6 digits, like 123 456.' };
  return { value: code };
}

/** The typed number in E.164, or why it cannot be one. */
export function cleanPhone(typed) {
  const phone = String(typed).replace(/[ \-.()]/g, '');
  if (!phone) return { error: 'Enter your mobile number with its country code.' };
  if (!/^\+\d{8,15}$/.test(phone)) return { error: 'Enter the number with + and the country code, like +1 415 555 0123.' };
  return { value: phone };
}

/** Seconds until "Resend code" works, from the server's two times. */
export function resendCooldown(expiresAt, resendAvailableAt) {
  const sentAt = expiresAt - SMS_CODE_LIFETIME;
  return Math.min(600, Math.max(0, resendAvailableAt - sentAt));
}

/**
 * A date in the person's locale through Intl, `dateStyle: 'medium'`: the
 * extension formats its dates the same way (extension/src/dom.rs), so both
 * read alike. `locale` is for tests; the page passes none.
 */
export function dateText(unixSeconds, locale = undefined) {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }).format(new Date(unixSeconds * 1000));
}

export function requiredText(requiredBy) {
  if (!requiredBy.length) return 'Two-factor authentication is required for your sign-in. Set it up to continue.';
  return `${requiredBy.join(', ')} requires two-factor authentication. Set it up to continue.`;
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
  if (daysLeft <= 0) return `2FA is required since ${date}.`;
  if (daysLeft === 1) return `2FA will be required from ${date} (1 day left).`;
  return `2FA will be required from ${date} (${daysLeft} days left).`;
}

/** Who set a deadline: account names, "the platform" for the server's. */
export function setByText(setBy) {
  const names = (setBy ?? []).map((s) => (s === PLATFORM ? 'the platform' : s));
  return names.length ? `Set by ${names.join(', ')}.` : 'Set by the platform.';
}

export function skipLabel(skipsLeft) {
  return skipsLeft === 1 ? 'Skip for now (1 skip left)' : `Skip for now (${skipsLeft} skips left)`;
}

export function skipsLeftText(skipsLeft) {
  if (skipsLeft === 0) return 'No skips left: set it up before your next sign-in.';
  return skipsLeft === 1 ? 'You can skip setup 1 more time.' : `You can skip setup ${skipsLeft} more times.`;
}

export function nextReminderText(dateTime) {
  return `Reminder sent. The next one can go out from ${dateTime}.`;
}

export function enforceWhenLabel(inDays) {
  return inDays === null ? 'Require now' : `Require in ${inDays} days`;
}

export function graceLabel(days) {
  if (days === 0) return 'No grace period';
  return days === 1 ? '1 day of grace' : `${days} days of grace`;
}

export function scheduledText(date, graceDays) {
  if (!graceDays) return `2FA will be required from ${date}.`;
  return graceDays === 1
    ? `2FA will be required from ${date} (grace period 1 day).`
    : `2FA will be required from ${date} (grace period ${graceDays} days).`;
}

/** The owner's own entry among those who have not set up 2FA. */
export function youText(email) {
  return `${email} (you)`;
}

export const REMINDER_NOT_TO_YOU = 'Send reminder mails everyone listed but you: set up your own 2FA yourself.';

export function notSetUpText(emails) {
  return emails.length ? `Not set up yet: ${emails.join(', ')}.` : 'Everyone in it has set up 2FA.';
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
  if (typeof n !== 'number') return 'Skipped for now.';
  if (n === 0) return 'Skipped for now. That was the last skip.';
  return n === 1 ? 'Skipped for now. 1 skip left.' : `Skipped for now. ${n} skips left.`;
}

/**
 * A date and time of day in the person's locale (the next reminder, at
 * most a day away, needs the hour): extension/src/dom.rs `date_time`.
 */
export function dateTimeText(unixSeconds, locale = undefined) {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(unixSeconds * 1000));
}

export function codesFile(email, codes) {
  return `dialer-2fa recovery codes for ${email}\nEach code works once. Keep this file somewhere safe.\n\n${codes.map((c) => `${c}\n`).join('')}`;
}

/** The key in groups of four, as people type it into an app. */
export function groupedKey(key) {
  return key.replace(/(.{4})/g, '$1 ').trim();
}

export function resendLabel(seconds) {
  return seconds > 0 ? `Resend code (${seconds} s)` : 'Resend code';
}

function copyFailed(error) {
  return `Could not copy to the clipboard (${error.message}). Select the text and copy it by hand.`;
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
  if (w.step === 'codes') return 'Your recovery codes';
  return w.kind === 'switch' ? 'Switch your second step' : 'Set up two-factor authentication';
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
  if (w.step === 'codes') return 'Two-factor authentication is on.';
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
        w.error = 'Enter your password to continue.';
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
        w.error = 'Enter your password to continue.';
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
      w.error = 'Copy the codes first, then press Complete.';
      return running();
    default:
      return running();
  }
}

function answered(w, key, answer) {
  if (key.startsWith('copy-code:')) {
    if (answer.error) w.error = copyFailed(answer.error);
    else w.notice = `Code ${Number(key.slice('copy-code:'.length)) + 1} copied.`;
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
      else w.notice = 'Key copied.';
      return running();
    case 'copy-codes':
      if (answer.error) {
        w.error = copyFailed(answer.error);
      } else if (w.step === 'codes') {
        w.copied = true;
        w.notice = 'Codes copied. Paste them somewhere safe.';
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
  w.notice = `We sent a code to ${sent.phone_hint}.`;
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
  const by = tf.required_by.length ? tf.required_by.join(', ') : 'your organisation';
  return `2FA cannot be turned off: it is required by ${by}.`;
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
  if (n === 0) return 'Everyone in it has set up 2FA.';
  return n === 1 ? '1 person has not set up 2FA yet.' : `${n} people have not set up 2FA yet.`;
}

function scheduleQuestion(account, name, days, graceDays) {
  const n = account?.members_without_two_factor;
  const waiting = n === undefined || n === null ? 'People without 2FA see the date from now on and are reminded before it.'
    : n === 0 ? 'Everyone in it has set up 2FA already.'
      : n === 1 ? '1 person in it has not set up 2FA yet: they see the date from now on and are reminded before it.'
        : `${n} people in it have not set up 2FA yet: they see the date from now on and are reminded before it.`;
  const grace = graceDays === 0 ? 'From that day they can do nothing but set it up.'
    : graceDays === 1 ? 'After that day they may skip setup for 1 more day.'
      : `After that day they may skip setup for ${graceDays} more days.`;
  return `Require 2FA for everyone in ${name} ${days} days from now? ${waiting} ${grace} As an owner you need 2FA by then too.`;
}

function enforceQuestion(account, on, tf, schedule) {
  const name = account ? account.name : 'this account';
  if (!on) return `Stop requiring 2FA in ${name}? People there can then turn it off.`;
  if (schedule?.inDays) return scheduleQuestion(account, name, schedule.inDays, schedule.graceDays);
  const n = account?.members_without_two_factor;
  const waiting = n === undefined || n === null ? 'People without 2FA will be able to do nothing but set it up.'
    : n === 0 ? 'Everyone in it has set up 2FA already.'
      : n === 1 ? '1 person in it has not set up 2FA yet and will be able to do nothing but set it up.'
        : `${n} people in it have not set up 2FA yet and will be able to do nothing but set it up.`;
  const yourself = tf?.enabled
    ? 'As an owner you must have 2FA too; you have it.'
    : 'As an owner you must have 2FA too: you have not set it up, so you will be asked to right away.';
  return `Require 2FA for everyone in ${name}? ${waiting} ${yourself}`;
}

/**
 * What the confirmation panel asks before a change. Before enforcement is
 * turned on it says how many people it will hold to setup and that the
 * owner needs 2FA too.
 */
export function question(page, pending, tf) {
  switch (pending.what) {
    case 'switch':
      return pending.method === 'sms'
        ? 'Switch to text messages? Codes go to the number you used before.'
        : 'Switch to an authenticator app? You will scan a new QR code.';
    case 'regenerate':
      return 'Make 10 new recovery codes? The old ones stop working.';
    case 'disable':
      return 'Turn off two-factor authentication? Your recovery codes and remembered computers are removed too.';
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
        page.error = `The grace period is 0 to ${MAX_GRACE_DAYS} days.`;
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
        page.error = 'Enter your password to confirm.';
        return { effects: [] };
      }
      if (p.what === 'disable' && !msg.confirmed) {
        page.error = 'Tick the box to confirm you want 2FA off.';
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
      return { effects: [], next: { reload: true, notice: 'Two-factor authentication is off.' } };
    case 'revoke':
      page.devices = (page.devices ?? []).filter((d) => d.id !== id);
      page.notice = 'Device removed. It will ask for a code at the next sign-in.';
      return { effects: [] };
    case 'members':
      page.members[id] = value;
      return { effects: [] };
    case 'remind':
      if (page.members[id]) page.members[id].next_reminder_at = value.next_reminder_at;
      page.notice = value.sent === 1 ? 'Reminder sent to 1 person.' : `Reminder sent to ${value.sent} people.`;
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
        return { effects: [], next: { reload: true, notice: '2FA is now scheduled for everyone in this account.' } };
      }
      // Enforcement applies to the owner too: without 2FA they are now held
      // to setup, which the reload shows.
      return {
        effects: [],
        next: {
          reload: true,
          notice: value.enforce_2fa ? '2FA is now required for everyone in this account.' : '2FA is now optional in this account.',
        },
      };
    default:
      return { effects: [] };
  }
}
