#!/usr/bin/env bash
# The datasets of the shared-backbone measurement (models/README.md, "One backbone for every
# role"): every corpus of ../shared/data in one dataset with one style tag per corpus, and the
# jazz solos and the songs' piano alone in the same vocabulary, so that the backbone's package
# can be fine-tuned on each and compared with a network trained on each alone.
#
#   bash scripts/backbone-data.sh [DATA_ROOT]      # DATA_ROOT defaults to ../shared/data
#
# Writes data/pre-all, data/pre-jazz and data/pre-lieder (about 20 s). One OpenEWLD lead sheet,
# "This Can't Be Love", is left out of data/pre-all: it is the tune of a WJazzD solo in the test
# split, whose chords a backbone would otherwise have read. The splits are each piece's own (a
# hash of its source and identity), so a solo or song is in the same split in every dataset.
set -euo pipefail
D=${1:-../shared/data}
T=${T:-target/release/trainer}
[ -x "$T" ] || cargo build --release -p sideman-trainer
rm -rf data/src-openewld && mkdir -p data/src-openewld
for composer in "$D"/openewld/*/; do
  for tune in "$composer"*/; do
    case "$tune" in *This_Can*t_Be_Love*) continue ;; esac
    mkdir -p "data/src-openewld/$(basename "$composer")"
    ln -sfn "$(realpath "$tune")" "data/src-openewld/$(basename "$composer")/$(basename "$tune")"
  done
done
rm -rf data/pre-all data/pre-jazz data/pre-lieder
$T prepare --input "$D"/wjazzd "$D"/midi/folk-oneills "$D"/midi/folk-ryans \
  "$D"/midi/bach-chorales=piano "$D"/midi/mma-grooves "$D"/lieder data/src-openewld=lead "$D"/gmd \
  --style-from source --transpose all-keys --out data/pre-all 2>&1 | grep -v '^warning'
$T prepare --input "$D"/wjazzd --style-from source --vocab data/pre-all/vocab.json \
  --transpose all-keys --out data/pre-jazz | tail -n 4
$T prepare --input "$D"/lieder --role piano --style-from source --vocab data/pre-all/vocab.json \
  --transpose all-keys --out data/pre-lieder 2>&1 | grep -v '^warning' | tail -n 4
