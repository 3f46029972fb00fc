#!/usr/bin/env bash
# Renders the product's icons from their SVG sources in extension/icons/:
#   icon.svg        the normal icon (manifest `icons`, toolbar default)
#   icon-setup.svg  the toolbar while two-factor sign-in must be set up
#   icon-low.svg    the toolbar while few recovery codes are left
# into extension/icons/<name>-<size>.png at 16, 32, 48 and 128 px, and writes
# icon.svg into the web app's page (favicon and header) as a data: URI, the
# form the page's Content-Security-Policy (`img-src 'self' data:`) allows
# without a new route. The PNGs and the page are committed, so a build never
# needs the renderer; run this after changing an SVG.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

say() { printf '\033[1micons:\033[0m %s\n' "$*"; }

# rsvg-convert (Debian's librsvg2-bin): librsvg, the renderer GNOME uses.
if ! command -v rsvg-convert >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing librsvg2-bin (rsvg-convert)"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends librsvg2-bin
fi

icons="$ROOT/extension/icons"
for svg in "$icons"/*.svg; do
  name=$(basename "$svg" .svg)
  for size in 16 32 48 128; do
    rsvg-convert --width "$size" --height "$size" --keep-aspect-ratio \
      --format png --output "$icons/$name-$size.png" "$svg"
  done
  say "$name: 16, 32, 48 and 128 px"
done

# The web app: one data: URI of icon.svg (comments and line breaks dropped)
# in the <link rel="icon"> and the header's <img>, both marked data-icon.
uri="data:image/svg+xml;base64,$(sed -e 's/<!--.*-->//' -e '/<!--/,/-->/d' "$icons/icon.svg" |
  tr -s ' \n' ' ' | sed -e 's/> </></g' -e 's/^ //; s/ $//' | base64 -w0)"
page="$ROOT/web-app/index.html"
sed -i -E "s#(<[^>]* data-icon [^>]*(href|src)=\")[^\"]*(\")#\1$uri\3#g" "$page"
grep -c "$uri" "$page" | grep -qx 2 || { echo "icons: $page needs a <link data-icon href> and an <img data-icon src>" >&2; exit 1; }
say "web-app/index.html: favicon and header from icon.svg"
