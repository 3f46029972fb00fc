// Issue 11 §3 and issue 13: the whole chain at an https origin. Two API
// nodes on one PostgreSQL database behind Caddy (deploy/Caddyfile) with a
// certificate for app.dialer-2fa.test signed by a CA this test makes; the
// extension built for https://app.dialer-2fa.test:PORT; Chromium maps that
// name to loopback and trusts only this certificate's key; the native host
// trusts the CA the way it trusts an operator's own (SSL_CERT_FILE, read by
// rustls-native-certs like the OS store). The person verifies once in the
// popup and the web app is signed in through the extension, without a code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  ROOT, API_BIN, HOST_BIN, launchBrowser, expectScreen, signIn, shot, PASSWORD, tempDir,
} from './harness.mjs';

const PUBLIC_HOST = 'app.dialer-2fa.test';
const EMAIL = 'tls@example.com';

const dir = tempDir('d2fa-https-');
const serverKey = randomBytes(32).toString('base64');
let cluster = null; // { dir, url }
const nodes = [];
let caddy = null;
let caddyLog = '';

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA and a certificate for PUBLIC_HOST it signed, by the openssl CLI. */
function makeCertificates() {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-days', '2', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-subj', '/CN=dialer-2fa e2e CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-new', ...ec, '-keyout', 'key.pem', '-out', 'cert.csr', '-subj', `/CN=${PUBLIC_HOST}`);
  writeFileSync(join(dir, 'leaf.ext'),
    `subjectAltName=DNS:${PUBLIC_HOST}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl('x509', '-req', '-in', 'cert.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '2', '-extfile', 'leaf.ext', '-out', 'cert.pem');
  const cert = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
  // Chromium's --ignore-certificate-errors-spki-list: base64 sha256 of the
  // certificate's SubjectPublicKeyInfo.
  const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), spki };
}

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** One `serve` node on the shared database; its JSON log lines are kept. */
async function startNode(name, origin) {
  const child = spawn(API_BIN, [
    'serve', '--listen', '127.0.0.1:0', '--trusted-proxy', '127.0.0.1/32', '--public-origin', origin,
    '--allow-clock-control', '--log-format', 'json',
  ], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, RUST_LOG: 'info', DIALER_2FA_DATABASE_URL: cluster.url, DIALER_2FA_SERVER_KEY: serverKey,
    },
  });
  const node = { name, child, log: '' };
  child.stderr.on('data', (d) => { node.log += d; });
  node.url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start in 30 s:\n${node.log}`)), 30_000);
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`${name} exited with ${code}:\n${node.log}`)); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = line.match(/^listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
  });
  nodes.push(node);
  return node;
}

/**
 * The routes this node answered for the proxy, from its access log: Caddy's
 * health checks and the test's own clock moves (sent to each node's port)
 * left out.
 */
function routesAnswered(node) {
  return node.log.split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((e) => e.fields?.message === 'finished processing request' && !['/v1/ready', '/v1/test/clock'].includes(e.span?.route))
    .map((e) => e.span?.route);
}

/** Waits until Caddy answers on its port (it binds once its config is loaded). */
async function caddyListening(port) {
  const end = Date.now() + 30_000;
  for (;;) {
    const up = await new Promise((ok) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); ok(true); });
      s.once('error', () => ok(false));
    });
    if (up) return;
    if (caddy.exitCode !== null) throw new Error(`caddy exited with ${caddy.exitCode}:\n${caddyLog}`);
    if (Date.now() > end) throw new Error(`caddy did not listen on ${port} in 30 s:\n${caddyLog}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

/** Admin CLI on the shared database. */
function admin(...args) {
  return execFileSync(API_BIN, args, {
    encoding: 'utf8',
    env: { ...process.env, RUST_LOG: 'warn', DIALER_2FA_DATABASE_URL: cluster.url, DIALER_2FA_SERVER_KEY: serverKey },
  });
}

function audit(event) {
  return admin('audit', '--json').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
    .filter((row) => row.event === event);
}

/** Moves every node's clock by the same amount (each keeps its own offset). */
async function advanceClocks(seconds) {
  let now = null;
  for (const node of nodes) {
    const res = await fetch(`${node.url}/v1/test/clock`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advance_seconds: seconds }),
    });
    assert.ok(res.ok, `${node.name} clock: ${res.status}`);
    now = (await res.json()).now;
  }
  return now;
}

function totpAt(key, unixTime) {
  return execFileSync('oathtool', ['--totp', '-b', key, '-N', `@${unixTime}`], { encoding: 'utf8' }).trim();
}

/**
 * The host is a process of its own that resolves names through the OS, not
 * through Chromium's --host-resolver-rules. This wrapper gives it (only it)
 * an /etc/hosts naming PUBLIC_HOST 127.0.0.1, in a private mount namespace
 * (util-linux unshare; as non-root inside a user namespace mapped back to
 * the caller's uid, so the keyring's D-Bus still knows the caller).
 */
function hostWrapper() {
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, `127.0.0.1 localhost\n127.0.0.1 ${PUBLIC_HOST}\n`);
  chmodSync(hosts, 0o644);
  const wrapper = join(dir, 'host-wrapper.sh');
  writeFileSync(wrapper, `#!/bin/sh
hosts='${hosts}'
host='${HOST_BIN}'
if [ "$(id -u)" -eq 0 ]; then
  exec unshare --mount --propagation private -- sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts" "$host" "$@"
fi
exec unshare --map-root-user --mount -- sh -c 'u=$1; g=$2; shift 2; mount --bind "$0" /etc/hosts && exec unshare --user --map-user="$u" --map-group="$g" -- "$@"' "$hosts" "$(id -u)" "$(id -g)" "$host" "$@"
`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

let certs;
let origin;

before(async () => {
  certs = makeCertificates();
  // A directory of its own outside `dir` (0700): as root the cluster runs
  // as another OS user, who must reach it.
  const pgDir = join(tmpdir(), `d2fa-https-pg-${randomBytes(6).toString('hex')}`);
  cluster = { dir: pgDir };
  cluster.url = execFileSync(join(ROOT, 'scripts/pg-cluster.sh'), ['start', pgDir], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
  const port = await freePort();
  origin = `https://${PUBLIC_HOST}:${port}`;
  // One after the other: the first migrates the database.
  const a = await startNode('node A', origin);
  const b = await startNode('node B', origin);
  const home = join(dir, 'caddy');
  caddy = spawn('caddy', ['run', '--adapter', 'caddyfile', '--config', join(ROOT, 'deploy/Caddyfile')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      DIALER_2FA_PUBLIC_HOST: PUBLIC_HOST,
      DIALER_2FA_PUBLIC_PORT: String(port),
      DIALER_2FA_TLS_CERT: certs.cert,
      DIALER_2FA_TLS_KEY: certs.key,
      DIALER_2FA_UPSTREAM_A: new URL(a.url).host,
      DIALER_2FA_UPSTREAM_B: new URL(b.url).host,
      DIALER_2FA_CADDY_ADMIN: 'off',
      HOME: home,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
    },
  });
  caddy.stderr.on('data', (d) => { caddyLog += d; });
  await caddyListening(port);
});

after(() => {
  caddy?.kill();
  for (const node of nodes) node.child.kill();
  if (cluster?.dir) execFileSync(join(ROOT, 'scripts/pg-cluster.sh'), ['stop', cluster.dir], { stdio: 'pipe' });
});

test('https through the proxy to two nodes: verify once in the popup, the web app signs in through the extension', async () => {
  admin('user', 'create', '--email', EMAIL, '--password', PASSWORD);
  const browser = await launchBrowser({
    apiUrl: origin,
    webAppOrigin: origin,
    chromiumArgs: [
      `--host-resolver-rules=MAP ${PUBLIC_HOST} 127.0.0.1`,
      `--ignore-certificate-errors-spki-list=${certs.spki}`,
    ],
    env: { SSL_CERT_FILE: certs.ca },
    hostPath: hostWrapper(),
  });
  try {
    // The web app at the https origin; nobody is signed in anywhere yet.
    const web = await browser.context.newPage();
    await web.goto(`${origin}/`);
    await expectScreen(web, 'sign-in', 'https-web-sign-in');

    // The authenticator, set up through v1 from the page: same origin, via
    // the proxy.
    const key = await web.evaluate(async ({ email, password }) => {
      const post = async (path, body, token) => {
        const res = await fetch(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
        if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
        return res.json();
      };
      const { session_token: token } = await post('/v1/sign-in', { email, password });
      const { secret_base32: secret } = await post('/v1/two-factor/authenticator/setup', { password }, token);
      return { token, secret };
    }, { email: EMAIL, password: PASSWORD });
    const setupTime = await advanceClocks(0);
    await web.evaluate(async ({ token, code }) => {
      const res = await fetch('/v1/two-factor/authenticator/confirm', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ code }),
      });
      if (!res.ok) throw new Error(`confirm: ${res.status} ${await res.text()}`);
      await fetch('/v1/sign-out', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    }, { token: key.token, code: totpAt(key.secret, setupTime) });

    // The popup signs in through the host, which reaches the API over https.
    const popup = await browser.openPopup();
    await signIn(popup, EMAIL);
    await expectScreen(popup, 'challenge', 'https-popup-challenge');
    const now = await advanceClocks(30);
    await popup.locator('#code').fill(totpAt(key.secret, now));
    await popup.locator('#remember').check();
    await popup.locator('#code').press('Enter');
    await expectScreen(popup, 'signed-in', 'https-popup-verified');

    // The web app asks the extension; the person allows it once; no code.
    await web.reload();
    await web.locator('#extension-consent:not([hidden])').waitFor({ timeout: 20_000 });
    await popup.reload();
    await expectScreen(popup, 'web-consent', 'https-popup-asks');
    assert.ok((await popup.locator('#prompt-question').innerText()).includes(origin));
    await popup.locator('#allow').click();
    await expectScreen(popup, 'signed-in', 'https-popup-allowed');
    await web.locator('#extension-retry').click();
    await expectScreen(web, 'signed-in', 'https-web-signed-in');
    assert.match(await web.locator('#who').innerText(), /tls@example\.com/);
    assert.match(await web.locator('#sync-status').innerText(), /through the dialer-2fa extension/);
    await shot(web, 'https-web-signed-in-through-extension');
    assert.equal(audit('second_factor_verified').length, 1, 'one code in all of it');
    assert.equal(audit('handoff_redeemed').length, 1);

    // At https the web app's cookies are __Host- and Secure.
    const cookies = await browser.context.cookies(origin);
    assert.ok(cookies.some((c) => c.name === '__Host-d2fa_session'), JSON.stringify(cookies));
    for (const c of cookies) {
      assert.ok(c.name.startsWith('__Host-') && c.secure && c.path === '/', JSON.stringify(c));
    }

    // Both nodes served the flow.
    for (const node of nodes) {
      assert.ok(routesAnswered(node).length > 0, `${node.name} answered nothing but health checks`);
    }
  } finally {
    await browser.close();
  }
});
