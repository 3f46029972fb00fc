// Issue 15: with the extension present, 2FA settings changed in the web app
// show up in the popup and the settings page, and the toolbar vault never
// offers dead recovery codes as good: new codes made in the web app mark the
// kept ones replaced until the person chooses to keep the new ones in the
// extension ("Keep them in the dialer-2fa extension"). And the reverse: a
// change made in the extension's settings shows in the web app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApi, launchBrowser, expectScreen, createUser, signIn, openSettings, setUpSms,
  copyCodesAndComplete, lastSmsCode, advanceClock, totp, askFromPage, untilTrue, shot, PASSWORD,
} from './harness.mjs';

const PHONE = '+14155550123';

/** The codes the popup lists as kept (revealed), and whether it says they were replaced. */
async function popupVault(popup) {
  await popup.reload();
  await expectScreen(popup, 'signed-in', 'wxs-popup');
  await popup.locator('#app[data-vault="loaded"]').waitFor();
  let codes = [];
  await untilTrue(async () => {
    codes = await popup.locator('#vault .vault-code').allInnerTexts();
    return codes.every((c) => c !== '…');
  });
  return { codes, replaced: await popup.locator('#vault-replaced').count() === 1 };
}

async function confirmWithPassword(page) {
  await page.locator('#confirm-password').fill(PASSWORD);
  await page.locator('#confirm').click();
}

test('web app changes reach the popup, settings and vault (new codes kept only by choice); extension changes reach the web app', async () => {
  const email = 'wes@example.com';
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, email);
    // The extension: sign in, set up SMS in its settings, keep the codes.
    const popup = await browser.openPopup();
    await signIn(popup, email);
    await expectScreen(popup, 'signed-in', 'wxs-popup-signed-in');
    const settings = await openSettings(browser);
    await expectScreen(settings, 'settings', 'wxs-settings');
    await settings.locator('#set-up').click();
    await setUpSms(settings, api, PHONE, 'wxs-settings');
    await expectScreen(settings, 'setup-codes', 'wxs-settings-codes');
    await settings.locator('#keep-codes').click();
    await settings.locator('#kept-notice', { hasText: '10 codes kept' }).waitFor();
    const first = await copyCodesAndComplete(settings, 'wxs-settings-codes-kept');
    let vault = await popupVault(popup);
    assert.deepEqual(vault.codes, first);
    assert.equal(vault.replaced, false);

    // The web app signs in through the extension (the person allows it once).
    const web = await browser.context.newPage();
    await web.goto(`${api.url}/`);
    await web.locator('#extension-consent:not([hidden])').waitFor({ timeout: 20_000 });
    await popup.reload();
    await expectScreen(popup, 'web-consent', 'wxs-popup-consent');
    await popup.locator('#allow').click();
    await expectScreen(popup, 'signed-in', 'wxs-popup-allowed');
    await web.locator('#extension-retry').click();
    await expectScreen(web, 'signed-in', 'wxs-web-signed-in');
    // What the extension set up is what the web app shows.
    await web.locator('#nav-my-2fa').click();
    await expectScreen(web, 'my-2fa', 'wxs-web-my-2fa');
    assert.equal(await web.getAttribute('#current-method', 'data-method'), 'sms');

    // New codes in the web app: the kept ones are dead at once, and the
    // toolbar and settings say so instead of offering them.
    await web.locator('#regenerate').click();
    await confirmWithPassword(web);
    await expectScreen(web, 'setup-codes', 'wxs-web-new-codes');
    const fresh = await web.locator('#recovery-codes .recovery-code').allInnerTexts();
    assert.equal(fresh.length, 10);
    vault = await popupVault(popup);
    assert.equal(vault.replaced, true, 'the popup says the kept codes were replaced');
    assert.deepEqual(vault.codes, [], 'no dead code is offered');
    await shot(popup, 'wxs-popup-replaced');
    await settings.reload();
    await expectScreen(settings, 'settings', 'wxs-settings-replaced');
    await settings.locator('#vault-replaced').waitFor();

    // A page cannot put any other codes in the vault: the old batch is refused.
    const forged = await askFromPage(web, browser.extensionId, { type: 'keep_recovery_codes', codes: first });
    assert.equal(forged.reply?.ok, false, JSON.stringify(forged));
    assert.equal(forged.reply.error.code, 'recovery_codes_not_current');

    // The person chooses to keep the new ones in the extension.
    await web.locator('#keep-in-extension').click();
    await web.locator('#keep-in-extension-status', { hasText: 'Kept in the dialer-2fa extension' }).waitFor();
    await shot(web, 'wxs-web-kept');
    await web.locator('#copy-codes').click();
    await web.locator('#complete:enabled').click();
    await expectScreen(web, 'my-2fa', 'wxs-web-after-new-codes');
    vault = await popupVault(popup);
    assert.deepEqual(vault.codes, fresh);
    assert.equal(vault.replaced, false);
    await shot(popup, 'wxs-popup-new-codes-kept');

    // The web app switches to the authenticator: the popup and settings show it.
    await web.locator('#switch').click();
    await confirmWithPassword(web);
    await expectScreen(web, 'setup-app-scan', 'wxs-web-switch-scan');
    const key = (await web.locator('#secret-key').innerText()).replace(/\s+/g, '');
    await web.locator('#continue').click();
    await web.locator('#setup-code').fill(totp(api, key));
    await web.locator('#verify').click();
    await expectScreen(web, 'my-2fa', 'wxs-web-switched');
    assert.equal(await web.getAttribute('#current-method', 'data-method'), 'authenticator');
    await popup.reload();
    await expectScreen(popup, 'signed-in', 'wxs-popup-switched');
    assert.match(await popup.locator('#method').innerText(), /Authenticator app/);
    await settings.reload();
    await expectScreen(settings, 'settings', 'wxs-settings-switched');
    assert.equal(await settings.getAttribute('#current-method', 'data-method'), 'authenticator');
    assert.equal(await settings.locator('#vault-replaced').count(), 0);

    // The reverse: back to SMS from the extension's settings (the kept
    // number), and the web app shows it.
    await advanceClock(api, 31);
    await settings.locator('#switch').click();
    await confirmWithPassword(settings);
    await expectScreen(settings, 'setup-sms-code', 'wxs-settings-switch-sms');
    await settings.locator('#code').fill(lastSmsCode(api, PHONE));
    await settings.locator('#verify').click();
    await expectScreen(settings, 'settings', 'wxs-settings-switched-back');
    assert.equal(await settings.getAttribute('#current-method', 'data-method'), 'sms');
    await web.reload();
    await expectScreen(web, 'my-2fa', 'wxs-web-sees-sms');
    assert.equal(await web.getAttribute('#current-method', 'data-method'), 'sms');
    // And new codes from the extension replace the kept ones as before.
    await settings.locator('#regenerate').click();
    await confirmWithPassword(settings);
    await expectScreen(settings, 'setup-codes', 'wxs-settings-new-codes');
    await settings.locator('#keep-codes').click();
    await settings.locator('#kept-notice', { hasText: '10 codes kept' }).waitFor();
    const third = await copyCodesAndComplete(settings, 'wxs-settings-new-codes-kept');
    vault = await popupVault(popup);
    assert.deepEqual(vault.codes, third);
    assert.equal(vault.replaced, false);
  } finally {
    await browser.close();
    await api.stop();
  }
});
