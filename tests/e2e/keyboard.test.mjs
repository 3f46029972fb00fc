// Issue 13: every page used with the keyboard alone (Tab, Shift+Tab, Enter,
// Space and typing; no click, no fill). At every stop the focused element
// shows the focus ring, focus never falls back to the page itself after a
// step, and Tab visits the controls in reading order (top to bottom, left to
// right on a row).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApi, launchBrowser, expectScreen, createUser, createAccount, addMember, admin, openSettings,
  totp, nextTotp, PASSWORD,
  launchPlainChromium,
} from './harness.mjs';

/** The focused element: its id, text, box, and whether its focus ring shows. */
function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body || e === document.documentElement) return null;
    const c = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    return {
      id: e.id,
      tag: e.tagName.toLowerCase(),
      text: (e.innerText || e.value || '').trim().slice(0, 40),
      top: r.top + scrollY,
      left: r.left + scrollX,
      height: r.height,
      ring: e.matches(':focus-visible') && c.outlineStyle !== 'none' && parseFloat(c.outlineWidth) >= 2,
    };
  });
}

const describe = (f) => (f ? `${f.tag}#${f.id} "${f.text}"` : 'nothing (the page itself)');

/** The focus after a step: on a control, with its ring showing. */
async function assertFocusShown(page, where) {
  const f = await focused(page);
  assert.ok(f, `${where}: focus fell back to the page`);
  assert.ok(f.ring, `${where}: ${describe(f)} has focus but no visible focus ring`);
  return f;
}

/**
 * Presses Tab (Shift+Tab with `back`) until `selector` has focus, checking
 * the ring at every stop and that the stops come in reading order.
 */
async function tabTo(page, selector, { back = false, max = 25 } = {}) {
  const stops = [];
  for (let i = 0; i < max; i += 1) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) {
      assertReadingOrder(stops, back, selector);
      return;
    }
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    if (f) {
      assert.ok(f.ring, `Tab to ${describe(f)}: no visible focus ring`);
      stops.push(f);
    }
  }
  throw new Error(`${max} presses of ${back ? 'Shift+Tab' : 'Tab'} never reached ${selector}; stops: ${stops.map(describe).join(', ')}`);
}

/** Each stop is below the one before, or on its row and to its right. */
function assertReadingOrder(stops, back, target) {
  const seq = back ? [...stops].reverse() : stops;
  for (let i = 1; i < seq.length; i += 1) {
    const [a, b] = [seq[i - 1], seq[i]];
    const sameRow = Math.abs(a.top - b.top) < Math.min(a.height, b.height) / 2;
    const ok = sameRow ? b.left > a.left : b.top > a.top;
    assert.ok(ok, `on the way to ${target}, ${describe(b)} comes after ${describe(a)} but reads before it`);
  }
}

/** Types into the focused field, checking it is the one meant. */
async function typeInto(page, id, text) {
  const f = await assertFocusShown(page, `typing into #${id}`);
  assert.equal(f.id, id, `focus on ${describe(f)}, not #${id}`);
  await page.keyboard.type(text);
}

/** The whole Tab cycle of the page, from its top, in reading order. */
async function assertWholeTabOrder(page, where) {
  // Tab from the top: from a throw-away focus point before everything.
  await page.evaluate(() => {
    const start = document.createElement('span');
    start.tabIndex = -1;
    start.id = 'tab-start';
    document.body.prepend(start);
    start.focus();
  });
  const stops = [];
  for (let i = 0; i < 40; i += 1) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (!f || (stops.length && f.id && f.id === stops[0].id)) break;
    assert.ok(f.ring, `${where}: Tab to ${describe(f)} shows no focus ring`);
    stops.push(f);
  }
  await page.evaluate(() => document.getElementById('tab-start')?.remove());
  assert.ok(stops.length > 0, `${where}: Tab reaches nothing`);
  assertReadingOrder(stops, false, `the end of ${where}`);
  return stops.map((s) => s.id || s.text);
}

test('popup and settings page with the keyboard alone: sign in, required setup, recovery codes, new codes', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    const email = 'keys@example.com';
    createUser(api, email);
    createAccount(api, 'Acme');
    addMember(api, 'Acme', email, 'member');
    admin(api, 'account', 'enforce', '--name', 'Acme');
    const popup = await browser.openPopup();
    await popup.setViewportSize({ width: 360, height: 700 });
    await expectScreen(popup, 'sign-in', 'keys-sign-in');
    assert.deepEqual((await assertWholeTabOrder(popup, 'the sign-in screen')).slice(0, 3), ['email', 'password', 'sign-in']);

    // Sign in: Tab to the email field, type, Tab, type, Enter.
    await tabTo(popup, '#email');
    await typeInto(popup, 'email', email);
    await popup.keyboard.press('Tab');
    await typeInto(popup, 'password', PASSWORD);
    await popup.keyboard.press('Enter');

    // The required setup, step by step; each step puts the focus on its action.
    await expectScreen(popup, 'setup-choose', 'keys-choose');
    assert.equal((await assertFocusShown(popup, 'setup-choose')).id, 'choose-app');
    await popup.keyboard.press('Enter');
    await expectScreen(popup, 'setup-app-start', 'keys-app-start');
    assert.equal((await assertFocusShown(popup, 'setup-app-start')).id, 'start-setup');
    await popup.keyboard.press('Space');
    await expectScreen(popup, 'setup-app-scan', 'keys-app-scan');
    assert.equal((await assertFocusShown(popup, 'setup-app-scan')).id, 'continue');
    // Back up to "Copy key" and forward again.
    await tabTo(popup, '#copy-key', { back: true });
    await popup.keyboard.press('Enter');
    await popup.locator('#notice', { hasText: 'Key copied' }).waitFor();
    await tabTo(popup, '#continue');
    const key = (await popup.locator('#secret-key').innerText()).replace(/\s+/g, '');
    await popup.keyboard.press('Enter');
    await expectScreen(popup, 'setup-app-code', 'keys-app-code');
    await typeInto(popup, 'code', totp(api, key));
    await popup.keyboard.press('Enter');

    await expectScreen(popup, 'setup-codes', 'keys-codes');
    await assertFocusShown(popup, 'setup-codes');
    await tabTo(popup, '#copy-codes');
    await popup.keyboard.press('Enter');
    await popup.locator('#complete:enabled').waitFor();
    await assertFocusShown(popup, 'after Copy all codes');
    await tabTo(popup, '#complete');
    await popup.keyboard.press('Enter');
    await expectScreen(popup, 'signed-in', 'keys-signed-in');
    await assertWholeTabOrder(popup, 'the signed-in popup');

    // The settings page: new recovery codes, confirmed with the password.
    const settings = await openSettings(browser);
    await settings.setViewportSize({ width: 480, height: 800 });
    await expectScreen(settings, 'settings', 'keys-settings');
    await assertWholeTabOrder(settings, 'the settings page');
    await tabTo(settings, '#regenerate');
    await settings.keyboard.press('Enter');
    await settings.locator('#confirm-password').waitFor();
    // Cancel puts the keyboard back on the button that opened the panel.
    assert.equal((await assertFocusShown(settings, 'the confirmation panel')).id, 'confirm-password');
    await tabTo(settings, '#cancel');
    await settings.keyboard.press('Enter');
    await settings.locator('#confirm-password').waitFor({ state: 'detached' });
    assert.equal((await assertFocusShown(settings, 'after Cancel')).id, 'regenerate');
    await settings.keyboard.press('Enter');
    await settings.locator('#confirm-password').waitFor();
    await typeInto(settings, 'confirm-password', PASSWORD);
    await settings.keyboard.press('Enter');
    await expectScreen(settings, 'setup-codes', 'keys-settings-codes');
    await tabTo(settings, '#copy-codes');
    await settings.keyboard.press('Enter');
    await settings.locator('#complete:enabled').waitFor();
    await tabTo(settings, '#complete');
    await settings.keyboard.press('Enter');
    await expectScreen(settings, 'settings', 'keys-settings-done');
    await assertFocusShown(settings, 'back on the settings page');

    // Signed out, the challenge by keyboard: the code, "Remember", Verify.
    await tabTo(popup, '#sign-out');
    await popup.keyboard.press('Enter');
    await expectScreen(popup, 'sign-in', 'keys-signed-out');
    await tabTo(popup, '#email');
    await popup.keyboard.press('Control+A');
    await typeInto(popup, 'email', email);
    await popup.keyboard.press('Tab');
    await typeInto(popup, 'password', PASSWORD);
    await popup.keyboard.press('Enter');
    await expectScreen(popup, 'challenge', 'keys-challenge');
    await typeInto(popup, 'code', await nextTotp(api, key));
    await tabTo(popup, '#remember');
    await popup.keyboard.press('Space');
    assert.equal(await popup.locator('#remember').isChecked(), true);
    await popup.keyboard.press('Enter');
    await expectScreen(popup, 'signed-in', 'keys-challenge-done');
    await assertFocusShown(popup, 'signed in after the challenge');
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('web app with the keyboard alone: sign in, My Account setup, owner enforcement', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const chrome = await launchPlainChromium();
  try {
    const email = 'web-keys@example.com';
    createUser(api, email);
    createAccount(api, 'Acme');
    addMember(api, 'Acme', email, 'owner');
    const context = await chrome.newContext({ viewport: { width: 480, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: api.url });
    const page = await context.newPage();
    await page.goto(`${api.url}/`);
    await expectScreen(page, 'sign-in', 'web-keys-sign-in');
    await assertWholeTabOrder(page, 'the web sign-in');
    await tabTo(page, '#email');
    await typeInto(page, 'email', email);
    await page.keyboard.press('Tab');
    await typeInto(page, 'password', PASSWORD);
    await page.keyboard.press('Enter');

    await expectScreen(page, 'signed-in', 'web-keys-home');
    await page.locator('#nav-owner-item:visible').waitFor();
    await assertWholeTabOrder(page, 'the web home');
    await tabTo(page, '#nav-my-2fa');
    await page.keyboard.press('Enter');
    await expectScreen(page, 'my-2fa', 'web-keys-my');
    await tabTo(page, '#set-up');
    await page.keyboard.press('Enter');
    await expectScreen(page, 'setup-choose', 'web-keys-choose');
    assert.equal((await assertFocusShown(page, 'setup-choose')).id, 'choose-app');
    await page.keyboard.press('Enter');
    await expectScreen(page, 'setup-app-start', 'web-keys-app-start');
    assert.equal((await assertFocusShown(page, 'setup-app-start')).id, 'start-setup');
    await page.keyboard.press('Enter');
    await expectScreen(page, 'setup-app-scan', 'web-keys-app-scan');
    assert.equal((await assertFocusShown(page, 'setup-app-scan')).id, 'continue');
    const key = (await page.locator('#secret-key').innerText()).replace(/\s+/g, '');
    await page.keyboard.press('Enter');
    await expectScreen(page, 'setup-app-code', 'web-keys-app-code');
    await typeInto(page, 'setup-code', totp(api, key));
    await page.keyboard.press('Enter');
    await expectScreen(page, 'setup-codes', 'web-keys-codes');
    await tabTo(page, '#copy-codes');
    await page.keyboard.press('Enter');
    await page.locator('#complete:enabled').waitFor();
    await assertFocusShown(page, 'after Copy all codes');
    await tabTo(page, '#complete');
    await page.keyboard.press('Enter');
    await expectScreen(page, 'my-2fa', 'web-keys-my-on');
    // A confirmation panel takes the focus; Cancel gives it back to its opener.
    await tabTo(page, '#regenerate');
    await page.keyboard.press('Enter');
    await page.locator('#confirm-password').waitFor();
    assert.equal((await assertFocusShown(page, 'the confirmation panel')).id, 'confirm-password');
    await tabTo(page, '#cancel');
    await page.keyboard.press('Enter');
    await page.locator('#confirm-password').waitFor({ state: 'detached' });
    assert.equal((await assertFocusShown(page, 'after Cancel')).id, 'regenerate');

    // Back home, then the owners' tab: Space ticks "Enforce", the password, Enter.
    await tabTo(page, '#home');
    await page.keyboard.press('Enter');
    await expectScreen(page, 'signed-in', 'web-keys-home-again');
    await page.locator('#nav-owner-item:visible').waitFor();
    await tabTo(page, '#nav-owner-2fa');
    await page.keyboard.press('Enter');
    await expectScreen(page, 'owner-2fa', 'web-keys-owner');
    await tabTo(page, '#accounts input[data-account="Acme"]');
    await page.keyboard.press('Space');
    await page.locator('#confirm-password').waitFor();
    await typeInto(page, 'confirm-password', PASSWORD);
    await page.keyboard.press('Enter');
    await page.locator('#notice').waitFor();
    assert.equal(await page.locator('#accounts input[data-account="Acme"]').isChecked(), true);
    await assertWholeTabOrder(page, 'the owners\' tab');
  } finally {
    await chrome.close();
    await api.stop();
  }
});
