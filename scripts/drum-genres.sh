#!/usr/bin/env bash
# Five genres, generated and human, side by side (issue 12): for each genre, `trainer generate`
# with the human drums model plays 8 bars at the genre's median tempo in the data (eight seeds:
# four gave backbeat rates that moved by 0.1 from one set of seeds to the next), and
# `trainer measure` sets their metrics beside the human beats of the same genre in 4/4.
#   bash scripts/drum-genres.sh [GMD folder] [model]      (writes out/drum-genres/; SEEDS=16 for more)
# GENRES="jazz latin" for some of them; GEN_ARGS="--top-p 1" passes sampling options to generate;
# OUT=out/dg-x writes elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
gmd=${1:-../shared/data/gmd}
model=${2:-builtin:drums}
read -r -a genres <<<"${GENRES:-funk hiphop jazz rock latin}"
T=target/release/trainer
[ -x "$T" ] || cargo build --release -p sideman-trainer
out=${OUT:-out/drum-genres}
mkdir -p "$out"
gen_cols=()
human_cols=()
for g in "${genres[@]}"; do
  # Human beats of the genre in 4/4, and their median tempo (info.csv: style,bpm,beat_type,ts,file).
  files=$(awk -F, -v g="$g" 'NR > 1 && ($4 == g || index($4, g "/") == 1) && $6 == "beat" && $7 == "4-4" {print $8}' "$gmd/info.csv" |
    while read -r f; do [ -f "$gmd/$f" ] && echo "$gmd/$f"; done | paste -sd, -)
  tempo=$(awk -F, -v g="$g" 'NR > 1 && ($4 == g || index($4, g "/") == 1) && $6 == "beat" && $7 == "4-4" {print $5}' "$gmd/info.csv" |
    sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  gen=()
  for seed in $(seq 1 "${SEEDS:-8}"); do
    f="$out/$g-$seed.mid"
    "$T" generate "$model" --role drums --style "$g" --bars 8 --tempo "$tempo" --seed "$seed" ${GEN_ARGS:-} --out "$f" --force >/dev/null
    gen+=("$f")
  done
  echo "$g: median tempo $tempo BPM, $(tr ',' '\n' <<<"$files" | wc -l) human beats"
  gen_cols+=("$g=$(IFS=,; echo "${gen[*]}")")
  human_cols+=("$g=$files")
done
echo
echo "== generated ($model, 8 bars x ${SEEDS:-8} seeds per genre)"
"$T" measure --role drums --drum-map gmd --json "$out/generated.json" "${gen_cols[@]}"
echo
echo "== human (every beat of the genre in $gmd, 4/4, their first 8 bars)"
"$T" measure --role drums --drum-map gmd --bars 8 --json "$out/human.json" "${human_cols[@]}"
