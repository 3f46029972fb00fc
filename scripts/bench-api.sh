#!/usr/bin/env bash
# `make bench-api`: TOTP code verification (POST /v1/sign-in/challenge)
# next to GET /v1/health on the same path, and a mixed load, on three
# stores in one run, against release servers:
#   sqlite                   one node on a fresh SQLite file;
#   postgres, 1 node         one node on PostgreSQL (a throw-away cluster
#                            from scripts/pg-cluster.sh, or DATABASE_URL);
#   postgres, 2 nodes + TLS  two nodes on one PostgreSQL database behind
#                            Caddy (deploy/Caddyfile) at https://localhost.
#
# The load generator is wrk (Debian's), one thread, 32 connections: a C
# event loop that costs the server's cores little (its own CPU share is
# printed), with scripts/bench/lines.lua sending bodies and tokens that
# examples/bench_prepare.rs wrote before the clock started (users with the
# authenticator on, one open challenge and one session each, inserted in
# one transaction). Each window is a steady BENCH_SECONDS (default 10) of
# one route; the mixed window runs five wrk processes at once (sign-in,
# verification, the 2FA state, the trusted-device list, health) and
# reports each route's own p99. On SQLite it then prints goal 1 in CPU
# per request (sqlite_ceiling below): what the store's work alone leaves.
#
# It prints each goal of issue 12 beside its figure as PASS or FAIL. It is
# a benchmark, not a test: it never fails on a slow machine.
#   BENCH_STORES="sqlite"  narrows the run (also "postgres", "postgres-2");
#   DATABASE_URL=postgres://...  (make) or --database-url URL benches that
#   server instead of a throw-away cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_WINDOW="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONCURRENCY:-32}"
# Verification bodies per window: each works once, so more than the
# fastest store verifies in one window.
# A body that comes round a second time is refused (its challenge is
# used), so each window needs more than it can send: SQLite verifies over
# 12,000 a second on an idle machine, PostgreSQL a few thousand.
USERS="${BENCH_USERS:-250000}"
PG_USERS="${BENCH_PG_USERS:-60000}"
STORES="${BENCH_STORES:-sqlite postgres postgres-2}"
DATABASE_URL=""
while [ $# -gt 0 ]; do
    case "$1" in
        --database-url) DATABASE_URL="$2"; shift 2 ;;
        --database-url=*) DATABASE_URL="${1#*=}"; shift ;;
        *) echo "bench-api: unknown option $1" >&2; exit 2 ;;
    esac
done
# shellcheck source=scripts/env.sh
. scripts/env.sh # the pinned caddy on PATH (we are at the root: cd above)
for tool in wrk psql pgbench caddy openssl; do
    command -v "$tool" >/dev/null || { echo "bench-api: $tool is missing; run make setup" >&2; exit 1; }
done

cargo build --release --locked -p dialer-2fa-api --bin dialer-2fa-api --example bench_prepare --example bench_sqlite_floor
BIN=./target/release/dialer-2fa-api
PREPARE=./target/release/examples/bench_prepare
FLOOR=./target/release/examples/bench_sqlite_floor
LUA=scripts/bench/lines.lua
CORES=$(nproc)
TICKS=$(getconf CLK_TCK)

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
nodes=()
cluster=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    if [ -n "$cluster" ]; then bash scripts/pg-cluster.sh stop "$cluster" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

head -c 32 /dev/urandom >"$work/server.key"
chmod 644 "$work/server.key"
SERVE_FLAGS=(--listen 127.0.0.1:0 --server-key-file "$work/server.key"
    --argon2-memory-kib 1024 --argon2-iterations 1 --janitor-interval-seconds 3600)

# Starts a node; sets $url to its `listening on` address.
start_node() {
    local name=$1
    shift
    "$BIN" serve "$@" "${SERVE_FLAGS[@]}" >"$work/$name.stdout" 2>"$work/$name.stderr" &
    local pid=$!
    pids+=("$pid")
    nodes+=("$name")
    url=""
    for _ in $(seq 1 200); do
        url="$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$work/$name.stdout")"
        [ -n "$url" ] && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$work/$name.stderr" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench-api: node $name did not start" >&2
    cat "$work/$name.stderr" >&2
    exit 1
}

stop_all() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    pids=()
    nodes=()
}

# refusals: the answers that were not 2xx, by route and status, from the
# running nodes' access logs (wrk counts them but cannot say which).
refusals() {
    local name
    for name in "${nodes[@]}"; do sed 's/\x1b\[[0-9;]*m//g' "$work/$name.stderr"; done |
        sed -n 's/.*route="\([^"]*\)".*finished processing request.* status=\([0-9]*\).*/\1 \2/p' |
        awk '$2 !~ /^2/ { n[$1 " " $2]++ } END { for (k in n) printf "  not 2xx in the servers\047 logs: %s, %d times\n", k, n[k] }' |
        sort
}

# The PostgreSQL server: the one given, or a throw-away cluster.
base_url="$DATABASE_URL"
case " $STORES " in
    *" postgres"*)
        if [ -z "$base_url" ]; then
            cluster="$work/pg"
            base_url="$(bash scripts/pg-cluster.sh start "$cluster")"
        fi
        ;;
esac

# A fresh database on that server, named $1; prints its URL.
pg_database() {
    psql -q "$base_url" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" 2>/dev/null >/dev/null
    echo "${base_url%/*}/$1"
}

# prepare DIR STORE-ARGS...: users, challenges, sessions and the bodies.
prepare() {
    local dir=$1
    shift
    mkdir -p "$dir"
    local users="$USERS"
    case " $* " in *" --database-url "*) users="$PG_USERS" ;; esac
    "$PREPARE" "$@" --server-key-file "$work/server.key" --users "$users" --out "$dir"
}

# The CPU seconds the running nodes have used so far (user and system).
nodes_cpu() {
    local pid total=0
    for pid in "${pids[@]}"; do
        # utime and stime: the 14th and 15th fields, counted after the
        # command name, which is in parentheses.
        total=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk -v t="$total" '{ print t + $12 + $13 }')
    done
    awk -v t="$total" -v hz="$TICKS" 'BEGIN { printf "%.3f", t / hz }'
}

# wrk_run NAME URL METHOD PATH [FILE MODE]: one steady window of one route;
# leaves "requests seconds p50 p99 non2xx errors cpu% wrk-cpu-s" in
# $work/NAME.res, and the nodes' CPU seconds over the window in
# $work/NAME.nodes (only meaningful when no other window runs beside it).
wrk_run() {
    local name=$1 target=$2 nodes_before
    shift 2
    nodes_before=$(nodes_cpu)
    # With a file, the last argument is wrk's thread count (lines.lua splits
    # the file among threads).
    if [ $# -ge 4 ]; then set -- "$@" 1; fi
    /usr/bin/time -f "CPU %U %S %e" -o "$work/$name.time" \
        wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_WINDOW}s" -s "$LUA" "$target" -- "$@" \
        >"$work/$name.wrk" 2>&1 || true
    local line cpu wrk_cpu
    line=$(grep '^WRK|' "$work/$name.wrk" | tail -n 1)
    [ -n "$line" ] || { echo "bench-api: wrk printed no result for $name:" >&2; cat "$work/$name.wrk" >&2; exit 1; }
    awk -v before="$nodes_before" -v now="$(nodes_cpu)" 'BEGIN { printf "%.3f\n", now - before }' >"$work/$name.nodes"
    cpu=$(awk -v cores="$CORES" '/^CPU/ { printf "%.1f", 100 * ($2 + $3) / ($4 * cores) }' "$work/$name.time")
    wrk_cpu=$(awk '/^CPU/ { printf "%.3f", $2 + $3 }' "$work/$name.time")
    echo "$line" | awk -F'|' -v cpu="$cpu" -v w="$wrk_cpu" '{ print $2, $3, $4, $5, $6, $7, cpu, w }' >"$work/$name.res"
}

# show LABEL NAME: one line of figures.
show() {
    read -r n secs p50 p99 bad errs cpu _ <"$work/$2.res"
    awk -v l="$1" -v n="$n" -v s="$secs" -v a="$p50" -v b="$p99" -v bad="$bad" -v e="$errs" -v c="$cpu" \
        'BEGIN { printf "  %-34s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  non-2xx %d  errors %d  (wrk: %s%% of the cores)\n", l, n / s, a, b, bad, e, c }'
}

rate() { awk '{ printf "%.0f", $1 / $2 }' "$work/$1.res"; }
p99() { awk '{ print $4 }' "$work/$1.res"; }
bad() { awk '{ print $5 + $6 }' "$work/$1.res"; }

# goal TEXT FIGURE OK: prints the goal, the figure and PASS or FAIL.
goal() {
    printf '  goal: %-58s %-22s %s\n' "$1" "$2" "$([ "$3" = 1 ] && echo PASS || echo FAIL)"
}

ratio_of() { awk -v v="$(rate "$1")" -v h="$(rate "$2")" 'BEGIN { printf "%.2f", v / h }'; }
at_most() { awk -v x="$1" -v max="$2" 'BEGIN { print (x <= max) ? 1 : 0 }'; }
at_least() { awk -v x="$1" -v min="$2" 'BEGIN { print (x >= min) ? 1 : 0 }'; }

# measure KEY URL STORE-ARGS...: the verification and health windows, then
# the mixed window, on the running node(s) at URL.
measure() {
    local key=$1 target=$2
    shift 2
    prepare "$work/$key-v" "$@" >/dev/null
    wrk_run "$key-verify" "$target" POST /v1/sign-in/challenge "$work/$key-v/verify.txt" body
    wrk_run "$key-health" "$target" GET /v1/health
    prepare "$work/$key-m" "$@" >/dev/null
    local m="$work/$key-m" per=$((CONNECTIONS / 5))
    [ "$per" -ge 1 ] || per=1
    local saved=$CONNECTIONS
    CONNECTIONS=$per
    local mixed=()
    wrk_run "$key-mix-signin" "$target" POST /v1/sign-in "$m/sign_in.txt" body &
    mixed+=("$!")
    wrk_run "$key-mix-verify" "$target" POST /v1/sign-in/challenge "$m/verify.txt" body &
    mixed+=("$!")
    wrk_run "$key-mix-state" "$target" GET /v1/two-factor "$m/sessions.txt" bearer &
    mixed+=("$!")
    wrk_run "$key-mix-devices" "$target" GET /v1/trusted-devices "$m/sessions.txt" bearer &
    mixed+=("$!")
    wrk_run "$key-mix-health" "$target" GET /v1/health &
    mixed+=("$!")
    # Only the five windows: a bare `wait` would wait for the servers too.
    for pid in "${mixed[@]}"; do wait "$pid"; done
    CONNECTIONS=$saved
    show "POST /v1/sign-in/challenge" "$key-verify"
    show "GET /v1/health" "$key-health"
    echo "  mixed load ($per connections per route, all at once):"
    for r in signin verify state devices health; do
        show "  $(case $r in signin) echo 'POST /v1/sign-in';; verify) echo 'POST /v1/sign-in/challenge';;
            state) echo 'GET /v1/two-factor';; devices) echo 'GET /v1/trusted-devices';; health) echo 'GET /v1/health';; esac)" "$key-mix-$r"
    done
    refusals
    echo "ROW|$key|$(rate "$key-verify")|$(p99 "$key-verify")|$(rate "$key-health")|$(p99 "$key-health")|$(ratio_of "$key-verify" "$key-health")" >>"$work/rows"
    if [ "$(bad "$key-verify")" != 0 ] || [ "$(bad "$key-mix-verify")" != 0 ]; then
        echo "  note: some verifications were refused or failed (see non-2xx): the figures are not clean" >&2
    fi
}

# pg_floor: the floors under goal 3, with pgbench alone (no HTTP server, no
# wrk) on the same PostgreSQL server, as many connections as a node's pool,
# SERIALIZABLE, one window each. It runs the least a verification must
# write, four rows (scripts/bench/pg-floor-schema.sql), in one statement:
#   one at a time (pg-floor.sql): a design with one transaction per
#     verification cannot beat this;
#   32 at a time (pg-floor-batch.sql): what a PostgreSQL group commit could
#     reach at best.
# Sets $floor_one and $floor_batch to the ratios to this run's health rate.
pg_floor_run() { # NAME SCRIPT VERIFICATIONS-PER-TRANSACTION
    local db_url tps cpu per_second ratio
    # Not bench_$1: the one-node window's database is bench_one.
    db_url="$(pg_database "floor_$1")"
    psql -q "$db_url" -f scripts/bench/pg-floor-schema.sql >/dev/null
    PGOPTIONS="-c default_transaction_isolation=serializable" /usr/bin/time -f "CPU %U %S %e" -o "$work/$1.time" \
        pgbench -n -c 8 -j 1 --max-tries=12 -M prepared -T "$SECONDS_PER_WINDOW" -f "$2" "$db_url" \
        >"$work/$1.out" 2>&1 || { cat "$work/$1.out" >&2; exit 1; }
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/$1.out")
    [ -n "$tps" ] || { echo "bench-api: pgbench printed no rate:" >&2; cat "$work/$1.out" >&2; exit 1; }
    cpu=$(awk -v cores="$CORES" '/^CPU/ { printf "%.1f", 100 * ($2 + $3) / ($4 * cores) }' "$work/$1.time")
    per_second=$(awk -v t="$tps" -v n="$3" 'BEGIN { printf "%.0f", t * n }')
    ratio=$(awk -v v="$per_second" -v h="$(rate postgres-health)" 'BEGIN { printf "%.2f", v / h }')
    printf '  floor, %-2s per transaction: %6s verifications/s = %s x health  (pgbench alone: %s%% of the cores; %s)\n' \
        "$3" "$per_second" "$ratio" "$cpu" "$(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1 retried/p' "$work/$1.out")"
    printf -v "floor_$1" '%s' "$ratio"
}
pg_floor() {
    echo "  floors under goal 3: four rows written per verification, one statement, pgbench alone:"
    pg_floor_run one scripts/bench/pg-floor.sql 1
    pg_floor_run batch scripts/bench/pg-floor-batch.sql 32
    # A verification costs the cores at least a health request (HTTP and
    # wrk, measured at this run's health rate h) plus its writes (at the
    # floor's rate f = r x h): at most 1 / (1/h + 1/f), i.e. r / (1 + r) x h.
    local best_one best_batch
    best_one=$(awk -v r="$floor_one" 'BEGIN { printf "%.2f", r / (1 + r) }')
    best_batch=$(awk -v r="$floor_batch" 'BEGIN { printf "%.2f", r / (1 + r) }')
    echo "  best a verification can do (a health request's CPU plus the floor's): $best_one x one per transaction, $best_batch x 32 together"
    if [ "$(at_least "$best_one" 0.3)" = 0 ]; then
        echo "  so goal 3 cannot pass here with one transaction per verification; only a group commit could"
    fi
}

cpu_us() { # NAME: the node's and wrk's CPU per request over window NAME, in us
    local n wrk_s
    read -r n _ _ _ _ _ _ wrk_s <"$work/$1.res"
    awk -v a="$(cat "$work/$1.nodes")" -v b="$wrk_s" -v n="$n" 'BEGIN { printf "%.1f", 1e6 * (a + b) / n }'
}
# store_us NAME [--writes-only]: bench_sqlite_floor on a freshly prepared
# store; prints its CPU per verification in us and leaves its count in
# $work/NAME.floor.
store_us() {
    local dir="$work/$1" line n cpu
    prepare "$dir" --db "$dir/api.sqlite3" >/dev/null
    line=$("$FLOOR" --db "$dir/api.sqlite3" --server-key-file "$work/server.key" --bodies "$dir/verify.txt" \
        --seconds "$SECONDS_PER_WINDOW" "${@:2}" | grep '^FLOOR|')
    n=$(echo "$line" | cut -d'|' -f2)
    cpu=$(echo "$line" | cut -d'|' -f4)
    echo "$n" >"$work/$1.floor"
    awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.1f", 1e6 * c / n }'
}
# sqlite_ceiling: what stands between goal 1 and this machine, in CPU
# per request, which (unlike req/s) does not move with how busy the
# machine's neighbours keep its cores. A verification costs the cores at
# least what a health request costs them (the node and wrk over the health
# window: HTTP on loopback) plus what the product's verification costs the
# store alone (examples/bench_sqlite_floor.rs on a fresh store: the rule's
# reads, the TOTP check, its writes, the WAL and the checkpoints, 32 to a
# transaction, no HTTP, no hand-off to the writer thread), and what the
# four rows every verification writes cost alone (--writes-only). Goal 1
# needs a verification to cost at most 1/0.6 of a health request when
# both use the cores alike, which leaves the store that much minus
# health's cost.
sqlite_ceiling() {
    local store writes health_us verify_us best budget
    store=$(store_us sqlite-floor)
    writes=$(store_us sqlite-writes --writes-only)
    health_us=$(cpu_us sqlite-health)
    verify_us=$(cpu_us sqlite-verify)
    best=$(awk -v h="$health_us" -v s="$store" 'BEGIN { printf "%.2f", h / (h + s) }')
    budget=$(awk -v h="$health_us" 'BEGIN { printf "%.1f", h / 0.6 - h }')
    echo "  goal 1 in CPU per request (the node's and wrk's, all cores):"
    printf '    a health request %s us; a verification %s us, of which its work on the store alone is %s us\n' \
        "$health_us" "$verify_us" "$store"
    printf '    (bench_sqlite_floor, %s verifications, no HTTP, 32 to a transaction), and its four writes alone %s us (--writes-only)\n' \
        "$(cat "$work/sqlite-floor.floor")" "$writes"
    printf '    at best, HTTP no dearer than health'"'"'s and the store as it is: %s / (%s + %s) = %s x health\n' \
        "$health_us" "$health_us" "$store" "$best"
    printf '    goal 1 leaves the store %s us a verification (%s / 0.6 - %s): the work costs %s, its writes alone %s\n' \
        "$budget" "$health_us" "$health_us" "$store" "$writes"
}

echo "bench-api: $CORES cores shared by servers, proxy, database and wrk; ${SECONDS_PER_WINDOW} s windows, $CONNECTIONS connections, $USERS (SQLite) or $PG_USERS (PostgreSQL) prepared users per window"
for store in $STORES; do
    case "$store" in
        sqlite)
            echo; echo "== sqlite"
            start_node sqlite --db "$work/api.sqlite3"
            measure sqlite "$url" --db "$work/api.sqlite3"
            stop_all
            ratio=$(ratio_of sqlite-verify sqlite-health)
            goal "1. verification >= 0.6 x health (SQLite)" "$ratio x" "$(at_least "$ratio" 0.6)"
            goal "2. verification p99 <= 5 ms (SQLite)" "$(p99 sqlite-verify) ms" "$(at_most "$(p99 sqlite-verify)" 5)"
            worst=$(for r in signin verify state devices health; do p99 "sqlite-mix-$r"; done | sort -g | tail -n 1)
            goal "2. every route's p99 <= 10 ms, mixed load (SQLite)" "worst $worst ms" "$(at_most "$worst" 10)"
            sqlite_ceiling
            ;;
        postgres)
            echo; echo "== postgres, 1 node"
            db_url="$(pg_database bench_one)"
            start_node pg1 --database-url "$db_url"
            measure postgres "$url" --database-url "$db_url"
            stop_all
            ratio=$(ratio_of postgres-verify postgres-health)
            goal "3. verification >= 0.3 x health (PostgreSQL, 1 node)" "$ratio x" "$(at_least "$ratio" 0.3)"
            pg_floor
            ;;
        postgres-2)
            echo; echo "== postgres, 2 nodes behind Caddy (TLS)"
            db_url="$(pg_database bench_two)"
            start_node pg2a --database-url "$db_url" --trusted-proxy 127.0.0.1/32
            a="$url"
            start_node pg2b --database-url "$db_url" --trusted-proxy 127.0.0.1/32
            b="$url"
            # A CA of the run's own and a certificate for localhost it signs.
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
                -subj "/CN=dialer-2fa bench CA" -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -subj "/CN=localhost" -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
            printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$work/tls.ext"
            openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
                -CAcreateserial -days 1 -extfile "$work/tls.ext" -out "$work/tls.crt" 2>/dev/null
            chmod 644 "$work/tls.key"
            port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
            DIALER_2FA_PUBLIC_HOST=localhost DIALER_2FA_PUBLIC_PORT="$port" \
                DIALER_2FA_TLS_CERT="$work/tls.crt" DIALER_2FA_TLS_KEY="$work/tls.key" \
                DIALER_2FA_UPSTREAM_A="${a#http://}" DIALER_2FA_UPSTREAM_B="${b#http://}" \
                DIALER_2FA_CADDY_ADMIN=off \
                caddy run --config deploy/Caddyfile --adapter caddyfile >"$work/caddy.log" 2>&1 &
            pids+=("$!")
            for _ in $(seq 1 100); do
                curl -fsS --cacert "$work/ca.crt" "https://localhost:$port/v1/health" >/dev/null 2>&1 && break
                sleep 0.1
            done
            measure postgres-2 "https://localhost:$port" --database-url "$db_url"
            stop_all
            ;;
        *) echo "bench-api: unknown store $store" >&2; exit 2 ;;
    esac
done

echo
echo "| store | verify req/s | verify p99 | health req/s | health p99 | verify/health |"
echo "| --- | --- | --- | --- | --- | --- |"
while IFS='|' read -r _ key v v99 h h99 ratio; do
    case "$key" in
        sqlite) label="SQLite" ;;
        postgres) label="PostgreSQL, 1 node" ;;
        postgres-2) label="PostgreSQL, 2 nodes + TLS" ;;
        *) label="$key" ;;
    esac
    echo "| $label | $v | $v99 ms | $h | $h99 ms | $ratio x |"
done <"$work/rows"
