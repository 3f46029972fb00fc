// Issue 14: scheduled 2FA in the extension, on the API's movable clock.
// An owner schedules 2FA for Acme from the settings page (14 days, 2 grace
// days), sees who has not set it up and sends the one reminder a day; a
// member sees the banner with the date and the days left in the popup and
// the settings page, the badge only in the last 7 days, the banner gone
// when the owner cancels, the grace period's skips counted down, and the
// forced setup once they are used up and once the grace period is over.
// One Chromium and one API for the whole file; the tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  startApi, launchBrowser, expectScreen, createUser, createAccount, addMember, openSettings,
  signIn, badgeText, advanceClock, shot, untilTrue, outbox, ROOT, SHOTS, PASSWORD,
} from './harness.mjs';

const OWNER = 'owner@example.com';
const MEMBER = 'member@example.com';
const DAY = 86_400;

let api;
let browser;
let popup;

before(async () => {
  api = await startApi({ args: ['--allow-clock-control'] });
  browser = await launchBrowser({ apiUrl: api.url });
  createUser(api, OWNER);
  createUser(api, MEMBER);
  createAccount(api, 'Acme');
  addMember(api, 'Acme', OWNER, 'owner');
  addMember(api, 'Acme', MEMBER, 'member');
  popup = await browser.openPopup();
});

after(async () => {
  await browser?.close();
  await api?.stop();
});

/** The date as the page writes it: Intl, the person's locale, medium. */
function pageDate(page, at) {
  return page.evaluate((t) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(new Date(t * 1000)), at);
}

/** The banner's `at`, after checking its words name the date and days left. */
async function expectBanner(page, daysLeft) {
  const banner = page.locator('#deadline-banner');
  await banner.waitFor();
  const at = Number(await banner.getAttribute('data-at'));
  const date = await pageDate(page, at);
  const words = daysLeft === 0 ? `2FA is required since ${date}.`
    : `2FA will be required from ${date} (${daysLeft} ${daysLeft === 1 ? 'day' : 'days'} left).`;
  assert.equal(await page.locator('#deadline-text').innerText(), words);
  assert.equal(await page.locator('#deadline-set-by').innerText(), 'Set by Acme.');
  assert.equal(await page.locator('#set-up-now').count(), 1, '"Set up now" on the banner');
  return at;
}

/** A v1 call as a plain API client (the owner's script). */
async function v1(method, path, body, token) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function ownerToken() {
  const signedIn = await v1('POST', '/v1/sign-in', { email: OWNER, password: PASSWORD });
  assert.equal(signedIn.status, 'authenticated', 'the owner is not held to setup before the date');
  return signedIn.session_token;
}

let scheduledAt;

test('an owner schedules 2FA 14 days ahead with 2 grace days, sees who has not set it up and sends one reminder a day', async () => {
  const serverNow = await advanceClock(api, 0);
  await signIn(popup, OWNER);
  await expectScreen(popup, 'signed-in', 'rollout-owner-signed-in');
  const settings = await openSettings(browser);
  await expectScreen(settings, 'settings', 'rollout-owner-settings');
  // Who has not set up 2FA: everyone in Acme so far, the owner too.
  const missing = settings.locator('#not-set-up-1');
  await missing.waitFor();
  assert.match(await missing.innerText(), /^Not set up yet: .*member@example\.com/);
  assert.equal(await missing.getAttribute('data-count'), '2');
  // The owner reading it is named as such: a reminder skips its sender.
  assert.match(await missing.innerText(), /owner@example\.com \(you\)/);
  await settings.locator('#reminder-not-you-1').waitFor();

  // Require from 14 days ahead with 2 grace days, behind the password.
  await settings.locator('#accounts input[data-account="Acme"]').click();
  await settings.locator('#enforce-when-now').waitFor();
  assert.equal(await settings.locator('#enforce-when-now').isChecked(), true, '"Require now" unless another is chosen');
  for (const days of [7, 14, 30]) assert.equal(await settings.locator(`#enforce-when-${days}`).count(), 1);
  await settings.locator('#enforce-when-14').check();
  await settings.locator('#grace-days').waitFor();
  await settings.locator('#grace-days').fill('2');
  await settings.locator('#grace-days').press('Tab');
  await settings.locator('#grace-label', { hasText: '2 days of grace' }).waitFor();
  assert.match(await settings.locator('#confirm-question').innerText(),
    /^Require 2FA for everyone in Acme 14 days from now\? 2 people .* skip setup for 2 more days\./);
  await shot(settings, 'rollout-owner-confirm');
  await settings.locator('#confirm-password').fill(PASSWORD);
  await settings.locator('#confirm').click();
  await settings.locator('#notice', { hasText: '2FA is now scheduled for everyone in this account.' }).waitFor();
  const scheduled = await settings.locator('#scheduled-1').innerText();
  assert.match(scheduled, /^2FA will be required from .+ \(grace period 2 days\)\.$/);

  // A second settings page, open before the reminder goes out.
  const other = await openSettings(browser);
  await other.locator('#remind-1:enabled').waitFor();
  // Drawn afresh, it shows the whole schedule, grace days included.
  assert.match(await other.locator('#scheduled-1').innerText(), /\(grace period 2 days\)\.$/);
  // One reminder: sent, then the button waits for the next allowed time.
  await settings.locator('#remind-1').click();
  await settings.locator('#notice', { hasText: /^Reminder sent to \d+ (people|person)\.$/ }).waitFor();
  assert.equal(await settings.locator('#remind-1').isDisabled(), true);
  assert.match(await settings.locator('#next-reminder-1').innerText(), /^Reminder sent\. The next one can go out from .+\.$/);
  await shot(settings, 'rollout-owner-reminded');
  // A second one the same day, from the page that did not know: refused,
  // in words.
  await other.locator('#remind-1').click();
  await other.locator('#error', { hasText: 'A reminder already went out for this account today' }).waitFor();
  await shot(other, 'rollout-owner-reminder-too-soon');
  await other.close();
  await settings.close();
  // The reminder went through the outbox to the member.
  assert.equal(outbox(api).filter((m) => m.recipient === MEMBER && /asks you to set up two-factor authentication/.test(m.body)).length, 1,
    'one reminder to the member in the outbox');
  await popup.locator('#sign-out').click();
  scheduledAt = serverNow;
});

test('a member sees the banner with the days left, and the badge only in the last 7 days', async () => {
  assert.ok(scheduledAt, 'the schedule of the test before');
  await signIn(popup, MEMBER);
  await expectScreen(popup, 'signed-in', 'rollout-member-14-days');
  const at = await expectBanner(popup, 14);
  assert.ok(Math.abs(at - (scheduledAt + 14 * DAY)) < 120, 'the date the owner chose');
  assert.equal(await badgeText(browser), '', 'two weeks ahead: no badge yet');
  // The banner as the README shows it.
  await popup.setViewportSize({ width: 380, height: 420 });
  await shot(popup, 'rollout-banner');
  // DOCS_SHOTS=1 writes it over the README's copy in docs/.
  if (process.env.DOCS_SHOTS) {
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    copyFileSync(join(SHOTS, 'rollout-banner.png'), join(ROOT, 'docs/rollout-banner.png'));
  }

  // A week later: 7 days left, and the badge counts them.
  await advanceClock(api, 7 * DAY);
  await popup.reload();
  await expectScreen(popup, 'signed-in', 'rollout-member-7-days');
  await expectBanner(popup, 7);
  await untilTrue(async () => (await badgeText(browser)) === '7d');
  // The settings page shows the same banner.
  const settings = await openSettings(browser);
  await expectScreen(settings, 'settings', 'rollout-member-settings-banner');
  await expectBanner(settings, 7);
  await settings.setViewportSize({ width: 700, height: 360 });
  await shot(settings, 'rollout-banner-settings');
  if (process.env.DOCS_SHOTS) copyFileSync(join(SHOTS, 'rollout-banner-settings.png'), join(ROOT, 'docs/rollout-banner-settings.png'));
  await settings.close();

  // "Set up now" opens the setup, which may be left before the date.
  await popup.locator('#set-up-now').click();
  await expectScreen(popup, 'setup-choose', 'rollout-member-set-up-now');
  assert.equal(await popup.locator('#skip').count(), 0, 'nothing to skip before the date');
  await popup.locator('#not-now').click();
  await expectScreen(popup, 'signed-in', 'rollout-member-not-now');
});

test('cancelling the schedule takes the banner and the badge away', async () => {
  const token = await ownerToken();
  await v1('PUT', '/v1/accounts/1/enforcement', { enforce_2fa: false, password: PASSWORD }, token);
  await popup.reload();
  await expectScreen(popup, 'signed-in', 'rollout-member-cancelled');
  await popup.locator('#app[data-vault="loaded"]').waitFor();
  assert.equal(await popup.locator('#deadline-banner').count(), 0, 'no banner once cancelled');
  await untilTrue(async () => (await badgeText(browser)) === '');
  // Scheduled again, for the next test: from a day ahead, 2 grace days.
  const now = await advanceClock(api, 0);
  await v1('PUT', '/v1/accounts/1/enforcement', { enforce_2fa: true, password: PASSWORD, from: now + DAY + 60, grace_days: 2 }, token);
  await popup.reload();
  await expectScreen(popup, 'signed-in', 'rollout-member-rescheduled');
  await expectBanner(popup, 2);
});

test('after the deadline the grace period offers two counted skips, then setup is forced', async () => {
  // Past the date, inside the grace period.
  await advanceClock(api, DAY + 120);
  await popup.reload();
  await expectScreen(popup, 'setup-choose', 'rollout-member-grace-1');
  assert.equal(await popup.locator('#skip').innerText(), 'Skip for now (2 skips left)');
  await untilTrue(async () => (await badgeText(browser)) === '!');
  await popup.locator('#skip').click();
  await expectScreen(popup, 'signed-in', 'rollout-member-skipped-1');
  assert.equal(await popup.locator('#notice').innerText(), 'Skipped for now. 1 skip left.');
  await expectBanner(popup, 0);
  assert.equal(await popup.locator('#deadline-skips').innerText(), 'You can skip setup 1 more time.');
  await untilTrue(async () => (await badgeText(browser)) === '0d');

  // The next sign-in asks again, with one skip fewer.
  await popup.locator('#sign-out').click();
  await signIn(popup, MEMBER);
  await expectScreen(popup, 'setup-choose', 'rollout-member-grace-2');
  assert.equal(await popup.locator('#skip').innerText(), 'Skip for now (1 skip left)');
  await popup.locator('#skip').click();
  await expectScreen(popup, 'signed-in', 'rollout-member-skipped-2');
  assert.equal(await popup.locator('#notice').innerText(), 'Skipped for now. That was the last skip.');

  // No skips left: nothing but setup (and signing out).
  await popup.locator('#sign-out').click();
  await signIn(popup, MEMBER);
  await expectScreen(popup, 'setup-choose', 'rollout-member-no-skips');
  assert.equal(await popup.locator('#skip').count(), 0, 'no skip button with no skips left');
  assert.equal(await popup.locator('#settings').count(), 0);

  // After the grace period: forced, with nothing to skip.
  await advanceClock(api, 2 * DAY);
  await popup.reload();
  await expectScreen(popup, 'setup-choose', 'rollout-member-after-grace');
  assert.equal(await popup.locator('#skip').count(), 0);
  assert.match(await popup.locator('#required').innerText(), /Acme requires two-factor authentication/);
  await untilTrue(async () => (await badgeText(browser)) === '!');
});
