#!/usr/bin/env bash
# Benchmark of the account API: requests/s and p50/p99 of TOTP code
# verification next to /v1/health on the same path, in one run, on three
# stores:
#   sqlite                 one release node on a fresh SQLite file;
#   postgres, 1 node       one node on a throw-away PostgreSQL cluster
#                          (scripts/pg-cluster.sh);
#   postgres, 2 nodes+TLS  two nodes on one PostgreSQL database behind Caddy
#                          (deploy/Caddyfile) at https://localhost:PORT with
#                          a certificate made here.
# Bounded: BENCH_USERS x BENCH_ROUNDS verifications per store (default
# 200 x 10), then as many health requests; each driver run stops itself
# after 4 minutes whatever happens. BENCH_STORES picks a subset
# (e.g. "sqlite"); --database-url URL uses that PostgreSQL server instead
# of a throw-away cluster (its database must be empty or the bench's own).
set -euo pipefail
cd "$(dirname "$0")/.."

USERS="${BENCH_USERS:-200}"
ROUNDS="${BENCH_ROUNDS:-10}"
CONCURRENCY="${BENCH_CONCURRENCY:-32}"
STORES="${BENCH_STORES:-sqlite postgres postgres-2}"
DATABASE_URL=""
while [ $# -gt 0 ]; do
    case "$1" in
        --database-url) DATABASE_URL="$2"; shift 2 ;;
        --database-url=*) DATABASE_URL="${1#*=}"; shift ;;
        *) echo "bench-api: unknown option $1" >&2; exit 2 ;;
    esac
done

cargo build --release -p dialer-2fa-api --bin dialer-2fa-api --example bench_api
BIN=./target/release/dialer-2fa-api
DRIVER=./target/release/examples/bench_api

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cluster=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    if [ -n "$cluster" ]; then bash scripts/pg-cluster.sh stop "$cluster" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Clock control lets the driver move to a fresh TOTP step between rounds;
# cheap Argon2 keeps the unmeasured sign-ins of the setup short.
SERVE_FLAGS=(--listen 127.0.0.1:0 --allow-clock-control --argon2-memory-kib 1024 --argon2-iterations 1)
KEY=$(head -c 32 /dev/urandom | base64)

# Starts a node; sets $url to its `listening on` address.
start_node() {
    local name=$1
    shift
    DIALER_2FA_SERVER_KEY="$KEY" "$BIN" serve "$@" "${SERVE_FLAGS[@]}" \
        >"$work/$name.stdout" 2>"$work/$name.stderr" &
    local pid=$!
    pids+=("$pid")
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

stop_nodes() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    pids=()
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
    local name=$1
    psql -q "$base_url" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
    echo "${base_url%/*}/$name"
}

drive() {
    timeout 300 "$DRIVER" --users "$USERS" --rounds "$ROUNDS" --concurrency "$CONCURRENCY" "$@" |
        tee -a "$work/driver.out"
}

echo "bench-api: $(nproc) cores shared by servers, proxy, database and driver; $USERS users x $ROUNDS rounds at concurrency $CONCURRENCY"
for store in $STORES; do
    case "$store" in
        sqlite)
            echo; echo "== sqlite"
            start_node sqlite --db "$work/api.sqlite3"
            drive --label "sqlite" --url "$url" --db "$work/api.sqlite3"
            stop_nodes
            ;;
        postgres)
            echo; echo "== postgres, 1 node"
            db_url="$(pg_database bench_one)"
            start_node pg1 --database-url "$db_url"
            drive --label "postgres, 1 node" --url "$url" --database-url "$db_url"
            stop_nodes
            ;;
        postgres-2)
            echo; echo "== postgres, 2 nodes behind Caddy (TLS)"
            db_url="$(pg_database bench_two)"
            start_node pg2a --database-url "$db_url" --trusted-proxy 127.0.0.1/32
            a="$url"
            start_node pg2b --database-url "$db_url" --trusted-proxy 127.0.0.1/32
            b="$url"
            # A CA of the run's own and a certificate for localhost it signs
            # (rustls refuses a CA certificate as the server's own).
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
            drive --label "postgres, 2 nodes + TLS" --url "https://localhost:$port" --ca "$work/ca.crt" \
                --clock-url "$a" --clock-url "$b" --database-url "$db_url"
            stop_nodes
            ;;
        *) echo "bench-api: unknown store $store" >&2; exit 2 ;;
    esac
done

echo
echo "| store | verify req/s | verify p50 | verify p99 | health req/s | health p50 | health p99 | verify/health |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
grep '^ROW|' "$work/driver.out" | while IFS='|' read -r _ label v v50 v99 h h50 h99 pct; do
    echo "| $label | $v | $v50 ms | $v99 ms | $h | $h50 ms | $h99 ms | $pct % |"
done
