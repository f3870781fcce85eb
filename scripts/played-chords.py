#!/usr/bin/env python3
"""What the band and the jazz lead play over the ways a user plays a progression (models/README.md,
"What the plugin hears as a chord").

    python3 scripts/played-chords.py TRAINER [SEEDS [jazz|rock]]

Over "C Am F G C Am Dm7 G7" (16 bars, 120 BPM), writes a MIDI file for each way of playing it:
block chords held a bar from C3, struck together or spread as a hand strikes them (each key about
12 ms after the one below); the same with a melody on top; the chords broken upwards one key
at a time in quarter notes, in eighth notes, in eighth notes each held into the next (legato), and
in eighth notes under the sustain pedal changed on each bar line; the melody alone; and a walking
bass (root, third, fifth and a chromatic step into the next root, in quarter notes). Generates
the band's bass and comping (8beat and swing) and the jazz lead over each with `TRAINER generate
builtin:<model> --role R --input FILE --bars 16 --tempo 120 --seed 1..SEEDS --harmony 0` (the
plugin's input follower), and prints the share of the generated notes that are tones of the bar's
chord, the notes a bar and the share on the chord's root. With `jazz`: a jazz pianist's left hand
over "Dm7 G7 Cmaj7 A7", in root position, rootless (the third or the seventh at
the bottom, with the ninth and the thirteenth) and as guide tones (the third and the seventh
alone), and rootless with a key of the chord on top (both hands), each held a bar and comped
in rhythm (struck on beat 1 and the "and" of 2; its keys together, or spread about 12 ms apart
from the lowest), under the
band's swing bass and comping, the jazz lead and the jazz bass. With `rock`: a
rock player's power chords E5 G5 A5 C5 (root, fifth, octave) under the band's bass and comping in
rock and 8beat, against the major triads. `MANNERS='melody alone;held'`: those ways of playing
only. Needs `pip install mido`.
"""
import os
import subprocess
import sys
import tempfile

import mido

PROGRESSION = "C Am F G C Am Dm7 G7 C Am F G C Am F C".split()
TONES = {'C': [0, 4, 7], 'Am': [9, 0, 4], 'F': [5, 9, 0], 'G': [7, 11, 2], 'Dm7': [2, 5, 9, 0],
         'G7': [7, 11, 2, 5]}
# The melody: (pitch or None for a rest, beats) per bar.
MELODY = [
    [(64, 1), (67, 1), (72, 1.5), (71, .5)], [(69, 2), (72, 1), (None, 1)],
    [(65, 1), (69, 1), (72, 1), (69, 1)], [(67, 3), (None, 1)],
    [(64, .5), (65, .5), (67, 1), (72, 1), (67, 1)], [(69, 1), (64, 1), (60, 2)],
    [(62, 1), (65, 1), (69, 1), (67, 1)], [(67, 2), (65, 1), (62, 1)],
    [(64, 1), (67, 1), (72, 2)], [(69, 1.5), (71, .5), (72, 1), (76, 1)],
    [(77, 1), (76, 1), (74, 1), (72, 1)], [(71, 2), (67, 1), (None, 1)],
    [(72, 1), (71, 1), (69, 1), (67, 1)], [(69, 1), (72, 1), (69, 1), (64, 1)],
    [(65, 1), (69, 1), (67, 1), (65, 1)], [(64, 3), (None, 1)],
]
VOICING = {'C': [48, 52, 55], 'Am': [45, 48, 52], 'F': [41, 45, 48], 'G': [43, 47, 50],
           'Dm7': [50, 53, 57, 60], 'G7': [43, 47, 50, 53]}
BARS = 16
PPQ = 480
# A voicing spread as a hand strikes it: each key 12 ticks (about 12 ms at 120 BPM) after the one
# below, across two of the input follower's ticks.
SPREAD = 12
MANNERS = ['held', 'held, spread', 'held + melody', 'broken, quarters', 'broken, eighths', 'broken, legato eighths',
           'broken, eighths, pedal', 'melody alone', 'walking bass']
PARTS = [('band', 'bass', '8beat'), ('band', 'comping', '8beat'), ('band', 'bass', 'swing'),
         ('band', 'comping', 'swing'), ('jazz-lead', 'lead', None)]


def events(manner):
    """(tick, kind, a, b) of one way of playing: kind 'on', 'off' (note a) or 'cc' (64, value b)."""
    out = []
    if manner in ('held', 'held + melody', 'held, spread'):
        spread = SPREAD if manner == 'held, spread' else 0
        for bar, chord in enumerate(PROGRESSION):
            for k, p in enumerate(VOICING[chord]):
                t = bar * 4 * PPQ + k * spread
                out += [(t, 'on', p, 80), (bar * 4 * PPQ + 4 * PPQ - 10, 'off', p, 0)]
    if manner in ('held + melody', 'melody alone'):
        t = 0
        for bar in MELODY:
            for p, beats in bar:
                if p is not None:
                    out += [(t, 'on', p, 90), (t + int(beats * PPQ) - 20, 'off', p, 0)]
                t += int(beats * PPQ)
    if manner == 'walking bass':
        # Root, third, fifth, and a chromatic step into the next bar's root, in quarter notes.
        def root_of(chord):
            return 36 + (VOICING[chord][0] - 36) % 12
        for bar, chord in enumerate(PROGRESSION):
            root, tones = root_of(chord), TONES[chord]
            third, fifth = (tones[1] - tones[0]) % 12, (tones[2] - tones[0]) % 12
            after = root_of(PROGRESSION[(bar + 1) % BARS])
            approach = after + 1 if after < root + fifth else after - 1
            for k, p in enumerate([root, root + third, root + fifth, approach]):
                t = bar * 4 * PPQ + k * PPQ
                out += [(t, 'on', p, 85), (t + PPQ - 40, 'off', p, 0)]
    if manner.startswith('broken'):
        step = PPQ if 'quarters' in manner else PPQ // 2
        for bar, chord in enumerate(PROGRESSION):
            tones = VOICING[chord] + [p + 12 for p in VOICING[chord]]
            for k, t in enumerate(range(bar * 4 * PPQ, (bar + 1) * 4 * PPQ, step)):
                length = step + 60 if 'legato' in manner else step - 30
                out += [(t, 'on', tones[k % len(tones)], 80), (t + length, 'off', tones[k % len(tones)], 0)]
            if 'pedal' in manner:
                out += [(bar * 4 * PPQ, 'cc', 64, 0), (bar * 4 * PPQ + 5, 'cc', 64, 127)]
    return out


# A jazz pianist's left hand over ii-V-I-VI in C (`jazz` on the command line): voicings from C3.
JAZZ = "Dm7 G7 Cmaj7 A7".split()
JAZZ_TONES = {'Dm7': [2, 5, 9, 0], 'G7': [7, 11, 2, 5], 'Cmaj7': [0, 4, 7, 11], 'A7': [9, 1, 4, 7]}
JAZZ_VOICINGS = {
    'root position': {'Dm7': [50, 53, 57, 60], 'G7': [43, 47, 50, 53], 'Cmaj7': [48, 52, 55, 59],
                      'A7': [45, 49, 52, 55]},
    # Rootless: the third or the seventh at the bottom, with the ninth (and the thirteenth).
    'rootless': {'Dm7': [53, 57, 60, 64], 'G7': [53, 57, 59, 64], 'Cmaj7': [52, 55, 59, 62],
                 'A7': [55, 59, 61, 66]},
    # The third and the seventh alone.
    'guide tones': {'Dm7': [53, 60], 'G7': [53, 59], 'Cmaj7': [52, 59], 'A7': [55, 61]},
    # Both hands: the rootless voicing, and a key of its chord an octave or more above it.
    'rootless + top note': {'Dm7': [53, 57, 60, 64, 74], 'G7': [53, 57, 59, 64, 71],
                            'Cmaj7': [52, 55, 59, 62, 72], 'A7': [55, 59, 61, 66, 73]},
}
# Each again comped in rhythm, as a pianist comps (the Charleston: beat 1, then the "and" of 2),
# with its keys struck together or spread as a hand strikes them (SPREAD).
JAZZ_VOICINGS.update({f'{m}, comped{s}': v for m, v in list(JAZZ_VOICINGS.items()) for s in ['', ', spread']})
COMPED = [(0, 1.4), (1.5, 2.4)]
JAZZ_PARTS = [('band', 'bass', 'swing'), ('band', 'comping', 'swing'), ('jazz-lead', 'lead', None),
              ('jazz-lead', 'bass', None)]
# A rock player's power chords (`rock`): E5 G5 A5 C5, the root, the fifth and the octave from E2.
ROCK = "E G A C".split()
ROCK_TONES = {'E': [4, 8, 11], 'G': [7, 11, 2], 'A': [9, 1, 4], 'C': [0, 4, 7]}
ROCK_VOICINGS = {'power chords': {c: [40 + (r[0] - 4) % 12 + i for i in (0, 7, 12)] for c, r in ROCK_TONES.items()}}
ROCK_PARTS = [('band', 'bass', 'rock'), ('band', 'comping', 'rock'), ('band', 'bass', '8beat'),
              ('band', 'comping', '8beat')]
MODES = {'jazz': (JAZZ, JAZZ_TONES, JAZZ_VOICINGS, JAZZ_PARTS), 'rock': (ROCK, ROCK_TONES, ROCK_VOICINGS, ROCK_PARTS)}


def held_events(mode, manner):
    chords, _, voicings, _ = MODES[mode]
    out = []
    rhythm = COMPED if ', comped' in manner else [(0, 4 - 10 / PPQ)]
    spread = SPREAD if manner.endswith(', spread') else 0
    for bar in range(BARS):
        for k, p in enumerate(sorted(voicings[manner][chords[bar % len(chords)]])):
            for start, beats in rhythm:
                t = bar * 4 * PPQ + int(start * PPQ) + k * spread
                out += [(t, 'on', p, 80), (t + int(beats * PPQ), 'off', p, 0)]
    return out


def write_input(manner, path, mode=None):
    m = mido.MidiFile(ticks_per_beat=PPQ)
    track = mido.MidiTrack()
    m.tracks.append(track)
    track.append(mido.MetaMessage('set_tempo', tempo=mido.bpm2tempo(120)))
    # At one tick: the pedal, note-offs, then note-ons.
    order = {'cc': 0, 'off': 1, 'on': 2}
    last = 0
    played = held_events(mode, manner) if mode else events(manner)
    for tick, kind, a, b in sorted(played, key=lambda e: (e[0], order[e[1]], e[2])):
        if kind == 'cc':
            msg = mido.Message('control_change', control=a, value=b, time=tick - last)
        else:
            msg = mido.Message('note_on' if kind == 'on' else 'note_off', note=a, velocity=b, time=tick - last)
        track.append(msg)
        last = tick
    m.save(path)


def onsets(path, generated=True):
    """(beat, key) of each note-on in a MIDI file: of its generated track ("Sideman <role>"), or
    of every track. Also used by scripts/held-chords.py and scripts/drums-over-chords.py."""
    m = mido.MidiFile(path)
    for track in m.tracks:
        if generated and not track.name.startswith('Sideman '):
            continue
        tick = 0
        for e in track:
            tick += e.time
            if e.type == 'note_on' and e.velocity > 0:
                yield tick / m.ticks_per_beat, e.note


def measure(path, mode=None):
    """(notes, chord tones, roots) of the generated track."""
    n = fit = roots = 0
    for beat, key in onsets(path):
        bar = min(BARS - 1, int(beat // 4))
        if mode:
            chords, all_tones = MODES[mode][:2]
            tones = all_tones[chords[bar % len(chords)]]
        else:
            tones = TONES[PROGRESSION[bar]]
        n += 1
        fit += key % 12 in tones
        roots += key % 12 == tones[0]
    return n, fit, roots


def main():
    trainer = sys.argv[1]
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    mode = sys.argv[3] if len(sys.argv) > 3 else None
    parts, manners = (MODES[mode][3], list(MODES[mode][2])) if mode else (PARTS, MANNERS)
    if os.environ.get('MANNERS'):
        manners = [m for m in manners if m in os.environ['MANNERS'].split(';')]
    print('| chord tones (notes a bar; roots) | ' + ' | '.join(
        f'{model} {role}' + (f' {style}' if style else '') for model, role, style in parts) + ' |')
    print('| --- ' * (len(parts) + 1) + '|')
    with tempfile.TemporaryDirectory() as tmp:
        for i, manner in enumerate(manners):
            played = os.path.join(tmp, f'in{i}.mid')
            write_input(manner, played, mode)
            cells = []
            for model, role, style in parts:
                n = fit = roots = 0
                for seed in range(1, seeds + 1):
                    out = os.path.join(tmp, 'out.mid')
                    cmd = [trainer, 'generate', f'builtin:{model}', '--role', role, '--input', played,
                           '--bars', str(BARS), '--tempo', '120', '--seed', str(seed), '--harmony', '0',
                           '--out', out, '--force']
                    if style:
                        cmd += ['--style', style]
                    subprocess.run(cmd, check=True, capture_output=True)
                    a, b, c = measure(out, mode)
                    n, fit, roots = n + a, fit + b, roots + c
                cells.append(f'{fit / max(n, 1):.2f} ({n / seeds / BARS:.1f}; {roots / max(n, 1):.2f})')
            print(f'| {manner} | ' + ' | '.join(cells) + ' |', flush=True)


if __name__ == '__main__':
    main()
