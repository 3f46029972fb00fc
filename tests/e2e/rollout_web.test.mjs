// Issue 14: scheduled 2FA in the web app alone (a plain Chromium profile
// WITHOUT the extension), on the API's movable clock. The owner's Account
// Settings tab schedules 2FA for Acme from 7 days ahead with 1 grace day,
// lists who has not set it up and sends a reminder; a member sees the
// banner with the date and the days left on the home page and My Account,
// skips setup once in the grace period and is then held to setup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startApi, expectScreen, createUser, createAccount, addMember, advanceClock, admin, shot, ROOT, SHOTS, PASSWORD,
  launchPlainChromium,
} from './harness.mjs';

const OWNER = 'owner@example.com';
const LATE = 'late@example.com';
const DAY = 86_400;
let chrome;

before(async () => {
  chrome = await launchPlainChromium();
});

after(async () => {
  await chrome?.close();
});

async function webSignIn(page, email, shotName) {
  await expectScreen(page, 'sign-in', `${shotName}-sign-in`);
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#password').press('Enter');
}

async function expectBanner(page, daysLeft) {
  const banner = page.locator('#deadline-banner');
  await banner.waitFor();
  const at = Number(await banner.getAttribute('data-at'));
  const date = await page.evaluate((t) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(new Date(t * 1000)), at);
  const words = daysLeft === 0 ? `2FA is required since ${date}.`
    : `2FA will be required from ${date} (${daysLeft} ${daysLeft === 1 ? 'day' : 'days'} left).`;
  assert.equal(await page.locator('#deadline-text').innerText(), words);
  assert.equal(await page.locator('#deadline-set-by').innerText(), 'Set by Acme.');
  assert.equal(await page.locator('#set-up-now').count(), 1);
  return at;
}

test('web app: the owner schedules 2FA and sees who has not set it up; a member sees the banner, skips once in the grace period, then must set up', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const context = await chrome.newContext({ colorScheme: 'light' });
  try {
    createUser(api, OWNER);
    createUser(api, LATE);
    createAccount(api, 'Acme');
    addMember(api, 'Acme', OWNER, 'owner');
    addMember(api, 'Acme', LATE, 'member');
    const page = await context.newPage();
    await page.goto(`${api.url}/`);
    const serverNow = await advanceClock(api, 0);

    // The owner's tab: who has not set up 2FA, then "Require from" 7 days.
    await webSignIn(page, OWNER, 'rollout-web-owner');
    await expectScreen(page, 'signed-in', 'rollout-web-owner-home');
    await page.locator('#nav-owner-2fa:visible').click();
    await expectScreen(page, 'owner-2fa', 'rollout-web-owner-tab');
    const missing = page.locator('#not-set-up-1');
    await missing.waitFor();
    assert.match(await missing.innerText(), /^Not set up yet: .*late@example\.com/);
    assert.match(await missing.innerText(), /owner@example\.com \(you\)/);
    await page.locator('#enforce-1').click();
    await page.locator('#enforce-when-7').check();
    await page.locator('#grace-days').fill('1');
    await page.locator('#grace-days').press('Tab');
    await page.locator('#grace-label', { hasText: '1 day of grace' }).waitFor();
    assert.match(await page.locator('#confirm-question').innerText(), /^Require 2FA for everyone in Acme 7 days from now\?/);
    await page.locator('#confirm-password').fill(PASSWORD);
    await page.locator('#confirm').click();
    await page.locator('#notice', { hasText: '2FA is now scheduled for everyone in this account.' }).waitFor();
    assert.match(await page.locator('#scheduled-1').innerText(), /^2FA will be required from .+ \(grace period 1 day\)\.$/);
    // One reminder; then the button waits.
    await page.locator('#remind-1').click();
    await page.locator('#notice', { hasText: /^Reminder sent to \d+ (people|person)\.$/ }).waitFor();
    assert.equal(await page.locator('#remind-1').isDisabled(), true);
    await page.locator('#next-reminder-1').waitFor();
    await shot(page, 'rollout-web-owner-reminded');
    await page.locator('#home').click();
    await expectScreen(page, 'signed-in', 'rollout-web-owner-back');
    await page.locator('#sign-out').click();

    // The member: the banner on the home page and on My Account.
    await webSignIn(page, LATE, 'rollout-web-member');
    await expectScreen(page, 'signed-in', 'rollout-web-member-home');
    const at = await expectBanner(page, 7);
    assert.ok(Math.abs(at - (serverNow + 7 * DAY)) < 120, 'the date the owner chose');
    await page.setViewportSize({ width: 560, height: 520 });
    await shot(page, 'rollout-banner-web');
    // DOCS_SHOTS=1 writes it over the README's copy in docs/.
    if (process.env.DOCS_SHOTS) copyFileSync(join(SHOTS, 'rollout-banner-web.png'), join(ROOT, 'docs/rollout-banner-web.png'));
    await page.locator('#nav-my-2fa').click();
    await expectScreen(page, 'my-2fa', 'rollout-web-member-my');
    await expectBanner(page, 7);
    await page.locator('#set-up-now').click();
    await expectScreen(page, 'setup-choose', 'rollout-web-member-set-up-now');
    assert.equal(await page.locator('#skip').count(), 0, 'nothing to skip before the date');
    await page.locator('#cancel').click();
    await expectScreen(page, 'my-2fa', 'rollout-web-member-cancelled-setup');

    // Past the date, in the grace period: one skip, counted.
    await advanceClock(api, 7 * DAY + 120);
    await page.reload();
    await expectScreen(page, 'setup-choose', 'rollout-web-member-grace');
    assert.equal(await page.locator('#skip').innerText(), 'Skip for now (1 skip left)');
    await page.locator('#skip').click();
    await page.locator('#notice, #home-notice:visible', { hasText: 'Skipped for now. That was the last skip.' }).waitFor();
    await expectBanner(page, 0);
    assert.equal(await page.locator('#deadline-skips').innerText(), 'No skips left: set it up before your next sign-in.');

    // The next sign-in: no skips left, nothing but setup.
    await page.locator('#home').click();
    await expectScreen(page, 'signed-in', 'rollout-web-member-skipped-home');
    await page.locator('#sign-out').click();
    await webSignIn(page, LATE, 'rollout-web-member-again');
    await expectScreen(page, 'setup-choose', 'rollout-web-member-forced');
    assert.equal(await page.locator('#skip').count(), 0, 'no skips left');
    assert.match(await page.locator('#required').innerText(), /Acme requires two-factor authentication/);
  } finally {
    await context.close();
    await api.stop();
  }
});

test('web app: the platform schedule shows "Set by the platform", and cancelling it takes the banner away', async () => {
  const api = await startApi({ args: ['--allow-clock-control'] });
  const context = await chrome.newContext({ colorScheme: 'light' });
  try {
    createUser(api, 'solo@example.com');
    const now = await advanceClock(api, 0);
    const from = new Date((now + 10 * DAY) * 1000).toISOString().slice(0, 10);
    admin(api, 'policy', 'mandatory', '--from', from, '--grace-days', '2');
    const page = await context.newPage();
    await page.goto(`${api.url}/`);
    await webSignIn(page, 'solo@example.com', 'rollout-web-platform');
    await expectScreen(page, 'signed-in', 'rollout-web-platform-home');
    const banner = page.locator('#deadline-banner');
    await banner.waitFor();
    const at = Number(await banner.getAttribute('data-at'));
    assert.equal(new Date(at * 1000).toISOString().slice(0, 10), from, 'midnight UTC of the chosen day');
    const daysLeft = Number(await banner.getAttribute('data-days-left'));
    assert.ok(daysLeft === 10 || daysLeft === 11, `${daysLeft} days left`);
    const date = await page.evaluate((t) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(new Date(t * 1000)), at);
    assert.equal(await page.locator('#deadline-text').innerText(), `2FA will be required from ${date} (${daysLeft} days left).`);
    assert.equal(await page.locator('#deadline-set-by').innerText(), 'Set by the platform.');
    // Cancelled: the next look at the session has no banner.
    admin(api, 'policy', 'mandatory', '--cancel');
    await page.reload();
    await expectScreen(page, 'signed-in', 'rollout-web-platform-cancelled');
    await page.locator('#nav-owner-item[hidden]').waitFor({ state: 'attached' });
    assert.equal(await page.locator('#deadline-banner').count(), 0, 'no banner once cancelled');
  } finally {
    await context.close();
    await api.stop();
  }
});
