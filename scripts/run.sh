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
  $api_url/ (sign in there, and the extension signs in too). Ctrl-C stops it.

MSG
exec "$ROOT/target/debug/dialer-2fa-api" serve --db "$data/api.sqlite" --listen "$listen" --seed-demo
