#!/usr/bin/env bash
# A private PostgreSQL for development and tests: Debian's `postgresql` package, a data folder
# under the project (.data/pg), its own port on 127.0.0.1 and its own socket folder, so it
# never meets a system PostgreSQL. Sourced by run.sh and test.sh; also runnable:
#
#   scripts/pg.sh start    start it (idempotent) and print the DATABASE_URL to use
#   scripts/pg.sh stop     stop it
#   scripts/pg.sh status   say whether it runs
#
# `initdb` refuses to run as root, so the server runs as the `postgres` user on a folder it owns.

pg_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_PORT="${PG_PORT:-54329}"
pg_data_given="${PG_DATA:-}"
PG_DATA="${PG_DATA:-$pg_root/.data/pg}"
PG_SOCKET_DIR="$PG_DATA/socket"
# A Unix socket path is limited to about 100 bytes: a deep checkout uses a folder in /tmp.
if [ "${#PG_SOCKET_DIR}" -gt 80 ]; then
  PG_SOCKET_DIR="/tmp/scenarioforge-pg-$PG_PORT"
fi
PG_DB="${PG_DB:-scenarioforge}"
PG_USER="${PG_USER:-scenarioforge}"
PG_PASSWORD="${PG_PASSWORD:-scenarioforge}"

pg_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

# Installs Debian's PostgreSQL when this machine has none.
pg_install() {
  if pg_bin >/dev/null; then
    return 0
  fi
  pg_say "apt-get install postgresql"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  # The package starts a cluster of its own on the default port; this project does not use it.
  if command -v pg_ctlcluster >/dev/null; then
    local v
    for v in /etc/postgresql/*/main; do
      [ -d "$v" ] && pg_ctlcluster "$(basename "$(dirname "$v")")" main stop 2>/dev/null || true
    done
  fi
  pg_bin >/dev/null || { echo "PostgreSQL installed but initdb not found" >&2; return 1; }
}

# Runs a command as the postgres user (initdb and the server refuse root).
pg_as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_psql() {
  pg_as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -d postgres "$@"
}

pg_running() {
  local bin
  bin="$(pg_bin)" || return 1
  [ -f "$PG_DATA/PG_VERSION" ] && pg_as_postgres "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# The postgres user must reach the data folder through its parents. Folders of the project
# (under $pg_root) that it cannot pass get o+x, which lets others pass but not list them;
# nothing outside the project is changed. When a folder outside the project is closed to it
# (a checkout under /root, say) and PG_DATA was not given, the data folder moves to postgres's
# own home, /var/lib/postgresql/scenarioforge-$PG_PORT, and this says so.
pg_reachable() {
  [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 || return 0
  local dir="$PG_DATA"
  while dir="$(dirname "$dir")" && [ "$dir" != / ]; do
    # Folders still to be made get root's default mode, which others may pass.
    [ -d "$dir" ] || continue
    if ! runuser -u postgres -- test -x "$dir"; then
      case "$dir/" in
        "$pg_root"/*) chmod o+x "$dir" ;;
        *)
          if [ -n "$pg_data_given" ]; then
            echo "the postgres user cannot reach PG_DATA=$PG_DATA: $dir is closed to it" >&2
            return 1
          fi
          PG_DATA="/var/lib/postgresql/scenarioforge-$PG_PORT"
          PG_SOCKET_DIR="$PG_DATA/socket"
          pg_say "$dir is closed to the postgres user: the data folder is $PG_DATA"
          return 0
          ;;
      esac
    fi
  done
}

# Starts the private server (initialising its data folder the first time), creates the role and
# database, and exports DATABASE_URL. Safe to call again while it runs.
pg_start() {
  pg_install
  pg_reachable || return 1
  local bin
  bin="$(pg_bin)"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    pg_say "initdb $PG_DATA"
    mkdir -p "$PG_DATA"
    [ "$(id -u)" = 0 ] && chown postgres: "$PG_DATA"
    chmod 700 "$PG_DATA"
    pg_as_postgres "$bin/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PG_DATA/postgresql.conf" <<EOF
# scripts/pg.sh: a private server for this project only.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 300
fsync = on
EOF
  fi
  if [ ! -d "$PG_SOCKET_DIR" ]; then
    mkdir -p "$PG_SOCKET_DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$PG_SOCKET_DIR"
  fi
  if ! pg_running; then
    pg_say "starting PostgreSQL on 127.0.0.1:$PG_PORT ($PG_DATA)"
    # A run stores its sample rows (10,000 rows of 50 values: 6 MB) in one COPY: WAL buffers
    # larger than that keep it from waiting on WAL writes mid-COPY.
    pg_as_postgres "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 \
      -o "-c shared_buffers=256MB -c wal_buffers=32MB -c max_wal_size=4GB" start >/dev/null
  fi
  if ! pg_psql -tAc "select 1 from pg_roles where rolname = '$PG_USER'" | grep -q 1; then
    # CREATEDB: the API tests create a fresh database per test.
    pg_psql -c "create role $PG_USER login createdb password '$PG_PASSWORD'"
  fi
  if ! pg_psql -tAc "select 1 from pg_database where datname = '$PG_DB'" | grep -q 1; then
    pg_psql -c "create database $PG_DB owner $PG_USER"
  fi
  export DATABASE_URL="postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
}

pg_stop() {
  local bin
  bin="$(pg_bin)" || return 0
  pg_reachable || return 1
  if pg_running; then
    pg_say "stopping PostgreSQL ($PG_DATA)"
    pg_as_postgres "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-start}" in
    start) pg_start; echo "DATABASE_URL=$DATABASE_URL" ;;
    stop) pg_stop ;;
    status) pg_reachable; if pg_running; then echo "running on 127.0.0.1:$PG_PORT ($PG_DATA)"; else echo "stopped"; fi ;;
    *) echo "usage: scripts/pg.sh start|stop|status" >&2; exit 2 ;;
  esac
fi
