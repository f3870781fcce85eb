#!/usr/bin/env python3
"""How well the input follower names the chords of the ways a user plays a progression
(models/README.md, "The downbeat and the chord before").

    cargo build --release -p sideman-trainer --example followed
    python3 scripts/followed-chords.py target/release/examples/followed [OTHER_FOLLOWED...] [-v]

Writes scripts/played-chords.py's inputs (C Am F G C Am Dm7 G7... broken, under the pedal, a
melody alone, a walking bass; the jazz pianist's voicings of Dm7 G7 Cmaj7 A7; the power chords),
and three more: the melody under the sustain pedal changed on each bar line, oom-pah (the root
low on beats 1 and 3, the triad an octave up struck together on 2 and 4) and a bass note then the
chord (the root on beat 1, the triad above it held from beat 2).
Runs each `followed` example (the chord in force at every eighth note, as the plugin and `trainer
generate --input` hear the file, bars of 4/4 from tick 0) and prints, for each way of playing, the
share of the eighths whose chord has the right root, and the mean overlap of its pitch classes with
the chord played (|named & played| / |named | played|; none named counts 0). `-v`: the first
eight bars as named. `UP=24`: every way of playing that many semitones higher (a pianist's right
hand: an arpeggio in the treble is still a broken chord, a melody a tune). Needs `pip install mido`.
"""
import os
import subprocess
import sys
import tempfile

from played import played_chords

NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B']
FLATS = {'Db': 1, 'D#': 3, 'Gb': 6, 'G#': 8, 'A#': 10}
QUALITIES = {'': [0, 4, 7], 'm': [0, 3, 7], '7': [0, 4, 7, 10], 'maj7': [0, 4, 7, 11], 'm7': [0, 3, 7, 10],
             'm7b5': [0, 3, 6, 10], 'dim': [0, 3, 6], 'dim7': [0, 3, 6, 9], 'aug': [0, 4, 8], '6': [0, 4, 7, 9],
             'm6': [0, 3, 7, 9], 'sus4': [0, 5, 7], '7sus4': [0, 5, 7, 10], 'mmaj7': [0, 3, 7, 11],
             '7alt': [0, 4, 10, 1, 3, 8], '7#5': [0, 4, 8, 10]}


def parse(symbol):
    """(root, pitch classes) of a chord symbol as `models::chord::Chord` prints it; None for '-'."""
    if symbol == '-':
        return None
    root = symbol[:2] if len(symbol) > 1 and symbol[1] in '#b' else symbol[:1]
    pc = NAMES.index(root) if root in NAMES else FLATS[root]
    return pc, {(pc + i) % 12 for i in QUALITIES[symbol[len(root):]]}


def more_manners(pc):
    """Oom-pah and a bass note then the chord, over pc's progression."""
    base = pc.events

    def events(manner):
        if manner == 'melody, pedal':
            # The melody alone under the sustain pedal, changed on each bar line.
            bars = range(0, pc.BARS * 4 * pc.PPQ, 4 * pc.PPQ)
            return base('melody alone') + [e for t in bars for e in ((t, 'cc', 64, 0), (t + 5, 'cc', 64, 127))]
        if manner not in ('oom-pah', 'bass then chord'):
            return base(manner)
        out, q = [], pc.PPQ
        for bar, chord in enumerate(pc.PROGRESSION):
            voicing = pc.VOICING[chord]
            root = 36 + (voicing[0] - 36) % 12
            if manner == 'oom-pah':
                for k in range(4):
                    t = bar * 4 * q + k * q
                    for p in [root] if k % 2 == 0 else [p + 12 for p in voicing]:
                        out += [(t, 'on', p, 80), (t + q - 30, 'off', p, 0)]
            else:
                t = bar * 4 * q
                out += [(t, 'on', root, 80), (t + q - 30, 'off', root, 0)]
                for p in voicing:
                    out += [(t + q, 'on', p + 12, 80), (t + 4 * q - 20, 'off', p + 12, 0)]
        return out
    pc.events = events


def moved_up(pc, semitones):
    """Every way of playing `semitones` higher."""
    events, held = pc.events, pc.held_events

    def up(played):
        return [(t, kind, a + semitones if kind != 'cc' else a, b) for t, kind, a, b in played]
    pc.events = lambda manner: up(events(manner))
    pc.held_events = lambda mode, manner: up(held(mode, manner))


def main():
    args = [a for a in sys.argv[1:] if a != '-v']
    verbose = '-v' in sys.argv
    pc = played_chords()
    more_manners(pc)
    moved_up(pc, int(os.environ.get('UP', '0')))
    cases = [(m, None, pc.PROGRESSION, pc.TONES) for m in
             ['broken, quarters', 'broken, eighths', 'broken, legato eighths', 'broken, eighths, pedal',
              'melody alone', 'melody, pedal', 'walking bass', 'oom-pah', 'bass then chord']]
    for mode in ['jazz', 'rock']:
        chords, tones, voicings, _ = pc.MODES[mode]
        cases += [(m, mode, chords, tones) for m in voicings]
    print('| way of playing | ' + ' | '.join(f'root, tones ({os.path.basename(os.path.dirname(os.path.dirname(a)) or a)})' for a in args) + ' |')
    print('| --- |' + ' --- |' * len(args))
    totals = [[0.0, 0.0] for _ in args]
    with tempfile.TemporaryDirectory() as d:
        for manner, mode, chords, tones in cases:
            path = os.path.join(d, 'in.mid')
            pc.write_input(manner, path, mode)
            cells, shown = [], []
            for i, example in enumerate(args):
                named = subprocess.run([example, path, str(pc.BARS)], capture_output=True, text=True,
                                       check=True).stdout.split('\n')
                root = overlap = n = 0
                for bar in range(pc.BARS):
                    played = chords[bar % len(chords)]
                    pcs = set(tones[played])
                    for symbol in named[bar].split():
                        c = parse(symbol)
                        n += 1
                        if c:
                            root += c[0] == tones[played][0]
                            overlap += len(c[1] & pcs) / len(c[1] | pcs)
                cells.append(f'{root / n:.2f}, {overlap / n:.2f}')
                totals[i][0] += root / n
                totals[i][1] += overlap / n
                shown.append(named[:8])
            print(f'| {manner}{" (" + mode + ")" if mode else ""} | ' + ' | '.join(cells) + ' |')
            if verbose:
                for bar in range(8):
                    print('    ', chords[bar % len(chords)].ljust(6), ' || '.join(s[bar] for s in shown))
    print('| mean | ' + ' | '.join(f'{r / len(cases):.3f}, {o / len(cases):.3f}' for r, o in totals) + ' |')


if __name__ == '__main__':
    main()
