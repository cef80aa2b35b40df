#!/usr/bin/env bash
# Installs what ScenarioForge needs and this machine lacks. Safe to run again: every step
# checks first. Sourced by run.sh and test.sh; nothing here downloads a prebuilt binary.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The wasm-bindgen CLI must be the exact version of the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock"
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

setup_rust() {
  if ! command -v cargo >/dev/null; then
    echo "cargo is missing: this project needs the machine's Rust toolchain (rustup)" >&2
    exit 1
  fi
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
}

setup_wasm_bindgen() {
  local want
  want="$(wasm_bindgen_version)"
  if [ -z "$want" ]; then
    echo "cannot find the wasm-bindgen version in Cargo.lock" >&2
    exit 1
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $want"; then
    # Without --locked: a dependency version locked by the CLI is missing from the registry.
    say "cargo install wasm-bindgen-cli $want (about 7 minutes, once)"
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

setup_node() {
  if ! command -v node >/dev/null; then
    apt_install nodejs
  fi
}

# Trunk builds the web app. 0.22 needs a newer rustc than this machine's; LTO off and more
# codegen units cut its build from about 25 to about 10 minutes.
TRUNK_VERSION=0.21.14
setup_trunk() {
  if ! trunk --version 2>/dev/null | grep -qx "trunk $TRUNK_VERSION"; then
    say "cargo install trunk $TRUNK_VERSION (about 10 minutes, once)"
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install trunk --version "$TRUNK_VERSION" --locked
  fi
}

# Builds the web app into dist/ (served by `scenarioforge serve` at `/`). Trunk.toml makes
# Trunk, and so cargo, offline: dependencies are fetched first.
build_web() {
  setup_trunk
  setup_wasm_bindgen
  (cd "$root" && cargo fetch --quiet && say "trunk build --release" && trunk build --release)
}

# Debian's Chromium and its driver, for the end-to-end browser tests.
setup_chromium() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt_install chromium chromium-driver
  fi
}
