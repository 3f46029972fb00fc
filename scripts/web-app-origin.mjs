#!/usr/bin/env node
// Writes the web app's origin into a built (unpacked) extension, the one
// place it is written: the manifest's externally_connectable.matches (what
// Chrome lets talk to the extension) and web_app.json (what the service
// worker compares sender.origin with, exactly). `make build` runs it on
// dist/extension with WEB_APP_ORIGIN; the browser suite runs the same
// function on its private copy, for the API's free port.
//
//   node scripts/web-app-origin.mjs DIR ORIGIN
//   node scripts/web-app-origin.mjs --check ORIGIN   (validates only)
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_WEB_APP_ORIGIN = 'http://127.0.0.1:8787';

/**
 * The origin as browsers write it, or an Error saying what is wrong. The
 * same rules as shared::web_sync::WebAppOrigin::parse, which the service
 * worker applies again to what this writes.
 */
export function checkOrigin(origin) {
  const m = /^(https?):\/\/([a-z0-9.-]+|\[[0-9a-f:]+\])(?::([1-9][0-9]{0,4}))?$/.exec(origin);
  const why = (reason) => new Error(
    `${JSON.stringify(origin)} is not a web app origin (${reason}); write it as scheme://host[:port], `
    + 'e.g. https://app.example.com or http://127.0.0.1:8787',
  );
  if (!m) return why('only http(s), a lower-case host and an optional port; no path or trailing slash');
  const [, scheme, host, port] = m;
  if (host.startsWith('.') || host.endsWith('.') || host.includes('..')) return why('the host is not a name');
  if (port !== undefined) {
    const n = Number(port);
    if (n > 65535) return why('the port must be a number from 1 to 65535');
    if ((scheme === 'https' && n === 443) || (scheme === 'http' && n === 80)) {
      return why("leave out the scheme's default port: browsers do");
    }
  }
  return null;
}

/** Writes `origin` into the extension at `dir` (manifest.json, web_app.json). */
export function writeWebAppOrigin(dir, origin) {
  const problem = checkOrigin(origin);
  if (problem) throw problem;
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.externally_connectable = { matches: [`${origin}/*`] };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'web_app.json'), `${JSON.stringify({ origin }, null, 2)}\n`);
}

/** The command line: returns the process's exit status. */
function main(args) {
  const [dir, origin = DEFAULT_WEB_APP_ORIGIN] = args;
  if (!dir) {
    console.error('usage: node scripts/web-app-origin.mjs DIR [ORIGIN] | --check ORIGIN');
    return 2;
  }
  if (dir === '--check') {
    const problem = checkOrigin(origin);
    if (problem) console.error(`web-app-origin: ${problem.message}`);
    return problem ? 1 : 0;
  }
  try {
    writeWebAppOrigin(dir, origin);
    console.log(`web-app-origin: ${dir} answers only ${origin}`);
    return 0;
  } catch (e) {
    console.error(`web-app-origin: ${e.message}`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
