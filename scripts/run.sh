#!/usr/bin/env bash
# The main job of the README: set up (ONNX Runtime from PyPI), build the plugin bundles, and
# generate a 16-bar solo over a ii-V-I with the default lead model (built into the trainer and
# the plugin; SIDEMAN_DEFAULT_MODEL=<package folder or builtin:id> picks another).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo xtask ort
cargo xtask bundle sideman --release
mkdir -p out
MODEL=${SIDEMAN_DEFAULT_MODEL:-builtin:jazz-lead}
cargo run --release --locked -p sideman-trainer -- generate "$MODEL" \
  --role lead --chords "Dm7 G7 Cmaj7 Cmaj7" --bars 16 --tempo 140 --seed 1 --force --out out/solo.mid
echo "bundles: ${CARGO_TARGET_DIR:-target}/bundled/Sideman.clap, Sideman.vst3"
echo "solo:    out/solo.mid"
