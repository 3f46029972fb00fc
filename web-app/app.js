// The web app's page script. It never holds a session, challenge or device
// token: those are HttpOnly cookies. The only secret-ish value it touches is
// a handoff code (one use, about a minute), which it passes between the
// server and the dialer-2fa extension so one verification signs in both.
'use strict';

const EXTENSION_ID = document.querySelector('meta[name="dialer-2fa-extension"]').content;
const $ = (id) => document.getElementById(id);
const SCREENS = ['loading', 'sign-in', 'challenge', 'setup-required', 'signed-in'];
let challenge = null; // { method, phone_hint, expires_at }

function show(screen) {
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== screen;
  $('app').dataset.screen = screen;
}

function showError(id, message) {
  const el = $(id);
  el.textContent = message || '';
  el.hidden = !message;
}

async function call(path, body) {
  const init = { method: body === undefined ? 'GET' : 'POST', credentials: 'same-origin', headers: {} };
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

function formatDate(unixSeconds) {
  if (!unixSeconds) return 'not remembered (the code is asked at each sign-in)';
  return new Date(unixSeconds * 1000).toLocaleString();
}

async function showSignedIn(syncNote) {
  const session = await call('/web/session');
  const tf = session.two_factor;
  $('who').textContent = session.email;
  $('method').textContent = !tf.enabled ? 'off' : tf.method === 'sms' ? `text message to ${tf.phone_hint ?? 'your phone'}` : 'authenticator app';
  $('verified-until').textContent = formatDate(tf.verified_until);
  $('codes-left').textContent = String(tf.recovery_codes_remaining);
  if (syncNote !== undefined) $('sync-status').textContent = syncNote;
  show(tf.setup_only ? 'setup-required' : 'signed-in');
  if (tf.setup_only) $('required-by').textContent = tf.required_by.join(', ');
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
    if (!body.recovery_code) return showError('challenge-error', 'Enter one of your recovery codes.');
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
$('setup-sign-out').addEventListener('click', () => signOut('/web/sign-out'));
$('sign-out-everywhere').addEventListener('click', () => signOut('/web/sign-out-everywhere'));

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
