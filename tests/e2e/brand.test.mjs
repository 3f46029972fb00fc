// Issue 13: the product's icons (rendered from extension/icons/*.svg by
// scripts/icons.sh) at the sizes the manifest names, the product name and
// icon at the head of every page, and the toolbar button's icon and title
// following the state the badge shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT, EXTENSION_DIR, startApi, launchBrowser, expectScreen, createUser, createAccount, addMember, admin,
  signIn, setUpAuthenticator, copyCodesAndComplete, badgeText, openSettings, shot, untilTrue,
} from './harness.mjs';

const SIZES = [16, 32, 48, 128];
const STATES = ['icon', 'icon-setup', 'icon-low'];

/** Width and height from a PNG's IHDR chunk, or null when it is no PNG. */
function pngSize(file) {
  const b = readFileSync(file);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (b.length < 24 || !b.subarray(0, 8).equals(signature) || b.toString('latin1', 12, 16) !== 'IHDR') return null;
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

/** The toolbar button's title, read in the service worker. */
async function toolbarTitle(browser) {
  const [worker] = browser.context.serviceWorkers();
  return worker.evaluate(() => chrome.action.getTitle({}));
}

/** The head of a page: its text and whether its icon image loaded. */
function brandOf(page, selector) {
  return page.evaluate((sel) => {
    const head = document.querySelector(sel);
    const img = head?.querySelector('img');
    return {
      text: head?.innerText.trim(),
      first: head === document.querySelector('#app').firstElementChild,
      icon: img ? { loaded: img.complete && img.naturalWidth > 0, alt: img.getAttribute('alt'), width: img.getBoundingClientRect().width } : null,
    };
  }, selector);
}

test('the manifest names icons at 16, 32, 48 and 128 px, each that size, and the toolbar states have theirs', async () => {
  const manifest = JSON.parse(readFileSync(join(EXTENSION_DIR, 'manifest.json'), 'utf8'));
  assert.deepEqual(Object.keys(manifest.icons ?? {}).map(Number).sort((a, b) => a - b), SIZES);
  assert.ok(manifest.action?.default_icon, 'the toolbar button has its own icon');
  const named = [...Object.entries(manifest.icons), ...Object.entries(manifest.action.default_icon)];
  // The toolbar states' variants, named by the extension's `toolbar` module.
  for (const state of STATES) for (const size of SIZES) named.push([String(size), `icons/${state}-${size}.png`]);
  for (const [size, path] of named) {
    const file = join(EXTENSION_DIR, path);
    assert.deepEqual(pngSize(file), [Number(size), Number(size)], `${path} is a ${size} px PNG`);
  }
  // The committed PNGs are the ones built into the extension.
  for (const state of STATES) {
    for (const size of SIZES) {
      const name = `${state}-${size}.png`;
      assert.ok(readFileSync(join(ROOT, 'extension/icons', name)).equals(readFileSync(join(EXTENSION_DIR, 'icons', name))), name);
    }
  }

  // And Chromium itself decodes each at its size, from inside the extension.
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(`chrome-extension://${browser.extensionId}/popup.html`);
    const decoded = await page.evaluate(async (paths) => Promise.all(paths.map(async (p) => {
      const bitmap = await createImageBitmap(await (await fetch(p)).blob());
      return [bitmap.width, bitmap.height];
    })), named.map(([, p]) => `/${p}`));
    assert.deepEqual(decoded, named.map(([size]) => [Number(size), Number(size)]));
  } finally {
    await browser.close();
  }
});

test('the product name and icon head the popup, the settings page and the web app', async () => {
  const api = await startApi();
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    const popup = await browser.openPopup();
    await popup.setViewportSize({ width: 360, height: 700 });
    await expectScreen(popup, 'sign-in', 'brand-popup');
    const popupHead = await brandOf(popup, 'header.brand');
    assert.deepEqual(popupHead, { text: 'dialer-2fa', first: true, icon: { loaded: true, alt: '', width: 20 } });

    const settings = await openSettings(browser);
    await settings.locator('#app header.brand').waitFor();
    await shot(settings, 'brand-settings');
    assert.deepEqual(await brandOf(settings, 'header.brand'), popupHead);

    const web = await browser.context.newPage();
    await web.goto(`${api.url}/`);
    await web.locator('#app[data-screen="sign-in"]').waitFor();
    await shot(web, 'brand-web-app');
    assert.deepEqual(await brandOf(web, 'h1.brand'), { text: 'dialer-2fa', first: true, icon: { loaded: true, alt: '', width: 28 } });
    // The favicon and the header's image are icon.svg itself.
    const { favicon, header } = await web.evaluate(() => ({
      favicon: document.querySelector('link[rel=icon]').href,
      header: document.querySelector('h1.brand img').src,
    }));
    assert.equal(favicon, header);
    const prefix = 'data:image/svg+xml;base64,';
    assert.ok(favicon.startsWith(prefix));
    const svg = Buffer.from(favicon.slice(prefix.length), 'base64').toString('utf8');
    const shapes = (text) => text.match(/<(rect|path|circle)\b[^>]*>/g);
    assert.deepEqual(shapes(svg), shapes(readFileSync(join(ROOT, 'extension/icons/icon.svg'), 'utf8')), 'the page carries the current icon.svg (run scripts/icons.sh)');
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('the toolbar icon and title follow the state: setup required, then normal', async () => {
  const api = await startApi();
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, 'brand@example.com');
    createAccount(api, 'Acme');
    addMember(api, 'Acme', 'brand@example.com', 'member');
    admin(api, 'account', 'enforce', '--name', 'Acme');
    // Every setIcon call of the pages, passed through to Chrome, with how it
    // ended: a missing or broken image rejects the call.
    await browser.context.addInitScript(() => {
      if (!globalThis.chrome?.action?.setIcon) return;
      globalThis.__icons = [];
      const setIcon = chrome.action.setIcon.bind(chrome.action);
      chrome.action.setIcon = (details) => {
        const call = { path: details.path, result: 'pending' };
        globalThis.__icons.push(call);
        const done = setIcon(details);
        done.then(() => { call.result = 'ok'; }, (e) => { call.result = String(e); });
        return done;
      };
    });
    const popup = await browser.openPopup();
    const errors = [];
    popup.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    assert.equal(await toolbarTitle(browser), 'dialer-2fa');

    await signIn(popup, 'brand@example.com');
    await expectScreen(popup, 'setup-choose', 'brand-setup-required');
    await untilTrue(async () => (await badgeText(browser)) === '!');
    assert.equal(await toolbarTitle(browser), 'dialer-2fa: set up two-factor authentication');
    const setupIcon = { 16: 'icons/icon-setup-16.png', 32: 'icons/icon-setup-32.png' };
    await untilTrue(async () => (await popup.evaluate(() => globalThis.__icons)).some((c) => c.result !== 'pending'));
    const calls = await popup.evaluate(() => globalThis.__icons);
    assert.deepEqual(calls.at(-1), { path: setupIcon, result: 'ok' }, 'the setup icon, loaded by Chrome');

    await setUpAuthenticator(popup, api, 'brand-setup');
    await copyCodesAndComplete(popup, 'brand-codes');
    await expectScreen(popup, 'signed-in', 'brand-done');
    await untilTrue(async () => (await toolbarTitle(browser)) === 'dialer-2fa');
    await untilTrue(async () => (await popup.evaluate(() => globalThis.__icons.at(-1).result)) !== 'pending');
    assert.deepEqual(await popup.evaluate(() => globalThis.__icons.at(-1)),
      { path: { 16: 'icons/icon-16.png', 32: 'icons/icon-32.png' }, result: 'ok' });
    assert.deepEqual(errors.filter((e) => e.includes('toolbar icon')), []);
  } finally {
    await browser.close();
    await api.stop();
  }
});
