// The browser suite's harness: the real account API on a free loopback port,
// the real native host registered in a throw-away Chromium profile, and the
// built extension loaded unpacked in headless Chromium.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { writeWebAppOrigin, DEFAULT_WEB_APP_ORIGIN } from '../../scripts/web-app-origin.mjs';

export const ROOT = resolve(import.meta.dirname, '../..');
export const EXTENSION_DIR = join(ROOT, 'dist/extension');
export const API_BIN = join(ROOT, 'target/debug/dialer-2fa-api');
export const HOST_BIN = join(ROOT, 'target/debug/dialer-2fa-host');
export const SHOTS = join(ROOT, 'target/e2e');
mkdirSync(SHOTS, { recursive: true });

/**
 * A directory under the system temp dir, removed when this test file's
 * process exits, pass or fail: the API's database, the browser profile and
 * its keyring hold (test) secrets, and a run of the suite left some 150 MB.
 */
const tempDirs = [];
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true, maxRetries: 3 }); } catch { /* a best effort on the way out */ }
  }
});

/** Chrome's id for an extension: sha256 of its public key, a-p for 0-f. */
export function extensionIdFromManifest(dir = EXTENSION_DIR) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const digest = createHash('sha256').update(Buffer.from(manifest.key, 'base64')).digest('hex');
  return [...digest.slice(0, 32)].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}

/** Starts `dialer-2fa-api serve` on 127.0.0.1:0 with a fresh SQLite file. */
export async function startApi({ dir = tempDir('d2fa-api-'), args = [] } = {}) {
  const child = spawn(API_BIN, ['serve', '--db', join(dir, 'api.sqlite'), '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`API did not start in 30 s; stderr:\n${stderr}`)), 30_000);
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`API exited with ${code}; stderr:\n${stderr}`)); });
    lines.on('line', (line) => {
      const m = line.match(/^listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
  });
  return {
    url,
    dir,
    child,
    async stop() {
      // A child killed by a signal has signalCode set and exitCode null.
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A headless Chromium with the built extension. With `apiUrl`, the real host
 * is registered in the profile (manifest under NativeMessagingHosts, config in
 * a private XDG dir the host inherits through Chromium's environment).
 *
 * The extension answers one web app origin: `webAppOrigin`, by default the
 * API's own (its free port), written into the private copy by the same
 * script `make build` uses. `widenManifest` (match patterns) adds to
 * Chrome's externally_connectable filter only, never to web_app.json, so a
 * test can reach the service worker's own origin check. `systemHost` leaves
 * the profile without a manifest, so Chromium must find the host a system
 * package installed (scripts/deb-install-test.sh); only the host's config
 * is written.
 *
 * `chromiumArgs` are added to Chromium's command line, `env` to the
 * environment Chromium and the host it starts inherit, and `hostPath`
 * replaces the host binary in its manifest (a wrapper that execs it).
 */
// Headless Chromium without any extension: the web app as a person
// without the extension sees it.
export function launchPlainChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-extensions', '--no-first-run'],
  });
}

export async function launchBrowser({
  apiUrl, webAppOrigin, widenManifest = [], systemHost = false, chromiumArgs = [], env: extraEnv = {}, hostPath,
} = {}) {
  const base = tempDir('d2fa-browser-');
  const userDataDir = join(base, 'profile');
  const xdg = {
    XDG_CONFIG_HOME: join(base, 'config'),
    XDG_DATA_HOME: join(base, 'data'),
    XDG_STATE_HOME: join(base, 'state'),
  };
  mkdirSync(userDataDir, { recursive: true });
  // A private copy of the built extension: a `make build` of another run
  // replacing dist/extension must not pull files from under this browser.
  const extensionDir = join(base, 'extension');
  cpSync(EXTENSION_DIR, extensionDir, { recursive: true });
  const origin = webAppOrigin ?? (apiUrl ? new URL(apiUrl).origin : DEFAULT_WEB_APP_ORIGIN);
  writeWebAppOrigin(extensionDir, origin);
  if (widenManifest.length) {
    const manifestPath = join(extensionDir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.externally_connectable.matches.push(...widenManifest);
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  }
  const keyring = await startPrivateKeyring(base);
  const env = {
    ...process.env,
    ...xdg,
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    ...extraEnv,
    DBUS_SESSION_BUS_ADDRESS: keyring.address,
  };
  let hostManifest = null;
  if (apiUrl && systemHost) {
    // The host a system package installed (/etc/chromium/native-messaging-hosts):
    // no manifest in the profile, only the user's config naming the API.
    const configDir = join(xdg.XDG_CONFIG_HOME, 'dialer-2fa');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'host.json'), JSON.stringify({ api_url: apiUrl }));
  } else if (apiUrl) {
    execFileSync(HOST_BIN, ['install', '--browser', 'chromium', '--user-data-dir', userDataDir, '--api-url', apiUrl], { env, stdio: 'pipe' });
    const manifestPath = join(userDataDir, 'NativeMessagingHosts', 'com.dialer2fa.host.json');
    hostManifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (hostPath) {
      hostManifest.path = hostPath;
      writeFileSync(manifestPath, JSON.stringify(hostManifest, null, 2));
    }
  }
  const launch = () => chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    env,
    args: [
      '--headless=new',
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--password-store=basic',
      ...chromiumArgs,
    ],
  });
  let context = await launch();
  let [worker] = context.serviceWorkers();
  if (!worker) worker = await context.waitForEvent('serviceworker', { timeout: 30_000 });
  const extensionId = new URL(worker.url()).host;
  return {
    get context() { return context; },
    extensionId,
    extensionDir,
    webAppOrigin: origin,
    hostManifest,
    userDataDir,
    env,
    async openPopup() {
      const page = await context.newPage();
      await page.goto(`chrome-extension://${extensionId}/popup.html`);
      return page;
    },
    /** Quits and starts the browser again on the same profile and keyring. */
    async restart() {
      await context.close();
      context = await launch();
      if (context.serviceWorkers().length === 0) await context.waitForEvent('serviceworker', { timeout: 30_000 });
    },
    async close() {
      await context.close();
      keyring.stop();
    },
  };
}

/**
 * A Secret Service of the browser's own: a private session bus and an
 * unlocked gnome-keyring whose files live in the browser's temp dir. Every
 * gnome-keyring of this OS user otherwise shares ~/.local/share/keyrings, so
 * concurrent runs (other suites, other checkouts) would overwrite each
 * other's session tokens. The host reaches it through Chromium's environment.
 */
async function startPrivateKeyring(base) {
  const data = join(base, 'keyring-data');
  const runtime = join(base, 'keyring-run');
  mkdirSync(data, { recursive: true });
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  // No service files (XDG_DATA_DIRS): nothing may be auto-started on this
  // bus, or an early call would start a second, locked keyring daemon.
  const busEnv = { ...process.env, XDG_DATA_HOME: data, XDG_DATA_DIRS: data, XDG_RUNTIME_DIR: runtime };
  const dbus = spawn('dbus-daemon', ['--session', '--nofork', '--nopidfile', '--print-address=1'], {
    env: busEnv, stdio: ['ignore', 'pipe', 'ignore'],
  });
  const address = await new Promise((ok, fail) => {
    createInterface({ input: dbus.stdout }).once('line', (line) => ok(line.trim()));
    dbus.once('exit', (code) => fail(new Error(`dbus-daemon exited with ${code}`)));
  });
  const keyring = spawn('gnome-keyring-daemon', ['--unlock', '--components=secrets', '--foreground'], {
    env: { ...busEnv, DBUS_SESSION_BUS_ADDRESS: address }, stdio: ['pipe', 'ignore', 'ignore'],
  });
  keyring.stdin.end('dialer-2fa-e2e');
  const gdbus = (...args) => {
    try {
      return execFileSync('gdbus', ['call', '--session', ...args], {
        env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch { return ''; }
  };
  await untilTrue(() => gdbus('--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus',
    '--method', 'org.freedesktop.DBus.NameHasOwner', 'org.freedesktop.secrets').includes('true')
    && gdbus('--dest', 'org.freedesktop.secrets', '--object-path', '/org/freedesktop/secrets/collection/login',
      '--method', 'org.freedesktop.DBus.Properties.Get', 'org.freedesktop.Secret.Collection', 'Locked').includes('false'),
  { timeout: 15_000, pause: 50 });
  return {
    address,
    stop() {
      keyring.kill();
      dbus.kill();
    },
  };
}

/** Waits for the popup to show `screen` and saves a screenshot of it. */
export async function expectScreen(page, screen, shotName) {
  try {
    await page.locator(`#app[data-screen="${screen}"]`).waitFor({ timeout: 20_000 });
  } catch (e) {
    // Say what the page showed instead: the screen and its words.
    const seen = await page.locator('#app').evaluate((a) => `${a.dataset.screen}: ${a.innerText}`).catch(() => '?');
    await page.screenshot({ path: join(SHOTS, `${shotName}-FAILED.png`) }).catch(() => {});
    throw new Error(`expected screen "${screen}", the page shows ${JSON.stringify(seen)}`, { cause: e });
  }
  await page.screenshot({ path: join(SHOTS, `${shotName}.png`) });
}

/**
 * Calls `check` until it returns true, pausing between tries; fails after
 * `timeout` ms. For state that only another process decides when to change
 * (a cache on the host), never as a stand-in for waiting on the page.
 */
export async function untilTrue(check, { timeout = 20_000, pause = 500 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`condition not met within ${timeout} ms`);
    await new Promise((ok) => setTimeout(ok, pause));
  }
}

// ---- Flow helpers: the API's admin CLI, its outbox and clock, TOTP codes
// from oathtool (an implementation nobody here wrote), and the popup's and
// settings page's common steps.

export const PASSWORD = 'correct horse battery staple';

/** Runs an admin subcommand of the API binary on the test's database. */
export function admin(api, ...args) {
  return execFileSync(API_BIN, [...args, '--db', join(api.dir, 'api.sqlite')], {
    encoding: 'utf8',
    env: { ...process.env, RUST_LOG: 'warn' },
  });
}

export function createUser(api, email, password = PASSWORD) {
  admin(api, 'user', 'create', '--email', email, '--password', password);
}

export function createAccount(api, name) {
  admin(api, 'account', 'create', '--name', name);
}

export function addMember(api, account, email, role) {
  admin(api, 'membership', 'add', '--account', account, '--email', email, '--role', role);
}

/** The outbox (SMS and notifications), oldest first. */
export function outbox(api) {
  return admin(api, 'outbox', '--json')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/** How many SMS messages went to `phone` so far. */
export function smsCount(api, phone) {
  return outbox(api).filter((m) => m.kind === 'sms' && m.recipient === phone).length;
}

/** The 6-digit code of the newest SMS to `phone`. */
export function lastSmsCode(api, phone) {
  const sms = outbox(api).filter((m) => m.kind === 'sms' && m.recipient === phone);
  assertTrue(sms.length > 0, `no SMS to ${phone} in the outbox`);
  const m = sms[sms.length - 1].body.match(/\b(\d{6})\b/);
  assertTrue(m, `no code in "${sms[sms.length - 1].body}"`);
  return m[1];
}

function assertTrue(ok, message) {
  if (!ok) throw new Error(message);
}

/**
 * Moves the API's clock (needs `--allow-clock-control`) and remembers how far
 * it is from this machine's, so TOTP codes are computed for the server's time.
 */
export async function advanceClock(api, seconds) {
  const res = await fetch(`${api.url}/v1/test/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advance_seconds: seconds }),
  });
  if (!res.ok) throw new Error(`clock move refused: ${res.status} ${await res.text()}`);
  const { now } = await res.json();
  api.clockOffset = now - Math.floor(Date.now() / 1000);
  return now;
}

/**
 * A TOTP code from oathtool for the server's current time. A code is
 * accepted once (RFC 6238 §5.2), so a test that needs another one moves the
 * server clock to the next 30 s step first (`nextTotp`).
 */
export function totp(api, key) {
  const now = Math.floor(Date.now() / 1000) + (api.clockOffset ?? 0);
  return execFileSync('oathtool', ['--totp', '-b', key, '-N', `@${now}`], { encoding: 'utf8' }).trim();
}

export async function nextTotp(api, key) {
  await advanceClock(api, 30);
  return totp(api, key);
}

/**
 * The codes the server accepts for `key` now: the steps before, at and
 * after the server's time (the ±1 step of drift it allows), by oathtool.
 */
export function totpWindow(api, key) {
  const now = Math.floor(Date.now() / 1000) + (api.clockOffset ?? 0);
  return [-30, 0, 30].map((offset) =>
    execFileSync('oathtool', ['--totp', '-b', key, '-N', `@${now + offset}`], { encoding: 'utf8' }).trim());
}

/**
 * A 6-digit code that is none of `right` (every code the server would
 * accept), so a "wrong code" test cannot pass by luck: '000000' is right
 * about three times in a million runs.
 */
export function certainlyWrongCode(right) {
  for (let n = 0; n < 1_000_000; n += 1) {
    const candidate = String(n).padStart(6, '0');
    if (!right.includes(candidate)) return candidate;
  }
  throw new Error('a few codes cannot cover a million');
}

/** Every 6-digit code sent by SMS to `phone` so far. */
export function smsCodes(api, phone) {
  return outbox(api)
    .filter((m) => m.kind === 'sms' && m.recipient === phone)
    .map((m) => m.body.match(/\b(\d{6})\b/)?.[1])
    .filter(Boolean);
}

/** Decodes a QR code PNG (base64) with zbarimg. */
export function decodeQr(pngBase64) {
  const file = join(tempDir('d2fa-qr-'), 'qr.png');
  writeFileSync(file, Buffer.from(pngBase64, 'base64'));
  return execFileSync('zbarimg', ['-q', '--raw', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

/** Opens the settings page (options_ui) in a tab. */
export async function openSettings(browser) {
  const page = await browser.context.newPage();
  await page.goto(`chrome-extension://${browser.extensionId}/options.html`);
  return page;
}

/**
 * Types email and password on the popup's sign-in screen and presses Enter.
 * Waits for the settled form, not the early one drawn before the host's
 * session answer (data-pending), which that answer may replace.
 */
export async function signIn(page, email, password = PASSWORD) {
  await page.locator('#app[data-screen="sign-in"]:not([data-pending])').waitFor({ timeout: 20_000 });
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(password);
  await page.locator('#password').press('Enter');
}

/**
 * The recovery-code list as laid out now: per code, the boxes of its text
 * (one per line it takes) and of its row's other parts (number, Copy).
 */
export function codeLayout(page) {
  return page.evaluate(() => [...document.querySelectorAll('#recovery-codes li')].map((li) => {
    const code = li.querySelector('.recovery-code') ?? li;
    const range = document.createRange();
    range.selectNodeContents(code);
    const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    const box = (r) => ({ left: r.left, right: r.right, top: r.top, bottom: r.bottom });
    const others = [...li.children].filter((c) => c !== code).map((c) => box(c.getBoundingClientRect()));
    return {
      text: code.textContent.trim(),
      lines: lines.size,
      box: box(range.getBoundingClientRect()),
      others,
      copy: li.querySelector('button') ? li.querySelector('button').innerText : null,
    };
  }));
}

export const boxesOverlap = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;

/**
 * Issue 13: the codes as `codeLayout` finds them at this width: 10, each on
 * one line with its own Copy, in one column, no code's box overlapping
 * another code or another row's number or button.
 */
export async function assertCodesLaidOut(page, width) {
  const rows = await codeLayout(page);
  if (rows.length !== 10) throw new Error(`${width} px: ${rows.length} codes, not 10`);
  for (const [i, r] of rows.entries()) {
    if (r.lines !== 1) throw new Error(`${width} px: code ${i + 1} (${r.text}) takes ${r.lines} lines`);
    if (r.copy !== 'Copy') throw new Error(`${width} px: code ${i + 1} has no Copy of its own`);
    for (const [j, s] of rows.entries()) {
      if (j <= i) continue;
      if (boxesOverlap(r.box, s.box)) throw new Error(`${width} px: codes ${i + 1} and ${j + 1} overlap`);
      for (const o of s.others) if (boxesOverlap(r.box, o)) throw new Error(`${width} px: code ${i + 1} runs into row ${j + 1}`);
      for (const o of r.others) if (boxesOverlap(s.box, o)) throw new Error(`${width} px: code ${j + 1} runs into row ${i + 1}`);
    }
  }
  const lefts = new Set(rows.map((r) => Math.round(r.box.left)));
  if (lefts.size !== 1) throw new Error(`${width} px: ${lefts.size} columns, not one`);
}

/** Copies the recovery codes (the gate), then completes; returns the codes. */
export async function copyCodesAndComplete(page, shotName) {
  await expectScreen(page, 'setup-codes', shotName);
  const codes = await page.locator('#recovery-codes .recovery-code').allInnerTexts();
  if ((await page.locator('#complete').isDisabled()) !== true) throw new Error('Complete was enabled before Copy');
  await page.locator('#copy-codes').click();
  await page.locator('#complete:enabled').waitFor({ timeout: 10_000 });
  await page.locator('#complete').click();
  return codes;
}

/**
 * From the wizard's first step to the recovery codes with the authenticator
 * app; returns the key read from the page.
 */
export async function setUpAuthenticator(page, api, shotPrefix) {
  await expectScreen(page, 'setup-choose', `${shotPrefix}-choose`);
  await page.locator('#choose-app').click();
  await expectScreen(page, 'setup-app-start', `${shotPrefix}-app-start`);
  await page.locator('#start-setup').click();
  await expectScreen(page, 'setup-app-scan', `${shotPrefix}-app-scan`);
  const key = (await page.locator('#secret-key').innerText()).replace(/\s+/g, '');
  await page.locator('#continue').click();
  await expectScreen(page, 'setup-app-code', `${shotPrefix}-app-code`);
  await page.locator('#code').fill(totp(api, key));
  await page.locator('#code').press('Enter');
  return key;
}

/** From the wizard's first step to the recovery codes with SMS. */
export async function setUpSms(page, api, phone, shotPrefix) {
  await expectScreen(page, 'setup-choose', `${shotPrefix}-choose`);
  await page.locator('#choose-sms').click();
  await expectScreen(page, 'setup-sms-phone', `${shotPrefix}-sms-phone`);
  await page.locator('#phone').fill(phone);
  await page.locator('#phone').press('Enter');
  await expectScreen(page, 'setup-sms-code', `${shotPrefix}-sms-code`);
  await page.locator('#code').fill(lastSmsCode(api, phone));
  await page.locator('#verify').click();
}

/** The toolbar badge text, read in the service worker. */
export async function badgeText(browser) {
  const [worker] = browser.context.serviceWorkers();
  return worker.evaluate(() => chrome.action.getBadgeText({}));
}

/** Saves a screenshot of the page as it is now under target/e2e/. */
export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/**
 * What a page gets when it sends `message` to the extension: `{channel:
 * false}` when Chrome gives it no way to (the manifest's filter), else the
 * reply (null for an empty one) and Chrome's lastError. Resolves when Chrome
 * calls back: a condition, not a timer.
 */
export function askFromPage(page, extensionId, message) {
  return page.evaluate(({ id, msg }) => new Promise((resolve) => {
    if (!(window.chrome && chrome.runtime && chrome.runtime.sendMessage)) {
      resolve({ channel: false });
      return;
    }
    try {
      chrome.runtime.sendMessage(id, msg, (reply) => {
        const error = chrome.runtime.lastError ? chrome.runtime.lastError.message : null;
        resolve({ channel: true, reply: reply ?? null, error });
      });
    } catch (e) {
      resolve({ channel: false, error: String(e) });
    }
  }), { id: extensionId, msg: message });
}

/** The API's audit rows of `event`, oldest first. */
export function auditRows(api, event) {
  return admin(api, 'audit', '--json')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((row) => row.event === event);
}

/** Calls a v1 route as a plain API client; returns the JSON answer. */
export async function v1(api, path, body, token) {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// ---- Accessibility (issue 13): axe-core from npm, injected into the page
// through the DevTools protocol (Runtime.evaluate is not subject to a page's
// Content-Security-Policy, so the extension's pages and the web app are
// checked as they ship, with no test-only relaxation).

const AXE_SOURCE = readFileSync(join(ROOT, 'tests/e2e/node_modules/axe-core/axe.min.js'), 'utf8');

/** The screens axe ran on in this process, with the colour scheme. */
export const axeChecked = [];

/**
 * Runs axe-core on the page as it is now and fails naming every serious or
 * critical violation (rule, help text, the elements and why). `label` names
 * the screen in the failure and in `axeChecked`.
 */
export async function assertAccessible(page, label) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const loaded = await cdp.send('Runtime.evaluate', { expression: 'typeof window.axe === "object"', returnByValue: true });
    if (loaded.result.value !== true) {
      const r = await cdp.send('Runtime.evaluate', { expression: AXE_SOURCE });
      if (r.exceptionDetails) throw new Error(`axe-core did not load: ${r.exceptionDetails.text}`);
    }
  } finally {
    await cdp.detach().catch(() => {});
  }
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id} (${v.help}):\n${v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`).join('\n')}`);
  });
  const scheme = await page.evaluate(() => (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
  axeChecked.push(`${label} (${scheme})`);
  if (found.length) {
    await page.screenshot({ path: join(SHOTS, `${label}-${scheme}-AXE.png`) }).catch(() => {});
    throw new Error(`axe-core on ${label} (${scheme}): ${found.length} serious or critical violation(s)\n  ${found.join('\n  ')}`);
  }
}
