#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests, from Debian's packages.
#
#   pg-cluster.sh start [DIR]   initdb in DIR (default: a new temp dir), start
#                               it on a free port of 127.0.0.1 and print
#                               postgres://dialer2fa@127.0.0.1:PORT/postgres
#                               (also written to DIR/url). The role is the
#                               cluster's superuser: it may CREATE DATABASE.
#   pg-cluster.sh stop DIR      stop that cluster and remove DIR.
#
# PostgreSQL refuses to run as root and CI runs as root: as root the cluster
# belongs to a system user `dialer2fa-pg` (made when missing); otherwise it
# runs as the caller. Trust authentication, loopback only, a Unix socket only
# in DIR, fsync off: a cluster for tests, never for data anyone keeps.
# Fails loudly when it cannot start; nothing is skipped.
set -euo pipefail

PG_OS_USER=${DIALER_2FA_PG_OS_USER:-dialer2fa-pg}
PG_ROLE=dialer2fa
MARKER=.dialer-2fa-pg-cluster

die() {
  echo "pg-cluster: $*" >&2
  exit 1
}

# The newest installed server's bin directory (Debian keeps one per major
# version under /usr/lib/postgresql).
pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] ||
    die "no PostgreSQL server under /usr/lib/postgresql/*/bin: install Debian's postgresql package (make setup)"
  echo "$dir"
}

# Runs a command as the cluster's OS user, from inside the cluster's
# directory (a root-only working directory would make PostgreSQL warn).
as_owner() {
  local dir=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$dir" && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

ensure_os_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$PG_OS_USER" ||
      die "cannot create the system user $PG_OS_USER that runs the test cluster (PostgreSQL refuses root)"
  fi
}

# A port nothing listens on now. PostgreSQL itself is the final judge: a
# port taken between this check and its bind makes `start` try another.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "found no free TCP port on 127.0.0.1"
}

start() {
  local dir=${1:-}
  local bin
  bin=$(pg_bin)
  ensure_os_user
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/dialer-2fa-pg.XXXXXX")
    echo "pg-cluster: cluster in $dir; stop it with: $0 stop $dir" >&2
  else
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  fi
  touch "$dir/$MARKER"
  if [ "$(id -u)" -eq 0 ]; then
    # mktemp made it root's and 0700; the cluster's user must own it.
    chown -R "$PG_OS_USER:" "$dir"
    runuser -u "$PG_OS_USER" -- test -w "$dir" ||
      die "$PG_OS_USER cannot write $dir (is a parent directory closed to other users? set TMPDIR=/tmp)"
  fi

  local init_log="$dir/initdb.log"
  if ! as_owner "$dir" "$bin/initdb" -D "$dir/data" -U "$PG_ROLE" \
    --auth-local=trust --auth-host=trust --encoding=UTF8 --locale=C.UTF-8 \
    --no-sync >"$init_log" 2>&1; then
    cat "$init_log" >&2
    die "initdb failed in $dir/data (log above)"
  fi
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$dir'"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    # Each HTTP test opens a pool of its own, many tests run at once.
    echo "max_connections = 400"
    echo "shared_buffers = 32MB"
  } >>"$dir/data/postgresql.conf"

  local port log="$dir/server.log"
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$dir" "$bin/pg_ctl" -D "$dir/data" -l "$log" -w -t 60 \
      -o "-p $port" start >/dev/null; then
      local url="postgres://$PG_ROLE@127.0.0.1:$port/postgres"
      echo "$url" >"$dir/url"
      echo "$url"
      return 0
    fi
    grep -q "could not bind" "$log" 2>/dev/null || break
    echo "pg-cluster: port $port was taken (attempt $attempt), trying another" >&2
  done
  tail -n 30 "$log" >&2 2>/dev/null || true
  die "PostgreSQL did not start in $dir (server log above)"
}

stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: $0 stop DIR"
  [ -d "$dir" ] || return 0
  # Only a directory `start` made (or an empty one it failed to fill).
  [ -e "$dir/$MARKER" ] || [ -z "$(ls -A "$dir")" ] ||
    die "$dir was not made by $0 start; not removing it"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$dir" "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null ||
      echo "pg-cluster: pg_ctl stop failed in $dir" >&2
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) die "usage: $0 start [DIR] | stop DIR" ;;
esac
