#!/usr/bin/env bash
# Benchmark of the account API on loopback: requests/s and p50/p99 of TOTP
# code verification next to /v1/health, in the same run, against the
# release server with a fresh database. Bounded: BENCH_USERS x BENCH_ROUNDS
# verifications (default 200 x 10), then as many health requests; the
# driver stops itself after 4 minutes whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

USERS="${BENCH_USERS:-200}"
ROUNDS="${BENCH_ROUNDS:-10}"
CONCURRENCY="${BENCH_CONCURRENCY:-32}"

cargo build --release -p dialer-2fa-api --bin dialer-2fa-api --example bench_api

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Clock control lets the driver move to a fresh TOTP step between rounds;
# cheap Argon2 keeps the unmeasured sign-ins of the setup short.
./target/release/dialer-2fa-api serve --db "$work/api.sqlite3" --listen 127.0.0.1:0 \
    --allow-clock-control --argon2-memory-kib 1024 --argon2-iterations 1 \
    >"$work/stdout" 2>"$work/stderr" &
server_pid=$!

url=""
for _ in $(seq 1 100); do
    url="$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$work/stdout")"
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { echo "server did not start" >&2; cat "$work/stderr" >&2; exit 1; }

echo "bench-api: release server at $url ($(nproc) cores shared by server and driver)"
timeout 300 ./target/release/examples/bench_api --url "$url" --db "$work/api.sqlite3" \
    --users "$USERS" --rounds "$ROUNDS" --concurrency "$CONCURRENCY"
