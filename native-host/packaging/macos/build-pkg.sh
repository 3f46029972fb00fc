#!/usr/bin/env bash
# UNTESTED here (no macOS machine): builds dist/dialer-2fa-host-<version>.pkg
# on a Mac with Xcode's command line tools (pkgbuild). It installs
#   /usr/local/bin/dialer-2fa-host
#   /Library/Google/Chrome/NativeMessagingHosts/com.dialer2fa.host.json
#   /Library/Application Support/Chromium/NativeMessagingHosts/com.dialer2fa.host.json
# (the all-users manifest folders, install::system_manifest_dir), each
# manifest naming the installed binary and allowing the pinned extension,
# like the Linux package. The .pkg is not signed or notarized: sign it with
# `productsign --sign "Developer ID Installer: ..."` and `xcrun notarytool`
# before handing it out.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/../../.." && pwd)
[ "$(uname -s)" = Darwin ] || { echo "build-pkg: run this on macOS (pkgbuild)" >&2; exit 1; }
. "$root_dir/scripts/env.sh"
version=$(workspace_version)

cargo build --release --locked -p dialer-2fa-host --manifest-path "$root_dir/Cargo.toml"
payload=$(mktemp -d)
trap 'rm -rf "$payload"' EXIT
install -d "$payload/usr/local/bin"
install -m 755 "$root_dir/target/release/dialer-2fa-host" "$payload/usr/local/bin/"
for dir in "Library/Google/Chrome/NativeMessagingHosts" "Library/Application Support/Chromium/NativeMessagingHosts"; do
  install -d "$payload/$dir"
  sed 's#"/usr/bin/dialer-2fa-host"#"/usr/local/bin/dialer-2fa-host"#' \
    "$root_dir/native-host/packaging/com.dialer2fa.host.json" > "$payload/$dir/com.dialer2fa.host.json"
  chmod 644 "$payload/$dir/com.dialer2fa.host.json"
done
mkdir -p "$root_dir/dist"
pkgbuild --root "$payload" --identifier com.dialer2fa.host --version "$version" \
  --install-location / "$root_dir/dist/dialer-2fa-host-$version.pkg"
echo "build-pkg: dist/dialer-2fa-host-$version.pkg (unsigned)"
