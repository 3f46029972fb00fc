// Issue 5: a signed-in popup while the account API is down shows the host's
// last known answer, marked as such, instead of signing the person out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, launchBrowser, expectScreen, createUser, signIn, openSettings, assertAccessible } from './harness.mjs';

test('API down: the popup shows the last known session, marked out of date', async () => {
  const api = await startApi();
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, 'mary@example.com');
    // Before signing in, the settings page sends the person to the popup.
    const settings = await openSettings(browser);
    await expectScreen(settings, 'signed-out', 'settings-signed-out');
    await assertAccessible(settings, 'settings-signed-out');
    assert.match(await settings.locator('#app').innerText(), /Sign in from the dialer-2fa button/);
    await settings.close();

    const popup = await browser.openPopup();
    await signIn(popup, 'mary@example.com');
    await expectScreen(popup, 'signed-in', 'offline-before');
    assert.equal(await popup.locator('#stale').count(), 0);

    await api.stop();
    await popup.reload();
    await expectScreen(popup, 'signed-in', 'offline-after');
    assert.match(await popup.locator('#who').innerText(), /mary@example\.com/);
    assert.match(await popup.locator('#stale').innerText(), /did not answer/);
  } finally {
    await browser.close();
    await api.stop();
  }
});
