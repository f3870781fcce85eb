#!/usr/bin/env python3
"""What the band and the jazz lead play over the ways a user plays a progression (models/README.md,
"What the plugin hears as a chord").

    python3 scripts/played-chords.py TRAINER [SEEDS]

Over "C Am F G C Am Dm7 G7" (16 bars, 120 BPM), writes a MIDI file for each way of playing it:
block chords held a bar from C3; the same with a melody on top; the chords broken upwards one key
at a time in quarter notes, in eighth notes, in eighth notes each held into the next (legato), and
in eighth notes under the sustain pedal changed on each bar line; and the melody alone. Generates
the band's bass and comping (8beat and swing) and the jazz lead over each with `TRAINER generate
builtin:<model> --role R --input FILE --bars 16 --tempo 120 --seed 1..SEEDS --harmony 0` (the
plugin's input follower), and prints the share of the generated notes that are tones of the bar's
chord, and the notes a bar. Needs `pip install mido`.
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
MANNERS = ['held', 'held + melody', 'broken, quarters', 'broken, eighths', 'broken, legato eighths',
           'broken, eighths, pedal', 'melody alone']
PARTS = [('band', 'bass', '8beat'), ('band', 'comping', '8beat'), ('band', 'bass', 'swing'),
         ('band', 'comping', 'swing'), ('jazz-lead', 'lead', None)]


def events(manner):
    """(tick, kind, a, b) of one way of playing: kind 'on', 'off' (note a) or 'cc' (64, value b)."""
    out = []
    if manner in ('held', 'held + melody'):
        for bar, chord in enumerate(PROGRESSION):
            for p in VOICING[chord]:
                out += [(bar * 4 * PPQ, 'on', p, 80), (bar * 4 * PPQ + 4 * PPQ - 10, 'off', p, 0)]
    if manner in ('held + melody', 'melody alone'):
        t = 0
        for bar in MELODY:
            for p, beats in bar:
                if p is not None:
                    out += [(t, 'on', p, 90), (t + int(beats * PPQ) - 20, 'off', p, 0)]
                t += int(beats * PPQ)
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


def write_input(manner, path):
    m = mido.MidiFile(ticks_per_beat=PPQ)
    track = mido.MidiTrack()
    m.tracks.append(track)
    track.append(mido.MetaMessage('set_tempo', tempo=mido.bpm2tempo(120)))
    # At one tick: the pedal, note-offs, then note-ons.
    order = {'cc': 0, 'off': 1, 'on': 2}
    last = 0
    for tick, kind, a, b in sorted(events(manner), key=lambda e: (e[0], order[e[1]], e[2])):
        if kind == 'cc':
            msg = mido.Message('control_change', control=a, value=b, time=tick - last)
        else:
            msg = mido.Message('note_on' if kind == 'on' else 'note_off', note=a, velocity=b, time=tick - last)
        track.append(msg)
        last = tick
    m.save(path)


def measure(path):
    """(notes, chord tones) of the generated track ("Sideman <role>")."""
    m = mido.MidiFile(path)
    n = fit = 0
    for track in m.tracks:
        if not track.name.startswith('Sideman '):
            continue
        tick = 0
        for e in track:
            tick += e.time
            if e.type == 'note_on' and e.velocity > 0:
                chord = PROGRESSION[min(BARS - 1, int(tick // (4 * m.ticks_per_beat)))]
                n += 1
                fit += e.note % 12 in TONES[chord]
    return n, fit


def main():
    trainer = sys.argv[1]
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print('| chord tones (notes a bar) | ' + ' | '.join(
        f'{model} {role}' + (f' {style}' if style else '') for model, role, style in PARTS) + ' |')
    print('| --- ' * (len(PARTS) + 1) + '|')
    with tempfile.TemporaryDirectory() as tmp:
        for i, manner in enumerate(MANNERS):
            played = os.path.join(tmp, f'in{i}.mid')
            write_input(manner, played)
            cells = []
            for model, role, style in PARTS:
                n = fit = 0
                for seed in range(1, seeds + 1):
                    out = os.path.join(tmp, 'out.mid')
                    cmd = [trainer, 'generate', f'builtin:{model}', '--role', role, '--input', played,
                           '--bars', str(BARS), '--tempo', '120', '--seed', str(seed), '--harmony', '0',
                           '--out', out, '--force']
                    if style:
                        cmd += ['--style', style]
                    subprocess.run(cmd, check=True, capture_output=True)
                    a, b = measure(out)
                    n, fit = n + a, fit + b
                cells.append(f'{fit / max(n, 1):.2f} ({n / seeds / BARS:.1f})')
            print(f'| {manner} | ' + ' | '.join(cells) + ' |', flush=True)


if __name__ == '__main__':
    main()
