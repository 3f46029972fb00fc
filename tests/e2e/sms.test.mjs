// Issue 5: SMS end to end (codes read from the API's outbox) and switching
// SMS -> app -> SMS without typing the number again (R5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApi, launchBrowser, expectScreen, createUser, openSettings, signIn, totp, lastSmsCode,
  smsCount, smsCodes, certainlyWrongCode, copyCodesAndComplete, shot, advanceClock, PASSWORD, assertAccessible,
} from './harness.mjs';

const EMAIL = 'grace@example.com';
const PHONE = '+14155550123';

async function enableSms(api, browser) {
  createUser(api, EMAIL);
  const popup = await browser.openPopup();
  await signIn(popup, EMAIL);
  await expectScreen(popup, 'signed-in', 'sms-popup-signed-in-no-2fa');
  const settings = await openSettings(browser);
  await expectScreen(settings, 'settings', 'sms-settings-off');
  await settings.locator('#set-up').click();
  await expectScreen(settings, 'setup-choose', 'sms-setup-choose');
  await settings.locator('#choose-sms').click();
  await expectScreen(settings, 'setup-sms-phone', 'sms-setup-phone');
  assert.equal(await settings.evaluate(() => document.activeElement.id), 'phone');

  // Without the country code: refused before anything is sent.
  await settings.locator('#phone').fill('415 555 0123');
  await settings.locator('#phone').press('Enter');
  await settings.locator('#error', { hasText: 'country code' }).waitFor();
  assert.equal(smsCount(api, PHONE), 0);

  await settings.locator('#phone').fill('+1 415 555 0123');
  await settings.locator('#continue').click();
  await expectScreen(settings, 'setup-sms-code', 'sms-setup-code');
  await assertAccessible(settings, 'settings-setup-sms-code');
  assert.equal(smsCount(api, PHONE), 1, 'one SMS went to the number typed');
  assert.match(await settings.locator('#notice').innerText(), /We sent a code to \+1.*123/);
  // Resend waits for its cooldown and says how long.
  const resend = settings.locator('#resend');
  assert.equal(await resend.isDisabled(), true);
  assert.match(await resend.innerText(), /^Resend code \(\d+ s\)$/);
  assert.ok(Number(await resend.getAttribute('data-cooldown')) > 0);

  await settings.locator('#code').fill(lastSmsCode(api, PHONE));
  await settings.locator('#code').press('Enter');
  await copyCodesAndComplete(settings, 'sms-setup-codes');
  await expectScreen(settings, 'settings', 'sms-settings-on');
  assert.equal(await settings.getAttribute('#current-method', 'data-method'), 'sms');
  return { popup, settings };
}

test('enable SMS with the code from the outbox, then sign in with an SMS code', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    const { popup } = await enableSms(api, browser);
    await popup.reload();
    await expectScreen(popup, 'signed-in', 'sms-popup-signed-in');
    assert.match(await popup.locator('#method').innerText(), /text message to \+1.*123/);
    await popup.locator('#sign-out').click();

    const before = smsCount(api, PHONE);
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'sms-signin-challenge');
    assert.equal(smsCount(api, PHONE), before + 1, 'signing in sent a code');
    const label = await popup.locator('label[for="code"]').innerText();
    assert.match(label, /code we sent to \+1.*123/, 'the masked number is shown');
    assert.ok(!label.includes('5550123'), 'the number is masked');
    assert.match(await popup.locator('#resend').innerText(), /^Resend code \(\d+ s\)$/);
    assert.equal(await popup.locator('#resend').isDisabled(), true);
    assert.equal(await popup.evaluate(() => document.activeElement.id), 'code');

    // Once the cooldown has run down, Resend sends a new code. (The
    // countdown runs on this computer's clock: this waits about 30 s.)
    await popup.locator('#resend:enabled').waitFor({ timeout: 45_000 });
    assert.equal(await popup.locator('#resend').innerText(), 'Resend code');
    await popup.locator('#resend').click();
    await popup.locator('#notice', { hasText: 'We sent a new code' }).waitFor();
    await shot(popup, 'sms-signin-resent');
    assert.equal(smsCount(api, PHONE), before + 2, 'Resend sent another code');
    assert.equal(await popup.locator('#resend').isDisabled(), true, 'and the cooldown starts again');

    // A wrong code first, inline; then the right one.
    const code = lastSmsCode(api, PHONE);
    await popup.locator('#code').fill(certainlyWrongCode(smsCodes(api, PHONE)));
    await popup.locator('#code').press('Enter');
    await popup.locator('#error').waitFor();
    await shot(popup, 'sms-signin-wrong-code');
    await popup.locator('#code').fill(code);
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'sms-signin-signed-in');
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('switch SMS -> authenticator app -> SMS without re-entering the number', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    const { settings } = await enableSms(api, browser);

    // SMS -> app: password, then the QR and a code; no new recovery codes.
    await settings.locator('#switch').click();
    await settings.locator('#confirm-password').waitFor();
    await shot(settings, 'switch-confirm');
    await settings.locator('#confirm-password').fill(`${PASSWORD}x`);
    await settings.locator('#confirm-password').press('Enter');
    await settings.locator('#error').waitFor();
    assert.equal(await settings.getAttribute('#app', 'data-screen'), 'settings');
    await settings.locator('#confirm-password').fill(PASSWORD);
    await settings.locator('#confirm').click();
    await expectScreen(settings, 'setup-app-scan', 'switch-app-scan');
    const key = (await settings.locator('#secret-key').innerText()).replace(/\s+/g, '');
    await settings.locator('#continue').click();
    await expectScreen(settings, 'setup-app-code', 'switch-app-code');
    await settings.locator('#code').fill(totp(api, key));
    await settings.locator('#code').press('Enter');
    await expectScreen(settings, 'settings', 'switch-now-app');
    assert.equal(await settings.getAttribute('#current-method', 'data-method'), 'authenticator');
    assert.match(await settings.locator('#codes-left').innerText(), /^10 recovery codes left/, 'old codes stay');

    // App -> SMS: straight to the code sent to the kept number. The setup
    // SMS was moments ago; the API's resend cooldown is waited out on its
    // own clock.
    await advanceClock(api, 31);
    const before = smsCount(api, PHONE);
    await settings.locator('#switch').click();
    await settings.locator('#confirm-password').fill(PASSWORD);
    await settings.locator('#confirm-password').press('Enter');
    await expectScreen(settings, 'setup-sms-code', 'switch-sms-code');
    assert.equal(await settings.locator('#phone').count(), 0, 'no number asked');
    assert.equal(smsCount(api, PHONE), before + 1, 'the code went to the kept number');
    await settings.locator('#code').fill(lastSmsCode(api, PHONE));
    await settings.locator('#code').press('Enter');
    await expectScreen(settings, 'settings', 'switch-back-to-sms');
    assert.equal(await settings.getAttribute('#current-method', 'data-method'), 'sms');
    assert.match(await settings.locator('#current-method').innerText(), /\+1.*123/);
  } finally {
    await browser.close();
    await api.stop();
  }
});
