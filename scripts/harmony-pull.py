#!/usr/bin/env python3
"""A role's chord tones over held chords at each Harmony pull (models/README.md, "Chords a role
never learned").

    python3 scripts/harmony-pull.py TRAINER PACKAGE ROLE [SEEDS]

Over the progression of `scripts/played-chords.py` held a bar at a time (16 bars, 120 BPM), runs
`TRAINER generate PACKAGE --role ROLE --input FILE --seed 1..SEEDS --harmony H` for H in 0, 0.24
(the plugin's default before a tuned one), 1, 2 and 4 nats, and prints the share of the notes that
are tones of the bar's chord, with each seed's. Needs `pip install mido`.
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

spec = importlib.util.spec_from_file_location('played', os.path.join(os.path.dirname(__file__), 'played-chords.py'))
played = importlib.util.module_from_spec(spec)
spec.loader.exec_module(played)


def main():
    trainer, package, role = sys.argv[1:4]
    seeds = int(sys.argv[4]) if len(sys.argv) > 4 else 6
    with tempfile.TemporaryDirectory() as tmp:
        held = os.path.join(tmp, 'held.mid')
        played.write_input('held', held)
        for harmony in ['0', '0.24', '1', '2', '4']:
            n = fit = 0
            each = []
            for seed in range(1, seeds + 1):
                out = os.path.join(tmp, 'out.mid')
                subprocess.run([trainer, 'generate', package, '--role', role, '--input', held, '--bars', '16',
                                '--tempo', '120', '--seed', str(seed), '--harmony', harmony, '--out', out, '--force'],
                               check=True, capture_output=True)
                a, b, _ = played.measure(out)
                n, fit = n + a, fit + b
                each.append(round(b / max(a, 1), 2))
            print(f'{package} {role} Harmony {harmony}: chord tones {fit / max(n, 1):.2f} {each}', flush=True)


if __name__ == '__main__':
    main()
