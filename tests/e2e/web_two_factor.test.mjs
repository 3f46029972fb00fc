// Issue 15: everything the help article describes, in the web app alone, in
// a plain Chromium profile WITHOUT the extension: My Account → Two-Factor
// Authentication (setup both ways, the Copy gate, new recovery codes,
// switch keeping the phone, disable, trusted computers, sign out
// everywhere), the forced setup, and the owner's Account Settings tab.
// Codes come from the outbox; TOTP codes are computed here from the key
// the page shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApi, expectScreen, createUser, createAccount, addMember, lastSmsCode, smsCount, totp,
  nextTotp, advanceClock, untilTrue, shot, PASSWORD, assertCodesLaidOut, certainlyWrongCode, totpWindow, assertAccessible,
  launchPlainChromium,
} from './harness.mjs';

const PHONE = '+14155550123';
let chrome;

before(async () => {
  chrome = await launchPlainChromium();
});

after(async () => {
  await chrome?.close();
});

/** A fresh browser profile on the web app, allowed to use the clipboard. */
async function webApp(api) {
  const context = await chrome.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: api.url });
  const page = await context.newPage();
  // The page's own timers (the resend countdown) run on a clock the test
  // can move; the server's clock is moved with advanceClock.
  await page.clock.install();
  await page.goto(`${api.url}/`);
  return { context, page };
}

async function webSignIn(page, email, shotName) {
  await expectScreen(page, 'sign-in', `${shotName}-sign-in`);
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#password').press('Enter');
}

async function openMy2fa(page, shotName) {
  await page.locator('#nav-my-2fa').click();
  await expectScreen(page, 'my-2fa', shotName);
}

/** The key as the page shows it (grouped), as a person would type it. */
async function shownKey(page) {
  return (await page.locator('#secret-key').innerText()).replace(/\s+/g, '');
}

/** Authenticator setup from the wizard's first step to the codes. */
async function setUpAuthenticator(page, api, prefix, { wrongFirst = false } = {}) {
  await expectScreen(page, 'setup-choose', `${prefix}-choose`);
  await page.locator('#choose-app').click();
  await expectScreen(page, 'setup-app-start', `${prefix}-app-start`);
  await page.locator('#start-setup').click();
  await expectScreen(page, 'setup-app-scan', `${prefix}-app-scan`);
  assert.match(await page.locator('#qr').getAttribute('src'), /^data:image\/png;base64,/);
  const key = await shownKey(page);
  assert.match(await page.locator('#secret-key').innerText(), /^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/, 'the key is grouped');
  // Issue 13: Copy key copies the key itself, without the spaces.
  await page.locator('#copy-key').click();
  await page.locator('#notice', { hasText: 'Key copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  await page.locator('#continue').click();
  await expectScreen(page, 'setup-app-code', `${prefix}-app-code`);
  if (wrongFirst) {
    // Issue 13: the error sits right under the code field, tied to it and announced.
    await page.locator('#setup-code').fill(certainlyWrongCode(totpWindow(api, key)));
    await page.locator('#verify').click();
    await page.locator('#error').waitFor();
    assert.equal(await page.locator('#app-code-form label:has(#setup-code) + #error').count(), 1, 'the error is right under the code field');
    assert.equal(await page.locator('#setup-code').getAttribute('aria-describedby'), 'error');
    assert.equal(await page.locator('#error').getAttribute('aria-live'), 'assertive');
    await page.locator('#setup-code').fill('');
  }
  await page.locator('#setup-code').fill(totp(api, key));
  await page.locator('#verify').click();
  return key;
}

/** The Copy gate: Complete stays off until Copy; returns the codes. */
async function copyCodesAndComplete(page, prefix) {
  await expectScreen(page, 'setup-codes', `${prefix}-codes`);
  const codes = await page.locator('#recovery-codes .recovery-code').allInnerTexts();
  assert.equal(codes.length, 10);
  assert.equal(await page.locator('#complete').isDisabled(), true, 'Complete before Copy');
  await page.locator('#copy-codes').click();
  await page.locator('#complete:enabled').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), codes.join('\n'));
  await page.locator('#complete').click();
  return codes;
}

async function confirmWithPassword(page, password = PASSWORD) {
  await page.locator('#confirm-password').fill(password);
  await page.locator('#confirm').click();
}

// Issue 13: the list of codes at narrow widths, as in the extension's popup.
test('web app recovery codes at 340 and 420 px: one column, no overlap, no wrap, Copy by each code', async () => {
  const api = await startApi();
  const { context, page } = await webApp(api);
  try {
    createUser(api, 'narrow@example.com');
    await webSignIn(page, 'narrow@example.com', 'web2fa-narrow');
    await expectScreen(page, 'signed-in', 'web2fa-narrow-home');
    await openMy2fa(page, 'web2fa-narrow-off');
    await page.locator('#set-up').click();
    await setUpAuthenticator(page, api, 'web2fa-narrow', { wrongFirst: true });
    await expectScreen(page, 'setup-codes', 'web2fa-narrow-codes');
    for (const width of [340, 420]) {
      await page.setViewportSize({ width, height: 900 });
      await shot(page, `web2fa-narrow-codes-${width}`);
      await assertCodesLaidOut(page, width);
    }
    // One code's Copy copies it alone and leaves the gate shut (R4).
    const codes = await page.locator('#recovery-codes .recovery-code').allInnerTexts();
    await page.locator('#copy-code-4').click();
    await page.locator('#notice', { hasText: 'Code 4 copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), codes[3]);
    assert.equal(await page.locator('#complete').isDisabled(), true);
  } finally {
    await context.close();
    await api.stop();
  }
});

test('authenticator setup from My Account with the Copy gate and the .txt, then new recovery codes', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const { context, page } = await webApp(api);
  try {
    createUser(api, 'ada@example.com');
    await webSignIn(page, 'ada@example.com', 'web2fa-app');
    await expectScreen(page, 'signed-in', 'web2fa-app-home');
    assert.equal(await page.locator('#nav-owner-item').isHidden(), true, 'no owner tab for a non-owner');
    await openMy2fa(page, 'web2fa-app-off');
    assert.match(await page.locator('#current-method').innerText(), /is off/);
    await page.locator('#set-up').click();
    await setUpAuthenticator(page, api, 'web2fa-app');
    await expectScreen(page, 'setup-codes', 'web2fa-app-codes-gate');
    // The .txt download holds every code.
    const [file] = await Promise.all([page.waitForEvent('download'), page.locator('#download-codes').click()]);
    assert.equal(file.suggestedFilename(), 'dialer-2fa-recovery-codes.txt');
    const codes = await copyCodesAndComplete(page, 'web2fa-app');
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(await file.path(), 'utf8');
    for (const code of codes) assert.ok(text.includes(code), `${code} in the .txt`);
    await expectScreen(page, 'my-2fa', 'web2fa-app-on');
    assert.equal(await page.getAttribute('#current-method', 'data-method'), 'authenticator');
    assert.match(await page.locator('#codes-left-2fa').innerText(), /^10 recovery codes left/);

    // New recovery codes: the password first (a wrong one is refused).
    await page.locator('#regenerate').click();
    assert.match(await page.locator('#confirm-question').innerText(), /old ones stop working/);
    await confirmWithPassword(page, `${PASSWORD}x`);
    await page.locator('#error').waitFor();
    await confirmWithPassword(page);
    const fresh = await copyCodesAndComplete(page, 'web2fa-app-new');
    assert.ok(fresh.every((c) => !codes.includes(c)), 'the new codes are new');
    await expectScreen(page, 'my-2fa', 'web2fa-app-after-new-codes');
  } finally {
    await context.close();
    await api.stop();
  }
});

test('SMS setup with the resend countdown, switch keeping the phone, then disable', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const { context, page } = await webApp(api);
  try {
    createUser(api, 'bea@example.com');
    await webSignIn(page, 'bea@example.com', 'web2fa-sms');
    await openMy2fa(page, 'web2fa-sms-off');
    await page.locator('#set-up').click();
    await expectScreen(page, 'setup-choose', 'web2fa-sms-choose');
    await page.locator('#choose-sms').click();
    await expectScreen(page, 'setup-sms-phone', 'web2fa-sms-phone');
    await page.locator('#phone').fill('+1 (415) 555-0123');
    await page.locator('#continue').click();
    await expectScreen(page, 'setup-sms-code', 'web2fa-sms-code');
    await assertAccessible(page, 'web-setup-sms-code');
    const first = lastSmsCode(api, PHONE);
    // Resend waits for its countdown, then sends a new code.
    assert.equal(await page.locator('#resend').isDisabled(), true);
    assert.ok(Number(await page.getAttribute('#resend', 'data-cooldown')) > 0);
    await advanceClock(api, 31);
    await page.clock.runFor(31_000);
    await page.locator('#resend:enabled').waitFor();
    await page.locator('#resend').click();
    await untilTrue(() => smsCount(api, PHONE) === 2);
    await page.locator('#resend:disabled:not([data-cooldown="0"])').waitFor();
    const second = lastSmsCode(api, PHONE);
    assert.notEqual(second, first);
    await page.locator('#setup-code').fill(second);
    await page.locator('#verify').click();
    await copyCodesAndComplete(page, 'web2fa-sms');
    await expectScreen(page, 'my-2fa', 'web2fa-sms-on');
    assert.match(await page.locator('#current-method').innerText(), /Text message \(SMS\) to \+1.*0123/);

    // Switch to the authenticator: the password, a new QR, a code.
    await page.locator('#switch').click();
    assert.match(await page.locator('#confirm-question').innerText(), /authenticator app/);
    await confirmWithPassword(page);
    await expectScreen(page, 'setup-app-scan', 'web2fa-switch-app-scan');
    const key = await shownKey(page);
    await page.locator('#continue').click();
    await page.locator('#setup-code').fill(totp(api, key));
    await page.locator('#verify').click();
    await expectScreen(page, 'my-2fa', 'web2fa-switch-app-done');
    await page.locator('#notice', { hasText: 'Saved.' }).waitFor();
    assert.equal(await page.getAttribute('#current-method', 'data-method'), 'authenticator');

    // And back to SMS: the kept number, not asked again.
    await advanceClock(api, 31);
    await page.locator('#switch').click();
    await confirmWithPassword(page);
    await expectScreen(page, 'setup-sms-code', 'web2fa-switch-sms-code');
    await page.locator('#notice', { hasText: '0123' }).waitFor();
    await page.locator('#setup-code').fill(lastSmsCode(api, PHONE));
    await page.locator('#verify').click();
    await expectScreen(page, 'my-2fa', 'web2fa-switch-sms-done');
    assert.equal(await page.getAttribute('#current-method', 'data-method'), 'sms');

    // Disable: the box, then the password.
    await page.locator('#disable').click();
    await confirmWithPassword(page);
    await page.locator('#error', { hasText: 'Tick the box' }).waitFor();
    await page.locator('#confirm-disable').check();
    await confirmWithPassword(page, `${PASSWORD}x`);
    await page.locator('#error').waitFor();
    assert.equal(await page.getAttribute('#current-method', 'data-method'), 'sms');
    await page.locator('#confirm-disable').check();
    await confirmWithPassword(page);
    await page.locator('#notice', { hasText: 'is off' }).waitFor();
    await expectScreen(page, 'my-2fa', 'web2fa-disabled');
    assert.match(await page.locator('#current-method').innerText(), /is off/);
  } finally {
    await context.close();
    await api.stop();
  }
});

test('an owner enforces 2FA from the web app; a member without the extension is forced into setup there', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const owner = await webApp(api);
  const member = await webApp(api);
  try {
    createUser(api, 'own@example.com');
    createUser(api, 'mem@example.com');
    createAccount(api, 'Acme');
    addMember(api, 'Acme', 'own@example.com', 'owner');
    addMember(api, 'Acme', 'mem@example.com', 'member');
    let page = owner.page;
    await webSignIn(page, 'own@example.com', 'web2fa-owner');
    await expectScreen(page, 'signed-in', 'web2fa-owner-home');
    await page.locator('#nav-owner-item:visible').waitFor();
    await page.locator('#nav-owner-2fa').click();
    await expectScreen(page, 'owner-2fa', 'web2fa-owner-tab');
    assert.match(await page.locator('#accounts li[data-account="Acme"]').innerText(), /2 people have not set up 2FA yet/);
    assert.equal(await page.locator('#accounts li[data-account="Acme"] .count').innerText(), '0 of 2 people have set up 2FA.');
    const toggle = page.locator('#accounts input[data-account="Acme"]');
    assert.equal(await toggle.isChecked(), false);
    await toggle.click();
    const question = await page.locator('#confirm-question').innerText();
    assert.match(question, /2 people in it have not set up 2FA yet/);
    assert.match(question, /As an owner you must have 2FA too: you have not set it up/);
    // A wrong password is refused; Cancel leaves the setting as it was.
    await confirmWithPassword(page, `${PASSWORD}x`);
    await page.locator('#error').waitFor();
    // Issue 13: the refusal sits in the panel, under the password field, announced.
    assert.equal(await page.locator('#confirm-form label:has(#confirm-password) + #error').count(), 1, 'under the password field');
    assert.equal(await page.locator('#confirm-password').getAttribute('aria-describedby'), 'error');
    assert.equal(await page.locator('#error').getAttribute('aria-live'), 'assertive');
    await page.locator('#cancel').click();
    await page.locator('#confirm-password').waitFor({ state: 'detached' });
    assert.equal(await toggle.isChecked(), false);
    await toggle.click();
    await confirmWithPassword(page);
    // The owner is in Acme too: held to setup right away, in the web app.
    await expectScreen(page, 'setup-choose', 'web2fa-owner-now-required');
    assert.equal(await page.locator('#required').innerText(), 'Acme requires two-factor authentication. Set it up to continue.');
    await setUpAuthenticator(page, api, 'web2fa-owner-setup');
    await copyCodesAndComplete(page, 'web2fa-owner-setup');
    await expectScreen(page, 'my-2fa', 'web2fa-owner-done');
    await page.goto(`${api.url}/#/account-settings/two-factor`);
    await expectScreen(page, 'owner-2fa', 'web2fa-owner-tab-on');
    assert.equal(await page.locator('#accounts input[data-account="Acme"]').isChecked(), true);
    assert.match(await page.locator('#accounts li[data-account="Acme"]').innerText(), /1 person has not set up 2FA yet/);
    assert.equal(await page.locator('#accounts li[data-account="Acme"] .count').innerText(), '1 of 2 people have set up 2FA.');

    // The member signs in: nothing but the setup, whatever the address.
    page = member.page;
    await webSignIn(page, 'mem@example.com', 'web2fa-member');
    await expectScreen(page, 'setup-choose', 'web2fa-member-forced');
    assert.equal(await page.locator('#required').innerText(), 'Acme requires two-factor authentication. Set it up to continue.');
    assert.equal(await page.locator('#cancel').count(), 0, 'no way out but signing out');
    for (const hash of ['#/my-account/two-factor', '#/account-settings/two-factor']) {
      await page.goto(`${api.url}/${hash}`);
      await expectScreen(page, 'setup-choose', 'web2fa-member-forced-by-url');
    }
    await setUpAuthenticator(page, api, 'web2fa-member-setup');
    await copyCodesAndComplete(page, 'web2fa-member-setup');
    await expectScreen(page, 'my-2fa', 'web2fa-member-done');
    // Disable is refused with the reason while Acme enforces 2FA.
    assert.equal(await page.locator('#disable').isDisabled(), true);
    assert.match(await page.locator('#disable-reason').innerText(), /required by Acme/);
    // The owner's tab: not offered, not reachable by address, refused by the API.
    await page.locator('#home').click();
    await expectScreen(page, 'signed-in', 'web2fa-member-home');
    assert.equal(await page.locator('#nav-owner-item').isHidden(), true);
    await page.goto(`${api.url}/#/account-settings/two-factor`);
    await expectScreen(page, 'owner-2fa-refused', 'web2fa-member-owner-tab-refused');
    await assertAccessible(page, 'web-owner-2fa-refused');
    assert.equal(await page.locator('#accounts').count(), 0);
    const answer = await page.evaluate(async () => {
      const r = await fetch('/web/accounts/1/enforcement', {
        method: 'PUT', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ enforce_2fa: false, password: 'correct horse battery staple' }),
      });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error.code, 'forbidden');
    // The owner's tab counts the member who just set up 2FA.
    page = owner.page;
    await page.reload();
    await expectScreen(page, 'owner-2fa', 'web2fa-owner-tab-everyone');
    assert.equal(await page.locator('#accounts li[data-account="Acme"] .count').innerText(), '2 of 2 people have set up 2FA.');
    assert.match(await page.locator('#accounts li[data-account="Acme"]').innerText(), /Everyone in it has set up 2FA/);
  } finally {
    await owner.context.close();
    await member.context.close();
    await api.stop();
  }
});

test('trusted computers are listed and revoked; sign out everywhere ends every session', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const first = await webApp(api);
  const second = await webApp(api);
  try {
    createUser(api, 'cy@example.com');
    let page = first.page;
    await webSignIn(page, 'cy@example.com', 'web2fa-devices');
    await openMy2fa(page, 'web2fa-devices-off');
    await page.locator('#set-up').click();
    const key = await setUpAuthenticator(page, api, 'web2fa-devices');
    await copyCodesAndComplete(page, 'web2fa-devices');
    await expectScreen(page, 'my-2fa', 'web2fa-devices-on');
    assert.match(await page.locator('#devices').innerText(), /^$/);

    // Another browser signs in remembering itself.
    page = second.page;
    await webSignIn(page, 'cy@example.com', 'web2fa-devices-second');
    await expectScreen(page, 'challenge', 'web2fa-devices-challenge');
    // Issue 13: a wrong code is refused right under the code field (above
    // "Remember" and the links), announced.
    assert.equal(await page.locator('#recovery-code').isVisible(), false, 'the recovery field stays hidden until asked for');
    await page.locator('#code').fill(certainlyWrongCode(totpWindow(api, key)));
    await page.locator('#verify-button').click();
    const error = page.locator('#challenge-error');
    await error.waitFor();
    await shot(page, 'web2fa-devices-wrong-code');
    const [code, err, remember] = [await page.locator('#code').boundingBox(), await error.boundingBox(), await page.locator('#remember').boundingBox()];
    assert.ok(err.y >= code.y + code.height && err.y - (code.y + code.height) < 40, 'right under the code field');
    assert.ok(err.y + err.height <= remember.y, 'above "Remember this computer"');
    assert.equal(await error.getAttribute('aria-live'), 'assertive');
    assert.equal(await page.locator('#code').getAttribute('aria-describedby'), 'challenge-error');
    await page.locator('#code').fill(await nextTotp(api, key));
    await page.locator('#remember').check();
    await page.locator('#verify-button').click();
    await expectScreen(page, 'signed-in', 'web2fa-devices-second-in');
    await openMy2fa(page, 'web2fa-devices-listed');
    assert.match(await page.locator('#devices li').innerText(), /web app \(this computer\): remembered until/);

    // Revoked from the first browser.
    page = first.page;
    await page.reload();
    await expectScreen(page, 'my-2fa', 'web2fa-devices-first-again');
    assert.equal(await page.locator('#devices li').count(), 1);
    await page.locator('#devices li button', { hasText: 'Revoke' }).click();
    await page.locator('#notice', { hasText: 'Device removed' }).waitFor();
    assert.equal(await page.locator('#devices li').count(), 0);
    await shot(page, 'web2fa-devices-revoked');

    // Sign out everywhere: this browser and the other are signed out.
    await page.locator('#sign-out-everywhere-2fa').click();
    await expectScreen(page, 'sign-in', 'web2fa-everywhere-first');
    await second.page.reload();
    await expectScreen(second.page, 'sign-in', 'web2fa-everywhere-second');
  } finally {
    await first.context.close();
    await second.context.close();
    await api.stop();
  }
});
