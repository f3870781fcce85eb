#!/usr/bin/env bash
# The test command of the README: installs what the tests need (the ONNX Runtime library from
# PyPI, via `cargo xtask ort`), bundles the plugin (debug) with the runtime beside it for the host
# tests that load the bundle, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo xtask ort
cargo xtask bundle sideman
SIDEMAN_REQUIRE_BUNDLE=1 cargo test --workspace --locked
