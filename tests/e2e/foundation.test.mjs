// Issue 2: one request through the whole chain, popup -> service worker ->
// native host -> account API and back, in real headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startApi, launchBrowser, expectScreen, extensionIdFromManifest, untilTrue, assertAccessible } from './harness.mjs';

/** A crate's version, or the workspace's when it inherits it (`version.workspace = true`). */
function crateVersion(crate) {
  const own = readFileSync(join(ROOT, crate, 'Cargo.toml'), 'utf8');
  if (/^version\.workspace = true$/m.test(own)) {
    const workspace = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8').split(/^\[workspace\.package\]$/m)[1];
    return workspace.match(/^version = "(.+)"/m)[1];
  }
  return own.match(/^version = "(.+)"/m)[1];
}
const apiVersion = crateVersion('account-api');
const hostVersion = crateVersion('native-host');

test('the pinned key gives the id the shared crate names', () => {
  const product = readFileSync(join(ROOT, 'shared/src/product.rs'), 'utf8');
  const pinned = product.match(/EXTENSION_ID: &str = "([a-p]{32})"/)[1];
  assert.equal(extensionIdFromManifest(), pinned);
});

test('popup shows the API status as the real host saw it', async () => {
  const api = await startApi();
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    assert.equal(browser.extensionId, extensionIdFromManifest(), 'Chromium loaded the extension under its pinned id');
    assert.deepEqual(browser.hostManifest.allowed_origins, [`chrome-extension://${browser.extensionId}/`]);

    const popup = await browser.openPopup();
    // The status sits in the footer of the first screen (sign in here).
    await expectScreen(popup, 'sign-in', 'foundation-ready');
    // Issue 13: versions and the address are support detail, behind "Details".
    assert.match(await popup.locator('#connection').innerText(), /^Connected/);
    await popup.locator('#details summary').click();
    assert.match(await popup.locator('#host-status').innerText(), new RegExp(`Helper ${hostVersion} connected`));
    const apiLine = await popup.locator('#api-status').innerText();
    assert.ok(apiLine.includes(`reachable at ${api.url}`), apiLine);
    assert.ok(apiLine.includes(`version ${apiVersion}`), apiLine);
    assert.match(apiLine, /\d+ ms\)/);

    // The line is live, not cached in the page: with the API stopped, the
    // same button reports it unreachable through the same host.
    await api.stop();
    // The host caches its health check for a few seconds, so "Check again"
    // is pressed until the host looks again (each press is a real request).
    await untilTrue(async () => {
      await popup.locator('#retry').click();
      return popup.locator('#connection[data-reachable="false"]').isVisible();
    });
    assert.match(await popup.locator('#connection').innerText(), /Cannot reach your account server/);
    // "Details" stayed open through the redraws.
    assert.equal(await popup.locator('#api-status').isVisible(), true);
    await popup.screenshot({ path: join(ROOT, 'target/e2e/foundation-api-down.png') });
    assert.match(await popup.locator('#api-status').innerText(), new RegExp(`not reachable at ${api.url.replace(/[.]/g, '[.]')}`));
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('without a host manifest the popup shows the install command', async () => {
  const browser = await launchBrowser();
  try {
    const popup = await browser.openPopup();
    await expectScreen(popup, 'host-missing', 'foundation-host-missing');
    await assertAccessible(popup, 'popup-host-missing');
    const command = await popup.locator('#install-command').innerText();
    assert.match(command, /^dialer-2fa-host install --browser chrome --api-url http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await popup.locator('#retry').isEnabled(), true);
  } finally {
    await browser.close();
  }
});
