#!/usr/bin/env bash
# Sets up what is missing and runs every test: formatting, lints, the native test suite
# (the server's API tests against a real PostgreSQL: a private one from scripts/pg.sh unless
# DATABASE_URL names one; the web app end to end in headless Chromium against the real server),
# and the engine under WebAssembly (Node.js) against the same golden summaries.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
setup_rust
setup_node
cd "$root"
cargo fetch --quiet
setup_wasm_bindgen
setup_chromium
build_web

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy -p scenarioforge-web --target wasm32-unknown-unknown --quiet -- -D warnings
say "cargo doc (the engine's and the server's, warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet -p scenarioforge-core -p scenarioforge-server
if [ -z "${DATABASE_URL:-}" ]; then
  pg_start
fi
say "cargo test (native; PostgreSQL at ${DATABASE_URL#*@})"
cargo test --workspace --release
say "cargo build -p scenarioforge-core --target wasm32-unknown-unknown"
cargo build -p scenarioforge-core --target wasm32-unknown-unknown --release --quiet
say "cargo test (wasm32 in Node.js: the same golden summaries as native)"
cargo test -p scenarioforge-core --target wasm32-unknown-unknown --release --test wasm_golden
