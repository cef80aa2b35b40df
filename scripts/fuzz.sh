#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer, nightly toolchain) of the model reader and
# compiler, the formula language with evaluation, and the summary merges.
#
#   scripts/fuzz.sh [RUNS] [TARGET...]     RUNS executions per target (default 10,000,000)
#
# Seeds come from the examples; findings land in fuzz/artifacts/TARGET/ and are kept as
# regression tests (core/tests/fuzz_regressions.rs) once fixed. Not part of scripts/test.sh:
# ten million executions take minutes per target.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_rust
cd "$root"
runs="${1:-10000000}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model formula merge)

if ! rustup toolchain list | grep -q '^nightly'; then
  say "rustup toolchain install nightly"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "cargo install cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# Seed corpora: the example models, each formula on its own, and a few doubles.
mkdir -p fuzz/corpus/model fuzz/corpus/formula fuzz/corpus/merge
cp examples/*.json fuzz/corpus/model/
python3 - <<'PY'
import glob, json, os, struct
for path in glob.glob("examples/*.json"):
    for node in json.load(open(path))["nodes"]:
        name = os.path.join("fuzz/corpus/formula", f"{os.path.basename(path)}-{node['id']}")
        open(name, "w").write(node["expr"])
values = [0.0, -0.0, 1.0, -2.5, 1e-300, 5e-324, 1e300, float("inf"), float("nan"), 3.14]
open("fuzz/corpus/merge/seed", "wb").write(bytes([4]) + b"".join(struct.pack("<d", v) for v in values))
PY

# Longest input per target. A merge input is doubles, and what makes a sketch hard (values
# spread over every binade) takes a few of them; 128 per input keeps executions fast enough
# for ten million of them.
max_len() { case "$1" in merge) echo 1025 ;; *) echo 8192 ;; esac; }

for t in "${targets[@]}"; do
  say "cargo fuzz run $t ($runs executions)"
  start=$(date +%s)
  log="fuzz/$t.log"
  # No sanitizer: the engine forbids `unsafe`, so AddressSanitizer would find nothing and
  # halve the speed; panics (overflow checks are on), hangs and memory blow-ups are caught.
  if ! cargo +nightly fuzz run --sanitizer none "$t" "fuzz/corpus/$t" -- \
    -runs="$runs" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "$t: FAILED; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "$log" || true
  echo "$t: passed in $(( $(date +%s) - start )) s"
done
