#!/usr/bin/env bash
# `make package-install-test`: installs the host's .deb from dist/ with
# dpkg -i, shows in the browser suite that Chromium finds the host through
# the package's system-wide manifest with no per-user install
# (tests/e2e/system_host.deb.mjs), and purges the package again. Needs root
# (or sudo) and `make package` first. A person's own per-user manifest wins
# over the system one in Chromium, so browser tests that register the host
# in their profile are not affected while it is installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

deb="$ROOT/dist/dialer-2fa-host_$(workspace_version)-1_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || { echo "deb-install-test: no $deb; run make package first" >&2; exit 1; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if dpkg-query -W -f='${Status}' dialer-2fa-host 2>/dev/null | grep -q "install ok installed"; then
  echo "deb-install-test: dialer-2fa-host is already installed on this machine; refusing to replace and purge it" >&2
  exit 1
fi
$sudo dpkg -i "$deb"
trap '$sudo dpkg --purge dialer-2fa-host >/dev/null' EXIT
dpkg -L dialer-2fa-host | grep -E 'native-messaging-hosts/.+\.json$'
cd "$ROOT/tests/e2e"
dbus-run-session -- node --test --test-concurrency=1 system_host.deb.mjs
