// Unit tests of the web app's 2FA logic (web-app/logic.mjs), run by
// `node --test tests/web-logic/` in `make test`. The web app does not run
// the extension's Rust state machines (ARCHITECTURE.md says why), so each
// #[test] of extension/src/wizard.rs and extension/src/settings_state.rs
// that applies to the web app is mirrored here under the same name, with
// the /web/ route where the Rust test expects a native-host request. Then
// the web app's own logic: the owner's "N of M" count, the key in fours,
// the error words.
//
// Not mirrored, because the web app has no such thing:
// - wizard.rs `keep_saves_codes_in_the_vault_under_the_email`: the vault
//   is the native host's; the web app only copies and downloads the codes.
// - settings_state.rs `signed_out_session_says_so`: the web app has no
//   signed-out settings view; a 401 on /web/session shows the sign-in form
//   (browser suite, web_two_factor "trusted computers ... sign out
//   everywhere").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as logic from '../../web-app/logic.mjs';

const EMAIL = 'a@example.com';
const ok = (value) => ({ ok: value });
const err = (code, message) => ({ error: { code, message } });
const send = (path, body, key) => ({ send: { path, body }, key });
const tick = { after: 1000, key: 'tick' };
const tickAnswer = { type: 'answered', key: 'tick', answer: ok(null) };

const setupAnswer = () => ({
  secret_base32: 'JBSWY3DPEHPK3PXP',
  otpauth_uri: 'otpauth://totp/x',
  qr_png_base64: 'iVBOR',
});
const tenCodes = () => Array.from({ length: 10 }, (_, i) => `code-${i}`);

// ---- wizard.rs

// Mirrors wizard.rs `authenticator_path_ends_at_codes`.
test('authenticator_path_ends_at_codes', () => {
  const w = logic.setupWizard(EMAIL);
  assert.equal(logic.wizardScreen(w), 'setup-choose');
  logic.wizardUpdate(w, { type: 'choose', method: 'authenticator' });
  assert.equal(w.step, 'app-start');
  let out = logic.wizardUpdate(w, { type: 'start-app', password: '' });
  assert.deepEqual(out.effects, [send('/web/two-factor/authenticator/setup', {}, 'app-setup')]);
  assert.equal(w.busy, true);
  logic.wizardUpdate(w, { type: 'answered', key: 'app-setup', answer: ok(setupAnswer()) });
  assert.equal(logic.wizardScreen(w), 'setup-app-scan');
  out = logic.wizardUpdate(w, { type: 'copy-key' });
  assert.deepEqual(out.effects, [{ copy: 'JBSWY3DPEHPK3PXP', key: 'copy-key' }]);
  logic.wizardUpdate(w, { type: 'continue' });
  assert.equal(w.step, 'app-code');
  out = logic.wizardUpdate(w, { type: 'verify', code: '123 456' });
  assert.deepEqual(out.effects, [send('/web/two-factor/authenticator/confirm', { code: '123456' }, 'app-confirm')]);
  out = logic.wizardUpdate(w, {
    type: 'answered', key: 'app-confirm', answer: ok({ method: 'authenticator', recovery_codes: tenCodes() }),
  });
  assert.equal(out.finished, false);
  assert.equal(logic.wizardScreen(w), 'setup-codes');
  assert.equal(logic.finishedNotice(w), 'Two-factor authentication is on.');
});

// Mirrors wizard.rs `one_code_copies_alone_and_does_not_unlock_complete`.
test('one_code_copies_alone_and_does_not_unlock_complete', () => {
  const w = logic.codesWizard(EMAIL, tenCodes());
  let out = logic.wizardUpdate(w, { type: 'copy-code', index: 2 });
  assert.deepEqual(out.effects, [{ copy: 'code-2', key: 'copy-code:2' }]);
  logic.wizardUpdate(w, { type: 'answered', key: 'copy-code:2', answer: ok(null) });
  assert.equal(w.notice, 'Code 3 copied.');
  assert.equal(logic.canComplete(w), false, 'R4: only the whole list\'s Copy unlocks');
  out = logic.wizardUpdate(w, { type: 'copy-code', index: 99 });
  assert.deepEqual(out.effects, []);
});

// Mirrors wizard.rs `complete_waits_for_a_successful_copy`.
test('complete_waits_for_a_successful_copy', () => {
  const w = logic.codesWizard(EMAIL, tenCodes());
  assert.equal(logic.canComplete(w), false);
  let out = logic.wizardUpdate(w, { type: 'complete' });
  assert.equal(out.finished, false);
  assert.ok(w.error);
  out = logic.wizardUpdate(w, { type: 'copy-codes' });
  assert.deepEqual(out.effects, [{ copy: tenCodes().join('\n'), key: 'copy-codes' }]);
  // A failed copy does not open the gate.
  logic.wizardUpdate(w, { type: 'answered', key: 'copy-codes', answer: err('unknown', 'denied') });
  assert.equal(logic.canComplete(w), false);
  assert.match(w.error, /Could not copy to the clipboard \(denied\)/);
  logic.wizardUpdate(w, { type: 'answered', key: 'copy-codes', answer: ok(null) });
  assert.equal(logic.canComplete(w), true);
  out = logic.wizardUpdate(w, { type: 'complete' });
  assert.equal(out.finished, true);
  assert.equal(logic.finishedNotice(w), 'New recovery codes are ready; the old ones no longer work.');
});

// Mirrors wizard.rs `download_offers_a_text_file`.
test('download_offers_a_text_file', () => {
  const w = logic.codesWizard(EMAIL, tenCodes());
  const { effects } = logic.wizardUpdate(w, { type: 'download-codes' });
  assert.equal(effects.length, 1);
  assert.ok(effects[0].download.fileName.endsWith('.txt'));
  assert.ok(effects[0].download.text.includes('code-9'));
  assert.ok(effects[0].download.text.startsWith(`dialer-2fa recovery codes for ${EMAIL}\n`));
});

// Mirrors wizard.rs `sms_path_with_cooldown_and_resend`.
test('sms_path_with_cooldown_and_resend', () => {
  const w = logic.setupWizard(EMAIL);
  logic.wizardUpdate(w, { type: 'choose', method: 'sms' });
  assert.equal(logic.wizardScreen(w), 'setup-sms-phone');
  let out = logic.wizardUpdate(w, { type: 'submit-phone', phone: '4155550123', password: '' });
  assert.deepEqual(out.effects, []);
  assert.match(w.error, /country code/);
  out = logic.wizardUpdate(w, { type: 'submit-phone', phone: '+1 415 555 0123', password: '' });
  assert.deepEqual(out.effects, [send('/web/two-factor/sms/setup', { phone: '+14155550123' }, 'sms-setup')]);
  const sent = { phone_hint: '+1•••0123', expires_at: 1000 + logic.SMS_CODE_LIFETIME, resend_available_at: 1030 };
  out = logic.wizardUpdate(w, { type: 'answered', key: 'sms-setup', answer: ok(sent) });
  assert.deepEqual(out.effects, [tick]);
  assert.equal(w.resendIn, 30);
  assert.equal(logic.resendLabel(w.resendIn), 'Resend code (30 s)');
  assert.deepEqual(logic.wizardUpdate(w, { type: 'resend' }).effects, []);
  for (let i = 0; i < 29; i += 1) {
    assert.equal(logic.wizardUpdate(w, tickAnswer).effects.length, 1);
  }
  assert.deepEqual(logic.wizardUpdate(w, tickAnswer).effects, []);
  assert.equal(logic.resendLabel(w.resendIn), 'Resend code');
  out = logic.wizardUpdate(w, { type: 'resend' });
  assert.deepEqual(out.effects, [send('/web/two-factor/sms/setup', { phone: '+14155550123' }, 'sms-setup')]);
});

// Mirrors wizard.rs `password_asked_only_when_the_api_wants_it`.
test('password_asked_only_when_the_api_wants_it', () => {
  const w = logic.setupWizard(EMAIL);
  logic.wizardUpdate(w, { type: 'choose', method: 'authenticator' });
  logic.wizardUpdate(w, { type: 'start-app', password: '' });
  logic.wizardUpdate(w, {
    type: 'answered', key: 'app-setup', answer: err('password_required', 'Enter your password again.'),
  });
  assert.equal(w.needsPassword, true);
  assert.equal(w.error, 'Enter your password again.');
  // Asked, and left empty: nothing is sent.
  assert.deepEqual(logic.wizardUpdate(w, { type: 'start-app', password: '' }).effects, []);
  assert.equal(w.error, 'Enter your password to continue.');
  const out = logic.wizardUpdate(w, { type: 'start-app', password: 'pw' });
  assert.deepEqual(out.effects, [send('/web/two-factor/authenticator/setup', { password: 'pw' }, 'app-setup')]);
});

// Mirrors wizard.rs `switch_to_sms_goes_straight_to_the_code`.
test('switch_to_sms_goes_straight_to_the_code', () => {
  const started = {
    method: 'sms',
    sms: { phone_hint: '+1•••0123', expires_at: 600, resend_available_at: 30 },
  };
  const [w, fx] = logic.switchWizard(EMAIL, started);
  assert.equal(logic.wizardScreen(w), 'setup-sms-code');
  assert.equal(logic.wizardTitle(w), 'Switch your second step');
  assert.deepEqual(fx, [tick]);
  const verify = logic.wizardUpdate(w, { type: 'verify', code: '654321' });
  assert.deepEqual(verify.effects, [send('/web/two-factor/sms/confirm', { code: '654321' }, 'sms-confirm')]);
  const out = logic.wizardUpdate(w, {
    type: 'answered', key: 'sms-confirm', answer: ok({ method: 'sms', recovery_codes: [] }),
  });
  assert.equal(out.finished, true);
  assert.equal(logic.finishedNotice(w), 'Saved.');
});

// Mirrors wizard.rs `back_returns_to_the_choice_only_during_setup`.
test('back_returns_to_the_choice_only_during_setup', () => {
  const w = logic.setupWizard(EMAIL);
  logic.wizardUpdate(w, { type: 'choose', method: 'sms' });
  assert.equal(logic.canGoBack(w), true);
  logic.wizardUpdate(w, { type: 'back' });
  assert.equal(w.step, 'choose');
  const [sw] = logic.switchWizard(EMAIL, { method: 'authenticator', authenticator: setupAnswer() });
  assert.equal(logic.canGoBack(sw), false);
  logic.wizardUpdate(sw, { type: 'back' });
  assert.equal(logic.wizardScreen(sw), 'setup-app-scan');
});

// Mirrors wizard.rs `wrong_code_stays_with_the_message`.
test('wrong_code_stays_with_the_message', () => {
  const w = logic.setupWizard(EMAIL);
  w.step = 'app-code';
  logic.wizardUpdate(w, { type: 'verify', code: '123456' });
  logic.wizardUpdate(w, {
    type: 'answered', key: 'app-confirm', answer: err('invalid_code', 'That code is not right.'),
  });
  assert.equal(w.step, 'app-code');
  assert.equal(w.busy, false);
  assert.equal(w.error, 'That code is not right.');
  // A code that is not 6 digits is not sent at all.
  assert.deepEqual(logic.wizardUpdate(w, { type: 'verify', code: '12345' }).effects, []);
  assert.equal(w.error, 'The code is 6 digits, like 123 456.');
});

// ---- settings_state.rs: My Account → Two-Factor Authentication and the
// owner's tab.

function twoFactor(method, requiredBy = []) {
  return {
    enabled: method !== null,
    method,
    phone_hint: '+1•••0123',
    recovery_codes_remaining: 10,
    required: requiredBy.length > 0,
    required_by: requiredBy,
    setup_only: false,
  };
}

function withAccounts(page, without) {
  page.accounts = logic.owned([
    {
      id: 1, name: 'Acme', role: 'owner', enforce_2fa: false,
      members_without_two_factor: without, member_count: without + 1, members_with_two_factor: 1,
    },
    { id: 2, name: 'Other', role: 'member' },
  ]);
}

// Mirrors settings_state.rs `switch_to_sms_asks_password_then_goes_to_the_code`.
test('switch_to_sms_asks_password_then_goes_to_the_code', () => {
  const tf = twoFactor('authenticator');
  const page = logic.settingsPage('my');
  logic.pageUpdate(page, { type: 'ask', pending: { what: 'switch', method: 'sms' } }, tf);
  assert.equal(logic.question(page, page.pending, tf), 'Switch to text messages? Codes go to the number you used before.');
  assert.deepEqual(logic.pageUpdate(page, { type: 'confirm', password: '', confirmed: false }, tf).effects, []);
  assert.ok(page.error);
  const out = logic.pageUpdate(page, { type: 'confirm', password: 'pw', confirmed: false }, tf);
  assert.deepEqual(out.effects, [{ send: { path: '/web/two-factor/switch', body: { method: 'sms', password: 'pw' } }, key: 'switch' }]);
  const started = { method: 'sms', sms: { phone_hint: '+1•••0123', expires_at: 600, resend_available_at: 30 } };
  const { next } = logic.pageUpdate(page, { type: 'answered', key: 'switch', answer: ok(started), email: EMAIL }, tf);
  assert.equal(logic.wizardScreen(next.wizard), 'setup-sms-code');
  assert.deepEqual(next.effects, [tick]);
  assert.equal(page.pending, null);
});

// Mirrors settings_state.rs `disable_is_refused_with_the_reason_while_required`.
test('disable_is_refused_with_the_reason_while_required', () => {
  const tf = twoFactor('sms', ['Acme']);
  assert.equal(logic.disableBlocked(tf), '2FA cannot be turned off: it is required by Acme.');
  assert.equal(
    logic.disableBlocked({ ...tf, required_by: [] }),
    '2FA cannot be turned off: it is required by your organisation.',
  );
  assert.equal(logic.disableBlocked(twoFactor('sms')), null);
  const page = logic.settingsPage('my');
  assert.deepEqual(logic.pageUpdate(page, { type: 'ask', pending: { what: 'disable' } }, tf).effects, []);
  assert.equal(page.pending, null);
  assert.equal(page.error, '2FA cannot be turned off: it is required by Acme.');
});

// Mirrors settings_state.rs `disable_needs_confirmation_and_password`.
test('disable_needs_confirmation_and_password', () => {
  const tf = twoFactor('sms');
  const page = logic.settingsPage('my');
  logic.pageUpdate(page, { type: 'ask', pending: { what: 'disable' } }, tf);
  assert.deepEqual(page.pending, { what: 'disable' });
  assert.deepEqual(logic.pageUpdate(page, { type: 'confirm', password: 'pw', confirmed: false }, tf).effects, []);
  assert.equal(page.error, 'Tick the box to confirm you want 2FA off.');
  const out = logic.pageUpdate(page, { type: 'confirm', password: 'pw', confirmed: true }, tf);
  assert.deepEqual(out.effects, [{ send: { path: '/web/two-factor/disable', body: { password: 'pw', confirm: true } }, key: 'disable' }]);
  // Reloads everything (the session, the devices) with the notice.
  const { next } = logic.pageUpdate(page, { type: 'answered', key: 'disable', answer: ok({}) }, tf);
  assert.deepEqual(next, { reload: true, notice: 'Two-factor authentication is off.' });
});

// Mirrors settings_state.rs `regenerate_shows_codes_behind_the_copy_gate`.
test('regenerate_shows_codes_behind_the_copy_gate', () => {
  const tf = twoFactor('sms');
  const page = logic.settingsPage('my');
  logic.pageUpdate(page, { type: 'ask', pending: { what: 'regenerate' } }, tf);
  const out = logic.pageUpdate(page, { type: 'confirm', password: 'pw', confirmed: false }, tf);
  assert.deepEqual(out.effects, [{ send: { path: '/web/two-factor/recovery-codes', body: { password: 'pw' } }, key: 'regenerate' }]);
  const codes = Array(10).fill('x');
  const { next } = logic.pageUpdate(page, { type: 'answered', key: 'regenerate', answer: ok({ codes }), email: EMAIL }, tf);
  assert.equal(logic.wizardScreen(next.wizard), 'setup-codes');
  assert.equal(logic.canComplete(next.wizard), false);
});

// Mirrors settings_state.rs `only_owned_accounts_get_the_toggle`.
test('only_owned_accounts_get_the_toggle', () => {
  const tf = twoFactor(null);
  const page = logic.settingsPage('owner');
  withAccounts(page, 2);
  assert.deepEqual(page.accounts.map((a) => a.name), ['Acme']);
  // The toggle asks for the password before anything is sent.
  const asked = logic.pageUpdate(page, { type: 'enforce', accountId: 1, on: true }, tf);
  assert.deepEqual(asked.effects, []);
  assert.deepEqual(page.pending, { what: 'enforce', accountId: 1, on: true });
  const out = logic.pageUpdate(page, { type: 'confirm', password: 'pw', confirmed: false }, tf);
  assert.deepEqual(out.effects, [{
    send: { path: '/web/accounts/1/enforcement', method: 'PUT', body: { enforce_2fa: true, password: 'pw' } },
    key: 'enforce',
  }]);
  const { next } = logic.pageUpdate(page, {
    type: 'answered',
    key: 'enforce',
    answer: ok({ account_id: 1, enforce_2fa: true, members_without_two_factor: 2, caller_two_factor_enabled: false }),
  }, tf);
  assert.equal(page.accounts[0].enforce_2fa, true);
  assert.equal(page.pending, null);
  assert.deepEqual(next, { reload: true, notice: '2FA is now required for everyone in this account.' });
});

// Mirrors settings_state.rs `enforcing_says_who_it_stops_and_that_the_owner_needs_2fa`.
test('enforcing_says_who_it_stops_and_that_the_owner_needs_2fa', () => {
  let tf = twoFactor(null);
  let page = logic.settingsPage('owner');
  withAccounts(page, 3);
  logic.pageUpdate(page, { type: 'enforce', accountId: 1, on: true }, tf);
  assert.equal(
    logic.question(page, page.pending, tf),
    'Require 2FA for everyone in Acme? 3 people in it have not set up 2FA yet and will be able to do nothing but set it up. As an owner you must have 2FA too: you have not set it up, so you will be asked to right away.',
  );
  tf = twoFactor('sms');
  page = logic.settingsPage('owner');
  withAccounts(page, 1);
  assert.equal(
    logic.question(page, { what: 'enforce', accountId: 1, on: true }, tf),
    'Require 2FA for everyone in Acme? 1 person in it has not set up 2FA yet and will be able to do nothing but set it up. As an owner you must have 2FA too; you have it.',
  );
  assert.equal(
    logic.question(page, { what: 'enforce', accountId: 1, on: false }, tf),
    'Stop requiring 2FA in Acme? People there can then turn it off.',
  );
});

// Mirrors settings_state.rs `enforcement_without_a_password_sends_nothing_and_a_refusal_keeps_the_panel`.
test('enforcement_without_a_password_sends_nothing_and_a_refusal_keeps_the_panel', () => {
  const tf = twoFactor('sms');
  const page = logic.settingsPage('owner');
  withAccounts(page, 0);
  logic.pageUpdate(page, { type: 'enforce', accountId: 1, on: true }, tf);
  assert.deepEqual(logic.pageUpdate(page, { type: 'confirm', password: '', confirmed: false }, tf).effects, []);
  assert.equal(page.error, 'Enter your password to confirm.');
  logic.pageUpdate(page, { type: 'confirm', password: 'wrong', confirmed: false }, tf);
  assert.equal(page.busy, true);
  const { next } = logic.pageUpdate(page, {
    type: 'answered', key: 'enforce', answer: err('invalid_credentials', 'the email or the password is wrong'),
  }, tf);
  assert.equal(next, undefined);
  assert.equal(page.error, 'The email or the password is wrong.');
  assert.equal(page.busy, false);
  assert.equal(page.accounts[0].enforce_2fa, false, 'nothing changed');
  assert.ok(page.pending, 'the panel stays for another try');
  logic.pageUpdate(page, { type: 'cancel' }, tf);
  assert.equal(page.pending, null);
});

// Mirrors settings_state.rs `revoked_device_leaves_the_list`.
test('revoked_device_leaves_the_list', () => {
  const tf = twoFactor('sms');
  const page = logic.settingsPage('my');
  const device = (id) => ({ id, label: null, created_at: 0, expires_at: 1, last_used_at: null, current: false });
  page.devices = [device(1), device(2)];
  const out = logic.pageUpdate(page, { type: 'revoke', id: 1 }, tf);
  assert.deepEqual(out.effects, [{ send: { path: '/web/trusted-devices/1', method: 'DELETE' }, key: 'revoke', id: 1 }]);
  logic.pageUpdate(page, { type: 'answered', key: 'revoke', id: 1, answer: ok(null) }, tf);
  assert.deepEqual(page.devices.map((d) => d.id), [2]);
  assert.equal(page.notice, 'Device removed. It will ask for a code at the next sign-in.');
});

// Mirrors settings_state.rs `a_rejected_session_shows_signed_out`.
test('a_rejected_session_shows_signed_out', () => {
  const tf = twoFactor('sms');
  const page = logic.settingsPage('my');
  logic.pageUpdate(page, { type: 'ask', pending: { what: 'regenerate' } }, tf);
  logic.pageUpdate(page, { type: 'confirm', password: 'pw', confirmed: false }, tf);
  const { next } = logic.pageUpdate(page, { type: 'answered', key: 'regenerate', answer: err('unauthorized', 'sign in first') }, tf);
  assert.deepEqual(next, { signedOut: true });
});

// Mirrors settings_state.rs `cancel_leaves_the_wizard_except_at_the_codes`.
test('cancel_leaves_the_wizard_except_at_the_codes', () => {
  const w = logic.setupWizard(EMAIL);
  assert.equal(logic.wizardScreen(w), 'setup-choose');
  assert.equal(logic.canLeaveWizard(w), true);
  logic.wizardUpdate(w, { type: 'choose', method: 'authenticator' });
  logic.wizardUpdate(w, { type: 'start-app', password: '' });
  logic.wizardUpdate(w, { type: 'answered', key: 'app-setup', answer: ok(setupAnswer()) });
  logic.wizardUpdate(w, { type: 'continue' });
  logic.wizardUpdate(w, { type: 'verify', code: '123456' });
  logic.wizardUpdate(w, { type: 'answered', key: 'app-confirm', answer: ok({ method: 'authenticator', recovery_codes: tenCodes() }) });
  assert.equal(logic.wizardScreen(w), 'setup-codes');
  assert.equal(logic.canLeaveWizard(w), false);
  assert.equal(logic.canLeaveWizard(logic.codesWizard(EMAIL, tenCodes())), false);
});

// Mirrors settings_state.rs `setup_only_session_opens_the_wizard_with_no_way_out`.
test('setup_only_session_opens_the_wizard_with_no_way_out', () => {
  const tf = { ...twoFactor(null, ['Acme']), setup_only: true };
  for (const hash of ['', logic.MY_2FA, logic.OWNER_2FA]) {
    const to = logic.landing({ email: EMAIL, two_factor: tf }, hash);
    assert.equal(logic.wizardScreen(to.wizard), 'setup-choose', hash);
    assert.equal(logic.canLeaveWizard(to.wizard), false, hash);
  }
  assert.equal(logic.requiredText(tf.required_by), 'Acme requires two-factor authentication. Set it up to continue.');
  // Without setup_only, the address decides.
  const free = { email: EMAIL, two_factor: twoFactor('sms') };
  assert.deepEqual(logic.landing(free, logic.MY_2FA), { page: 'my' });
  assert.deepEqual(logic.landing(free, logic.OWNER_2FA), { page: 'owner' });
  assert.deepEqual(logic.landing(free, ''), { page: 'home' });
});

// ---- The web app's own logic.

test('the owner tab says how many of how many people have set up 2FA', () => {
  const account = { name: 'Acme', role: 'owner', member_count: 5, members_with_two_factor: 3, members_without_two_factor: 2 };
  assert.equal(logic.setUpCountText(account), '3 of 5 people have set up 2FA.');
  assert.equal(logic.setUpCountText({ ...account, member_count: 1, members_with_two_factor: 0 }), '0 of 1 person has set up 2FA.');
  assert.equal(logic.withoutText(account), '2 people have not set up 2FA yet.');
  assert.equal(logic.withoutText({ ...account, members_without_two_factor: 1 }), '1 person has not set up 2FA yet.');
  assert.equal(logic.withoutText({ ...account, members_without_two_factor: 0 }), 'Everyone in it has set up 2FA.');
  // A member's summary carries no counts: nothing to say.
  assert.equal(logic.setUpCountText({ name: 'Acme', role: 'member' }), '');
});

test('the key is shown in groups of four', () => {
  assert.equal(logic.groupedKey('JBSWY3DPEHPK3PXP'), 'JBSW Y3DP EHPK 3PXP');
  assert.equal(logic.groupedKey('JBSWY3DPEHPK3PXPAB'), 'JBSW Y3DP EHPK 3PXP AB');
});

test('error codes become the words the page shows', () => {
  assert.equal(logic.errorText({ code: 'sms_delivery_failed', message: 'twilio said no' }), 'We could not send the text message. Try again in a minute.');
  assert.equal(logic.errorText({ code: 'invalid_code', message: 'that code is not right' }), 'That code is not right.');
  assert.equal(logic.errorText({ code: 'x', message: 'Done already!' }), 'Done already!');
});

test('the resend countdown comes from the server clock, capped at the code lifetime', () => {
  assert.equal(logic.resendCooldown(1000 + logic.SMS_CODE_LIFETIME, 1030), 30);
  assert.equal(logic.resendCooldown(1000 + logic.SMS_CODE_LIFETIME, 990), 0);
  assert.equal(logic.resendCooldown(1000 + logic.SMS_CODE_LIFETIME, 99999), 600);
});
