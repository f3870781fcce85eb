#!/usr/bin/env python3
"""The band over held-out tunes played alone (models/README.md, "A tune played alone").

    cargo run --release -p sideman-trainer --example tune_sheets -- data/openewld test SHEETS 16
    python3 scripts/band-over-tunes.py TRAINER SHEETS [SEEDS]

For each tune the `tune_sheets` example wrote (its melody as a MIDI file, its lead sheet's chords
beside it), generates the band's bass and comping in 8beat and swing over the melody alone
(`TRAINER generate builtin:band --role R --style S --input TUNE --bars B --tempo T --meter N/D
--seed 1..SEEDS --harmony 0`, the plugin's input follower) and prints the share of the generated
notes that are tones of the chord the lead sheet writes there (notes under no written chord left
out), the notes a bar and the share on the written chord's root. Needs `pip install mido`.
"""
import os
import subprocess
import sys
import tempfile

from played import played_chords

PARTS = [('bass', '8beat'), ('comping', '8beat'), ('bass', 'swing'), ('comping', 'swing')]


def sheet(path):
    """(numerator, denominator, bpm, bars, [(beat, pitch classes or None)])."""
    with open(path) as f:
        lines = f.read().split('\n')
    num, den, bpm, bars = lines[0].split()
    chords = []
    for line in lines[1:]:
        if line.strip():
            beat, *pcs = line.split()
            chords.append((float(beat), None if pcs == ['-'] else [int(p) for p in pcs]))
    return int(num), int(den), float(bpm), int(bars), chords


def written_at(chords, beat):
    now = None
    for start, pcs in chords:
        if start <= beat + 1e-6:
            now = pcs
    return now


def main():
    trainer, sheets = sys.argv[1], sys.argv[2]
    seeds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    onsets = played_chords().onsets
    tunes = sorted((f[:-4] for f in os.listdir(sheets) if f.endswith('.txt')), key=int)
    totals = {p: [0, 0, 0, 0.0] for p in PARTS}
    with tempfile.TemporaryDirectory() as tmp:
        for t in tunes:
            num, den, bpm, bars, chords = sheet(os.path.join(sheets, t + '.txt'))
            for role, style in PARTS:
                for seed in range(1, seeds + 1):
                    out = os.path.join(tmp, 'out.mid')
                    subprocess.run([trainer, 'generate', 'builtin:band', '--role', role, '--style', style,
                                    '--input', os.path.join(sheets, t + '.mid'), '--bars', str(bars),
                                    '--tempo', f'{bpm:.1f}', '--meter', f'{num}/{den}', '--seed', str(seed),
                                    '--harmony', '0', '--out', out, '--force'], check=True, capture_output=True)
                    total = totals[(role, style)]
                    for beat, key in onsets(out):
                        pcs = written_at(chords, beat)
                        if pcs is None:
                            continue
                        total[0] += 1
                        total[1] += key % 12 in pcs
                        total[2] += key % 12 == pcs[0]
                    total[3] += bars
    print(f'| {len(tunes)} tunes, {seeds} seeds | ' + ' | '.join(f'band {r} {s}' for r, s in PARTS) + ' |')
    print('| --- ' * (len(PARTS) + 1) + '|')
    cells = []
    for p in PARTS:
        n, fit, roots, bars = totals[p]
        cells.append(f'{fit / max(n, 1):.3f} ({n / max(bars, 1):.1f}; {roots / max(n, 1):.2f})')
    print(f'| {trainer} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
