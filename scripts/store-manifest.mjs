#!/usr/bin/env node
// Turns a copy of the built extension into what the Chrome Web Store takes:
// the manifest without `key` (the store refuses it and signs the extension
// with its own key, which fixes the published id), the version given (the
// workspace version from Cargo.toml), and the web app origin written by the
// same function `make build` uses.
//
//   node scripts/store-manifest.mjs DIR VERSION ORIGIN
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWebAppOrigin } from './web-app-origin.mjs';

/**
 * Chrome's manifest version: one to four dot-separated integers from 0 to
 * 65535, without leading zeros; null when `version` is one, else why not.
 */
export function checkChromeVersion(version) {
  const parts = String(version).split('.');
  const ok = parts.length >= 1 && parts.length <= 4
    && parts.every((p) => /^(0|[1-9][0-9]{0,4})$/.test(p) && Number(p) <= 65535);
  return ok ? null : `${JSON.stringify(version)} is not a Chrome extension version (1 to 4 numbers 0-65535 joined by dots, e.g. 1.2.0)`;
}

/** The store manifest made from `manifest` (a parsed manifest.json). */
export function storeManifest(manifest, version) {
  const problem = checkChromeVersion(version);
  if (problem) throw new Error(problem);
  const { key: _key, ...rest } = manifest;
  return { ...rest, version };
}

function main([dir, version, origin]) {
  if (!dir || !version || !origin) {
    console.error('usage: node scripts/store-manifest.mjs DIR VERSION ORIGIN');
    return 2;
  }
  try {
    writeWebAppOrigin(dir, origin);
    const path = join(dir, 'manifest.json');
    const manifest = storeManifest(JSON.parse(readFileSync(path, 'utf8')), version);
    writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
    return 0;
  } catch (e) {
    console.error(`store-manifest: ${e.message}`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
