#!/usr/bin/env bash
# Notes a bar by Density (0.1 0.3 0.5 0.7 0.9) for each default model and role, six seeds of 16
# bars each (over "Dm7 G7 Cmaj7 A7" for the roles that follow chords; the drums `funk`; the
# neoclassical piano alone): how the plugin's Density knob moves each role (models/README.md,
# "Density").
#   bash scripts/density-curve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
T=target/release/trainer
[ -x "$T" ] || cargo build --release -p sideman-trainer
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "model role: notes a bar at Density 0.1 0.3 0.5 0.7 0.9"
for spec in "builtin:jazz-lead lead 160" "builtin:band bass 120" "builtin:band comping 120" \
  "builtin:melody lead 110" "builtin:neoclassical piano 90" "builtin:drums drums 100"; do
  read -r model role tempo <<<"$spec"
  case $role in
    drums) extra=(--style funk) ;;
    piano) extra=() ;;
    *) extra=(--chords "Dm7 G7 Cmaj7 A7") ;;
  esac
  line="$model $role:"
  for d in 0.1 0.3 0.5 0.7 0.9; do
    n=0
    for seed in 1 2 3 4 5 6; do
      k=$("$T" generate "$model" --role "$role" "${extra[@]}" --bars 16 --tempo "$tempo" --seed "$seed" \
        --density "$d" --out "$tmp/d.mid" --force 2>&1 | awk '/notes over/ {print $1}')
      n=$((n + k))
    done
    line="$line $(awk -v n="$n" 'BEGIN {printf "%.2f", n / 96}')"
  done
  echo "$line"
done
