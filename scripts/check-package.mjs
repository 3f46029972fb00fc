#!/usr/bin/env node
// Checks what `make package` wrote, with the tools a user's system would
// use to read it (`unzip`, `dpkg-deb`), before anyone uploads or installs it:
//   - the extension zip holds every file its manifest and pages load, the
//     icons at their pixel sizes, and a manifest without `key`, of the
//     workspace version;
//   - the host's .deb installs the binary and the system-wide manifests for
//     Chrome and Chromium (as conffiles), naming the installed binary and
//     the published extension;
//   - the API's .deb installs the binary and its systemd unit.
//
//   node scripts/check-package.mjs DIST_DIR VERSION
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');

export const HOST_NAME = 'com.dialer2fa.host';
export const HOST_BIN = '/usr/bin/dialer-2fa-host';
export const API_BIN = '/usr/bin/dialer-2fa-api';
export const SYSTEM_MANIFEST_DIRS = ['/etc/opt/chrome/native-messaging-hosts', '/etc/chromium/native-messaging-hosts'];
export const API_UNIT = '/lib/systemd/system/dialer-2fa-api.service';
/** The toolbar states' icons (extension/src/toolbar.rs) and their sizes. */
export const STATE_ICONS = ['icon', 'icon-setup', 'icon-low'];
export const ICON_SIZES = [16, 32, 48, 128];

/** The extension id pinned in shared/src/product.rs. */
export function pinnedExtensionId(root = ROOT) {
  const m = /pub const EXTENSION_ID: &str = "([a-p]{32})";/.exec(readFileSync(join(root, 'shared/src/product.rs'), 'utf8'));
  if (!m) throw new Error('no EXTENSION_ID in shared/src/product.rs');
  return m[1];
}

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });

/** Width and height from a PNG's IHDR chunk, or null when it is no PNG. */
export function pngSize(bytes) {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(signature) || bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

/** What is wrong with the store zip at `zip`; [] when nothing. */
export function checkExtensionZip(zip, version) {
  let entries;
  try {
    entries = run('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch (e) {
    return [`${zip}: not a readable zip (${String(e.stderr ?? e.message).trim()})`];
  }
  const problems = [];
  const has = new Set(entries);
  const read = (name) => run('unzip', ['-p', zip, name]);
  for (const name of entries) {
    if (name.startsWith('/') || name.split('/').some((p) => p === '..' || (p.startsWith('.') && p !== ''))) {
      problems.push(`${name}: hidden or outside the extension`);
    }
  }
  if (!has.has('manifest.json')) return [...problems, 'manifest.json is missing'];
  let manifest;
  try {
    manifest = JSON.parse(read('manifest.json').toString('utf8'));
  } catch (e) {
    return [...problems, `manifest.json is not JSON: ${e.message}`];
  }
  if ('key' in manifest) problems.push('manifest.json has a "key": the Chrome Web Store refuses it (it signs with its own)');
  if (manifest.version !== version) problems.push(`manifest.json version is ${JSON.stringify(manifest.version)}, not the workspace version ${version}`);
  if (manifest.manifest_version !== 3) problems.push('manifest.json is not manifest_version 3');
  if (!manifest.externally_connectable?.matches?.length) problems.push('manifest.json names no web app origin (externally_connectable)');

  // Every file the manifest names, what the pages load, and the icons.
  const needed = new Map();
  const need = (name, why) => { if (name) needed.set(name.replace(/^\//, ''), why); };
  need(manifest.action?.default_popup, 'action.default_popup');
  need(manifest.background?.service_worker, 'background.service_worker');
  need(manifest.options_ui?.page, 'options_ui.page');
  for (const [size, path] of Object.entries(manifest.icons ?? {})) need(path, `icons.${size}`);
  for (const [size, path] of Object.entries(manifest.action?.default_icon ?? {})) need(path, `action.default_icon.${size}`);
  for (const size of ICON_SIZES) if (!manifest.icons?.[size]) problems.push(`manifest.json icons has no ${size} px icon`);
  if (!manifest.action?.default_icon) problems.push('manifest.json action has no default_icon');
  for (const page of ['popup', 'options']) {
    need(`${page}.js`, `${page}.html's loader`);
    need('tokens.css', 'the pages\' design tokens');
    need('popup.css', 'the pages\' stylesheet');
  }
  // The wasm modules each loader imports: their names depend on the build's
  // layout (EXTENSION_MODULES in scripts/build-extension.sh), so they are
  // read from the loaders, and a loader that names no module is refused.
  for (const loader of ['popup.js', 'options.js', 'sw.js']) {
    if (!has.has(loader)) continue;
    const modules = new Set(read(loader).toString('utf8').match(/pkg\/[A-Za-z0-9_]+?(?:_bg\.wasm|\.js)/g) ?? []);
    if (modules.size === 0) problems.push(`${loader} loads no module from pkg/`);
    for (const m of modules) need(m, `the module ${loader} loads`);
  }
  need('web_app.json', 'the service worker\'s web app origin');
  for (const state of STATE_ICONS) for (const size of ICON_SIZES) need(`icons/${state}-${size}.png`, `the toolbar's ${state} state`);
  for (const [name, why] of needed) {
    if (!has.has(name)) problems.push(`${name} is missing (${why})`);
  }
  // Icons at the size their name (and the manifest) says.
  for (const name of entries) {
    const m = /-(\d+)\.png$/.exec(name);
    if (!m) continue;
    const size = pngSize(read(name));
    if (!size || size[0] !== Number(m[1]) || size[1] !== Number(m[1])) {
      problems.push(`${name} is ${size ? size.join('x') : 'not a PNG'}, not ${m[1]}x${m[1]} px`);
    }
  }
  return problems;
}

/** The files of a .deb (paths without the leading "."), with their modes. */
function debFiles(deb) {
  const files = new Map();
  for (const line of run('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    const cols = line.trim().split(/\s+/);
    files.set(cols.slice(5).join(' ').replace(/^\./, ''), cols[0]);
  }
  return files;
}

function debField(deb, field) {
  return run('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).trim();
}

function debFile(deb, path) {
  const tar = run('dpkg-deb', ['--fsys-tarfile', deb]);
  return run('tar', ['-xOf', '-', `.${path}`], { input: tar, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Problems common to both packages: readable, named, versioned, the binary executable. */
function checkDeb(deb, name, version, bin) {
  let files;
  try {
    files = debFiles(deb);
  } catch (e) {
    return { problems: [`${deb}: not a readable .deb (${String(e.stderr ?? e.message).trim()})`], files: new Map() };
  }
  const problems = [];
  const pkg = debField(deb, 'Package');
  if (pkg !== name) problems.push(`${deb}: Package is ${pkg}, not ${name}`);
  const v = debField(deb, 'Version');
  if (v !== version && !v.startsWith(`${version}-`)) problems.push(`${deb}: Version is ${v}, not the workspace version ${version}`);
  const mode = files.get(bin);
  if (!mode) problems.push(`${deb}: ${bin} is missing`);
  else if (!/^-rwxr-xr-x/.test(mode)) problems.push(`${deb}: ${bin} is ${mode}, not executable by all`);
  return { problems, files };
}

/** What is wrong with the host's .deb; [] when nothing. */
export function checkHostDeb(deb, version, extensionId) {
  const { problems, files } = checkDeb(deb, 'dialer-2fa-host', version, HOST_BIN);
  if (!files.size) return problems;
  let conffiles = '';
  try {
    conffiles = run('dpkg-deb', ['-I', deb, 'conffiles'], { encoding: 'utf8' });
  } catch { /* none: reported below per file */ }
  const want = { name: HOST_NAME, path: HOST_BIN, type: 'stdio', allowed_origins: [`chrome-extension://${extensionId}/`] };
  for (const dir of SYSTEM_MANIFEST_DIRS) {
    const path = `${dir}/${HOST_NAME}.json`;
    if (!files.has(path)) {
      problems.push(`${deb}: ${path} is missing`);
      continue;
    }
    if (!conffiles.split('\n').includes(path)) problems.push(`${deb}: ${path} is not a conffile (an administrator's edit would be lost)`);
    let manifest;
    try {
      manifest = JSON.parse(debFile(deb, path));
    } catch (e) {
      problems.push(`${deb}: ${path} is not JSON: ${e.message}`);
      continue;
    }
    for (const [k, v] of Object.entries(want)) {
      if (JSON.stringify(manifest[k]) !== JSON.stringify(v)) {
        problems.push(`${deb}: ${path} has ${k} ${JSON.stringify(manifest[k])}, not ${JSON.stringify(v)}`);
      }
    }
  }
  return problems;
}

/** What is wrong with the API's .deb; [] when nothing. */
export function checkApiDeb(deb, version) {
  const { problems, files } = checkDeb(deb, 'dialer-2fa-api', version, API_BIN);
  if (!files.size) return problems;
  if (!files.has(API_UNIT)) return [...problems, `${deb}: ${API_UNIT} is missing`];
  const unit = debFile(deb, API_UNIT);
  if (!new RegExp(`^ExecStart=${API_BIN}\\b`, 'm').test(unit)) problems.push(`${deb}: ${API_UNIT} does not start ${API_BIN}`);
  return problems;
}

/** The file names `make package` writes into `dist` for `version`. */
export function packageFiles(dist, version, arch = 'amd64') {
  return {
    zip: join(dist, `dialer-2fa-extension-${version}.zip`),
    host: join(dist, `dialer-2fa-host_${version}-1_${arch}.deb`),
    api: join(dist, `dialer-2fa-api_${version}-1_${arch}.deb`),
  };
}

function main([dist, version]) {
  if (!dist || !version) {
    console.error('usage: node scripts/check-package.mjs DIST_DIR VERSION');
    return 2;
  }
  const arch = run('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const files = packageFiles(dist, version, arch);
  const problems = [
    ...checkExtensionZip(files.zip, version),
    ...checkHostDeb(files.host, version, pinnedExtensionId()),
    ...checkApiDeb(files.api, version),
  ];
  if (problems.length) {
    for (const p of problems) console.error(`check-package: ${p}`);
    return 1;
  }
  for (const f of Object.values(files)) console.log(`check-package: ok ${f}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
