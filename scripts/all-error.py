#!/usr/bin/env python3
"""Every metric of the music report from `piece_density` tables printed with `ALL=1`, the mean
over seeds, and the mean |relative error| over the metrics whose human value is 0.05 or more
(how far a role is from its humans over all of them at once; models/README.md, "The soloist's
phrasing" and "A soloist's fast notes").

    python3 scripts/all-error.py "shipped=a-1.txt,a-2.txt" "candidate=b-1.txt,b-2.txt" ...

Each argument is a name and the tables of one package (seeds, or ways of playing the pieces: the
error is taken over the mean of the tables given). Prints each metric, human then each package,
the error and the count of metrics more than 15 % off, and the notes a sounding beat (notes a bar
over the beats of a 4/4 bar that sound).
"""
import sys


def read(path):
    """{metric: (human, model)} of one table's `ALL=1` summary."""
    out, on = {}, False
    for line in open(path):
        t = line.split()
        if t[:3] == ["metric", "human", "model"]:
            on = True
            continue
        if on and len(t) == 3:
            out[t[0]] = (float(t[1]), float(t[2]))
    if not out:
        sys.exit(f"{path}: no ALL=1 summary")
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs = []
    for arg in sys.argv[1:]:
        name, files = arg.split("=", 1)
        tables = [read(f) for f in files.split(",")]
        keys = [k for k in tables[0] if all(k in t for t in tables)]
        human = {k: sum(t[k][0] for t in tables) / len(tables) for k in keys}
        model = {k: sum(t[k][1] for t in tables) / len(tables) for k in keys}
        runs.append((name, human, model))
    keys = list(runs[0][1])
    print(f"{'metric':20} {'human':>8} " + " ".join(f"{n[:18]:>18}" for n, _, _ in runs))
    for k in keys:
        h = runs[0][1][k]
        cells = []
        for _, hu, mo in runs:
            m = mo.get(k, float("nan"))
            rel = f"{m / hu[k] - 1:+.0%}" if hu.get(k) else ""
            cells.append(f"{m:9.3f} {rel:>8}")
        print(f"{k:20} {h:8.3f} " + " ".join(cells))
    for name, hu, mo in runs:
        errs = [abs(mo[k] / hu[k] - 1) for k in hu if hu[k] >= 0.05 and k in mo]
        off = sum(e > 0.15 for e in errs)
        nsb = lambda d: d["notes_per_bar"] / (4 * (1 - d["empty_beats"]))
        print(
            f"{name}: mean error {sum(errs) / len(errs):.3f} over {len(errs)} metrics, {off} more than 15 % off; "
            f"notes a sounding beat {nsb(mo):.2f} (human {nsb(hu):.2f})"
        )


if __name__ == "__main__":
    main()
