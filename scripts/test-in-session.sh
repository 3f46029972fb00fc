#!/usr/bin/env bash
# Runs inside dbus-run-session (see test.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

# A keyring of its own: a login keyring left in ~/.local/share by anything
# else (another password) would stay locked and fail every keyring test.
XDG_DATA_HOME=$(mktemp -d "${TMPDIR:-/tmp}/dialer-2fa-test-data.XXXXXX")
export XDG_DATA_HOME
trap 'rm -rf "$XDG_DATA_HOME"' EXIT
echo -n "dialer-2fa-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
cd "$ROOT"

echo "== JavaScript: the web app's 2FA logic (node unit tests, a second)"
node --test tests/web-logic/

echo "== Rust: workspace (shared, native host, account API)"
cargo test --workspace --locked

echo "== Rust: extension state machine (host target)"
(cd extension && cargo test --locked)

echo "== Browser suite: headless Chromium, real host, real API"
cd tests/e2e
node --test --test-concurrency=1 --test-reporter=spec
