#!/usr/bin/env bash
# Builds the unpacked extension into dist/extension: the Rust crate for
# wasm32, wasm-bindgen --target web, wasm-opt -Oz, the pages and the manifest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

out="$ROOT/dist/extension"
cd "$ROOT/extension"
if have_rustup_wasm_target; then
  echo "build-extension: rustup's cargo with the wasm32 target"
  cargo build --release --locked --target wasm32-unknown-unknown
else
  echo "build-extension: Debian's rustc $(/usr/bin/rustc --version | cut -d' ' -f2) (no rustup wasm32 target here)"
  # Debian's cargo 1.65 only knows the git index unless told to use the
  # sparse one; its own CARGO_HOME keeps its cache apart from rustup's.
  RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_SPARSE_REGISTRY=true \
    CARGO_HOME="$CACHE/debian-cargo" RUSTC=/usr/bin/rustc \
    /usr/bin/cargo build --release --locked --target wasm32-unknown-unknown
fi

rm -rf "$out"
mkdir -p "$out/pkg"
"$(wasm_bindgen_bin)" --target web --no-typescript --out-dir "$out/pkg" \
  target/wasm32-unknown-unknown/release/dialer_2fa_extension.wasm
wasm-opt -Oz "$out/pkg/dialer_2fa_extension_bg.wasm" -o "$out/pkg/dialer_2fa_extension_bg.wasm"
cp static/* "$out/"
cp "$ROOT/manifest/manifest.json" "$out/manifest.json"
echo "build-extension: $out ($(du -sk "$out" | cut -f1) KB, wasm $(gzip -9c "$out/pkg/dialer_2fa_extension_bg.wasm" | wc -c) bytes gzipped)"
