// Issue 13: dates read the same in the web app and the extension: Intl with
// the person's locale and dateStyle "medium" (extension/src/dom.rs::date).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateText, methodName } from '../../web-app/logic.mjs';

test('dates follow the locale through Intl, not one fixed format', () => {
  const t = 1_801_000_000; // 2027-01-27 on the server's clock
  const expect = (locale) => new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }).format(new Date(t * 1000));
  assert.equal(dateText(t, 'en-US'), expect('en-US'));
  assert.equal(dateText(t, 'en-GB'), expect('en-GB'));
  assert.notEqual(dateText(t, 'en-US'), dateText(t, 'en-GB'), 'the locale decides');
  assert.doesNotMatch(dateText(t, 'en-US'), /:/, 'a date, no time of day');
});

test('the method is spelled as the extension spells it', () => {
  assert.equal(methodName('authenticator'), 'Authenticator app');
});
