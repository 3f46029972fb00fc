// Issue 5, R8: "Remember this computer for 60 days" skips the code at the
// next sign-in, until the API's clock passes the 60 days.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApi, launchBrowser, expectScreen, createUser, openSettings, signIn, nextTotp,
  advanceClock, setUpAuthenticator, copyCodesAndComplete,
} from './harness.mjs';

const EMAIL = 'hedy@example.com';

test('remember this computer: no code for 60 days, asked again after', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, EMAIL);
    const popup = await browser.openPopup();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'signed-in', 'remember-no-2fa');
    const settings = await openSettings(browser);
    await expectScreen(settings, 'settings', 'remember-settings-off');
    await settings.locator('#set-up').click();
    const key = await setUpAuthenticator(settings, api, 'remember-setup');
    await copyCodesAndComplete(settings, 'remember-setup-codes');
    await expectScreen(settings, 'settings', 'remember-settings-on');
    await settings.close();

    // Without "remember": the next sign-in asks again.
    await popup.reload();
    await expectScreen(popup, 'signed-in', 'remember-signed-in');
    assert.match(await popup.locator('#verified-until').innerText(), /asks for a code/);
    await popup.locator('#sign-out').click();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'remember-challenge');
    await popup.locator('#code').fill(await nextTotp(api, key));
    await popup.locator('#remember').check();
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'remember-verified');
    const until = await popup.locator('#verified-until').innerText();
    // Issue 13: the date as Intl writes it in this browser's locale (the
    // web app's format too), 60 days on the server's clock.
    const expected = await popup.evaluate(() => {
      const f = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
      const out = [];
      for (let d = 59; d <= 62; d++) out.push(f.format(new Date(Date.now() + d * 86_400_000)));
      return out;
    });
    assert.ok(expected.some((d) => until === `This computer is verified until ${d}.`), `${until} (${expected[1]})`);

    // The settings page lists this computer, with Revoke.
    const devices = await openSettings(browser);
    await expectScreen(devices, 'settings', 'remember-devices');
    await devices.locator('#devices li', { hasText: 'this computer' }).waitFor();
    assert.equal(await devices.locator('#devices li button', { hasText: 'Revoke' }).count(), 1);
    await devices.close();

    // 59 days later: signed out and in again, no code asked.
    await advanceClock(api, 59 * 86_400);
    await popup.locator('#sign-out').click();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'signed-in', 'remember-day-59');

    // Past 60 days: the code is asked again.
    await advanceClock(api, 2 * 86_400);
    await popup.locator('#sign-out').click();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'remember-day-61');
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('a revoked computer is asked for the code again', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, EMAIL);
    const popup = await browser.openPopup();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'signed-in', 'revoke-no-2fa');
    const settings = await openSettings(browser);
    await expectScreen(settings, 'settings', 'revoke-settings-off');
    await settings.locator('#set-up').click();
    const key = await setUpAuthenticator(settings, api, 'revoke-setup');
    await copyCodesAndComplete(settings, 'revoke-setup-codes');
    await expectScreen(settings, 'settings', 'revoke-settings-on');

    await popup.reload();
    await expectScreen(popup, 'signed-in', 'revoke-signed-in');
    await popup.locator('#sign-out').click();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'revoke-challenge');
    await popup.locator('#code').fill(await nextTotp(api, key));
    await popup.locator('#remember').check();
    await popup.locator('#verify').click();
    await expectScreen(popup, 'signed-in', 'revoke-verified');

    await settings.reload();
    await expectScreen(settings, 'settings', 'revoke-listed');
    await settings.locator('#devices li button', { hasText: 'Revoke' }).click();
    await settings.locator('#notice', { hasText: 'Device removed' }).waitFor();
    assert.equal(await settings.locator('#devices li').count(), 0);

    await popup.locator('#sign-out').click();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'revoke-asked-again');
  } finally {
    await browser.close();
    await api.stop();
  }
});
