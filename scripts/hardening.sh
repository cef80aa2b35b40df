#!/usr/bin/env bash
# Load and fault checks of the real server, over loopback, with a PostgreSQL of their own (a
# fresh cluster on port 54398, so the development database is never touched):
#
#   scripts/hardening.sh [load] [bigruns] [cores] [streams] [sigkill] [outage] [abuse]   (all; ~8 minutes)
#
# load: 200 clients submitting runs for 60 s plus 1,000 /health requests a second; bigruns:
# four concurrent 10M-iteration runs of wide50 (peak RSS); cores: eight 1M wide50 runs at once
# against the same eight in turn (runs share the cores, so no slower); streams: 1,000 SSE clients
# on a running run, on its own process and on another (RSS, the run's time, one poller); sigkill:
# the server killed mid-run and restarted; outage: PostgreSQL stopped for 30 s under load; abuse:
# every reproduction of the bounded-cost issue against a server limited to 1 GiB.
# CLIENTS, LOAD_S, HEALTH_RPS and OUTAGE_S change the sizes. Prints the figures and fails if
# a check does. Not part of scripts/test.sh: it takes minutes and needs the machine to itself.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
export PG_PORT="${HARDENING_PG_PORT:-54398}"
export PG_DATA="$root/.data/pg-hardening"
source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
setup_rust
cd "$root"
say "cargo build --release"
cargo build --release --quiet -p scenarioforge-server
mkdir -p .data
# A fresh cluster each time: no runs left over from an earlier check.
if pg_running; then pg_stop; fi
rm -rf "$PG_DATA"
pg_start
trap 'pg_stop >/dev/null 2>&1 || true' EXIT
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export PORT DATABASE_URL
export PG_CTL_STOP="PG_PORT=$PG_PORT PG_DATA=$PG_DATA bash $root/scripts/pg.sh stop"
export PG_CTL_START="PG_PORT=$PG_PORT PG_DATA=$PG_DATA bash $root/scripts/pg.sh start"
python3 scripts/hardening.py "$@"
