#!/usr/bin/env bash
# Renders MMA grooves over more chord progressions than the one they come with, for the band
# (issue 10: every groove in ../shared/data/midi/mma-grooves is rendered over one progression, so
# every chord the band had heard was a m7, 7 or maj7 in that order).
#
#   scripts/render-mma-grooves.sh GROOVES PROGRESSIONS OUT [LIST]
#
# GROOVES is a folder of `<library>/<groove file>__<groove name>.mid` files (the layout of
# ../shared/data/midi/mma-grooves); only the grooves that have a file there are rendered, never
# another groove of the MMA library. Each is rendered once, at 110 BPM as the originals, over every
# progression of PROGRESSIONS in turn (one per line, one chord a bar; `#` starts a comment), with
# each bar's chord written as a MIDI marker in a track named Chords (which `trainer prepare` reads
# as chord symbols). The
# file keeps its folder and name under OUT/<name of GROOVES>/, so `trainer prepare` gives it the
# piece identity, and so the split, of the original. LIST, when given, names the files to render
# (paths relative to GROOVES, one per line). Needs the `mma` program (Debian package `mma`).
# MMA varies its grooves' timing and velocities at random (RTime, RVolume, RSkip); each song sets
# `RndSeed 1`, so a render is the same file every time (until 2026-12-05 it was not: two renders
# of the test grooves differed by a few tenths of a percent in their metrics).
set -euo pipefail
grooves=${1:?GROOVES}; progressions=${2:?PROGRESSIONS}; out=${3:?OUT}; list=${4:-}
command -v mma >/dev/null || { echo "needs mma (apt-get install mma)" >&2; exit 1; }
grooves=$(cd "$grooves" && pwd)
dest="$out/$(basename "$grooves")"
mkdir -p "$dest"
song=$(mktemp)
trap 'rm -f "$song"' EXIT
bar=1
while read -r line; do
    line=${line%%#*}
    [ -z "${line// }" ] && continue
    for chord in $line; do
        printf 'MidiMark %s\n%d %s\n' "$chord" "$bar" "$chord" >> "$song"
        bar=$((bar + 1))
    done
done < "$progressions"
[ "$bar" -gt 1 ] || { echo "$progressions holds no progression" >&2; exit 1; }
if [ -n "$list" ]; then cat "$list"; else (cd "$grooves" && find . -name '*.mid' | sed 's|^\./||' | sort); fi |
    while read -r rel; do
        lib=${rel%%/*}; file=$(basename "$rel" .mid)
        echo "$lib" "${file%%__*}" "${file#*__}" "${rel%.mid}"
    done |
    xargs -P "$(nproc)" -n 4 sh -c '
        # $1 destination, $2 song, then library, groove file, groove name, relative path. The
        # song file is named Chords.mma: MMA names the meta track, which holds the markers, after
        # it, and the MIDI reader takes chord symbols from a track named Chords.
        mkdir -p "$(dirname "$1/$6")"
        work=$(mktemp -d)
        { printf "RndSeed 1\nTempo 110\nUse %s/%s\nGroove %s\n" "$3" "$4" "$5"; cat "$2"; } > "$work/Chords.mma"
        (cd "$work" && mma -f out.mid Chords.mma > log 2>&1) || { cat "$work/log" >&2; rm -rf "$work"; exit 255; }
        mv "$work/out.mid" "$1/$6.mid"
        rm -rf "$work"' sh "$dest" "$song"
echo "rendered $(find "$dest" -name '*.mid' | wc -l) grooves into $dest"
