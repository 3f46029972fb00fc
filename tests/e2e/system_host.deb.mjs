// Issue 13 §2: after `dpkg -i dialer-2fa-host_<version>_<arch>.deb`, Chromium
// finds the host through the package's system-wide manifest
// (/etc/chromium/native-messaging-hosts/com.dialer2fa.host.json), with no
// per-user install. Not a *.test.mjs file: it needs the package installed,
// so scripts/deb-install-test.sh (`make package-install-test`) installs it,
// runs this, and removes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startApi, launchBrowser, expectScreen, createUser, signIn } from './harness.mjs';

const SYSTEM_MANIFEST = '/etc/chromium/native-messaging-hosts/com.dialer2fa.host.json';
const INSTALLED_HOST = '/usr/bin/dialer-2fa-host';

test('Chromium starts the packaged host from the system-wide manifest, with no per-user install', async () => {
  assert.ok(existsSync(SYSTEM_MANIFEST), `${SYSTEM_MANIFEST}: install the host's .deb first (make package-install-test)`);
  assert.equal(JSON.parse(readFileSync(SYSTEM_MANIFEST, 'utf8')).path, INSTALLED_HOST);
  const api = await startApi();
  const browser = await launchBrowser({ apiUrl: api.url, systemHost: true });
  try {
    assert.equal(existsSync(join(browser.userDataDir, 'NativeMessagingHosts', 'com.dialer2fa.host.json')), false, 'no manifest in the profile');
    createUser(api, 'system@example.com');
    const popup = await browser.openPopup();
    // The sign-in screen needs the host's hello and the API it names.
    await expectScreen(popup, 'sign-in', 'system-host-sign-in');
    await signIn(popup, 'system@example.com');
    await expectScreen(popup, 'signed-in', 'system-host-signed-in');

    // The host that answered is the installed binary, started by Chromium.
    const running = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === INSTALLED_HOST;
      } catch { return false; }
    });
    assert.ok(running, `${INSTALLED_HOST} runs`);

    // And doctor tells a support person where it was found.
    const report = execFileSync(INSTALLED_HOST, ['doctor', '--browser', 'chromium'], { env: browser.env, encoding: 'utf8' });
    assert.match(report, new RegExp(`chromium \\(all users\\): ${SYSTEM_MANIFEST} -> ${INSTALLED_HOST} \\[chrome-extension://${browser.extensionId}/\\] \\(ok\\)`));
  } finally {
    await browser.close();
    await api.stop();
  }
});
