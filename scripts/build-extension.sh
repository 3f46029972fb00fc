#!/usr/bin/env bash
# Builds the unpacked extension into dist/extension: the Rust crate for
# wasm32, wasm-bindgen --target web, wasm-opt -Oz --converge, the pages and the manifest,
# for the web app at $WEB_APP_ORIGIN (default http://127.0.0.1:8787).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

out="$ROOT/dist/extension"
# Refuse a bad origin before the long build, not after it.
node "$ROOT/scripts/web-app-origin.mjs" --check "${WEB_APP_ORIGIN:-http://127.0.0.1:8787}"
rm -rf "$out"
mkdir -p "$out/pkg"
cd "$ROOT/extension"

# EXTENSION_MODULES=shared (the default): one wasm module with all three
# pages' code (cargo features popup, options and sw together), loaded by the
# popup, the settings page and the service worker alike. The three share
# most of their code (serde's decoders, the shared types, the standard
# library), so one module is about half the bytes of three; the popup loads
# more than its own module would hold, but the extension as a whole is what
# is downloaded, installed and kept in memory (issue 12, extension/README.md
# has the figures of both layouts).
# EXTENSION_MODULES=per-page: one module per page, each only its own code.
modules=${EXTENSION_MODULES:-shared}
case "$modules" in
  shared) builds="extension:popup,options,sw" ;;
  per-page) builds="popup:popup options:options sw:sw" ;;
  *) echo "build-extension: EXTENSION_MODULES is shared or per-page, not $modules" >&2; exit 2 ;;
esac
for build in $builds; do
  name=${build%%:*}
  features=${build#*:}
  if have_rustup_wasm_target; then
    echo "build-extension: $name ($features) with rustup's cargo and the wasm32 target"
    cargo build --release --locked --target wasm32-unknown-unknown --features "$features"
  else
    echo "build-extension: $name ($features) with Debian's rustc $(/usr/bin/rustc --version | cut -d' ' -f2) (no rustup wasm32 target here)"
    # Debian's cargo 1.65 only knows the git index unless told to use the
    # sparse one; its own CARGO_HOME keeps its cache apart from rustup's.
    RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_SPARSE_REGISTRY=true \
      CARGO_HOME="$CACHE/debian-cargo" RUSTC=/usr/bin/rustc \
      /usr/bin/cargo build --release --locked --target wasm32-unknown-unknown --features "$features"
  fi
  "$(wasm_bindgen_bin)" --target web --no-typescript --out-dir "$out/pkg" --out-name "$name" \
    target/wasm32-unknown-unknown/release/dialer_2fa_extension.wasm
  wasm-opt -Oz --converge --strip-debug --strip-producers "$out/pkg/${name}_bg.wasm" -o "$out/pkg/${name}_bg.wasm"
done

cp static/* "$out/"
# The icons rendered from extension/icons/*.svg by scripts/icons.sh
# (committed, so the build needs no SVG renderer).
mkdir -p "$out/icons"
cp icons/*.png "$out/icons/"
# The design tokens are the web app's file: one source for both.
cp "$ROOT/web-app/tokens.css" "$out/tokens.css"
cp "$ROOT/manifest/manifest.json" "$out/manifest.json"
# The one web app origin that may talk to the extension (exact scheme, host
# and port): written into the manifest and web_app.json by one script.
node "$ROOT/scripts/web-app-origin.mjs" "$out" "${WEB_APP_ORIGIN:-http://127.0.0.1:8787}"
# The product's version (Cargo.toml's workspace version) is the extension's.
node --input-type=module -e '
  import { readFileSync, writeFileSync } from "node:fs";
  const [file, version] = process.argv.slice(1);
  const manifest = JSON.parse(readFileSync(file, "utf8"));
  manifest.version = version;
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
' "$out/manifest.json" "$(workspace_version)"
# The pages and the worker name their own module (pkg/popup.js, ...); with
# one shared module they all load pkg/extension.js instead.
if [ "$modules" = shared ]; then
  for f in popup.js options.js sw.js popup.html options.html; do
    sed -i -E 's#pkg/(popup|options|sw)(_bg\.wasm|\.js)#pkg/extension\2#g' "$out/$f"
  done
fi
for w in "$out"/pkg/*_bg.wasm; do
  echo "build-extension: $(basename "$w") $(gzip -9c "$w" | wc -c) bytes gzipped"
done
echo "build-extension: $out ($(du -sk "$out" | cut -f1) KB)"
