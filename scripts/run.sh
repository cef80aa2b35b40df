#!/usr/bin/env bash
# Sets up what is missing, builds ScenarioForge and runs it.
#
#   scripts/run.sh                         the server (scenarioforge serve) on BIND_ADDR,
#                                          default 127.0.0.1:3000; when DATABASE_URL is unset,
#                                          a private PostgreSQL is started for it (scripts/pg.sh)
#   scripts/run.sh MODEL.json [flags...]   run one model on the command line and print its
#                                          summary (scenarioforge run MODEL.json flags...)
#   scripts/run.sh run|check|serve ...     any scenarioforge subcommand
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
setup_rust
cd "$root"
say "cargo build --release"
cargo build --release --bin scenarioforge
# Where cargo put it: CARGO_TARGET_DIR when set, relative to the project when relative.
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
bin="$target_dir/release/scenarioforge"

case "${1:-serve}" in
  serve)
    build_web
    if [ -z "${DATABASE_URL:-}" ]; then
      pg_start
      say "PostgreSQL: $DATABASE_URL (stop it with: scripts/pg.sh stop)"
    fi
    say "scenarioforge serve: open http://${BIND_ADDR:-127.0.0.1:3000} (Ctrl-C stops it; unfinished runs resume at the next start)"
    export WEB_DIR="${WEB_DIR:-$root/dist}"
    exec "$bin" serve
    ;;
  run | check)
    exec "$bin" "$@"
    ;;
  *)
    say "scenarioforge run $*"
    exec "$bin" run "$@"
    ;;
esac
