#!/bin/bash
# The tables `scripts/player-silence.py` reads (models/README.md, "The soloist's phrasing"):
#
#   scripts/silence-grid.sh DIR PACKAGE DATA ROLE SPLIT SEEDS VALUE...
#
# For each VALUE (nats a silent beat), PACKAGE shipped with ROLE's silence calibration set to it
# in DIR/pk-s<VALUE> (`trainer ship --silence`), then played over every piece of DATA's SPLIT at
# the plugin's defaults, seeds 1..SEEDS (the `piece_density` example, 16 bars), one table a seed in
# DIR/g-s<VALUE>-<SPLIT>-<seed>.txt. Two at a time; a table already there is kept. Needs
# `cargo build --release -p sideman-trainer --bins --examples` and SIDEMAN_ORT_LIB.
# FAST=1.5: with ROLE's fast-note calibration set to 1.5 nats too (`trainer ship --fast-notes`),
# in DIR/pk-s<VALUE>-f1.5 and DIR/g-s<VALUE>-f1.5-<SPLIT>-<seed>.txt (models/README.md, "A
# soloist's fast notes"); without it, the package's own.
set -euo pipefail
[ $# -ge 7 ] || { sed -n 2,13p "$0"; exit 2; }
dir=$1 package=$2 data=$3 role=$4 split=$5 seeds=$6
shift 6
root=$(cd "$(dirname "$0")/.." && pwd)
T=$root/target/release/trainer
PD=$root/target/release/examples/piece_density
mkdir -p "$dir"
fast=${FAST:-}
tag() { echo "s$1${fast:+-f$fast}"; }
for v in "$@"; do
  [ -d "$dir/pk-$(tag "$v")" ] || "$T" ship "$package" --out "$dir/pk-$(tag "$v")" --silence "$role=$v" \
    --player-silence "$role=none" --player-fast-notes "$role=none" ${fast:+--fast-notes "$role=$fast"} > /dev/null
done
run() {
  for v in "$@"; do
    for seed in $(seq 1 "$seeds"); do
      f=$dir/g-$(tag "$v")-$split-$seed.txt
      [ -s "$f" ] || REPORT_PIECES=1 SAMPLING=model SEED=$seed "$PD" "$data" "$split" "$dir/pk-$(tag "$v")" "$role" > "$f"
    done
  done
}
half=$(( ($# + 1) / 2 ))
run "${@:1:$half}" &
run "${@:$((half + 1))}"
wait
