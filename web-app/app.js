// The web app's page script. It never holds a session, challenge or device
// token: those are HttpOnly cookies. The only secret-ish value it touches is
// a handoff code (one use, about a minute), which it passes between the
// server and the dialer-2fa extension so one verification signs in both.
//
// A module: what the 2FA pages decide is in logic.mjs, which node's unit
// tests import too (tests/web-logic/).
import * as logic from './logic.mjs';

const EXTENSION_ID = document.querySelector('meta[name="dialer-2fa-extension"]').content;
const $ = (id) => document.getElementById(id);
const SCREENS = ['loading', 'sign-in', 'challenge', 'view', 'signed-in'];
let challenge = null; // { method, phone_hint, expires_at }

// `screen` is a static section; the 2FA pages are drawn into `view` and
// name themselves (`name`) in #app's data-screen, as the extension's do.
function show(screen, name) {
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== screen;
  $('app').dataset.screen = name ?? screen;
}

function showError(id, message) {
  const el = $(id);
  el.textContent = message || '';
  el.hidden = !message;
}

async function call(path, body, method) {
  const init = { method: method ?? (body === undefined ? 'GET' : 'POST'), credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw Object.assign(new Error('The server did not answer. Check your connection and try again.'), { code: 'unreachable' });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(data?.error?.message ?? `The server answered ${response.status}.`);
    error.code = data?.error?.code;
    error.status = response.status;
    throw error;
  }
  return data;
}

// Asks the extension, if it is installed and lets this origin talk to it.
// Resolves to its answer, or null when there is no extension to answer.
function askExtension(message) {
  if (!(window.chrome && chrome.runtime && chrome.runtime.sendMessage)) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 5000);
    try {
      chrome.runtime.sendMessage(EXTENSION_ID, message, (reply) => {
        clearTimeout(timer);
        void chrome.runtime.lastError; // no extension, or it did not answer
        resolve(reply ?? null);
      });
    } catch (e) {
      clearTimeout(timer);
      resolve(null);
    }
  });
}

// New recovery codes, with the extension present: the person may keep them
// in it (issue 15), replacing the codes it keeps. The extension's host keeps
// them only if they are this person's current batch at the API. Chrome
// gives a page `chrome.runtime` only when an extension lets this origin
// talk to it, so without one the button is not offered. The outcome lives
// on the wizard (`w.inExtension`), which is drawn again after every change.
function keepInExtensionButton(parent, w) {
  if (!(window.chrome && chrome.runtime && chrome.runtime.sendMessage)) return;
  const state = w.inExtension ?? {};
  button(parent, 'keep-in-extension', 'Keep them in the dialer-2fa extension', async () => {
    w.inExtension = { busy: true };
    drawWizard();
    const reply = await askExtension({ type: 'keep_recovery_codes', codes: w.codes });
    w.inExtension = reply?.ok
      ? { kept: true, text: 'Kept in the dialer-2fa extension on this computer, in place of the codes it kept before.' }
      : { text: reply ? `The extension did not keep them: ${reply.error?.message ?? 'no reason given'}` : 'The dialer-2fa extension is not installed in this browser.' };
    if (wiz === w) drawWizard();
  }, { enabled: !state.busy && !state.kept });
  if (state.text) el(parent, 'p', state.text, { id: 'keep-in-extension-status', class: state.kept ? 'notice' : 'problem', role: 'status' });
}

function formatDate(unixSeconds) {
  if (!unixSeconds) return 'not remembered (the code is asked at each sign-in)';
  return logic.dateText(unixSeconds);
}

// Fetches who is signed in and shows where they are: the forced setup
// wizard when 2FA is required and not set up (nothing else is offered),
// else the page the address names (the home page by default).
async function showSignedIn(syncNote) {
  const session = await call('/web/session');
  me = session;
  const tf = session.two_factor;
  $('who').textContent = session.email;
  $('method').textContent = !tf.enabled ? 'off' : tf.method === 'sms' ? `text message to ${tf.phone_hint ?? 'your phone'}` : logic.methodName('authenticator');
  $('verified-until').textContent = formatDate(tf.verified_until);
  $('codes-left').textContent = String(tf.recovery_codes_remaining);
  if (syncNote !== undefined) $('sync-status').textContent = syncNote;
  await route();
}

// After verifying here, hand the verification to the extension.
async function offerToExtension() {
  let code;
  try {
    code = (await call('/web/handoff', {})).code;
  } catch (e) {
    return `Could not prepare the extension sign-in: ${e.message}`;
  }
  const reply = await askExtension({ type: 'handoff_offer', code });
  if (!reply) return 'The dialer-2fa extension is not installed in this browser.';
  if (reply.ok) return 'The dialer-2fa extension on this computer is signed in too.';
  // Signed in as someone else: only the person, in the extension, may switch.
  if (reply.error?.code === 'consent_required') return reply.error.message;
  return `The extension could not sign in: ${reply.error?.message ?? 'no reason given'}`;
}

// Without a session here, a signed-in extension can hand us one. The first
// time on a computer the person must allow it in the extension's popup (a
// page cannot): the answer is then 'consent', and the page offers Try again.
async function takeFromExtension() {
  const reply = await askExtension({ type: 'handoff_request' });
  if (reply && !reply.ok && reply.error?.code === 'consent_required') return 'consent';
  if (!reply || !reply.ok || !reply.code) return 'no';
  try {
    await call('/web/handoff/redeem', { code: reply.code });
    return 'ok';
  } catch (e) {
    return 'no';
  }
}

// Signs in through the extension if it can; otherwise shows the form, with
// the way to allow the extension when it waits for the person.
async function signInThroughExtension() {
  const outcome = await takeFromExtension();
  if (outcome === 'ok') {
    try {
      $('extension-consent').hidden = true;
      return await showSignedIn('Signed in through the dialer-2fa extension on this computer.');
    } catch (e) { /* fall through to the form */ }
  }
  $('extension-consent').hidden = outcome !== 'consent';
  show('sign-in');
  $('email').focus();
}

$('extension-retry').addEventListener('click', async () => {
  $('extension-retry').disabled = true;
  try {
    await signInThroughExtension();
  } finally {
    $('extension-retry').disabled = false;
  }
});

function showChallenge(outcome) {
  challenge = outcome;
  const sms = outcome.method === 'sms';
  $('challenge-prompt').textContent = sms
    ? `We sent a 6-digit code to ${outcome.phone_hint ?? 'your phone'}. Enter it below.`
    : 'Enter the 6-digit code from your authenticator app.';
  $('resend-button').hidden = !sms;
  useRecovery(false);
  showError('challenge-error', '');
  show('challenge');
  $('code').value = '';
  $('code').focus();
}

function useRecovery(on) {
  $('code-label').hidden = on;
  $('recovery-label').hidden = !on;
  $('code').required = !on;
  $('use-recovery').textContent = on ? 'Use a code instead' : 'Use a recovery code instead';
  (on ? $('recovery-code') : $('code')).focus();
}

async function afterVerified() {
  const note = await offerToExtension();
  await showSignedIn(note);
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = $('email').value.trim();
  const password = $('password').value;
  if (!email || !password) return showError('sign-in-error', 'Enter your email and your password.');
  showError('sign-in-error', '');
  $('sign-in-button').disabled = true;
  try {
    const outcome = await call('/web/sign-in', { email, password });
    $('password').value = '';
    if (outcome.status === 'two_factor_required') showChallenge(outcome);
    else if (outcome.status === 'two_factor_setup_required') await showSignedIn();
    else await afterVerified();
  } catch (e) {
    showError('sign-in-error', e.message);
  } finally {
    $('sign-in-button').disabled = false;
  }
});

$('challenge-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const recovery = !$('recovery-label').hidden;
  const body = { remember_device: $('remember').checked };
  if (recovery) {
    body.recovery_code = $('recovery-code').value.trim();
    if (!body.recovery_code) return showError('challenge-error', logic.word('input.recovery_empty'));
  } else {
    body.code = $('code').value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(body.code)) return showError('challenge-error', 'The code is 6 digits.');
  }
  $('verify-button').disabled = true;
  try {
    await call('/web/challenge', body);
    await afterVerified();
  } catch (e) {
    showError('challenge-error', e.message);
    if (e.code === 'code_expired' || e.code === 'too_many_attempts') show('sign-in');
  } finally {
    $('verify-button').disabled = false;
  }
});

$('use-recovery').addEventListener('click', () => useRecovery($('recovery-label').hidden));

$('resend-button').addEventListener('click', async () => {
  const button = $('resend-button');
  button.disabled = true;
  try {
    const sent = await call('/web/challenge/resend', {});
    showError('challenge-error', '');
    const wait = Math.max(0, sent.resend_available_at - Math.floor(Date.now() / 1000));
    button.textContent = `New code sent to ${sent.phone_hint}`;
    setTimeout(() => { button.disabled = false; button.textContent = 'Send a new code'; }, wait * 1000);
  } catch (e) {
    showError('challenge-error', e.message);
    button.disabled = false;
  }
});

async function signOut(path) {
  me = null;
  wiz = null;
  if (location.hash) history.replaceState(null, '', location.pathname);
  try {
    await call(path, {});
  } catch (e) {
    // Already signed out on the server: the page is signed out either way.
  }
  $('extension-consent').hidden = true;
  show('sign-in');
  $('email').focus();
}
$('sign-out').addEventListener('click', () => signOut('/web/sign-out'));
$('sign-out-everywhere').addEventListener('click', () => signOut('/web/sign-out-everywhere'));

// ---- Two-factor authentication: My Account → Two-Factor Authentication,
// the setup wizard and the owner's Account Settings tab. What they decide
// is in logic.mjs (the extension's wizard.rs and settings_state.rs, as
// DOM-free state machines with their unit tests); this file draws their
// state and carries out the effects they ask for. Every rule is the
// API's, through the /web/ routes.

let me = null; // the last GET /web/session: { email, two_factor }
let wiz = null; // the wizard (logic.setupWizard and friends), while it runs
let page = null; // My Account or the owner's tab (logic.settingsPage)

const { MY_2FA } = logic;

// A promise's outcome in the shape the logic reads: { ok } or { error }.
function answerOf(promise) {
  return promise.then(
    (ok) => ({ ok: ok ?? null }),
    (e) => ({ error: { code: e.code, message: e.message, status: e.status } }),
  );
}

// ---- A little DOM kit: the view is drawn again after every change.

function el(parent, tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === undefined || v === null) continue;
    node.setAttribute(k, v === true ? '' : v);
  }
  parent.appendChild(node);
  return node;
}

function button(parent, id, label, onClick, { enabled = true, cls } = {}) {
  const b = el(parent, 'button', label, { id, type: 'button', class: cls, disabled: !enabled });
  b.addEventListener('click', onClick);
  return b;
}

function form(parent, id, onSubmit) {
  const f = el(parent, 'form', '', { id, novalidate: true });
  f.addEventListener('submit', (event) => {
    event.preventDefault();
    onSubmit();
  });
  return f;
}

function field(parent, id, label, type, attrs = {}) {
  const l = el(parent, 'label', label);
  return el(l, 'input', '', { id, name: id, type, ...attrs });
}

function codeField(parent, label) {
  return field(parent, 'setup-code', label, 'text', { autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: '12' });
}

// The error right under the field it is about, tied to it
// (aria-describedby, aria-invalid) and announced, as the extension's
// field_error does; returns whether there was one, so the page's other
// messages leave it out.
function fieldError(input, error) {
  if (!input || !error) return false;
  const p = el(input.closest('form'), 'p', error, { id: 'error', class: 'problem', role: 'alert', 'aria-live': 'assertive' });
  (input.closest('label') ?? input).after(p);
  input.setAttribute('aria-describedby', 'error');
  input.setAttribute('aria-invalid', 'true');
  return true;
}

function messages(parent, error, notice) {
  if (error) el(parent, 'p', error, { id: 'error', class: 'problem', role: 'alert', 'aria-live': 'assertive' });
  if (notice) el(parent, 'p', notice, { id: 'notice', class: 'notice', role: 'status', 'aria-live': 'polite' });
}

// Keyboard use (issue 13), as the extension's pages do it: a redraw of the
// same view keeps the focus where it was; a field that appears with the
// redraw and asks for it (a confirmation's password) gets it, and when the
// panel closes, the focus returns to the control that opened it.
let viewFocus = { name: null, opener: '' };

function view(name, draw) {
  // One banner on the page at a time: the home page's goes while a view shows.
  $('home-banner').replaceChildren();
  $('home-notice').hidden = true;
  const root = $('screen-view');
  const same = viewFocus.name === name && $('app').dataset.screen === name;
  const focused = root.contains(document.activeElement) ? document.activeElement.id : '';
  const before = new Set([...root.querySelectorAll('[id]')].map((e) => e.id));
  root.replaceChildren();
  draw(root);
  show('view', name);
  viewFocus.name = name;
  const wanting = [...root.querySelectorAll('[data-focus]')];
  if (!same) {
    viewFocus.opener = '';
    wanting[0]?.focus();
    return;
  }
  const appeared = wanting.find((e) => e.id && !before.has(e.id));
  if (appeared) {
    viewFocus.opener = focused;
    appeared.focus();
  } else {
    (document.getElementById(focused) ?? document.getElementById(viewFocus.opener) ?? wanting[0])?.focus();
  }
}

// The banner of a scheduled 2FA deadline (issue 14), as the extension
// draws it: the date and days left, who set it, the skips left after one
// was used, and "Set up now".
function deadlineBanner(parent, d, onSetUp) {
  const b = el(parent, 'section', '', { class: 'banner', id: 'deadline-banner', role: 'status', 'data-days-left': String(d.days_left), 'data-at': String(d.at) });
  el(b, 'p', logic.deadlineText(d.days_left, logic.dateText(d.at)), { id: 'deadline-text' });
  el(b, 'p', logic.setByText(d.set_by), { id: 'deadline-set-by', class: 'muted' });
  if (typeof d.skips_left === 'number') el(b, 'p', logic.skipsLeftText(d.skips_left), { id: 'deadline-skips', class: 'muted' });
  button(b, 'set-up-now', logic.word('deadline.set_up_now'), onSetUp, { cls: 'primary' });
}

// "Skip for now" on the forced setup during the grace period: one skip,
// counted by the API, then the page as a full session sees it.
async function skipSetup(w) {
  w.busy = true;
  drawWizard();
  try {
    await call('/web/two-factor/setup/skip', {});
  } catch (e) {
    w.busy = false;
    if (e.status === 401 && e.code === 'unauthorized') return signOut('/web/sign-out');
    if (e.code === 'grace_exhausted' && me?.two_factor?.deadline) me.two_factor.deadline.skips_left = 0;
    w.error = logic.errorText(e);
    if (wiz === w) drawWizard();
    return;
  }
  wiz = null;
  await showSignedIn();
  const notice = logic.skippedNotice(me);
  if (page) {
    page.notice = notice;
    redraw();
  } else if (!$('screen-signed-in').hidden) {
    $('home-notice').textContent = notice;
    $('home-notice').hidden = false;
  }
}

async function copyText(text) {
  await navigator.clipboard.writeText(text);
}

function download(fileName, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = el(document.body, 'a', '', { href: url, download: fileName, hidden: true });
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}


// ---- The wizard: logic.wizardUpdate decides, this draws and carries out.

function startWizard(w, effects = []) {
  page = null;
  wiz = w;
  wizardEffects(w, effects);
  drawWizard();
}

function wizardDo(msg) {
  const w = wiz;
  if (!w) return;
  const { effects, finished } = logic.wizardUpdate(w, msg);
  if (finished) return finishWizard(logic.finishedNotice(w));
  wizardEffects(w, effects);
  // A countdown second changes only the Resend button: drawing the whole
  // step again would wipe a code being typed.
  if (msg.type === 'answered' && msg.key === 'tick') return drawResend(w);
  drawWizard();
}

function wizardEffects(w, effects) {
  for (const fx of effects) {
    const back = (answer) => {
      if (wiz === w) wizardDo({ type: 'answered', key: fx.key, answer });
    };
    if (fx.send) {
      answerOf(call(fx.send.path, fx.send.body)).then((answer) => {
        if (wiz !== w) return;
        if (answer.error?.status === 401 && answer.error.code === 'unauthorized') return signOut('/web/sign-out');
        back(answer);
      });
    } else if (fx.copy !== undefined) {
      answerOf(copyText(fx.copy)).then(back);
    } else if (fx.after) {
      setTimeout(() => back({ ok: null }), fx.after);
    } else if (fx.download) {
      download(fx.download.fileName, fx.download.text);
    }
  }
}

function drawResend(w) {
  const b = $('resend');
  if (!b) return;
  b.textContent = logic.resendLabel(w.resendIn);
  b.dataset.cooldown = String(w.resendIn);
  b.disabled = w.resendIn > 0 || w.busy;
}

async function finishWizard(notice) {
  wiz = null;
  // pushState, not location.hash: no hashchange, so one drawing only.
  history.pushState(null, '', MY_2FA);
  await showSignedIn();
  if (page) {
    page.notice = notice;
    drawMy2fa();
  }
}

function drawWizard() {
  const w = wiz;
  view(logic.wizardScreen(w), (app) => {
    el(app, 'h1', logic.wizardTitle(w));
    if (w.forced && w.step !== 'codes') el(app, 'p', logic.requiredText(me.two_factor.required_by), { id: 'required' });
    const back = (parent) => {
      if (logic.canGoBack(w)) button(parent, 'back', logic.word('button.back'), () => wizardDo({ type: 'back' }));
    };
    let errorShown = false;
    const password = (parent) => {
      if (w.needsPassword) return field(parent, 'setup-password', logic.word('label.password'), 'password', { autocomplete: 'current-password' });
      return null;
    };
    const typedPassword = () => ($('setup-password') ? $('setup-password').value : '');
    switch (w.step) {
      case 'choose':
        el(app, 'p', logic.word('wizard.choose'));
        button(app, 'choose-app', logic.word('method.authenticator'), () => wizardDo({ type: 'choose', method: 'authenticator' })).dataset.focus = '';
        button(app, 'choose-sms', logic.word('method.sms'), () => wizardDo({ type: 'choose', method: 'sms' }));
        break;
      case 'app-start': {
        el(app, 'p', logic.word('wizard.app_start'));
        const f = form(app, 'app-start-form', () => wizardDo({ type: 'start-app', password: typedPassword() }));
        errorShown = fieldError(password(f), w.error);
        el(f, 'button', logic.word('wizard.start_setup'), { id: 'start-setup', type: 'submit', disabled: w.busy, 'data-focus': true });
        back(f);
        break;
      }
      case 'app-scan':
        el(app, 'p', logic.word('wizard.scan'));
        el(app, 'img', '', { id: 'qr', alt: logic.word('wizard.qr_alt'), width: '180', height: '180', src: `data:image/png;base64,${w.setup.qr_png_base64}` });
        el(app, 'p', logic.groupedKey(w.setup.secret_base32), { id: 'secret-key', class: 'code secret' });
        button(app, 'copy-key', logic.word('wizard.copy_key'), () => wizardDo({ type: 'copy-key' }));
        button(app, 'continue', logic.word('button.continue'), () => wizardDo({ type: 'continue' }), { cls: 'primary' }).dataset.focus = '';
        break;
      case 'app-code':
      case 'sms-code': {
        const sms = w.step === 'sms-code';
        const f = form(app, sms ? 'sms-code-form' : 'app-code-form', () => wizardDo({ type: 'verify', code: $('setup-code').value }));
        const code = codeField(f, sms ? logic.word('wizard.code_sms') : logic.word('wizard.code_app'));
        code.dataset.focus = '';
        errorShown = fieldError(code, w.error);
        el(f, 'button', logic.word('button.verify'), { id: 'verify', type: 'submit', disabled: w.busy });
        if (sms) {
          const b = button(f, 'resend', logic.resendLabel(w.resendIn), () => wizardDo({ type: 'resend' }), { enabled: w.resendIn === 0 && !w.busy });
          b.dataset.cooldown = String(w.resendIn);
        }
        break;
      }
      case 'sms-phone': {
        const f = form(app, 'sms-phone-form', () => wizardDo({ type: 'submit-phone', phone: $('phone').value, password: typedPassword() }));
        const phone = field(f, 'phone', logic.word('wizard.phone'), 'tel', { autocomplete: 'tel', placeholder: '+1 415 555 0123', value: w.phone ?? undefined, 'data-focus': true });
        const typed = password(f);
        errorShown = fieldError(typed ?? phone, w.error);
        el(f, 'button', logic.word('button.continue'), { id: 'continue', type: 'submit', disabled: w.busy });
        back(f);
        break;
      }
      case 'codes': {
        el(app, 'p', logic.word('wizard.codes_intro'));
        // One code a row: its number, the code (never wrapped) and its own
        // Copy, as in the extension.
        const list = el(app, 'ol', '', { id: 'recovery-codes', class: 'codes' });
        w.codes.forEach((code, i) => {
          const li = el(list, 'li', '');
          el(li, 'span', `${i + 1}.`, { class: 'n' });
          el(li, 'code', code, { class: 'recovery-code' });
          button(li, `copy-code-${i + 1}`, logic.word('button.copy'), () => wizardDo({ type: 'copy-code', index: i }))
            .setAttribute('aria-label', logic.fill('codes.copy_one', { number: i + 1 }));
        });
        button(app, 'copy-codes', logic.word('codes.copy_all'), () => wizardDo({ type: 'copy-codes' })).dataset.focus = '';
        button(app, 'download-codes', logic.word('codes.download'), () => wizardDo({ type: 'download-codes' }));
        keepInExtensionButton(app, w);
        // R4: Complete only once the codes were copied.
        button(app, 'complete', logic.word('wizard.complete'), () => wizardDo({ type: 'complete' }), { enabled: logic.canComplete(w), cls: 'primary' });
        if (!w.copied) el(app, 'p', logic.word('codes.complete_hint'), { class: 'muted' });
        break;
      }
      default:
        break;
    }
    messages(app, errorShown ? null : w.error, w.notice);
    // Setup that is required offers nothing else but signing out; the
    // codes are shown once, behind the Copy gate.
    const skips = w.forced && w.step !== 'codes' ? logic.skipsOffered(me) : null;
    if (skips) button(app, 'skip', logic.skipLabel(skips), () => skipSetup(w), { enabled: !w.busy });
    if (w.forced) button(app, 'setup-sign-out', logic.word('button.sign_out'), () => signOut('/web/sign-out'), { cls: 'link' });
    else if (logic.canLeaveWizard(w)) button(app, 'cancel', logic.word('button.cancel'), () => { wiz = null; route(); }, { cls: 'link' });
  });
}

// ---- My Account → Two-Factor Authentication and the owner's tab:
// logic.pageUpdate decides, this draws and carries out.

function pageDo(msg) {
  const here = page;
  if (!here) return;
  const { effects, next } = logic.pageUpdate(here, { ...msg, email: me?.email }, me?.two_factor);
  for (const fx of effects) {
    answerOf(call(fx.send.path, fx.send.body, fx.send.method)).then((answer) => {
      if (page === here) pageDo({ type: 'answered', key: fx.key, id: fx.id, answer });
    });
  }
  if (next) return pageGo(here, next);
  redraw();
}

async function pageGo(here, next) {
  if (next.signedOut) return signOut('/web/sign-out');
  if (next.wizard) return startWizard(next.wizard, next.effects);
  if (next.reload) {
    try {
      await showSignedIn();
    } catch (e) {
      here.error = logic.errorText(e);
      return redraw();
    }
    if (page?.kind === here.kind) {
      page.notice = next.notice;
      redraw();
    }
  }
}

function redraw() {
  if (page?.kind === 'owner') drawOwnerTab();
  else if (page) drawMy2fa();
}

async function openMy2fa() {
  wiz = null;
  page = logic.settingsPage('my');
  try {
    page.devices = (await call('/web/trusted-devices')).devices;
  } catch (e) {
    page.error = logic.errorText(e);
  }
  drawMy2fa();
}

// The panel of a change that needs the password again.
function confirmPanel(parent, question, { disable = false, schedule = false } = {}) {
  const f = form(parent, 'confirm-form', () => pageDo({
    type: 'confirm',
    password: $('confirm-password').value,
    confirmed: disable ? $('confirm-disable').checked : true,
  }));
  f.className = 'confirm';
  if (schedule) scheduleChoice(f);
  el(f, 'p', question, { id: 'confirm-question' });
  if (disable) {
    const l = el(f, 'label', '', { class: 'check' });
    el(l, 'input', '', { id: 'confirm-disable', type: 'checkbox' });
    l.append(` ${logic.word('settings.disable_tick')}`);
  }
  const typed = field(f, 'confirm-password', logic.word('label.password'), 'password', { autocomplete: 'current-password', 'data-focus': true });
  fieldError(typed, page.error);
  el(f, 'button', logic.word('button.confirm'), { id: 'confirm', type: 'submit', disabled: page.busy });
  button(f, 'cancel', logic.word('button.cancel'), () => pageDo({ type: 'cancel' }));
}

function drawMy2fa() {
  const tf = me.two_factor;
  view('my-2fa', (app) => {
    el(app, 'p', '', { class: 'crumbs' }).append('My Account → Two-Factor Authentication');
    el(app, 'h1', logic.word('settings.title'));
    el(app, 'p', logic.fill('settings.signed_in_as', { email: me.email }), { id: 'my-who' });
    // With a confirmation panel open, its error sits under its password field.
    const panel = Boolean(tf.enabled && tf.method && page.pending);
    messages(app, panel ? null : page.error, page.notice);
    const deadline = logic.deadlineShown(tf);
    if (deadline) deadlineBanner(app, deadline, () => startWizard(logic.setupWizard(me.email)));
    const section = el(app, 'section', '', { class: 'card', id: 'method-section' });
    if (tf.enabled && tf.method) {
      const line = tf.method === 'sms' && tf.phone_hint ? logic.fill('method.sms_to', { phone: tf.phone_hint }) : logic.methodName(tf.method);
      el(section, 'p', logic.fill('settings.current_method', { method: line }), { id: 'current-method', 'data-method': tf.method });
      const other = tf.method === 'sms' ? 'authenticator' : 'sms';
      const ask = (pending) => () => pageDo({ type: 'ask', pending });
      button(section, 'switch', other === 'sms' ? logic.word('settings.switch_to_sms') : logic.word('settings.switch_to_app'), ask({ what: 'switch', method: other }), { enabled: !page.busy });
      el(section, 'p', `${tf.recovery_codes_remaining} recovery codes left.`, { id: 'codes-left-2fa' });
      button(section, 'regenerate', logic.word('settings.new_codes'), ask({ what: 'regenerate' }), { enabled: !page.busy });
      const blocked = logic.disableBlocked(tf);
      button(section, 'disable', logic.word('settings.disable'), ask({ what: 'disable' }), { enabled: !blocked && !page.busy });
      if (blocked) el(section, 'p', blocked, { id: 'disable-reason', class: 'muted' });
      const p = page.pending;
      if (p) confirmPanel(section, logic.question(page, p, tf), { disable: p.what === 'disable' });
    } else {
      el(section, 'p', logic.word('settings.off'), { id: 'current-method' });
      button(section, 'set-up', logic.word('settings.set_up'), () => startWizard(logic.setupWizard(me.email)), { cls: 'primary' });
    }
    if (page.devices) {
      const devices = el(app, 'section', '', { class: 'card' });
      el(devices, 'h2', logic.word('settings.remembered'));
      // 60: the API's trusted-device days (shared::rules::TRUSTED_DEVICE_DAYS).
      if (!page.devices.length) el(devices, 'p', logic.fill('settings.none_remembered', { days: 60 }), { class: 'muted' });
      const list = el(devices, 'ul', '', { id: 'devices' });
      for (const d of page.devices) {
        const li = el(list, 'li', '', { 'data-device': String(d.id) });
        const name = d.label ?? logic.word('settings.a_computer');
        const date = logic.dateText(d.expires_at);
        el(li, 'span', d.current ? logic.fill('settings.device_here', { name, date }) : logic.fill('settings.device', { name, date }));
        button(li, `revoke-${d.id}`, logic.word('button.revoke'), () => pageDo({ type: 'revoke', id: d.id }), { enabled: !page.busy });
      }
    }
    const everywhere = el(app, 'section', '', { class: 'card' });
    el(everywhere, 'h2', 'Sessions');
    el(everywhere, 'p', 'Signs you out on every computer and in the extension; remembered computers still skip the code.', { class: 'muted' });
    button(everywhere, 'sign-out-everywhere-2fa', 'Sign out everywhere', () => signOut('/web/sign-out-everywhere'));
    el(app, 'a', logic.word('button.back'), { id: 'home', href: '#/' });
  });
}

// ---- Account Settings → Two-Factor Authentication: owners only. The page
// hides it from members; the API refuses them whatever the page does (and
// gives them no counts).

async function openOwnerTab() {
  wiz = null;
  page = logic.settingsPage('owner');
  let accounts = [];
  try {
    accounts = (await call('/web/accounts')).accounts;
  } catch (e) {
    page.error = logic.errorText(e);
  }
  page.accounts = logic.owned(accounts);
  // Who has not set up 2FA, per owned account (issue 14).
  const here = page;
  await Promise.all(here.accounts.map((a) => answerOf(call(`/web/accounts/${a.id}/members`))
    // A list that could not be read is left out, not an error of the tab.
    .then((answer) => answer.ok && logic.pageUpdate(here, { type: 'answered', key: 'members', id: a.id, answer }))));
  if (page !== here) return;
  if (!page.accounts.length) {
    return view('owner-2fa-refused', (app) => {
      el(app, 'h1', 'Two-Factor Authentication');
      el(app, 'p', "Only the account's owners can see or change its 2FA enforcement.", { id: 'problem', class: 'problem' });
      el(app, 'a', logic.word('button.back'), { id: 'home', href: '#/' });
    });
  }
  drawOwnerTab();
}

function drawOwnerTab() {
  view('owner-2fa', (app) => {
    el(app, 'p', '', { class: 'crumbs' }).append('Account Settings → Two-Factor Authentication');
    el(app, 'h1', 'Two-Factor Authentication');
    const panel = page.pending?.what === 'enforce' && page.accounts.some((a) => a.id === page.pending.accountId);
    messages(app, panel ? null : page.error, page.notice);
    const list = el(app, 'ul', '', { id: 'accounts' });
    for (const a of page.accounts) {
      const li = el(list, 'li', '', { 'data-account': a.name, class: 'card' });
      const asked = page.pending?.what === 'enforce' && page.pending.accountId === a.id ? page.pending.on : null;
      const id = asked === null ? `enforce-${a.id}` : `enforce-${a.id}-asked`;
      const l = el(li, 'label', '', { class: 'check' });
      const box = el(l, 'input', '', { id, type: 'checkbox', 'data-account': a.name, disabled: page.busy });
      box.checked = asked ?? a.enforce_2fa ?? false;
      l.append(` ${logic.fill('settings.enforce_box', { name: a.name })}`);
      box.addEventListener('change', () => pageDo({ type: 'enforce', accountId: a.id, on: box.checked }));
      if (a.enforce_from) {
        el(li, 'p', logic.scheduledText(logic.dateText(a.enforce_from), logic.graceOf(page, a.id)), { id: `scheduled-${a.id}` });
      }
      el(li, 'p', logic.setUpCountText(a), { id: `set-up-${a.id}`, class: 'count' });
      el(li, 'p', logic.withoutText(a), { class: 'muted', id: `without-${a.id}` });
      if (asked !== null) confirmPanel(li, logic.question(page, page.pending, me.two_factor), { schedule: asked === true });
      rollout(li, a.id);
    }
    el(app, 'a', logic.word('button.back'), { id: 'home', href: '#/' });
  });
}

// Who in an owned account has not set up 2FA, and "Send reminder": once
// sent, the button waits for the next allowed time (issue 14).
function rollout(li, id) {
  const missing = logic.notSetUp(page, id);
  if (!missing) return;
  el(li, 'p', logic.notSetUpText(missing), { id: `not-set-up-${id}`, 'data-count': String(missing.length) });
  if (logic.youNotSetUp(page, id)) el(li, 'p', logic.REMINDER_NOT_TO_YOU, { id: `reminder-not-you-${id}`, class: 'muted' });
  // Nobody a reminder would reach: the owner alone is not set up.
  if (!logic.reminderRecipients(page, id)) return;
  const next = page.members[id]?.next_reminder_at;
  button(li, `remind-${id}`, logic.word('reminder.send'), () => pageDo({ type: 'remind', accountId: id }), { enabled: !next && !page.busy });
  if (next) el(li, 'p', logic.nextReminderText(logic.dateTimeText(next)), { id: `next-reminder-${id}`, class: 'muted' });
}

// "Require now" or "Require from" 7, 14 or 30 days ahead, and the grace
// days, in the panel that turns enforcement on.
function scheduleChoice(f) {
  const set = el(f, 'fieldset', '', { class: 'when' });
  el(set, 'legend', logic.word('settings.when'));
  const choose = (inDays) => pageDo({
    type: 'schedule', inDays, graceDays: $('grace-days') ? $('grace-days').value : '0', now: Math.floor(Date.now() / 1000),
  });
  for (const inDays of [null, ...logic.ENFORCE_IN_DAYS]) {
    const l = el(set, 'label', '', { class: 'check' });
    const r = el(l, 'input', '', { id: inDays === null ? 'enforce-when-now' : `enforce-when-${inDays}`, type: 'radio', name: 'enforce-when' });
    r.checked = page.schedule.inDays === inDays;
    l.append(` ${logic.enforceWhenLabel(inDays)}`);
    r.addEventListener('change', () => choose(inDays));
  }
  if (page.schedule.inDays !== null) {
    const g = field(set, 'grace-days', logic.fill('settings.grace_field', { max: logic.MAX_GRACE_DAYS }), 'number', { min: '0', max: String(logic.MAX_GRACE_DAYS), value: String(page.schedule.graceDays) });
    g.addEventListener('change', () => choose(page.schedule.inDays));
    el(set, 'p', logic.graceLabel(page.schedule.graceDays), { id: 'grace-label', class: 'muted' });
  }
}

// ---- Where the address leads, once signed in.

async function route() {
  if (!me) return;
  const to = logic.landing(me, location.hash);
  if (to.wizard) return startWizard(to.wizard);
  page = null;
  if (to.page === 'my') return openMy2fa();
  if (to.page === 'owner') return openOwnerTab();
  wiz = null;
  show('signed-in');
  const deadline = logic.deadlineShown(me.two_factor);
  $('home-banner').replaceChildren();
  if (deadline) deadlineBanner($('home-banner'), deadline, () => startWizard(logic.setupWizard(me.email)));
  let owner = false;
  try {
    owner = (await call('/web/accounts')).accounts.some((a) => a.role === 'owner');
  } catch (e) { /* the menu then offers My Account only */ }
  $('nav-owner-item').hidden = !owner;
}

window.addEventListener('hashchange', async () => {
  if (!me) return;
  // The address may be stale (another tab changed things): ask again.
  try {
    await showSignedIn();
  } catch (e) {
    if (e.status === 401) signOut('/web/sign-out');
  }
});

(async function start() {
  try {
    await showSignedIn();
    return;
  } catch (e) {
    if (e.status !== 401) {
      show('sign-in');
      return showError('sign-in-error', e.message);
    }
  }
  await signInThroughExtension();
})();
