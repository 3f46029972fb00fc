// The browser suite's harness: the real account API on a free loopback port,
// the real native host registered in a throw-away Chromium profile, and the
// built extension loaded unpacked in headless Chromium.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const EXTENSION_DIR = join(ROOT, 'dist/extension');
export const API_BIN = join(ROOT, 'target/debug/dialer-2fa-api');
export const HOST_BIN = join(ROOT, 'target/debug/dialer-2fa-host');
export const SHOTS = join(ROOT, 'target/e2e');
mkdirSync(SHOTS, { recursive: true });

/** Chrome's id for an extension: sha256 of its public key, a-p for 0-f. */
export function extensionIdFromManifest(dir = EXTENSION_DIR) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const digest = createHash('sha256').update(Buffer.from(manifest.key, 'base64')).digest('hex');
  return [...digest.slice(0, 32)].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}

/** Starts `dialer-2fa-api serve` on 127.0.0.1:0 with a fresh SQLite file. */
export async function startApi({ dir = mkdtempSync(join(tmpdir(), 'd2fa-api-')), args = [] } = {}) {
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
 */
export async function launchBrowser({ apiUrl } = {}) {
  const base = mkdtempSync(join(tmpdir(), 'd2fa-browser-'));
  const userDataDir = join(base, 'profile');
  const xdg = {
    XDG_CONFIG_HOME: join(base, 'config'),
    XDG_DATA_HOME: join(base, 'data'),
    XDG_STATE_HOME: join(base, 'state'),
  };
  mkdirSync(userDataDir, { recursive: true });
  const env = { ...process.env, ...xdg, RUST_LOG: process.env.RUST_LOG ?? 'info' };
  let hostManifest = null;
  if (apiUrl) {
    execFileSync(HOST_BIN, ['install', '--browser', 'chromium', '--user-data-dir', userDataDir, '--api-url', apiUrl], { env, stdio: 'pipe' });
    hostManifest = JSON.parse(readFileSync(join(userDataDir, 'NativeMessagingHosts', 'com.dialer2fa.host.json'), 'utf8'));
  }
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    env,
    args: [
      '--headless=new',
      `--disable-extensions-except=${EXTENSION_DIR}`,
      `--load-extension=${EXTENSION_DIR}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--password-store=basic',
    ],
  });
  let [worker] = context.serviceWorkers();
  if (!worker) worker = await context.waitForEvent('serviceworker', { timeout: 30_000 });
  const extensionId = new URL(worker.url()).host;
  return {
    context,
    extensionId,
    hostManifest,
    userDataDir,
    env,
    async openPopup() {
      const page = await context.newPage();
      await page.goto(`chrome-extension://${extensionId}/popup.html`);
      return page;
    },
    async close() { await context.close(); },
  };
}

/** Waits for the popup to show `screen` and saves a screenshot of it. */
export async function expectScreen(page, screen, shotName) {
  await page.locator(`#app[data-screen="${screen}"]`).waitFor({ timeout: 20_000 });
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
