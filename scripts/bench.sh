#!/usr/bin/env bash
# Benchmarks: whole processes against the numpy baseline (scripts/bench.py), then the
# evaluator's criterion benchmarks. Takes a few minutes; not part of the test command.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_rust
cd "$root"
cargo build --release --bin scenarioforge
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import numpy' 2>/dev/null; then
  say "python3 -m venv .venv && pip install numpy"
  python3 -m venv .venv
  .venv/bin/pip install --quiet numpy
fi
python3 scripts/bench.py "$@"
cargo bench -p scenarioforge-core --bench eval
