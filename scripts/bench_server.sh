#!/usr/bin/env bash
# Server benchmark (scripts/bench_server.py): an API run against the command line, /health
# latency under load, peak memory of concurrent runs. Starts the private PostgreSQL when
# DATABASE_URL is unset. Takes a few minutes; not part of the test command.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
setup_rust
cd "$root"
cargo build --release --bin scenarioforge
if [ -z "${DATABASE_URL:-}" ]; then
  pg_start
fi
python3 scripts/bench_server.py "$@"
