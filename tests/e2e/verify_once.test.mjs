// Issue 6 (R7, R8): the web app and the extension on one computer share one
// verification, both ways, through one-time handoff codes; a person enters
// at most one code in 60 days per computer. Issue 9: the first time the web
// app asks the extension for a sign-in, the person allows it in the popup.
// (Other origins and other people's offers: web_app_origin.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApi, launchBrowser, expectScreen, createUser, signIn, nextTotp, totp, advanceClock,
  admin, shot, askFromPage, PASSWORD, assertAccessible,
} from './harness.mjs';

// Codes entered per simulated user, read from each test's API audit log.
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

/**
 * The suite's promise, checked by each test on its own API: the person
 * entered one second-factor code in all of it.
 */
function assertOneCode(api, email) {
  const rows = audit(api, 'second_factor_verified');
  assert.equal(rows.length, 1, `codes entered by ${email}: ${JSON.stringify(rows)}`);
}

/**
 * Waits until the page shows either signed in or the sign-in form, settled:
 * the popup's early sign-in form (drawn before the host's session answer,
 * marked data-pending) does not count, or a signed-in session could replace
 * it after this returned "sign-in".
 */
async function settled(page) {
  const either = page.locator('#app[data-screen="signed-in"]:not([data-pending]), #app[data-screen="sign-in"]:not([data-pending])');
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

/**
 * The web app asked the extension for a sign-in and was told to wait for the
 * person: the page says so, the popup asks, the person allows, and the
 * page's Try again signs it in.
 */
async function allowInPopup(web, popup, email, shotPrefix) {
  await web.locator('#extension-consent:not([hidden])').waitFor({ timeout: 20_000 });
  await shot(web, `${shotPrefix}-web-waits`);
  await popup.reload();
  await expectScreen(popup, 'web-consent', `${shotPrefix}-popup-asks`);
  await assertAccessible(popup, 'popup-web-consent');
  const question = await popup.locator('#prompt-question').innerText();
  assert.ok(question.includes(new URL(web.url()).origin) && question.includes(email), question);
  await popup.locator('#allow').click();
  await expectScreen(popup, 'signed-in', `${shotPrefix}-popup-allowed`);
  await web.locator('#extension-retry').click();
  await expectScreen(web, 'signed-in', `${shotPrefix}-web-signed-in`);
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
    assertOneCode(api, email);
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('verify in the extension: once the person allows it in the popup, the web app is signed in without a code', async () => {
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

    // The first request waits for the person: no code until the popup's
    // Allow, and the page stays on its sign-in form meanwhile.
    const web = await browser.context.newPage();
    await web.goto(`${api.url}/`);
    await expectScreen(web, 'sign-in', 'sync-web-waits-for-consent');
    assert.equal(audit(api, 'handoff_redeemed').length, 0);
    await allowInPopup(web, popup, email, 'sync-consent');
    assert.match(await web.locator('#who').innerText(), /bea@example\.com/);
    assert.match(await web.locator('#sync-status').innerText(), /through the dialer-2fa extension/);
    assert.match(await web.locator('#verified-until').innerText(), /\d{4}/);
    // Issue 13: the same words and the same date, written the same way, in
    // both clients (the trust came over with the same end date).
    const webDate = await web.locator('#verified-until').innerText();
    assert.equal(await popup.locator('#verified-until').innerText(), `This computer is verified until ${webDate}.`);
    assert.equal(await web.locator('#method').innerText(), 'Authenticator app');
    assert.equal(await popup.locator('#method').innerText(), 'Second step: Authenticator app');
    assert.equal(audit(api, 'second_factor_verified').length, 1);
    assert.equal(audit(api, 'handoff_redeemed').length, 1);

    // Later on this computer no consent is asked: signed out of the web app
    // and back, it is signed in through the extension at once.
    await web.locator('#sign-out').click();
    await expectScreen(web, 'sign-in', 'sync-web-signed-out');
    await web.reload();
    await expectScreen(web, 'signed-in', 'sync-web-signed-in-again-without-consent');
    assert.equal(audit(api, 'handoff_redeemed').length, 2);
    await popup.reload();
    await expectScreen(popup, 'signed-in', 'sync-popup-nothing-asked');

    // "Sign out everywhere" in the web app ends the extension's session too.
    await web.locator('#sign-out-everywhere').click();
    await expectScreen(web, 'sign-in', 'sync-web-signed-out-everywhere');
    await popup.reload();
    await expectScreen(popup, 'sign-in', 'sync-popup-signed-out-everywhere');
    assertOneCode(api, email);
  } finally {
    await browser.close();
    await api.stop();
  }
});

test("handoff codes work once and expire; the web app's first request waits for the popup", async () => {
  const email = 'cy@example.com';
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
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

    // The web app's own request for a code (the extension is signed in now)
    // gets none until the person allows it in the popup; a page cannot.
    const asked = await askFromPage(web, id, { type: 'handoff_request' });
    assert.equal(asked.reply?.ok, false, JSON.stringify(asked));
    assert.equal(asked.reply.error.code, 'consent_required');
    assert.equal(asked.reply.code, undefined);
    const popup = await browser.openPopup();
    await expectScreen(popup, 'web-consent', 'handoff-popup-asks');
    await popup.locator('#allow').click();
    await expectScreen(popup, 'signed-in', 'handoff-popup-allowed');
    const fromWebApp = await askFromPage(web, id, { type: 'handoff_request' });
    assert.equal(fromWebApp.reply?.ok, true, JSON.stringify(fromWebApp));
    assert.match(fromWebApp.reply.code, /^hof_/);
  } finally {
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
    await allowInPopup(web, popup, email, 'once-consent');
    await shot(web, 'once-web-day-0');

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
    assertOneCode(api, email);

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
