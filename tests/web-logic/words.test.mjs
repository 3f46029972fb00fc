// The one catalogue of words both clients show (web-app/words.json): the
// web app asks only for words it has and fills every placeholder, every
// word in it is used by a client, and no client keeps its own copy of one
// (the extension's side of the first two is text.rs's
// `every_word_the_extension_asks_for_is_in_the_catalogue`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as logic from '../../web-app/logic.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const catalogue = JSON.parse(readFileSync(join(root, 'web-app/words.json'), 'utf8'));
const WORDS = catalogue.words;

// Comment lines quote words to say what code does; only code counts.
const code = (text) => text.split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');

function sources(dir, ext) {
  return readdirSync(join(root, dir))
    .filter((f) => ext.some((e) => f.endsWith(e)))
    .map((f) => ({ name: `${dir}/${f}`, text: code(readFileSync(join(root, dir, f), 'utf8')) }));
}
const web = sources('web-app', ['.js', '.mjs']);
// The extension's unit tests may spell words out: they check them.
const extension = sources('extension/src', ['.rs']).map((f) => ({ ...f, text: f.text.split('#[cfg(test)]\nmod tests')[0] }));

const placeholders = (key) => [...WORDS[key].matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** The text from an opening bracket at `at` to its partner. */
function bracketed(text, at) {
  const open = text[at];
  const close = { '(': ')', '[': ']', '{': '}' }[open];
  let depth = 0;
  for (let i = at; i < text.length; i += 1) {
    if (text[i] === open) depth += 1;
    else if (text[i] === close && (depth -= 1) === 0) return text.slice(at + 1, i);
  }
  return text.slice(at + 1);
}

/** Every word(key) and fill(key, args) call in JavaScript: { key, names } (names null for word). */
function jsCalls(text) {
  const calls = [];
  for (const m of text.matchAll(/\b(word|fill)\(\s*'([^']+)'/g)) {
    if (m[1] === 'word') {
      calls.push({ key: m[2], names: null });
      continue;
    }
    const after = text.slice(m.index + m[0].length);
    const inline = /^\s*,\s*\{/.exec(after);
    if (!inline) {
      calls.push({ key: m[2], names: ['(arguments not written inline)'] });
      continue;
    }
    const args = bracketed(text, m.index + m[0].length + inline[0].length - 1);
    const names = [];
    let depth = 0;
    let part = '';
    for (const c of `${args},`) {
      if ('([{'.includes(c)) depth += 1;
      if (')]}'.includes(c)) depth -= 1;
      if (c === ',' && depth === 0) {
        if (part.trim()) names.push(part.split(':')[0].trim());
        part = '';
      } else part += c;
    }
    calls.push({ key: m[2], names: names.sort() });
  }
  return calls;
}

/** Every word! / fill! call in Rust (text.rs's macros), the same way. */
function rustCalls(text) {
  const calls = [];
  for (const m of text.matchAll(/\b(word|fill)!\(\s*"([^"]+)"/g)) {
    if (m[1] === 'word') {
      calls.push({ key: m[2], names: null });
      continue;
    }
    const after = text.slice(m.index + m[0].length);
    const inline = /^\s*,\s*&\[/.exec(after);
    if (!inline) {
      calls.push({ key: m[2], names: ['(arguments not written inline)'] });
      continue;
    }
    const args = bracketed(text, m.index + m[0].length + inline[0].length - 1);
    calls.push({ key: m[2], names: [...args.matchAll(/\(\s*"(\w+)"\s*,/g)].map((n) => n[1]).sort() });
  }
  return calls;
}

test('every word the web app asks for is in the catalogue, with every placeholder filled', () => {
  const calls = web.flatMap((f) => jsCalls(f.text).map((c) => ({ ...c, file: f.name })));
  assert.ok(calls.length > 50, `only ${calls.length} calls found: the scan is broken`);
  for (const { key, names, file } of calls) {
    assert.ok(Object.hasOwn(WORDS, key), `${file} asks for "${key}", which words.json lacks`);
    if (names === null) assert.deepEqual(placeholders(key), [], `${file}: "${key}" has placeholders: use fill`);
    else assert.deepEqual(names, placeholders(key), `${file}: fill("${key}") names what its words hold`);
  }
});

test('the extension asks for words the catalogue has, with every placeholder filled', () => {
  const calls = extension.flatMap((f) => rustCalls(f.text).map((c) => ({ ...c, file: f.name })));
  assert.ok(calls.length > 50, `only ${calls.length} calls found: the scan is broken`);
  for (const { key, names, file } of calls) {
    assert.ok(Object.hasOwn(WORDS, key), `${file} asks for "${key}", which words.json lacks`);
    if (names === null) assert.deepEqual(placeholders(key), [], `${file}: "${key}" has placeholders: use fill`);
    else assert.deepEqual(names, placeholders(key), `${file}: fill("${key}") names what its words hold`);
  }
});

test('every word in the catalogue is used by a client', () => {
  const used = new Set([...web.flatMap((f) => jsCalls(f.text)), ...extension.flatMap((f) => rustCalls(f.text))].map((c) => c.key));
  const unused = Object.keys(WORDS).filter((k) => !used.has(k));
  assert.deepEqual(unused, [], 'words nobody shows');
});

// A phrase of the catalogue written out again in code, with its
// placeholders as `${...}` (JavaScript) or `{}` (Rust's format!): the copy
// that would drift.
const shape = (s) => s.replace(/\$\{[^}]*\}|\{\w*\}/g, '{}');
const catalogued = new Map(Object.entries(WORDS).filter(([, v]) => v.length >= 12).map(([k, v]) => [shape(v), k]));

function jsLiterals(text) {
  return [...text.matchAll(/'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function rustLiterals(text) {
  return [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\n/g, '\n').replace(/\\"/g, '"'));
}

test('no client keeps its own copy of a catalogued phrase', () => {
  const copies = [];
  for (const f of web) {
    for (const lit of jsLiterals(f.text)) {
      if (catalogued.has(shape(lit.replace(/\\n/g, '\n')))) copies.push(`${f.name}: ${lit} (${catalogued.get(shape(lit.replace(/\\n/g, '\n')))})`);
    }
  }
  for (const f of extension) {
    for (const lit of rustLiterals(f.text)) {
      if (catalogued.has(shape(lit))) copies.push(`${f.name}: ${lit} (${catalogued.get(shape(lit))})`);
    }
  }
  assert.deepEqual(copies, [], 'use word!/fill! (Rust) or logic.word/fill instead');
});

test('the scan finds a copy: a phrase written out again is caught', () => {
  const copy = `const notice = 'Reminder sent to \${n} people.';`;
  assert.ok(jsLiterals(copy).some((lit) => catalogued.has(shape(lit))));
  const rust = 'self.notice = Some(format!("Reminder sent to {} people.", n));';
  assert.ok(rustLiterals(rust).some((lit) => catalogued.has(shape(lit))));
});

test('fill fills placeholders and leaves an unknown one visible', () => {
  assert.equal(logic.fill('deadline.days', { date: '3 Feb 2027', days: 12 }), '2FA will be required from 3 Feb 2027 (12 days left).');
  assert.equal(logic.fill('deadline.days', { date: 'x' }), '2FA will be required from x ({days} days left).');
  assert.equal(logic.word('no.such.key'), 'no.such.key');
});

test('dates use the catalogue\'s Intl options, which the extension reads too', () => {
  assert.deepEqual(catalogue.intl.date, { dateStyle: 'medium' });
  assert.equal(logic.dateText(1_798_761_600, 'en-GB'), new Intl.DateTimeFormat('en-GB', catalogue.intl.date).format(new Date(1_798_761_600_000)));
});
