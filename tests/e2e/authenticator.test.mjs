// Issue 5: the authenticator app end to end, from the extension's settings
// page and popup, against the real host, API and keyring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startApi, launchBrowser, expectScreen, createUser, openSettings, signIn, totp, nextTotp,
  decodeQr, copyCodesAndComplete, badgeText, shot, totpWindow, certainlyWrongCode, PASSWORD,
} from './harness.mjs';

const EMAIL = 'ada@example.com';

/** A user signed in without 2FA, with the settings page open. */
async function signedInWithoutTwoFactor(api, browser) {
  createUser(api, EMAIL);
  const popup = await browser.openPopup();
  await signIn(popup, EMAIL);
  await expectScreen(popup, 'signed-in', 'app-popup-signed-in-no-2fa');
  assert.match(await popup.locator('#method').innerText(), /off/);
  const settings = await openSettings(browser);
  await expectScreen(settings, 'settings', 'app-settings-off');
  return { popup, settings };
}

test('enable the authenticator app from settings: QR, key, code, Copy gate, vault', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    const { popup, settings } = await signedInWithoutTwoFactor(api, browser);
    await settings.locator('#set-up').click();
    await expectScreen(settings, 'setup-choose', 'app-setup-choose');
    await settings.locator('#choose-app').click();
    await expectScreen(settings, 'setup-app-start', 'app-setup-start');
    await settings.locator('#start-setup').click();
    await expectScreen(settings, 'setup-app-scan', 'app-setup-scan');

    // The key as text, and a QR image that decodes to an otpauth URI with it.
    const key = (await settings.locator('#secret-key').innerText()).replace(/\s+/g, '');
    assert.match(key, /^[A-Z2-7]{32,}$/, 'a base32 key of at least 160 bits');
    const src = await settings.locator('#qr').getAttribute('src');
    assert.ok(src.startsWith('data:image/png;base64,'));
    const uri = decodeQr(src.slice('data:image/png;base64,'.length));
    assert.match(uri, /^otpauth:\/\/totp\//);
    assert.ok(uri.includes(`secret=${key}`), uri);
    await settings.locator('#copy-key').click();
    await settings.locator('#notice', { hasText: 'Key copied' }).waitFor();

    await settings.locator('#continue').click();
    await expectScreen(settings, 'setup-app-code', 'app-setup-code');
    const code = settings.locator('#code');
    assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await code.getAttribute('inputmode'), 'numeric');
    assert.equal(await settings.evaluate(() => document.activeElement.id), 'code', 'focus is on the code');

    // A wrong code is refused inline, in words.
    const right = totp(api, key);
    const wrong = certainlyWrongCode(totpWindow(api, key));
    await code.fill(wrong);
    await code.press('Enter');
    await settings.locator('#error').waitFor();
    await shot(settings, "app-setup-wrong-code");
    assert.equal(await settings.getAttribute('#app', 'data-screen'), 'setup-app-code');

    // The right one, pasted with a space in the middle, is accepted.
    await code.fill(`${right.slice(0, 3)} ${right.slice(3)}`);
    await code.press('Enter');
    await expectScreen(settings, 'setup-codes', 'app-setup-codes');
    const codes = await settings.locator('#recovery-codes .recovery-code').allInnerTexts();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);

    // The Copy gate: Complete stays disabled through Keep and Download.
    assert.equal(await settings.locator('#complete').isDisabled(), true);
    await settings.locator('#keep-codes').click();
    await settings.locator('#kept-notice', { hasText: '10 codes kept on this computer' }).waitFor();
    const download = settings.waitForEvent('download');
    await settings.locator('#download-codes').click();
    const file = await download;
    assert.match(file.suggestedFilename(), /\.txt$/);
    const text = readFileSync(await file.path(), 'utf8');
    for (const c of codes) assert.ok(text.includes(c), `the file lists ${c}`);
    assert.equal(await settings.locator('#complete').isDisabled(), true, 'Keep and Download do not open the gate');
    // A person's click on the disabled button does nothing...
    const complete = settings.locator('#complete');
    const box = await complete.boundingBox();
    const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
    assert.equal(await settings.evaluate(([px, py]) => document.elementFromPoint(px, py)?.id, [x, y]), 'complete',
      'the click lands on Complete');
    await settings.mouse.click(x, y);
    // ...and the gate holds behind the button too: with `disabled` taken
    // off by hand, a real click is answered in words and the codes stay.
    await complete.evaluate((b) => b.removeAttribute('disabled'));
    await complete.click();
    await settings.locator('#error', { hasText: 'Copy the codes first' }).waitFor();
    assert.equal(await settings.getAttribute('#app', 'data-screen'), 'setup-codes');
    assert.equal(await complete.isDisabled(), true, 'drawn disabled again');
    const kept = await copyCodesAndComplete(settings, 'app-setup-codes-copied');
    assert.deepEqual(kept, codes);

    await expectScreen(settings, 'settings', 'app-settings-on');
    assert.equal(await settings.getAttribute('#current-method', 'data-method'), 'authenticator');
    assert.match(await settings.locator('#codes-left').innerText(), /^10 recovery codes left/);

    // The popup lists the kept codes, each with Copy.
    await popup.reload();
    await expectScreen(popup, 'signed-in', 'app-popup-vault');
    await popup.locator('#vault li code', { hasText: codes[9] }).waitFor();
    assert.deepEqual(await popup.locator('#vault .vault-code').allInnerTexts(), codes);
    assert.equal(await popup.locator('#vault button').count(), 10);
    await popup.locator('#vault button').first().click();
    await popup.locator('#notice', { hasText: 'Copied' }).waitFor();
    assert.match(await popup.locator('#method').innerText(), /Authenticator app/);
    assert.match(await popup.locator('#codes-left').innerText(), /^10 recovery codes left/);
    assert.equal(await badgeText(browser), '');
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('sign in with the app code; a recovery code works once, then is refused', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    const { popup, settings } = await signedInWithoutTwoFactor(api, browser);
    await settings.locator('#set-up').click();
    await settings.locator('#choose-app').click();
    await settings.locator('#start-setup').click();
    await expectScreen(settings, 'setup-app-scan', 'app-signin-scan');
    const key = (await settings.locator('#secret-key').innerText()).replace(/\s+/g, '');
    await settings.locator('#continue').click();
    await settings.locator('#code').fill(totp(api, key));
    await settings.locator('#verify').click();
    await expectScreen(settings, 'setup-codes', 'app-signin-codes');
    await settings.locator('#keep-codes').click();
    await settings.locator('#kept-notice', { hasText: 'kept on this computer' }).waitFor();
    const codes = await copyCodesAndComplete(settings, 'app-signin-codes-copied');
    await expectScreen(settings, 'settings', 'app-signin-settings');

    // Sign out, sign in: the challenge asks for the app's code.
    await popup.reload();
    await expectScreen(popup, 'signed-in', 'app-signin-before-sign-out');
    await popup.locator('#sign-out').click();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'app-signin-challenge');
    assert.match(await popup.locator('label[for="code"]').innerText(), /authenticator app/);
    assert.equal(await popup.locator('#resend').count(), 0, 'no resend for the app');
    await popup.locator('#code').fill(await nextTotp(api, key));
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'app-signin-signed-in');
    assert.match(await popup.locator('#who').innerText(), new RegExp(EMAIL));

    // A recovery code instead of the app.
    await popup.locator('#sign-out').click();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'app-signin-challenge-2');
    await popup.locator('#use-recovery').click();
    await popup.locator('label[for="code"]', { hasText: 'recovery code' }).waitFor();
    await shot(popup, "app-signin-recovery");
    await popup.locator('#code').fill(codes[0].toUpperCase());
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'app-signin-recovery-signed-in');
    assert.match(await popup.locator('#codes-left').innerText(), /^9 recovery codes left/);
    // The vault knows it is used: struck through, without Copy.
    await popup.locator('#vault li[data-used="true"] s', { hasText: codes[0] }).waitFor();
    assert.equal(await popup.locator('#vault button').count(), 9);

    // The same recovery code again is refused; another one still works.
    await popup.locator('#sign-out').click();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'app-signin-challenge-3');
    await popup.locator('#use-recovery').click();
    await popup.locator('#code').fill(codes[0]);
    await popup.locator('#code').press('Enter');
    await popup.locator('#error').waitFor();
    await shot(popup, "app-signin-recovery-refused");
    assert.equal(await popup.getAttribute('#app', 'data-screen'), 'challenge');
    await popup.locator('#code').fill(codes[1]);
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'app-signin-second-recovery');
    assert.match(await popup.locator('#codes-left').innerText(), /^8 recovery codes left/);

    // Wrong password: said inline on the sign-in screen.
    await popup.locator('#sign-out').click();
    await signIn(popup, EMAIL, `${PASSWORD}x`);
    await popup.locator('#error').waitFor();
    assert.equal(await popup.getAttribute('#app', 'data-screen'), 'sign-in');
  } finally {
    await browser.close();
    await api.stop();
  }
});
