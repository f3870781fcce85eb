#!/usr/bin/env bash
# Continuing a sketch, measured against the composers (issue 15): every song of a prepared
# MusicXML data set's test split (pieces no model trained on) gives its first 4 bars as the prompt;
# `trainer generate --prompt` continues them for 12 bars with the song's own composer tag, and
# `trainer measure --from-bar 4` sets the continuations' metrics beside those of the songs' own bars
# 5-16, with the pitch-class overlap of those bars with the prompt (does it stay in the key?).
#   bash scripts/continuation-report.sh [data] [model] [source folder] [role]
#   (defaults: data/lieder-piano builtin:neoclassical ../shared/data/lieder piano; writes
#   out/continuation/; STYLE=<tag> replaces every song's composer tag, for a model without them;
#   GEN_ARGS="--temperature 1.25" adds to every `trainer generate`, SEED=n changes the seed)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-data/lieder-piano}
model=${2:-builtin:neoclassical}
src=${3:-../shared/data/lieder}
role=${4:-piano}
T=${T:-target/release/trainer}
[ -x "$T" ] || cargo build --release -p sideman-trainer
out=out/continuation
rm -rf "$out" && mkdir -p "$out/gen" "$out/human"
# The test split's files and their first style tag, from the data set's manifest.
python3 - "$data/manifest.json" >"$out/songs.tsv" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
for f in m["files"]:
    if f["split"] == "test" and f["styles"]:
        print(f"{f['path']}\t{f['styles'][0]}\t{f['piece'].replace('/', '_')}")
EOF
n=0
while IFS=$'\t' read -r path style id; do
  f="$out/gen/$id.mid"
  style=${STYLE:-$style}
  if "$T" generate "$model" --role "$role" --style "$style" --prompt "$src/$path" --prompt-bars 4 \
    --bars 12 --seed "${SEED:-1}" ${GEN_ARGS:-} --out "$f" --force >"$out/gen/$id.log" 2>&1; then
    # (copied under a plain name: the corpus's folder names hold commas, which separate files
    # in a measure column)
    cp "$src/$path" "$out/human/$id.${path##*.}"
    n=$((n + 1))
  else
    echo "skipped $path: $(tail -1 "$out/gen/$id.log")"
  fi
done <"$out/songs.tsv"
echo "$n test songs continued ($model, 4 bars of prompt, 12 bars continued, seed ${SEED:-1} ${GEN_ARGS:-})"
"$T" measure --role "$role" --from-bar 4 --bars 12 --json "$out/measure.json" \
  "human=$out/human" "continued=$out/gen"
