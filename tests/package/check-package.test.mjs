// The package checker (scripts/check-package.mjs) and the store manifest
// (scripts/store-manifest.mjs): each fault `make package` must refuse, on
// small packages built here with the same tools (zip, dpkg-deb), beside a
// good one that passes. `make package` runs these before checking its own
// output; no browser, no server.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  checkExtensionZip, checkHostDeb, checkApiDeb, pinnedExtensionId, STATE_ICONS, ICON_SIZES, HOST_NAME,
} from '../../scripts/check-package.mjs';
import { storeManifest, checkChromeVersion } from '../../scripts/store-manifest.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const ID = pinnedExtensionId();
const VERSION = '0.1.0';
const BASE = mkdtempSync(join(tmpdir(), 'd2fa-pkg-check-'));
after(() => rmSync(BASE, { recursive: true, force: true }));

/** A directory shaped like dist/extension, with the repository's icons. */
function extensionDir(edit = (m) => m) {
  const dir = mkdtempSync(join(BASE, 'ext-'));
  const repoManifest = JSON.parse(readFileSync(join(ROOT, 'manifest/manifest.json'), 'utf8'));
  const manifest = edit(storeManifest(repoManifest, VERSION));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  for (const f of ['popup.html', 'popup.css', 'options.html', 'tokens.css', 'web_app.json']) {
    writeFileSync(join(dir, f), '/* */');
  }
  // The loaders as scripts/build-extension.sh's default (split) layout
  // writes them: the popup's own module, one for the settings page and the
  // worker.
  mkdirSync(join(dir, 'pkg'));
  for (const [loader, module] of [['popup', 'popup'], ['options', 'options_sw'], ['sw', 'options_sw']]) {
    writeFileSync(join(dir, `${loader}.js`), `import init from './pkg/${module}.js';\ninit({ module_or_path: './pkg/${module}_bg.wasm' });\n`);
    writeFileSync(join(dir, 'pkg', `${module}.js`), '');
    writeFileSync(join(dir, 'pkg', `${module}_bg.wasm`), '');
  }
  mkdirSync(join(dir, 'icons'));
  for (const s of STATE_ICONS) for (const n of ICON_SIZES) cpSync(join(ROOT, 'extension/icons', `${s}-${n}.png`), join(dir, 'icons', `${s}-${n}.png`));
  return dir;
}

function zipOf(dir) {
  const zip = `${dir}.zip`;
  execFileSync('zip', ['-X', '-q', '-r', zip, '.'], { cwd: dir });
  rmSync(dir, { recursive: true });
  return zip;
}

test('the store manifest drops the key and takes the workspace version', () => {
  const m = storeManifest({ manifest_version: 3, key: 'MIIB', version: '0.0.1', name: 'x' }, '1.2.3');
  assert.deepEqual(m, { manifest_version: 3, version: '1.2.3', name: 'x' });
  assert.equal(checkChromeVersion('0.1.0'), null);
  assert.equal(checkChromeVersion('1.2.3.65535'), null);
  for (const bad of ['0.1.0-beta', '1.2.3.4.5', '01.2', '1.65536', '']) {
    assert.notEqual(checkChromeVersion(bad), null, bad);
    assert.throws(() => storeManifest({}, bad));
  }
});

test('a complete store zip passes', () => {
  assert.deepEqual(checkExtensionZip(zipOf(extensionDir()), VERSION), []);
});

test('a zip whose manifest has a key is refused', () => {
  const zip = zipOf(extensionDir((m) => ({ ...m, key: 'MIIBIjANBg' })));
  assert.deepEqual(checkExtensionZip(zip, VERSION).filter((p) => p.includes('"key"')).length, 1);
});

test('a zip missing an icon, a page module or the web app origin is refused, naming the file', () => {
  for (const missing of ['icons/icon-48.png', 'icons/icon-setup-16.png', 'pkg/options_sw_bg.wasm', 'pkg/popup.js', 'sw.js', 'web_app.json', 'popup.html']) {
    const dir = extensionDir();
    rmSync(join(dir, missing));
    const problems = checkExtensionZip(zipOf(dir), VERSION);
    assert.ok(problems.some((p) => p.startsWith(`${missing} is missing`)), `${missing}: ${problems}`);
  }
});

test('a loader that loads no module from pkg/ is refused', () => {
  const dir = extensionDir();
  writeFileSync(join(dir, 'options.js'), '/* */');
  assert.deepEqual(checkExtensionZip(zipOf(dir), VERSION), ['options.js loads no module from pkg/']);
});

test('a zip with an icon of the wrong size, another version or no icons in the manifest is refused', () => {
  let dir = extensionDir();
  cpSync(join(ROOT, 'extension/icons/icon-32.png'), join(dir, 'icons/icon-16.png'));
  assert.deepEqual(checkExtensionZip(zipOf(dir), VERSION), ['icons/icon-16.png is 32x32, not 16x16 px']);
  assert.ok(checkExtensionZip(zipOf(extensionDir()), '0.2.0').some((p) => p.includes('not the workspace version 0.2.0')));
  dir = extensionDir(({ icons: _icons, ...m }) => m);
  assert.ok(checkExtensionZip(zipOf(dir), VERSION).some((p) => p.includes('icons has no 128 px icon')));
  assert.ok(checkExtensionZip('/nonexistent.zip', VERSION)[0].includes('not a readable zip'));
});

/** Builds a .deb with dpkg-deb from `files` ({path: [content, mode]}) and conffiles. */
function deb(name, files, conffiles = []) {
  const dir = mkdtempSync(join(BASE, 'deb-'));
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
  writeFileSync(join(tree, 'DEBIAN/control'), `Package: ${name}\nVersion: ${VERSION}-1\nArchitecture: all\nMaintainer: t <t@example.invalid>\nDescription: test\n`);
  if (conffiles.length) writeFileSync(join(tree, 'DEBIAN/conffiles'), `${conffiles.join('\n')}\n`);
  for (const [path, [content, mode]] of Object.entries(files)) {
    mkdirSync(join(tree, dirname(path)), { recursive: true });
    writeFileSync(join(tree, path), content, { mode });
  }
  const out = join(dir, `${name}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', tree, out], { stdio: 'ignore' });
  return out;
}

const HOST_MANIFEST = readFileSync(join(ROOT, 'native-host/packaging/com.dialer2fa.host.json'), 'utf8');
const CHROME = `/etc/opt/chrome/native-messaging-hosts/${HOST_NAME}.json`;
const CHROMIUM = `/etc/chromium/native-messaging-hosts/${HOST_NAME}.json`;

function hostDeb({ manifest = HOST_MANIFEST, without = null, binMode = 0o755, conffiles = [CHROME, CHROMIUM] } = {}) {
  const files = { '/usr/bin/dialer-2fa-host': ['#!/bin/sh\n', binMode], [CHROME]: [manifest, 0o644], [CHROMIUM]: [manifest, 0o644] };
  if (without) delete files[without];
  return deb('dialer-2fa-host', files, conffiles.filter((c) => c !== without));
}

test('the committed system-wide host manifest passes: the installed binary, the pinned extension', () => {
  assert.deepEqual(checkHostDeb(hostDeb(), VERSION, ID), []);
});

test('a host .deb without the Chromium manifest, with a manifest for another path or id, or not as conffiles, is refused', () => {
  const missing = checkHostDeb(hostDeb({ without: CHROMIUM }), VERSION, ID);
  assert.equal(missing.length, 1);
  assert.match(missing[0], /etc\/chromium\/native-messaging-hosts\/com\.dialer2fa\.host\.json is missing$/);

  const elsewhere = JSON.stringify({ ...JSON.parse(HOST_MANIFEST), path: '/home/dev/target/debug/dialer-2fa-host' });
  assert.equal(checkHostDeb(hostDeb({ manifest: elsewhere }), VERSION, ID).filter((p) => p.includes('has path')).length, 2);
  const other = JSON.stringify({ ...JSON.parse(HOST_MANIFEST), allowed_origins: ['chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/'] });
  assert.equal(checkHostDeb(hostDeb({ manifest: other }), VERSION, ID).filter((p) => p.includes('allowed_origins')).length, 2);
  assert.equal(checkHostDeb(hostDeb({ conffiles: [] }), VERSION, ID).filter((p) => p.includes('not a conffile')).length, 2);
  assert.ok(checkHostDeb(hostDeb({ binMode: 0o644 }), VERSION, ID).some((p) => p.includes('not executable')));
  assert.ok(checkHostDeb(hostDeb(), '0.2.0', ID).some((p) => p.includes('not the workspace version')));
});

test('an API .deb needs the binary and the systemd unit that starts it', () => {
  const unit = readFileSync(join(ROOT, 'deploy/dialer-2fa-api.service'), 'utf8');
  const bin = ['#!/bin/sh\n', 0o755];
  const good = deb('dialer-2fa-api', { '/usr/bin/dialer-2fa-api': bin, '/lib/systemd/system/dialer-2fa-api.service': [unit, 0o644] });
  assert.deepEqual(checkApiDeb(good, VERSION), []);
  const noUnit = deb('dialer-2fa-api', { '/usr/bin/dialer-2fa-api': bin });
  assert.deepEqual(checkApiDeb(noUnit, VERSION), [`${noUnit}: /lib/systemd/system/dialer-2fa-api.service is missing`]);
  const wrongName = deb('dialer-2fa-host', { '/usr/bin/dialer-2fa-api': bin, '/lib/systemd/system/dialer-2fa-api.service': [unit, 0o644] });
  assert.ok(checkApiDeb(wrongName, VERSION).some((p) => p.includes('Package is dialer-2fa-host')));
});
