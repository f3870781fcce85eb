#!/usr/bin/env bash
# The test command of the README: installs what the tests need (the ONNX Runtime library from
# PyPI, via `cargo xtask ort`), then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo xtask ort
cargo test --workspace --locked
