// Issue 13: every screen of the popup, the settings page and the web app,
// walked once. At each, axe-core runs in light and in dark mode (0 serious or
// critical violations) and a screenshot of each mode is saved under
// target/e2e/screens/, listed in order in target/e2e/screens/index.json;
// `make screens` gathers them into docs/screens/ and docs/screens.md.
import { test, after } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SHOTS, startApi, launchBrowser, expectScreen, createUser, createAccount, addMember, admin, openSettings,
  signIn, totp, certainlyWrongCode, totpWindow, assertAccessible, axeChecked, PASSWORD,
  launchPlainChromium,
} from './harness.mjs';

const OUT = join(SHOTS, 'screens');
mkdirSync(OUT, { recursive: true });
/** Every screen taken, in walk order: name, where it is, what it shows. */
const index = [];

after(() => {
  writeFileSync(join(OUT, 'index.json'), JSON.stringify(index, null, 2));
  console.log(`axe-core ran on ${axeChecked.length} screens:\n  ${axeChecked.join('\n  ')}`);
});

/**
 * The screen as it is now, in light then dark mode: axe-core on each, and
 * one screenshot of each (the page's full height at its viewport's width).
 */
async function screen(page, name, where, title) {
  // The product name and icon head every page (issue 13).
  const head = await page.evaluate(() => {
    const first = document.querySelector('#app').firstElementChild;
    const img = first?.querySelector('img');
    return { text: first?.innerText.trim(), icon: Boolean(img && img.complete && img.naturalWidth > 0), visible: first?.checkVisibility() };
  });
  if (JSON.stringify(head) !== JSON.stringify({ text: 'dialer-2fa', icon: true, visible: true })) {
    throw new Error(`${name}: the page is not headed by the product name and icon: ${JSON.stringify(head)}`);
  }
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await assertAccessible(page, name);
    await page.screenshot({ path: join(OUT, `${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
  index.push({ name, where, title });
}

const POPUP = { width: 360, height: 480 };
const WEB = { width: 480, height: 560 };

test('every screen of the popup and the settings page passes axe-core in light and dark mode', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const browser = await launchBrowser({ apiUrl: api.url });
  try {
    const email = 'walk@example.com';
    createUser(api, email);
    createAccount(api, 'Acme');
    createAccount(api, 'Beta');
    addMember(api, 'Acme', email, 'member');
    addMember(api, 'Beta', email, 'owner');
    admin(api, 'account', 'enforce', '--name', 'Acme');

    const signedOut = await openSettings(browser);
    await signedOut.setViewportSize(WEB);
    await expectScreen(signedOut, 'signed-out', 'walk-settings-signed-out');
    await screen(signedOut, 'settings-signed-out', 'Settings page', 'Not signed in');
    await signedOut.close();

    const popup = await browser.openPopup();
    await popup.setViewportSize(POPUP);
    await expectScreen(popup, 'sign-in', 'walk-sign-in');
    await screen(popup, 'popup-sign-in', 'Popup', 'Sign in');
    await popup.locator('#sign-in').click();
    await popup.locator('#error').waitFor();
    await screen(popup, 'popup-sign-in-error', 'Popup', 'Sign in: a field left empty');
    await signIn(popup, email);

    // Required by Acme: the popup runs the wizard.
    await expectScreen(popup, 'setup-choose', 'walk-choose');
    await screen(popup, 'popup-setup-choose', 'Popup', 'Set up 2FA (required): choose a method');
    await popup.locator('#choose-sms').click();
    await expectScreen(popup, 'setup-sms-phone', 'walk-sms-phone');
    await screen(popup, 'popup-setup-sms-phone', 'Popup', 'Set up SMS: phone number');
    await popup.locator('#phone').fill('+14155550142');
    await popup.locator('#phone').press('Enter');
    await expectScreen(popup, 'setup-sms-code', 'walk-sms-code');
    await screen(popup, 'popup-setup-sms-code', 'Popup', 'Set up SMS: the code sent');
    // Reopened, the popup starts the required setup again from its first step.
    await popup.reload();
    await expectScreen(popup, 'setup-choose', 'walk-choose-again');
    await popup.locator('#choose-app').click();
    await expectScreen(popup, 'setup-app-start', 'walk-app-start');
    await screen(popup, 'popup-setup-app-start', 'Popup', 'Set up the authenticator app: start');
    await popup.locator('#start-setup').click();
    await expectScreen(popup, 'setup-app-scan', 'walk-app-scan');
    await screen(popup, 'popup-setup-app-scan', 'Popup', 'Set up the authenticator app: QR code and key');
    const key = (await popup.locator('#secret-key').innerText()).replace(/\s+/g, '');
    await popup.locator('#continue').click();
    await expectScreen(popup, 'setup-app-code', 'walk-app-code');
    await screen(popup, 'popup-setup-app-code', 'Popup', 'Set up the authenticator app: the code');
    await popup.locator('#code').fill(totp(api, key));
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'setup-codes', 'walk-codes');
    await screen(popup, 'popup-setup-codes', 'Popup', 'Recovery codes');
    await popup.locator('#keep-codes').click();
    await popup.getByText('10 codes kept on this computer').waitFor();
    await popup.locator('#copy-codes').click();
    await popup.locator('#complete:enabled').waitFor();
    await screen(popup, 'popup-setup-codes-copied', 'Popup', 'Recovery codes: kept and copied');
    const codes = await popup.locator('#recovery-codes .recovery-code').allInnerTexts();
    await popup.locator('#complete').click();
    await expectScreen(popup, 'signed-in', 'walk-signed-in');
    await popup.locator('#app[data-vault="loaded"]').waitFor();
    await screen(popup, 'popup-signed-in', 'Popup', 'Signed in');
    await popup.locator('#details summary').click();
    await popup.locator('#api-status').waitFor({ state: 'visible' });
    await screen(popup, 'popup-signed-in-details', 'Popup', 'Signed in, with Details open');

    // The web app asks the extension to sign it in: the page waits, the popup asks.
    const web = await browser.context.newPage();
    await web.setViewportSize(WEB);
    await web.goto(`${api.url}/`);
    await web.locator('#extension-consent:not([hidden])').waitFor();
    await screen(web, 'web-sign-in-extension-consent', 'Web app', 'Sign in: waiting for the person to allow it in the popup');
    await popup.reload();
    await expectScreen(popup, 'web-consent', 'walk-web-consent');
    await screen(popup, 'popup-web-consent', 'Popup', 'Sign in the web app? (the web app asks)');
    await popup.locator('#allow').click();
    await expectScreen(popup, 'signed-in', 'walk-allowed');
    await web.locator('#extension-retry').click();
    await expectScreen(web, 'signed-in', 'walk-web-through-extension');
    await web.close();

    // The settings page, 2FA on: each confirmation panel.
    const settings = await openSettings(browser);
    await settings.setViewportSize(WEB);
    await expectScreen(settings, 'settings', 'walk-settings');
    await settings.locator('#accounts li[data-account="Beta"]').waitFor();
    await screen(settings, 'settings', 'Settings page', 'Settings, 2FA on');
    await settings.locator('#regenerate').click();
    await settings.locator('#confirm-password').waitFor();
    await screen(settings, 'settings-new-codes-confirm', 'Settings page', 'New recovery codes: confirm with the password');
    await settings.locator('#confirm-password').fill(`${PASSWORD}x`);
    await settings.locator('#confirm').click();
    await settings.locator('#error').waitFor();
    await screen(settings, 'settings-wrong-password', 'Settings page', 'A wrong password, under its field');
    await settings.locator('#cancel').click();
    await settings.locator('#confirm-password').waitFor({ state: 'detached' });
    await settings.locator('#accounts input[data-account="Beta"]').click();
    await settings.locator('#confirm-password').waitFor();
    await screen(settings, 'settings-enforce-confirm', 'Settings page', 'Enforce 2FA (owner): confirm');
    await settings.locator('#cancel').click();
    await settings.locator('#confirm-password').waitFor({ state: 'detached' });
    await settings.locator('#switch').click();
    await settings.locator('#confirm-password').waitFor();
    await screen(settings, 'settings-switch-confirm', 'Settings page', 'Switch method: confirm');
    await settings.close();

    // Signed out, then the challenge: the code, a wrong code, a recovery code.
    await popup.locator('#sign-out').click();
    await expectScreen(popup, 'sign-in', 'walk-signed-out');
    await signIn(popup, email);
    await expectScreen(popup, 'challenge', 'walk-challenge');
    await screen(popup, 'popup-challenge', 'Popup', 'The code from the authenticator app');
    await popup.locator('#code').fill(certainlyWrongCode(totpWindow(api, key)));
    await popup.locator('#code').press('Enter');
    await popup.locator('#error').waitFor();
    await screen(popup, 'popup-challenge-wrong-code', 'Popup', 'A wrong code, under its field');
    await popup.locator('#use-recovery').click();
    await popup.locator('label[for="code"]', { hasText: 'recovery code' }).waitFor();
    await screen(popup, 'popup-challenge-recovery', 'Popup', 'A recovery code instead');
    await popup.locator('#code').fill(codes[0]);
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'walk-recovered');
  } finally {
    await browser.close();
    await api.stop();
  }
});

test('every screen of the web app passes axe-core in light and dark mode', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const chrome = await launchPlainChromium();
  try {
    const email = 'web-walk@example.com';
    createUser(api, email);
    createUser(api, 'member-walk@example.com');
    createAccount(api, 'Acme');
    addMember(api, 'Acme', email, 'owner');
    addMember(api, 'Acme', 'member-walk@example.com', 'member');
    // A member before enforcement: the owners' tab is refused.
    const early = await chrome.newContext({ viewport: WEB });
    const e = await early.newPage();
    await e.goto(`${api.url}/`);
    await expectScreen(e, 'sign-in', 'walk-web-member-early');
    await e.locator('#email').fill('member-walk@example.com');
    await e.locator('#password').fill(PASSWORD);
    await e.locator('#password').press('Enter');
    await expectScreen(e, 'signed-in', 'walk-web-member-home');
    await e.goto(`${api.url}/#/account-settings/two-factor`);
    await expectScreen(e, 'owner-2fa-refused', 'walk-web-member-refused');
    await screen(e, 'web-owner-2fa-refused', 'Web app', 'Account Settings → Two-Factor Authentication, for a member');
    await early.close();

    const context = await chrome.newContext({ viewport: WEB });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: api.url });
    const page = await context.newPage();
    await page.goto(`${api.url}/`);
    await expectScreen(page, 'sign-in', 'walk-web-sign-in');
    await screen(page, 'web-sign-in', 'Web app', 'Sign in');
    await page.locator('#email').fill(email);
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#password').press('Enter');
    await expectScreen(page, 'signed-in', 'walk-web-home');
    await page.locator('#nav-owner-item:visible').waitFor();
    await screen(page, 'web-signed-in', 'Web app', 'Signed in: the Account menu');
    await page.locator('#nav-my-2fa').click();
    await expectScreen(page, 'my-2fa', 'walk-web-my');
    await screen(page, 'web-my-2fa-off', 'Web app', 'My Account → Two-Factor Authentication, off');
    await page.locator('#set-up').click();
    await expectScreen(page, 'setup-choose', 'walk-web-choose');
    await screen(page, 'web-setup-choose', 'Web app', 'Set up 2FA: choose a method');
    await page.locator('#choose-sms').click();
    await expectScreen(page, 'setup-sms-phone', 'walk-web-sms-phone');
    await screen(page, 'web-setup-sms-phone', 'Web app', 'Set up SMS: phone number');
    await page.locator('#back').click();
    await expectScreen(page, 'setup-choose', 'walk-web-choose-back');
    await page.locator('#choose-app').click();
    await expectScreen(page, 'setup-app-start', 'walk-web-app-start');
    await screen(page, 'web-setup-app-start', 'Web app', 'Set up the authenticator app: start');
    await page.locator('#start-setup').click();
    await expectScreen(page, 'setup-app-scan', 'walk-web-app-scan');
    await screen(page, 'web-setup-app-scan', 'Web app', 'Set up the authenticator app: QR code and key');
    const key = (await page.locator('#secret-key').innerText()).replace(/\s+/g, '');
    await page.locator('#continue').click();
    await expectScreen(page, 'setup-app-code', 'walk-web-app-code');
    await screen(page, 'web-setup-app-code', 'Web app', 'Set up the authenticator app: the code');
    await page.locator('#setup-code').fill(totp(api, key));
    await page.locator('#verify').click();
    await expectScreen(page, 'setup-codes', 'walk-web-codes');
    await screen(page, 'web-setup-codes', 'Web app', 'Recovery codes');
    await page.locator('#copy-codes').click();
    await page.locator('#complete:enabled').click();
    await expectScreen(page, 'my-2fa', 'walk-web-my-on');
    await screen(page, 'web-my-2fa-on', 'Web app', 'My Account → Two-Factor Authentication, on');
    await page.locator('#disable').click();
    await page.locator('#confirm-password').waitFor();
    await screen(page, 'web-my-2fa-disable-confirm', 'Web app', 'Turn off 2FA: confirm');
    await page.locator('#cancel').click();
    await page.goto(`${api.url}/#/account-settings/two-factor`);
    await expectScreen(page, 'owner-2fa', 'walk-web-owner');
    await screen(page, 'web-owner-2fa', 'Web app', 'Account Settings → Two-Factor Authentication (owners)');
    await page.locator('#accounts input[data-account="Acme"]').click();
    await page.locator('#confirm-password').waitFor();
    await screen(page, 'web-owner-2fa-enforce-confirm', 'Web app', 'Enforce 2FA: confirm');
    await page.locator('#confirm-password').fill(PASSWORD);
    await page.locator('#confirm').click();
    await page.locator('#notice').waitFor();
    await screen(page, 'web-owner-2fa-enforced', 'Web app', 'Enforced');

    // Signed out, then the challenge and a member's views.
    await page.goto(`${api.url}/#/`);
    await expectScreen(page, 'signed-in', 'walk-web-home-again');
    await page.locator('#sign-out').click();
    await expectScreen(page, 'sign-in', 'walk-web-signed-out');
    await page.locator('#email').fill(email);
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#password').press('Enter');
    await expectScreen(page, 'challenge', 'walk-web-challenge');
    await screen(page, 'web-challenge', 'Web app', 'The code from the authenticator app');
    await page.locator('#code').fill(certainlyWrongCode(totpWindow(api, key)));
    await page.locator('#code').press('Enter');
    await page.locator('#challenge-error').waitFor();
    await screen(page, 'web-challenge-wrong-code', 'Web app', 'A wrong code, under its field');
    await context.close();

    const member = await chrome.newContext({ viewport: WEB });
    const m = await member.newPage();
    await m.goto(`${api.url}/`);
    await expectScreen(m, 'sign-in', 'walk-web-member-sign-in');
    await m.locator('#email').fill('member-walk@example.com');
    await m.locator('#password').fill(PASSWORD);
    await m.locator('#password').press('Enter');
    await expectScreen(m, 'setup-choose', 'walk-web-member-forced');
    await screen(m, 'web-setup-required', 'Web app', 'Set up 2FA (required by the account)');
    await m.goto(`${api.url}/#/account-settings/two-factor`);
    await expectScreen(m, 'setup-choose', 'walk-web-member-forced-again');
    await member.close();
  } finally {
    await chrome.close();
    await api.stop();
  }
});

test('the popup without the helper installed passes axe-core in light and dark mode', async () => {
  const browser = await launchBrowser();
  try {
    const popup = await browser.openPopup();
    await popup.setViewportSize(POPUP);
    await expectScreen(popup, 'host-missing', 'walk-host-missing');
    await screen(popup, 'popup-host-missing', 'Popup', 'The helper is not installed');
  } finally {
    await browser.close();
  }
});
