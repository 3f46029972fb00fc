#!/usr/bin/env bash
# `make test`: every suite, inside a private D-Bus session with a real,
# unlocked gnome-keyring, so the host's keyring code meets a real Secret
# Service and the browser's host inherits it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
exec dbus-run-session -- bash "$here/test-in-session.sh"
