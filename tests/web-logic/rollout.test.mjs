// Issue 14 in the web app's logic (web-app/logic.mjs): the deadline
// banner's words, the grace period's skips, the owner's schedule, who has
// not set up 2FA and the reminder. Each test mirrors the Rust test of
// extension/src (text.rs, popup_state.rs, settings_state.rs) under the
// same name, with the /web/ route where the Rust test expects a host
// request.
//
// Not mirrored, because the web app has no such thing:
// - popup_state.rs `the_badge_counts_down_the_last_week_before_a_deadline`:
//   the toolbar badge is the extension's.
// - popup_state.rs `the_banners_set_up_now_opens_a_setup_that_may_be_left`:
//   the web app's "Set up now" opens its ordinary wizard with Cancel
//   (browser suite, rollout "web app").
// - popup_state.rs `a_forced_setup_leaves_no_way_out_but_the_skips`: the
//   web app's forced wizard has no "Not now" to refuse (logic.test.mjs
//   `setup_only_session_opens_the_wizard_with_no_way_out`), and its skips
//   are `the_forced_setup_offers_the_grace_periods_skips` below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as logic from '../../web-app/logic.mjs';

const ok = (value) => ({ ok: value });
const err = (code, message) => ({ error: { code, message } });

const scheduled = (daysLeft, skipsLeft) => ({
  at: 1_801_000_000, days_left: daysLeft, set_by: ['Acme'], grace_days: 2,
  ...(skipsLeft === undefined ? {} : { skips_left: skipsLeft }),
});

const session = (setupOnly, deadline, enabled = false) => ({
  email: 'a@example.com',
  two_factor: {
    enabled, method: enabled ? 'authenticator' : null, recovery_codes_remaining: 10,
    required: setupOnly, required_by: setupOnly ? ['Acme'] : [], setup_only: setupOnly, deadline,
  },
});

function ownerPage(without) {
  const page = logic.settingsPage('owner');
  page.accounts = logic.owned([
    {
      id: 1, name: 'Acme', role: 'owner', enforce_2fa: false,
      members_without_two_factor: without, member_count: without + 1, members_with_two_factor: 1,
    },
    { id: 2, name: 'Other', role: 'member' },
  ]);
  return page;
}

// Mirrors text.rs `deadlines_read_with_the_days_left_and_who_set_them`.
test('deadlines_read_with_the_days_left_and_who_set_them', () => {
  assert.equal(logic.deadlineText(12, '3 Feb 2027'), '2FA will be required from 3 Feb 2027 (12 days left).');
  assert.equal(logic.deadlineText(1, '3 Feb 2027'), '2FA will be required from 3 Feb 2027 (1 day left).');
  assert.equal(logic.deadlineText(0, '3 Feb 2027'), '2FA is required since 3 Feb 2027.');
  assert.equal(logic.setByText(['Acme', logic.PLATFORM]), 'Set by Acme, the platform.');
  assert.equal(logic.setByText([]), 'Set by the platform.');
  assert.equal(logic.skipLabel(1), 'Skip for now (1 skip left)');
  assert.equal(logic.skipLabel(3), 'Skip for now (3 skips left)');
});

// Mirrors text.rs `a_reminder_too_soon_and_no_skips_left_get_plain_words`.
test('a_reminder_too_soon_and_no_skips_left_get_plain_words', () => {
  const soon = logic.errorText({ code: 'reminder_too_soon', message: 'try again after 10:00' });
  assert.ok(soon.startsWith('A reminder already went out for this account today'));
  assert.ok(soon.endsWith('Try again after 10:00.'));
  assert.equal(logic.errorText({ code: 'grace_exhausted', message: 'grace over' }),
    'No more skips: set up two-factor authentication now to continue.');
});

// Mirrors popup_state.rs `the_grace_period_offers_skips_and_counts_them`.
test('the_grace_period_offers_skips_and_counts_them', () => {
  const forced = session(true, scheduled(0, 2));
  assert.equal(logic.landing(forced, '').wizard.forced, true);
  assert.equal(logic.skipsOffered(forced), 2);
  const after = session(false, scheduled(0, 1));
  assert.equal(logic.skipsOffered(after), null, 'a full session has nothing to skip');
  assert.equal(logic.skippedNotice(after), 'Skipped for now. 1 skip left.');
  assert.deepEqual(logic.landing(after, ''), { page: 'home' });
  assert.deepEqual(logic.deadlineShown(after.two_factor), scheduled(0, 1), 'the banner stays');
});

// Mirrors popup_state.rs `no_skips_left_means_no_skip_and_a_refusal_says_why`.
test('no_skips_left_means_no_skip_and_a_refusal_says_why', () => {
  assert.equal(logic.skipsOffered(session(true, scheduled(0, 0))), null);
  assert.equal(logic.skipsOffered(session(true, scheduled(0))), null, 'after the grace period');
  assert.equal(logic.skipsOffered(session(true, undefined)), null, 'no deadline');
  assert.equal(logic.deadlineShown(session(false, scheduled(3), true).two_factor), null, '2FA on: no banner');
});

// Mirrors settings_state.rs `owners_see_who_has_not_set_up_2fa_and_send_one_reminder`.
test('owners_see_who_has_not_set_up_2fa_and_send_one_reminder', () => {
  const page = ownerPage(1);
  logic.pageUpdate(page, {
    type: 'answered', key: 'members', id: 1,
    answer: ok({ members: [{ email: 'a@example.com', role: 'owner', two_factor_enabled: true }, { email: 'late@example.com', role: 'member', two_factor_enabled: false }] }),
  });
  assert.deepEqual(logic.notSetUp(page, 1), ['late@example.com']);
  assert.equal(logic.notSetUp(page, 2), null);
  const out = logic.pageUpdate(page, { type: 'remind', accountId: 1 });
  assert.deepEqual(out.effects, [{ send: { path: '/web/accounts/1/reminders', body: {} }, key: 'remind', id: 1 }]);
  logic.pageUpdate(page, { type: 'answered', key: 'remind', id: 1, answer: ok({ sent: 1, next_reminder_at: 1_801_086_400 }) });
  assert.equal(page.notice, 'Reminder sent to 1 person.');
  assert.equal(page.members[1].next_reminder_at, 1_801_086_400, 'the button waits for the next allowed time');
  logic.pageUpdate(page, { type: 'remind', accountId: 1 });
  logic.pageUpdate(page, { type: 'answered', key: 'remind', id: 1, answer: err('reminder_too_soon', 'the next reminder can go out tomorrow') });
  assert.equal(page.error, 'A reminder already went out for this account today: one a day at most. The next reminder can go out tomorrow.');
  assert.equal(page.busy, false);
});

// Mirrors settings_state.rs `enforcement_from_a_date_sends_the_date_and_the_grace_days`.
test('enforcement_from_a_date_sends_the_date_and_the_grace_days', () => {
  const page = ownerPage(2);
  const tf = session(false, undefined).two_factor;
  logic.pageUpdate(page, { type: 'enforce', accountId: 1, on: true }, tf);
  const now = 1_800_000_000;
  logic.pageUpdate(page, { type: 'schedule', inDays: 14, graceDays: '2', now }, tf);
  assert.equal(logic.question(page, page.pending, tf),
    'Require 2FA for everyone in Acme 14 days from now? 2 people in it have not set up 2FA yet: they see the date from now on and are reminded before it. After that day they may skip setup for 2 more days. As an owner you need 2FA by then too.');
  const out = logic.pageUpdate(page, { type: 'confirm', password: 'pw', confirmed: false }, tf);
  assert.deepEqual(out.effects, [{
    send: { path: '/web/accounts/1/enforcement', method: 'PUT', body: { enforce_2fa: true, password: 'pw', from: now + 14 * 86_400, grace_days: 2 } },
    key: 'enforce',
  }]);
  const { next } = logic.pageUpdate(page, {
    type: 'answered', key: 'enforce',
    answer: ok({ account_id: 1, enforce_2fa: true, members_without_two_factor: 2, caller_two_factor_enabled: false, enforce_from: now + 14 * 86_400, grace_days: 2 }),
  }, tf);
  assert.equal(page.accounts[0].enforce_from, now + 14 * 86_400);
  assert.equal(logic.graceOf(page, 1), 2);
  assert.deepEqual(next, { reload: true, notice: '2FA is now scheduled for everyone in this account.' });
});

// Mirrors settings_state.rs `a_reloaded_page_shows_the_schedules_grace_days`.
test('a_reloaded_page_shows_the_schedules_grace_days', () => {
  const page = logic.settingsPage('owner');
  page.accounts = logic.owned([{ id: 1, name: 'Acme', role: 'owner', enforce_2fa: true, members_without_two_factor: 2, member_count: 3, enforce_from: 1_801_000_000, members_with_two_factor: 1, grace_days: 3 }]);
  assert.equal(logic.graceOf(page, 1), 3);
  assert.equal(logic.graceOf(page, 2), 0, 'not an account of this page');
  // An older API leaves the field out: read as no grace days.
  page.accounts = logic.owned([{ id: 1, name: 'Acme', role: 'owner', enforce_2fa: true, enforce_from: 1_801_000_000 }]);
  assert.equal(logic.graceOf(page, 1), 0);
});

// Mirrors settings_state.rs `the_owner_is_named_in_the_list_and_a_reminder_reaches_only_the_others`.
test('the_owner_is_named_in_the_list_and_a_reminder_reaches_only_the_others', () => {
  const page = ownerPage(2);
  const own = { email: 'own@example.com', role: 'owner', two_factor_enabled: false, you: true };
  logic.pageUpdate(page, {
    type: 'answered', key: 'members', id: 1,
    answer: ok({ members: [own, { email: 'late@example.com', role: 'member', two_factor_enabled: false }] }),
  });
  assert.deepEqual(logic.notSetUp(page, 1), ['own@example.com (you)', 'late@example.com']);
  assert.equal(logic.youNotSetUp(page, 1), true);
  assert.equal(logic.reminderRecipients(page, 1), 1);
  // Only the owner is left: nobody a reminder would reach.
  logic.pageUpdate(page, {
    type: 'answered', key: 'members', id: 1,
    answer: ok({ members: [own, { email: 'late@example.com', role: 'member', two_factor_enabled: true }] }),
  });
  assert.equal(logic.reminderRecipients(page, 1), 0);
  assert.equal(logic.youNotSetUp(page, 1), true);
});

// Mirrors settings_state.rs `only_the_offered_days_and_a_grace_of_at_most_seven_days_are_sent`.
test('only_the_offered_days_and_a_grace_of_at_most_seven_days_are_sent', () => {
  const page = ownerPage(0);
  logic.pageUpdate(page, { type: 'enforce', accountId: 1, on: true });
  logic.pageUpdate(page, { type: 'schedule', inDays: 7, graceDays: '8', now: 0 });
  assert.equal(page.error, 'The grace period is 0 to 7 days.');
  assert.deepEqual(page.schedule, { inDays: null, graceDays: 0, from: null }, 'nothing chosen');
  logic.pageUpdate(page, { type: 'schedule', inDays: 45, graceDays: '3', now: 0 });
  assert.deepEqual(page.schedule, { inDays: null, graceDays: 0, from: null }, '45 days is not offered');
  logic.pageUpdate(page, { type: 'schedule', inDays: null, graceDays: '3', now: 0 });
  const out = logic.pageUpdate(page, { type: 'confirm', password: 'pw', confirmed: false });
  assert.deepEqual(out.effects[0].send.body, { enforce_2fa: true, password: 'pw' }, '"Require now" carries no date and no grace');
});

// Mirrors settings_state.rs `the_forced_setup_offers_the_grace_periods_skips`.
test('the_forced_setup_offers_the_grace_periods_skips', () => {
  assert.equal(logic.skipsOffered(session(true, scheduled(0, 2))), 2);
  assert.equal(logic.skippedNotice(session(false, scheduled(0, 1))), 'Skipped for now. 1 skip left.');
  assert.equal(logic.skipsOffered(session(true, scheduled(0, 0))), null);
});
