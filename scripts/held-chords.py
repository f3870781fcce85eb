#!/usr/bin/env python3
"""The band over a user's held chords (models/README.md, "Many progressions").

    python3 scripts/held-chords.py TRAINER PACKAGE [PACKAGE ...]

For six progressions and styles ("C Am F G" in pop and 8beat, "Am F C G" in pop, "C F G C" in
country, "Cmaj7 Am7 Fmaj7 G7" in bossanova, "Dm7 G7 Cmaj7 A7" in swing), writes a MIDI file of
block chords held a bar each (what the plugin hears from a player holding them), generates the
bass and the comping over it with `TRAINER generate PACKAGE --role R --input FILE --style S
--bars 16 --tempo 110 --seed 1..4 --harmony 0`, and prints the share of the generated notes that
are tones of the bar's triad (and counting the chord's seventh, or a seventh over a triad, which
MMA's comping adds) and the notes a bar. Needs `pip install mido`.
"""
import os
import statistics as st
import subprocess
import sys
import tempfile

import mido

from played import played_chords

PLAYED_CHORDS = played_chords()

NOTE = {'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}
QUALITY = {'': [0, 4, 7], 'm': [0, 3, 7], '7': [0, 4, 7, 10], 'maj7': [0, 4, 7, 11], 'm7': [0, 3, 7, 10]}
CASES = [("C Am F G", "pop"), ("C Am F G", "8beat"), ("Am F C G", "pop"), ("C F G C", "country"),
         ("Cmaj7 Am7 Fmaj7 G7", "bossanova"), ("Dm7 G7 Cmaj7 A7", "swing")]
BARS = 16


def parse(chord):
    root, quality = NOTE[chord[0]], chord[1:]
    if quality.startswith('#'):
        root, quality = root + 1, quality[1:]
    elif quality.startswith('b'):
        root, quality = root - 1, quality[1:]
    return root % 12, QUALITY[quality]


def write_input(chords, path):
    m = mido.MidiFile(ticks_per_beat=480)
    t = mido.MidiTrack()
    m.tracks.append(t)
    t.append(mido.MetaMessage('set_tempo', tempo=mido.bpm2tempo(110)))
    for bar in range(BARS):
        root, intervals = parse(chords[bar % len(chords)])
        pitches = [48 + root + i for i in intervals]
        for p in pitches:
            t.append(mido.Message('note_on', note=p, velocity=80, time=0))
        for k, p in enumerate(pitches):
            t.append(mido.Message('note_off', note=p, velocity=0, time=4 * 480 if k == 0 else 0))
    m.save(path)


def measure(path, chords):
    """(notes, triad tones, tones with sevenths) of the generated track ("Sideman <role>")."""
    n = triad = seventh = 0
    for beat, key in PLAYED_CHORDS.onsets(path):
        root, intervals = parse(chords[int(beat // 4) % len(chords)])
        pc = (key - root) % 12
        n += 1
        triad += pc in intervals[:3]
        seventh += pc in intervals or (len(intervals) == 3 and pc in (10, 11))
    return n, triad, seventh


def main():
    trainer, packages = sys.argv[1], sys.argv[2:]
    with tempfile.TemporaryDirectory() as tmp:
        for package in packages:
            for role in ('bass', 'comping'):
                tones, sevenths, density = [], [], []
                for i, (progression, style) in enumerate(CASES):
                    chords = progression.split()
                    held = os.path.join(tmp, f'held{i}.mid')
                    write_input(chords, held)
                    for seed in (1, 2, 3, 4):
                        out = os.path.join(tmp, 'out.mid')
                        subprocess.run([trainer, 'generate', package, '--role', role, '--input', held,
                                        '--style', style, '--bars', str(BARS), '--tempo', '110',
                                        '--seed', str(seed), '--harmony', '0', '--out', out, '--force'],
                                       check=True, capture_output=True)
                        n, triad, seventh = measure(out, chords)
                        tones.append(triad / max(n, 1))
                        sevenths.append(seventh / max(n, 1))
                        density.append(n / BARS)
                print(f'{package:28s} {role:8s} chord tones {st.mean(tones):.3f} '
                      f'(with sevenths {st.mean(sevenths):.3f})  notes a bar {st.mean(density):.2f}', flush=True)


if __name__ == '__main__':
    main()
