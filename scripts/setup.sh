#!/usr/bin/env bash
# Installs what building, running and testing need, from the registries this machine reaches
# (crates.io, npm, Debian). Idempotent: anything already present at the right version is skipped.
#   scripts/setup.sh          tools to build and run the worker (make dev)
#   scripts/setup.sh test     plus what the tests and benchmarks use (make test / make bench)
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  step "cargo install worker-build $WORKER_BUILD_VERSION (several minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --force
fi

# wasm-bindgen-cli must match the wasm-bindgen library that Cargo.lock resolved.
BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $NF}')" != "$BINDGEN_VERSION" ]; then
  step "cargo install wasm-bindgen-cli $BINDGEN_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "=$BINDGEN_VERSION" --force
fi

# npm tools pinned in package.json / package-lock.json: wrangler, binaryen (wasm-opt), esbuild, ...
if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

if [ ! -f .dev.vars ]; then
  step "creating .dev.vars with a random SECRET_KEY"
  umask 077
  printf 'SECRET_KEY="%s"\n' "$(head -c 32 /dev/urandom | base64)" > .dev.vars
fi

if [ "${1:-}" = "test" ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v zbarimg >/dev/null || missing+=(zbar-tools)
  command -v rsvg-convert >/dev/null || missing+=(librsvg2-bin)
  command -v oathtool >/dev/null || missing+=(oathtool)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v sqlite3 >/dev/null || missing+=(sqlite3)
  if [ ${#missing[@]} -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  python3 -c 'import importlib.metadata as m; assert m.version("schemathesis") == "4.32.5"' 2>/dev/null \
    || { step "pip install schemathesis 4.32.5"; python3 -m pip install --quiet --root-user-action=ignore schemathesis==4.32.5; }
fi
