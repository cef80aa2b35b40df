#!/usr/bin/env bash
# Sets up what is missing, builds ScenarioForge and runs an example model.
# Usage: scripts/run.sh [MODEL.json] [scenarioforge run flags...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_rust
cd "$root"
say "cargo build --release"
cargo build --release --bin scenarioforge
model="${1:-examples/startup.json}"
shift || true
say "scenarioforge run $model $*"
exec target/release/scenarioforge run "$model" "$@"
