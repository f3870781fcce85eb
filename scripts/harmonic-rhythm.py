#!/usr/bin/env python3
"""Notes a bar by harmonic rhythm and tempo, soloists against the model (models/README.md, "The
harmonic rhythm at every token").

    META=1 SAMPLING=model SEED=1 PIECES=2000 \\
        target/release/examples/piece_density data/jazz-wj train <package> lead > meta-1.txt
    python3 scripts/harmonic-rhythm.py meta-1.txt [meta-2.txt ...]

Reads `piece_density`'s output with `META=1` (each piece's line follows a line giving its meter,
styles and chord changes a bar), pools the pieces of every file given (one per seed), and prints
the mean notes a bar of the humans and of the model over slow harmony (at most 0.6 changes a
bar), fast changes at ballad tempos (1.5 or more below 120 BPM) and the rest, then the same by
tempo and harmonic rhythm together.
"""
import re
import sys

META = re.compile(r'\s*(\d+) meter \S+ styles .* changes/bar ([\d.]+)')
TEMPI = [('below 120 BPM', 0, 120), ('120-180 BPM', 120, 180), ('180-240 BPM', 180, 240),
         ('240 BPM and up', 240, 10_000)]
RHYTHMS = [('at most 0.6', lambda c: c <= 0.6), ('0.6 to 1.5', lambda c: 0.6 < c < 1.5),
           ('1.5 or more', lambda c: c >= 1.5)]


def pieces(paths):
    """(bpm, changes a bar, human notes a bar, model notes a bar) of every piece."""
    for path in paths:
        changes = None
        for line in open(path):
            m = META.match(line)
            if m:
                changes = float(m.group(2))
                continue
            f = line.split()
            if changes is not None and len(f) >= 7 and f[0].isdigit():
                yield float(f[1]), changes, float(f[3]), float(f[4])
                changes = None


def row(name, sel):
    if not sel:
        return
    h = sum(p[2] for p in sel) / len(sel)
    g = sum(p[3] for p in sel) / len(sel)
    print(f'{name:44s} {len(sel):5d} {h:8.2f} {g:8.2f} {(g / h - 1) * 100:+7.1f} %')


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ps = list(pieces(sys.argv[1:]))
    print(f'{"pieces":44s} {"n":>5s} {"human":>8s} {"model":>8s}')
    row('slow harmony (at most 0.6 changes a bar)', [p for p in ps if p[1] <= 0.6])
    row('fast changes (1.5 or more) below 120 BPM', [p for p in ps if p[1] >= 1.5 and p[0] < 120])
    row('the rest', [p for p in ps if p[1] > 0.6 and not (p[1] >= 1.5 and p[0] < 120)])
    row('all', ps)
    print()
    for tempo, lo, hi in TEMPI:
        for name, keep in RHYTHMS:
            row(f'{tempo}, {name} changes a bar', [p for p in ps if lo <= p[0] < hi and keep(p[1])])


if __name__ == '__main__':
    main()
