#!/usr/bin/env bash
# `make screens`: every screen of the popup, the settings page and the web
# app, in light and dark mode, into docs/screens/ (one PNG per screen and
# mode) and docs/screens.md (the list). The browser suite's walk
# (tests/e2e/screens.test.mjs, which also runs axe-core on each) takes the
# screenshots into target/e2e/screens/; this copies them and writes the page.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

shots="$ROOT/target/e2e/screens"
rm -rf "$shots"
(cd "$ROOT/tests/e2e" && dbus-run-session -- node --test --test-concurrency=1 screens.test.mjs)
out="$ROOT/docs/screens"
rm -rf "$out"
mkdir -p "$out"
cp "$shots"/*.png "$out/"
node "$here/screens-md.mjs" "$shots/index.json" "$ROOT/docs/screens.md"
echo "screens: $(ls "$out" | wc -l) images ($(du -sk "$out" | cut -f1) KB) in docs/screens/, listed in docs/screens.md"
