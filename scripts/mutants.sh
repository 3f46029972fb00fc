#!/usr/bin/env bash
# Mutation testing of the modules that enforce the product rules (`make mutants`).
#
# Why: a security test that still passes when the line enforcing its rule is
# deleted proves nothing. cargo-mutants deletes and bends those lines one at a
# time and runs the tests; every mutant the tests do not catch is either a gap
# in the tests or a change that alters no behaviour, and the latter are listed,
# one line each with the reason, in mutants-equivalent.md.
#
# Not part of `make test`: on a 2-core machine a full run takes hours. Use
#   make mutants FILES="throttle.rs handoff.rs"   # some files only
#   make mutants SHARD=1/4                         # a quarter of the mutants
#   make mutants IN_DIFF=main                      # only what changed since main
# The run mutates the sources in place (so it reuses target/ and the built API
# binary the host tests start); do not edit the tree while it runs. An
# interrupted run restores the file it was mutating; `git status` tells.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
cd "$ROOT"

MUTANTS_VERSION=27.1.0
# The modules that enforce the rules (globs from the repository root; a bare
# file name matches that name in any folder): the API's rules (recovery codes,
# authenticator, SMS, challenge, enrollment, policy and the owners' switch,
# trusted devices, handoff, throttle, sessions, the shared second-factor
# checks), its extractors and the web app's Origin check; the host's framing
# and protocol; the web app origin and the rules' constants in shared.
DEFAULT_FILES="account-api/src/rules/recovery_codes.rs account-api/src/rules/authenticator.rs
account-api/src/rules/sms.rs account-api/src/rules/challenge.rs account-api/src/rules/enrollment.rs
account-api/src/rules/policy.rs account-api/src/rules/accounts.rs account-api/src/rules/trusted_device.rs
account-api/src/rules/handoff.rs account-api/src/rules/throttle.rs account-api/src/rules/session.rs
account-api/src/rules/second_factor.rs account-api/src/extract.rs account-api/src/web_app.rs
native-host/src/framing.rs native-host/src/protocol.rs shared/src/web_sync.rs shared/src/rules.rs"
FILES=${FILES:-$DEFAULT_FILES}

# --- the tool, pinned, installed once into the project's cache --------------
mutants_root="$CACHE/cargo-mutants-$MUTANTS_VERSION"
if [ ! -x "$mutants_root/bin/cargo-mutants" ]; then
  echo "== installing cargo-mutants $MUTANTS_VERSION (a few minutes, once)"
  cargo install cargo-mutants --version "$MUTANTS_VERSION" --locked --root "$mutants_root"
fi
export PATH="$mutants_root/bin:$PATH"

# --- the host's tests need a Secret Service: the same private keyring as make test
if [ -z "${DIALER_2FA_MUTANTS_IN_SESSION:-}" ]; then
  export DIALER_2FA_MUTANTS_IN_SESSION=1
  exec dbus-run-session -- bash "$0" "$@"
fi
XDG_DATA_HOME=$(mktemp -d "${TMPDIR:-/tmp}/dialer-2fa-mutants-data.XXXXXX")
export XDG_DATA_HOME
trap 'rm -rf "$XDG_DATA_HOME"' EXIT
echo -n "dialer-2fa-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null

# The host tests start the real API binary from target/debug.
cargo build --workspace --locked

args=(--in-place --no-shuffle --output target/mutants)
for f in $FILES; do args+=(--file "$f"); done
[ -n "${SHARD:-}" ] && args+=(--shard "$SHARD")
if [ -n "${IN_DIFF:-}" ]; then
  git diff "$IN_DIFF" >target/mutants.diff
  args+=(--in-diff target/mutants.diff)
fi

status=0
cargo mutants "${args[@]}" || status=$?
# cargo-mutants exits 2 when a mutant was missed, 3 on a timeout; the report
# below decides, against the list of equivalent mutants.
python3 "$here/mutants_report.py" target/mutants/mutants.out mutants-equivalent.md || exit 1
case $status in 0|2|3) exit 0 ;; *) echo "cargo mutants failed with status $status" >&2; exit "$status" ;; esac
