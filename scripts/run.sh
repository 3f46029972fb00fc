#!/usr/bin/env bash
# `make run`: the account API on loopback with its SQLite file under data/,
# demo users on first start, the native host registered for this user's
# Chrome and Chromium. Runs until Ctrl-C; a second run keeps the data.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

data=${DIALER_2FA_DATA:-$ROOT/data}
listen=${DIALER_2FA_LISTEN:-127.0.0.1:8787}
api_url="http://$listen"
# The web app's origin, the one the extension was built for (make build
# WEB_APP_ORIGIN=...); plain http on loopback is for development only.
web_app_origin=${WEB_APP_ORIGIN:-http://127.0.0.1:8787}
mkdir -p "$data"

host="$ROOT/target/debug/dialer-2fa-host"
for browser in chrome chromium; do
  "$host" install --browser "$browser" --api-url "$api_url"
done

cat <<MSG

  Load the extension: open chrome://extensions, switch on Developer mode,
  press "Load unpacked" and choose
      $ROOT/dist/extension
  Its id is pinned by the manifest's key, so the host registered above
  answers it. The account API serves $api_url and the web app at
  $api_url/; the extension answers only the web app at $web_app_origin
  (sign in there, and the extension signs in too; the first time the web app
  asks the extension for a sign-in, allow it in the extension's popup).
  Ctrl-C stops it.

MSG
exec "$ROOT/target/debug/dialer-2fa-api" serve --db "$data/api.sqlite" --listen "$listen" \
  --public-origin "$web_app_origin" --seed-demo
