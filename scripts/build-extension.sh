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

# EXTENSION_MODULES picks how the three pages' code (cargo features popup,
# options and sw) is cut into wasm modules (issue 12, goals 4a and 4b;
# extension/README.md has the figures of every layout):
#   split (the default): the popup's own module (pkg/popup*), and one module
#     the settings page and the service worker share (pkg/options_sw*). The
#     popup loads only its own code (4a: the popup's wasm+js); the other two
#     share their common bytes, so the extension as a whole stays small (4b).
#   shared: one module with all three (pkg/extension*): the smallest whole,
#     but the popup loads the other two pages' code too.
#   per-page: one module per page (pkg/popup*, pkg/options*, pkg/sw*).
modules=${EXTENSION_MODULES:-split}
case "$modules" in
  split) builds="popup:popup options_sw:options,sw" ;;
  shared) builds="extension:popup,options,sw" ;;
  per-page) builds="popup:popup options:options sw:sw" ;;
  *) echo "build-extension: EXTENSION_MODULES is split, shared or per-page, not $modules" >&2; exit 2 ;;
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
# The pages and the worker name their own module (pkg/popup.js, ...); the
# split layout points the settings page and the worker at the module they
# share, the shared layout points all three at the one module.
case "$modules" in
  split)
    for f in options.js sw.js options.html; do
      sed -i -E 's#pkg/(options|sw)(_bg\.wasm|\.js)#pkg/options_sw\2#g' "$out/$f"
    done
    ;;
  shared)
    for f in popup.js options.js sw.js popup.html options.html; do
      sed -i -E 's#pkg/(popup|options|sw)(_bg\.wasm|\.js)#pkg/extension\2#g' "$out/$f"
    done
    ;;
esac
for w in "$out"/pkg/*_bg.wasm; do
  echo "build-extension: $(basename "$w") $(gzip -9c "$w" | wc -c) bytes gzipped"
done
echo "build-extension: $out ($(du -sk "$out" | cut -f1) KB)"
