// Issue 6 (R7, R8): the web app and the extension on one computer share one
// verification, both ways, through one-time handoff codes; a person enters
// at most one code in 60 days per computer.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import {
  startApi, launchBrowser, expectScreen, createUser, signIn, nextTotp, totp, advanceClock,
  admin, shot, PASSWORD,
} from './harness.mjs';

// Codes entered per simulated user, read from each test's API audit log.
const codesEntered = new Map();

/** Turns the authenticator on through the v1 API; returns the key. */
async function enableAuthenticator(api, email) {
  const post = async (path, body, token) => {
    const res = await fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const json = await res.json().catch(() => null);
    assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const { session_token: token } = await post('/v1/sign-in', { email, password: PASSWORD });
  const { secret_base32: key } = await post('/v1/two-factor/authenticator/setup', { password: PASSWORD }, token);
  await post('/v1/two-factor/authenticator/confirm', { code: totp(api, key) }, token);
  await post('/v1/sign-out', {}, token);
  return key;
}

function audit(api, event) {
  return admin(api, 'audit', '--json')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((row) => row.event === event);
}

function tally(api, email) {
  codesEntered.set(email, audit(api, 'second_factor_verified').length);
}

/** Waits until the page shows either signed in or the sign-in form. */
async function settled(page) {
  const either = page.locator('#app[data-screen="signed-in"], #app[data-screen="sign-in"]');
  await either.waitFor({ timeout: 20_000 });
  return either.getAttribute('data-screen');
}

/** Signs out if signed in, so the next step starts at the sign-in form. */
async function toSignIn(page) {
  if ((await settled(page)) === 'signed-in') await page.locator('#sign-out').click();
}

async function webSignIn(page, email) {
  await expectScreen(page, 'sign-in', `web-sign-in-${email.split('@')[0]}`);
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#password').press('Enter');
}

/** Runs `fn` in the web app's page; the page's own fetch and chrome.runtime. */
function inPage(page, fn, arg) {
  return page.evaluate(fn, arg);
}

// Mints a handoff code in the web app (cookie session) and offers it to the
// extension, as the page script does; returns the extension's answer.
const OFFER = async ({ id, code }) => {
  if (!code) {
    const res = await fetch('/web/handoff', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    code = (await res.json()).code;
  }
  const reply = await new Promise((resolve) => chrome.runtime.sendMessage(id, { type: 'handoff_offer', code }, resolve));
  return { code, reply };
};

test('verify in the web app: the popup is signed in without a code', async () => {
  const email = 'ada@example.com';
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, email);
    const key = await enableAuthenticator(api, email);

    const web = await browser.context.newPage();
    await web.goto(`${api.url}/`);
    await webSignIn(web, email);
    await expectScreen(web, 'challenge', 'sync-web-challenge');
    await web.locator('#code').fill(await nextTotp(api, key));
    await web.locator('#remember').check();
    await web.locator('#code').press('Enter');
    await expectScreen(web, 'signed-in', 'sync-web-signed-in');
    await web.locator('#sync-status', { hasText: 'extension on this computer is signed in too' }).waitFor();
    await shot(web, 'sync-web-offered');

    const popup = await browser.openPopup();
    await expectScreen(popup, 'signed-in', 'sync-popup-signed-in-by-web');
    assert.match(await popup.locator('#who').innerText(), /ada@example\.com/);
    assert.equal(audit(api, 'second_factor_verified').length, 1);
    assert.equal(audit(api, 'handoff_redeemed').length, 1);

    // Signing out in the extension leaves the web app signed in.
    await popup.locator('#sign-out').click();
    await expectScreen(popup, 'sign-in', 'sync-popup-signed-out');
    await web.reload();
    await expectScreen(web, 'signed-in', 'sync-web-still-signed-in');

    // The extension's next password sign-in skips the code: the handoff
    // carried this computer's trust.
    await signIn(popup, email);
    await expectScreen(popup, 'signed-in', 'sync-popup-password-only');
    tally(api, email);
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('verify in the extension: the web app (on localhost) is signed in without a code', async () => {
  const email = 'bea@example.com';
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, email);
    const key = await enableAuthenticator(api, email);
    const popup = await browser.openPopup();
    await signIn(popup, email);
    await expectScreen(popup, 'challenge', 'sync-popup-challenge');
    await popup.locator('#code').fill(await nextTotp(api, key));
    await popup.locator('#remember').check();
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'sync-popup-verified');

    const web = await browser.context.newPage();
    await web.goto(`${api.url.replace('127.0.0.1', 'localhost')}/`);
    await expectScreen(web, 'signed-in', 'sync-web-signed-in-by-extension');
    assert.match(await web.locator('#who').innerText(), /bea@example\.com/);
    assert.match(await web.locator('#sync-status').innerText(), /through the dialer-2fa extension/);
    assert.match(await web.locator('#verified-until').innerText(), /\d{4}/);
    assert.equal(audit(api, 'second_factor_verified').length, 1);

    // "Sign out everywhere" in the web app ends the extension's session too.
    await web.locator('#sign-out-everywhere').click();
    await expectScreen(web, 'sign-in', 'sync-web-signed-out-everywhere');
    await popup.reload();
    await expectScreen(popup, 'sign-in', 'sync-popup-signed-out-everywhere');
    tally(api, email);
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('handoff codes work once and expire; other origins get no answer', async () => {
  const email = 'cy@example.com';
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  const foreign = createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>not the web app</title><p>elsewhere</p>');
  });
  try {
    createUser(api, email);
    const web = await browser.context.newPage();
    await web.goto(`${api.url}/`);
    await webSignIn(web, email);
    await expectScreen(web, 'signed-in', 'handoff-web-signed-in');
    const id = browser.extensionId;

    const first = await inPage(web, OFFER, { id });
    assert.equal(first.reply.ok, true, JSON.stringify(first.reply));
    const replay = await inPage(web, OFFER, { id, code: first.code });
    assert.equal(replay.reply.ok, false);
    assert.equal(replay.reply.error.code, 'invalid_code');

    const { code } = await inPage(web, async () => {
      const res = await fetch('/web/handoff', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return res.json();
    });
    await advanceClock(api, 120);
    const late = await inPage(web, OFFER, { id, code });
    assert.equal(late.reply.ok, false);
    assert.equal(late.reply.error.code, 'invalid_code');

    // A page on another origin (127.0.0.2 is loopback, but not the web app)
    // gets nothing from the extension, though the extension is signed in.
    await new Promise((ok) => foreign.listen(0, '127.0.0.2', ok));
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.2:${foreign.address().port}/`);
    const answer = await page.evaluate((extensionId) => new Promise((resolve) => {
      if (!(window.chrome && chrome.runtime && chrome.runtime.sendMessage)) return resolve('no channel');
      const timer = setTimeout(() => resolve('no answer'), 3000);
      try {
        chrome.runtime.sendMessage(extensionId, { type: 'handoff_request' }, (reply) => {
          clearTimeout(timer);
          resolve(reply === undefined ? 'no answer' : reply);
        });
      } catch (e) {
        clearTimeout(timer);
        resolve('no channel');
      }
    }), id);
    assert.ok(answer === 'no channel' || answer === 'no answer', JSON.stringify(answer));
    await shot(page, 'handoff-foreign-origin');

    // The web app itself does get one.
    const fromWebApp = await inPage(web, (extensionId) => new Promise((resolve) => {
      chrome.runtime.sendMessage(extensionId, { type: 'handoff_request' }, resolve);
    }), id);
    assert.equal(fromWebApp.ok, true);
    assert.match(fromWebApp.code, /^hof_/);
  } finally {
    foreign.close();
    await browser.close();
    await api.stop();
  }
});

test('one code in 60 days on one computer, whichever client signs in', async () => {
  const email = 'dot@example.com';
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, email);
    const key = await enableAuthenticator(api, email);
    const popup = await browser.openPopup();
    await signIn(popup, email);
    await expectScreen(popup, 'challenge', 'once-challenge');
    await popup.locator('#code').fill(await nextTotp(api, key));
    await popup.locator('#remember').check();
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'once-verified');
    const web = await browser.context.newPage();
    await web.goto(`${api.url}/`);
    await expectScreen(web, 'signed-in', 'once-web-day-0');

    // Days 15, 30, 45, 59: each client signs out and in with the password.
    for (const day of [15, 30, 45, 59]) {
      await advanceClock(api, (day === 15 ? 15 : day === 59 ? 14 : 15) * 86_400);
      await popup.reload();
      await toSignIn(popup);
      await signIn(popup, email);
      await expectScreen(popup, 'signed-in', `once-popup-day-${day}`);
      await web.reload();
      await toSignIn(web);
      await webSignIn(web, email);
      await expectScreen(web, 'signed-in', `once-web-day-${day}`);
    }
    assert.equal(audit(api, 'second_factor_verified').length, 1);
    tally(api, email);

    // Day 61: the 60 days are over; both clients ask again.
    await advanceClock(api, 2 * 86_400);
    await popup.reload();
    await toSignIn(popup);
    await signIn(popup, email);
    await expectScreen(popup, 'challenge', 'once-popup-day-61');
    await web.reload();
    await toSignIn(web);
    await webSignIn(web, email);
    await expectScreen(web, 'challenge', 'once-web-day-61');
  } finally {
    await browser.close();
    await api.stop();
  }
});

after(() => {
  // The suite's promise, over every simulated user above: one code each.
  assert.deepEqual(
    [...codesEntered.entries()].filter(([, n]) => n !== 1),
    [],
    `codes entered per user: ${JSON.stringify([...codesEntered])}`,
  );
  assert.ok(codesEntered.size >= 3, `users counted: ${codesEntered.size}`);
});
