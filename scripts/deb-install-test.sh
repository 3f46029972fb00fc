#!/usr/bin/env bash
# Installs the host's .deb with dpkg -i, shows in the browser suite that
# Chromium finds the host through the package's system-wide manifest with no
# per-user install (tests/e2e/system_host.deb.mjs), and purges the package
# again. A person's own per-user manifest wins over the system one in
# Chromium, so browser tests that register the host in their profile are not
# affected while it is installed.
#
#   deb-install-test.sh           the .deb `make package` wrote in dist/
#                                 (`make package-install-test`)
#   deb-install-test.sh --debug   a .deb packed by cargo-deb from the debug
#                                 build `make build` already made (no second,
#                                 release build; `make test` runs this)
#
# Needs root, or sudo that works without a password, and dpkg. Without them
# it FAILS, saying so: `make test` must not pass while the package was never
# installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

fail() { echo "deb-install-test: FAILED: $*" >&2; exit 1; }

command -v dpkg >/dev/null 2>&1 || fail "dpkg is not on this machine; the .deb install test needs a Debian-like system"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null ||
    fail "installing a .deb needs root: run as root, or with sudo that needs no password (this test never asks for one)"
  sudo="sudo -n"
fi
if dpkg-query -W -f='${Status}' dialer-2fa-host 2>/dev/null | grep -q "install ok installed"; then
  fail "dialer-2fa-host is already installed on this machine; refusing to replace and purge it (dpkg --purge dialer-2fa-host first)"
fi

arch=$(dpkg --print-architecture)
if [ "${1:-}" = "--debug" ]; then
  [ -x "$ROOT/target/debug/dialer-2fa-host" ] || fail "no target/debug/dialer-2fa-host; run make build first"
  ensure_cargo_deb
  out=$(mktemp -d "${TMPDIR:-/tmp}/dialer-2fa-deb.XXXXXX")
  trap 'rm -rf "$out"' EXIT
  # The package's own description, assets and manifests, around the debug
  # binary (stripped by cargo-deb); fast gzip by the system's gzip (about 2 s;
  # cargo-deb's own compressor took a minute here): the package is installed
  # once and thrown away. cargo-deb warns that the dev profile is not for
  # releases.
  if ! cargo deb --locked -p dialer-2fa-host --no-build --profile dev --fast -Z gz --compress-system --output "$out/" >"$out/cargo-deb.log" 2>&1; then
    cat "$out/cargo-deb.log" >&2
    fail "cargo-deb could not pack the debug build"
  fi
  grep -v -e 'dev profile is not supported' -e 'To enable debug symbols set' "$out/cargo-deb.log" || true
  deb="$out/dialer-2fa-host_$(workspace_version)-1_$arch.deb"
else
  deb="$ROOT/dist/dialer-2fa-host_$(workspace_version)-1_$arch.deb"
fi
[ -f "$deb" ] || fail "no $deb (run make package first)"

$sudo dpkg -i "$deb"
trap '$sudo dpkg --purge dialer-2fa-host >/dev/null; rm -rf "${out:-}"' EXIT
dpkg -L dialer-2fa-host | grep -E 'native-messaging-hosts/.+\.json$'
cd "$ROOT/tests/e2e"
dbus-run-session -- node --test --test-concurrency=1 system_host.deb.mjs
