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
set -euo pipefail
[ $# -ge 7 ] || { sed -n 2,10p "$0"; exit 2; }
dir=$1 package=$2 data=$3 role=$4 split=$5 seeds=$6
shift 6
root=$(cd "$(dirname "$0")/.." && pwd)
T=$root/target/release/trainer
PD=$root/target/release/examples/piece_density
mkdir -p "$dir"
for v in "$@"; do
  [ -d "$dir/pk-s$v" ] || "$T" ship "$package" --out "$dir/pk-s$v" --silence "$role=$v" --player-silence "$role=none" > /dev/null
done
run() {
  for v in "$@"; do
    for seed in $(seq 1 "$seeds"); do
      f=$dir/g-s$v-$split-$seed.txt
      [ -s "$f" ] || REPORT_PIECES=1 SAMPLING=model SEED=$seed "$PD" "$data" "$split" "$dir/pk-s$v" "$role" > "$f"
    done
  done
}
half=$(( ($# + 1) / 2 ))
run "${@:1:$half}" &
run "${@:$((half + 1))}"
wait
