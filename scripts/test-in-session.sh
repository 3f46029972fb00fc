#!/usr/bin/env bash
# Runs inside dbus-run-session (see test.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

# A keyring of its own: a login keyring left in ~/.local/share by anything
# else (another password) would stay locked and fail every keyring test.
XDG_DATA_HOME=$(mktemp -d "${TMPDIR:-/tmp}/dialer-2fa-test-data.XXXXXX")
export XDG_DATA_HOME
# A throw-away PostgreSQL cluster (scripts/pg-cluster.sh) for the second
# store; stopped and removed on exit, like the keyring's directory.
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/dialer-2fa-pg.XXXXXX")
trap 'rm -rf "$XDG_DATA_HOME"; bash "$here/pg-cluster.sh" stop "$pg_dir"' EXIT
echo -n "dialer-2fa-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
cd "$ROOT"

echo "== JavaScript: the web app's 2FA logic (node unit tests, a second)"
node --test tests/web-logic/

echo "== JavaScript: the package checker refuses each faulty package (zip, dpkg-deb; a second)"
node --test tests/package/

echo "== PostgreSQL: a throw-away cluster"
pg_url=$(bash "$here/pg-cluster.sh" start "$pg_dir")
echo "PostgreSQL at $pg_url"

# The two-node TLS test (account-api/tests/two_nodes.rs) always runs on
# PostgreSQL and takes its cluster from its own variable, so it runs here.
echo "== Rust: workspace (shared, native host, account API on SQLite, two API nodes on PostgreSQL behind TLS)"
DIALER_2FA_TWO_NODES_DATABASE_URL=$pg_url cargo test --workspace --locked

echo "== Rust: account API HTTP suite (and the date edge's own process) on PostgreSQL"
# --workspace, not -p dialer-2fa-api: the same features as the run above, so
# cargo reuses its build instead of compiling the API and its dependencies
# a second time (minutes, and gigabytes of disk).
DIALER_2FA_TEST_DATABASE_URL=$pg_url cargo test --workspace --locked --test http --test date_edge

echo "== Rust: extension state machine (host target)"
(cd extension && cargo test --locked)

echo "== Package: the host's .deb (packed from the debug build) installed with dpkg -i; Chromium finds it system-wide"
# Root, or sudo without a password; fails loudly otherwise (scripts/deb-install-test.sh).
bash "$here/deb-install-test.sh" --debug

echo "== Browser suite: headless Chromium, real host, real API"
cd tests/e2e
node --test --test-concurrency=1 --test-reporter=spec
