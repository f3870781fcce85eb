#!/usr/bin/env python3
"""The drums over a user's held chords, style by style, beside the Groove MIDI Dataset's drummers
(models/README.md, "Chords a role never learned").

    python3 scripts/drums-over-chords.py TRAINER PACKAGE[,PACKAGE...] STYLE[,STYLE...] [SEEDS [GMD]]

For each style: the drummers' 4/4 beats of that genre in GMD (default ../shared/data/gmd; the
genre is the file name's, before any '-'), their first 16 bars (or all, if fewer): notes a bar and
the share of bars with a snare, rim or clap on beats 2 and 4 (within 0.15 beat). Then each
PACKAGE's drums generated at the genre's median tempo, 16 bars, seeds 1..SEEDS (default 8), with no
input and over the chords of scripts/played-chords.py held a bar each (`TRAINER generate PACKAGE
--role drums --style STYLE [--input held.mid]`), with the same two numbers. Needs `pip install
mido`.
"""
import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile

from played import played_chords


BACKBEAT = (37, 38, 39, 40)
BARS = 16


def bars_of(path, generated):
    """Onsets by bar (4/4): {bar: [(beat in the bar, key)]}; `generated` keeps Sideman's track."""
    bars = {}
    for beat, key in PLAYED.onsets(path, generated):
        bar, pos = divmod(beat, 4)
        bars.setdefault(int(bar), []).append((pos, key))
    return bars


def stats(bars, count):
    """(notes a bar, backbeat share) over the first `count` bars."""
    notes = backbeats = 0
    for b in range(count):
        hits = bars.get(b, [])
        notes += len(hits)
        snare = [p for p, k in hits if k in BACKBEAT]
        backbeats += any(abs(p - 1) < 0.15 for p in snare) and any(abs(p - 3) < 0.15 for p in snare)
    return notes / count, backbeats / count


def humans(gmd, style):
    """[(notes a bar, backbeat)] of the genre's 4/4 beats of eight bars or more, their median tempo."""
    values, tempos = [], []
    for f in sorted(glob.glob(os.path.join(gmd, 'drummer*', '*', '*_beat_4-4.mid'))):
        m = re.match(r'\d+_([a-z/-]+?)_(\d+)_beat', os.path.basename(f))
        if not m or m.group(1).split('-')[0] != style:
            continue
        bars = bars_of(f, False)
        if len(bars) < 8:
            continue
        values.append(stats(bars, min(BARS, max(bars) + 1)))
        tempos.append(int(m.group(2)))
    return values, (statistics.median(tempos) if tempos else 100)


def mean(values):
    return tuple(sum(v[i] for v in values) / len(values) for i in range(2))


PLAYED = played_chords()


def main():
    trainer, packages, styles = sys.argv[1], sys.argv[2].split(','), sys.argv[3].split(',')
    seeds = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    here = os.path.dirname(os.path.abspath(__file__))
    gmd = sys.argv[5] if len(sys.argv) > 5 else os.path.join(here, '..', '..', 'shared', 'data', 'gmd')
    with tempfile.TemporaryDirectory() as d:
        held = os.path.join(d, 'held.mid')
        PLAYED.write_input('held', held)
        for style in styles:
            h, tempo = humans(gmd, style)
            if not h:
                print(f'{style}: no 4/4 beats in {gmd}')
                continue
            print('%-8s drummers (%d beats, tempo %d): notes a bar %.1f, backbeat %.2f' % (style, len(h), tempo, *mean(h)))
            for package in packages:
                for label, extra in [('no input', []), ('held chords', ['--input', held])]:
                    takes = []
                    for seed in range(1, seeds + 1):
                        out = os.path.join(d, 'take.mid')
                        subprocess.run([trainer, 'generate', package, '--role', 'drums', '--style', style, *extra,
                                        '--bars', str(BARS), '--tempo', str(int(tempo)), '--seed', str(seed),
                                        '--out', out, '--force'], check=True, capture_output=True)
                        takes.append(stats(bars_of(out, True), BARS))
                    print('   %-28s %-12s notes a bar %.1f, backbeat %.2f' % (package[-28:], label, *mean(takes)), flush=True)


if __name__ == '__main__':
    main()
