// Issue 12, goal 5: the popup's sign-in form does not wait for the host.
// The host here is held at a gate (a wrapper that starts the real host only
// once the test opens the gate), so everything the popup shows before the
// gate opens was drawn without a single answer from the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_BIN, startApi, launchBrowser, expectScreen, untilTrue, tempDir } from './harness.mjs';

function gatedHost(dir) {
  const started = join(dir, 'started');
  const gate = join(dir, 'gate');
  const wrapper = join(dir, 'gated-host.sh');
  writeFileSync(wrapper, `#!/bin/sh
: > '${started}'
while [ ! -e '${gate}' ]; do sleep 0.05; done
exec '${HOST_BIN}' "$@"
`);
  chmodSync(wrapper, 0o755);
  return { wrapper, started, open: () => writeFileSync(gate, '') };
}

test('the sign-in form is usable before the host answers, and the status fills in after', async () => {
  const dir = tempDir('d2fa-gated-');
  const host = gatedHost(dir);
  const api = await startApi();
  const browser = await launchBrowser({ apiUrl: api.url, hostPath: host.wrapper });
  try {
    // The worker starts the host as it starts, before any page asks.
    await untilTrue(async () => existsSync(host.started), { pause: 50 });

    const popup = await browser.openPopup();
    await expectScreen(popup, 'sign-in', 'early-form');
    // No answer yet: no status in the footer, and the form takes input.
    assert.equal(await popup.locator('#connection').count(), 0, 'the host has not answered yet');
    // Provisional, and says so: the session's answer may replace it.
    assert.equal(await popup.locator('#app').getAttribute('data-pending'), '', 'the early form is marked pending');
    await popup.locator('#email').fill('early@example.com');
    assert.equal(await popup.locator('#email').isEditable(), true);

    host.open();
    // The host's answers arrive: the footer fills in, the screen stays, and
    // what was typed is kept.
    await popup.locator('#connection').waitFor({ timeout: 20_000 });
    assert.match(await popup.locator('#connection').innerText(), /^Connected/);
    await popup.locator('#app:not([data-pending])').waitFor({ timeout: 20_000 });
    assert.equal(await popup.locator('#app').getAttribute('data-screen'), 'sign-in');
    assert.equal(await popup.locator('#email').inputValue(), 'early@example.com');
  } finally {
    host.open();
    await browser.close();
    await api.stop();
  }
});
