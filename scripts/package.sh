#!/usr/bin/env bash
# `make package`: what a user installs, in dist/:
#   dialer-2fa-extension-<version>.zip   for the Chrome Web Store (no `key`)
#   dialer-2fa-host_<version>-1_<arch>.deb  host + system-wide manifests
#   dialer-2fa-api_<version>-1_<arch>.deb   API + systemd unit
# <version> is the workspace version in Cargo.toml. Runs after `make build`
# (dist/extension) and ends by checking all three (scripts/check-package.mjs).
# The zip answers the web app at $WEB_APP_ORIGIN: build it for the real one,
#   make package WEB_APP_ORIGIN=https://app.example.com
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

say() { printf '\033[1mpackage:\033[0m %s\n' "$*"; }

version=$(workspace_version)
origin=${WEB_APP_ORIGIN:-http://127.0.0.1:8787}
dist="$ROOT/dist"
[ -f "$dist/extension/manifest.json" ] || { echo "package: no dist/extension; run make build first" >&2; exit 1; }

# --- zip and unzip: setup installs them (`make package` runs it first) -----
for tool in zip unzip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "package: $tool is missing; run make setup" >&2; exit 1; }
done

# --- cargo-deb, pinned, installed once into the project's cache ------------
ensure_cargo_deb

# --- the extension, for the Chrome Web Store -------------------------------
zip="$dist/dialer-2fa-extension-$version.zip"
stage=$(mktemp -d "${TMPDIR:-/tmp}/dialer-2fa-store.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp -r "$dist/extension/." "$stage/"
node "$ROOT/scripts/store-manifest.mjs" "$stage" "$version" "$origin"
rm -f "$zip"
# Sorted names and no extra attributes: the same files give the same listing.
(cd "$stage" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | zip -X -9 -q "$zip" -@)
say "$zip ($(du -k "$zip" | cut -f1) KB, web app $origin)"
case "$origin" in
  https://*) ;;
  *) say "NOTE: the zip answers $origin, a development origin; for the store run make package WEB_APP_ORIGIN=https://<your web app>" ;;
esac

# --- the .deb packages -----------------------------------------------------
for crate in dialer-2fa-host dialer-2fa-api; do
  say "building $crate.deb with cargo-deb (a release build)"
  cargo deb --locked -p "$crate" --output "$dist/"
done

# --- check what was written ------------------------------------------------
node --test "$ROOT/tests/package/"
node "$ROOT/scripts/check-package.mjs" "$dist" "$version"
