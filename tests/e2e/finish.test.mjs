// Issue 13, the list at its top: what a new user saw wrong in the popup and
// the settings page, each checked in the real extension against the real
// host and API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApi, launchBrowser, expectScreen, createUser, createAccount, addMember, admin,
  signIn, totp, nextTotp, certainlyWrongCode, totpWindow, shot, codeLayout, assertCodesLaidOut,
} from './harness.mjs';

const EMAIL = 'newcomer@example.com';

/** Records what the page hands to the clipboard API (then lets it through). */
async function spyOnClipboard(page) {
  await page.evaluate(() => {
    window.__copied = [];
    const write = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = (text) => {
      window.__copied.push(text);
      return write(text);
    };
  });
}

const lastCopied = (page) => page.evaluate(() => window.__copied[window.__copied.length - 1]);

test('popup recovery codes at 340 and 420 px: one column, no overlap, no wrap, Copy by each code; key grouped; kept notice stays', async () => {
  const api = await startApi();
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, EMAIL);
    createAccount(api, 'Acme');
    addMember(api, 'Acme', EMAIL, 'member');
    admin(api, 'account', 'enforce', '--name', 'Acme');
    const popup = await browser.openPopup();
    await popup.setViewportSize({ width: 340, height: 900 });
    await signIn(popup, EMAIL);
    // Setup is required, so the popup itself runs the wizard.
    await expectScreen(popup, 'setup-choose', 'finish-choose');
    await popup.locator('#choose-app').click();
    await expectScreen(popup, 'setup-app-start', 'finish-app-start');
    await popup.locator('#start-setup').click();
    await expectScreen(popup, 'setup-app-scan', 'finish-app-scan');

    // The key reads in groups of four; Copy key copies it without spaces.
    const shown = (await popup.locator('#secret-key').innerText()).trim();
    assert.match(shown, /^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/, `grouped in fours: ${shown}`);
    const key = shown.replace(/\s+/g, '');
    await spyOnClipboard(popup);
    await popup.locator('#copy-key').click();
    await popup.locator('#notice', { hasText: 'Key copied' }).waitFor();
    assert.equal(await lastCopied(popup), key, 'the copied key has no spaces');

    await popup.locator('#continue').click();
    await expectScreen(popup, 'setup-app-code', 'finish-app-code');
    await popup.locator('#code').fill(totp(api, key));
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'setup-codes', 'finish-codes-340');

    for (const width of [340, 420]) {
      await popup.setViewportSize({ width, height: 900 });
      await shot(popup, `finish-codes-${width}`);
      await assertCodesLaidOut(popup, width);
    }

    // One code's Copy copies that code alone and does not unlock Complete:
    // only the whole list's Copy does (R4).
    const codes = (await codeLayout(popup)).map((r) => r.text);
    await popup.locator('#recovery-codes li').nth(2).locator('button').click();
    await popup.locator('#notice', { hasText: 'Code 3 copied' }).waitFor();
    assert.equal(await lastCopied(popup), codes[2]);
    assert.equal(await popup.locator('#complete').isDisabled(), true, 'one code copied: Complete still waits');

    // Keeping the codes stays said after Copy; Copy says its own word too.
    await popup.locator('#keep-codes').click();
    await popup.getByText('10 codes kept on this computer').waitFor();
    await popup.locator('#copy-codes').click();
    await popup.getByText('Codes copied').waitFor();
    await shot(popup, 'finish-codes-kept-and-copied');
    assert.equal(await popup.getByText('10 codes kept on this computer').isVisible(), true, 'the kept notice stays after Copy');
    assert.equal(await lastCopied(popup), codes.join('\n'));
    await popup.locator('#complete:enabled').click();
    await expectScreen(popup, 'signed-in', 'finish-done');
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('popup: the product name heads it, the footer speaks plainly with the detail behind "Details", and the wrong-code error sits under the field', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    createUser(api, EMAIL);
    createAccount(api, 'Acme');
    addMember(api, 'Acme', EMAIL, 'member');
    admin(api, 'account', 'enforce', '--name', 'Acme');
    const popup = await browser.openPopup();
    await popup.setViewportSize({ width: 360, height: 900 });
    await expectScreen(popup, 'sign-in', 'finish-sign-in');

    // The product name is the first thing on the popup.
    const first = await popup.evaluate(() => document.querySelector('#app').firstElementChild.innerText.trim());
    assert.equal(first, 'dialer-2fa');

    // Everyone reads a plain status; the address, versions and timing are
    // there for support, behind a closed "Details".
    const plain = popup.locator('#connection');
    assert.equal(await plain.isVisible(), true);
    assert.match(await plain.innerText(), /^Connected/);
    assert.doesNotMatch(await plain.innerText(), /http|version|ms\b/);
    assert.equal(await popup.locator('details#details').count(), 1);
    assert.equal(await popup.locator('#api-status').isVisible(), false, 'detail hidden until asked for');
    await popup.locator('#details summary').click();
    await popup.locator('#api-status').waitFor({ state: 'visible' });
    assert.ok((await popup.locator('#api-status').innerText()).includes(`reachable at ${api.url}`));
    // A redraw of the same screen (here an error) leaves it open.
    await popup.locator('#sign-in').click();
    await popup.locator('#error').waitFor();
    assert.equal(await popup.locator('#api-status').isVisible(), true, 'Details stays open across a redraw');
    await popup.reload();
    await expectScreen(popup, 'sign-in', 'finish-sign-in-again');

    // One blue: the popup's primary button and the web app's are the same colour.
    const popupBlue = await popup.evaluate(() => getComputedStyle(document.querySelector('#sign-in')).backgroundColor);
    const web = await browser.context.newPage();
    await web.goto(`${api.url}/`);
    const webBlue = await web.evaluate(() => getComputedStyle(document.querySelector('button[type=submit]')).backgroundColor);
    assert.equal(popupBlue, webBlue, 'the same primary colour');
    const token = (p) => p.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--color-primary').trim());
    assert.equal(await token(popup), await token(web));
    // Dark mode follows the system on both, to the same dark surface and text.
    const look = (p, sel) => p.evaluate((s) => {
      const c = getComputedStyle(document.querySelector(s));
      return [c.backgroundColor, c.color];
    }, sel);
    const lightLook = await look(popup, 'body');
    assert.deepEqual(lightLook, await look(web, 'main'));
    await popup.emulateMedia({ colorScheme: 'dark' });
    await web.emulateMedia({ colorScheme: 'dark' });
    const darkLook = await look(popup, 'body');
    assert.deepEqual(darkLook, await look(web, 'main'), 'the same dark colours');
    assert.notDeepEqual(darkLook, lightLook, 'dark mode changes the page');
    await shot(popup, 'finish-sign-in-dark');
    await shot(web, 'finish-web-sign-in-dark');
    await popup.emulateMedia({ colorScheme: 'light' });
    await web.close();

    // Set up 2FA so the next sign-in asks for a code.
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'setup-choose', 'finish2-choose');
    await popup.locator('#choose-app').click();
    await popup.locator('#start-setup').click();
    await expectScreen(popup, 'setup-app-scan', 'finish2-scan');
    const key = (await popup.locator('#secret-key').innerText()).replace(/\s+/g, '');
    await popup.locator('#continue').click();
    await popup.locator('#code').fill(totp(api, key));
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'setup-codes', 'finish2-codes');
    await popup.locator('#copy-codes').click();
    await popup.locator('#complete:enabled').click();
    await expectScreen(popup, 'signed-in', 'finish2-on');
    await popup.locator('#sign-out').click();

    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'finish2-challenge');
    await popup.locator('#code').fill(certainlyWrongCode(totpWindow(api, key)));
    await popup.locator('#code').press('Enter');
    const error = popup.locator('#error');
    await error.waitFor();
    await shot(popup, 'finish2-wrong-code');
    const box = async (sel) => popup.locator(sel).boundingBox();
    const [code, err, link] = [await box('#code'), await error.boundingBox(), await box('#use-recovery')];
    assert.ok(err.y >= code.y + code.height, 'the error is under the code field');
    assert.ok(err.y + err.height <= link.y, 'and above "Use a recovery code"');
    assert.ok(err.y - (code.y + code.height) < 40, 'right under the field, not further down the page');
    assert.equal(await error.getAttribute('aria-live'), 'assertive', 'announced');
    assert.equal(await popup.locator('#code').getAttribute('aria-describedby'), 'error', 'tied to its field');

    // Remembered: the date reads as Intl writes it in this browser's locale.
    await popup.locator('#code').fill(await nextTotp(api, key));
    await popup.locator('#remember').check();
    await popup.locator('#verify').click();
    await expectScreen(popup, 'signed-in', 'finish2-remembered');
    const until = await popup.locator('#verified-until').innerText();
    const expected = await popup.evaluate(() => {
      const f = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
      const out = [];
      for (let d = 55; d <= 65; d++) out.push(f.format(new Date(Date.now() + d * 86_400_000)));
      return out;
    });
    assert.ok(expected.some((d) => until.includes(d)), `${until} is an Intl medium date (${expected[5]})`);
  } finally {
    await browser.close();
    await api.stop();
  }
});
