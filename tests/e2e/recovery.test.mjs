// Issue 5, R4: recovery codes from the settings page and the popup: new
// codes behind the same Copy gate, the vault list, and the warnings when few
// are left (popup and toolbar badge).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApi, launchBrowser, expectScreen, createUser, openSettings, signIn, nextTotp,
  setUpAuthenticator, badgeText, shot, PASSWORD,
} from './harness.mjs';

const EMAIL = 'katherine@example.com';

/** Signed in with the authenticator app on, codes kept on this computer. */
async function withAppAndKeptCodes(api, browser, prefix) {
  createUser(api, EMAIL);
  const popup = await browser.openPopup();
  await signIn(popup, EMAIL);
  await expectScreen(popup, 'signed-in', `${prefix}-no-2fa`);
  const settings = await openSettings(browser);
  await expectScreen(settings, 'settings', `${prefix}-settings-off`);
  await settings.locator('#set-up').click();
  const key = await setUpAuthenticator(settings, api, `${prefix}-setup`);
  await expectScreen(settings, 'setup-codes', `${prefix}-codes`);
  const codes = await settings.locator('#recovery-codes .recovery-code').allInnerTexts();
  await settings.locator('#keep-codes').click();
  await settings.locator('#kept-notice', { hasText: 'kept on this computer' }).waitFor();
  await settings.locator('#copy-codes').click();
  await settings.locator('#complete:enabled').click();
  await expectScreen(settings, 'settings', `${prefix}-settings-on`);
  return { popup, settings, key, codes };
}

async function signInWithRecoveryCode(popup, code, shotName) {
  await popup.locator('#sign-out').click();
  await signIn(popup, EMAIL);
  await expectScreen(popup, 'challenge', `${shotName}-challenge`);
  await popup.locator('#use-recovery').click();
  await popup.locator('#code').fill(code);
  await popup.locator('#code').press('Enter');
}

test('new recovery codes: password, Copy gate, old codes refused, vault replaced', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    const { popup, settings, codes: old } = await withAppAndKeptCodes(api, browser, 'regen');

    await settings.locator('#regenerate').click();
    await settings.locator('#confirm-password').fill(PASSWORD);
    await shot(settings, 'regen-confirm');
    await settings.locator('#confirm-password').press('Enter');
    await expectScreen(settings, 'setup-codes', 'regen-new-codes');
    const fresh = await settings.locator('#recovery-codes .recovery-code').allInnerTexts();
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((c) => old.includes(c)).length, 0, 'all 10 replaced');
    assert.equal(await settings.locator('#complete').isDisabled(), true, 'the Copy gate again');
    assert.equal(await settings.locator('#cancel').count(), 0, 'codes shown once: no way around the gate');

    // Until Keep, this computer keeps none: the old ones stopped working.
    await popup.reload();
    await expectScreen(popup, 'signed-in', 'regen-popup-vault-empty');
    await popup.locator('#app[data-vault="loaded"]').waitFor();
    assert.equal(await popup.locator('#vault').count(), 0);

    await settings.locator('#keep-codes').click();
    await settings.locator('#kept-notice', { hasText: '10 codes kept on this computer' }).waitFor();
    await settings.locator('#copy-codes').click();
    await settings.locator('#complete:enabled').click();
    await expectScreen(settings, 'settings', 'regen-done');

    await popup.reload();
    await expectScreen(popup, 'signed-in', 'regen-popup-vault');
    await popup.locator('#vault .vault-code', { hasText: fresh[9] }).waitFor();
    assert.deepEqual(await popup.locator('#vault .vault-code').allInnerTexts(), fresh);

    // An old code is refused; a new one works.
    await signInWithRecoveryCode(popup, old[0], 'regen-old');
    await popup.locator('#error').waitFor();
    await shot(popup, 'regen-old-refused');
    assert.equal(await popup.getAttribute('#app', 'data-screen'), 'challenge');
    await popup.locator('#code').fill(fresh[0]);
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'regen-new-accepted');
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('few recovery codes left: the popup warns and the badge shows how many', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    const { popup, key, codes } = await withAppAndKeptCodes(api, browser, 'low');
    await popup.reload();
    await expectScreen(popup, 'signed-in', 'low-full');
    await popup.locator('#app[data-vault="loaded"]').waitFor();
    assert.equal(await popup.locator('#vault li').count(), 10);
    assert.equal(await popup.locator('#vault-low').count(), 0);
    assert.equal(await badgeText(browser), '');

    for (let i = 0; i < 7; i++) {
      await signInWithRecoveryCode(popup, codes[i], `low-${i}`);
      await expectScreen(popup, 'signed-in', `low-used-${i}`);
    }
    assert.match(await popup.locator('#codes-left').innerText(), /^3 recovery codes left/);
    assert.equal(await popup.locator('#codes-left').getAttribute('class'), 'problem');
    await popup.locator('#vault-low').waitFor();
    assert.match(await popup.locator('#vault-low').innerText(), /Only 3 unused codes left/);
    assert.equal(await popup.locator('#vault li[data-used="true"]').count(), 7);
    await shot(popup, 'low-warning');
    assert.equal(await badgeText(browser), '3');

    // Signing in with the app keeps the warning; it is about the codes.
    await popup.locator('#sign-out').click();
    await expectScreen(popup, 'sign-in', 'low-signed-out');
    assert.equal(await badgeText(browser), '', 'signed out: nothing to warn about');
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'low-app-challenge');
    await popup.locator('#code').fill(await nextTotp(api, key));
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'low-app-signed-in');
    assert.equal(await badgeText(browser), '3');
  } finally {
    await browser.close();
    await api.stop();
  }
});
