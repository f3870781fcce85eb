#!/usr/bin/env python3
"""Where a walking bass's repeated 4-grams come from (models/README.md, "The jazz bass's figures
come round"), human beside model.

    REPORT_PIECES=1 SAMPLING=model SEED=1 DUMP=-1 DUMPN=1000 METRICS=repetition4,chord_tones PIECES=4000 \
      target/release/examples/piece_density data/jazz-wj train <package> bass > dump.txt
    python3 scripts/bass-figures.py dump.txt

Over each piece's first 16 bars of 4/4 (`BEATS=256`: 64 bars) (one note a beat in the WJazzD bass lines), prints:
- the 4-gram repetition (the music report's: a 4-gram of pitches played earlier in the piece),
  split by the shape of the repeated 4-gram: one pitch four times (`===`), four moving pitches
  (`---`), the rest (a pitch struck again within it);
- of the repeated moving 4-grams, the share whose earlier occurrence is a whole number of bars back;
- for each beat, how often the note there strikes the last pitch again where the note a bar back
  did, and where it did not;
- the runs of four notes or more (not all one pitch) that are the notes a whole number of bars
  back: how many, how long, on which beat they start, and the chance that a run goes on after
  each note past four that a geometric length fits to them, counting every run whole, and the
  same fit with the runs that reach the end of the bars measured counted as cut short there
  (what a figure memory's GO_ON is compared with: models/README.md, "The figure's length").
"""
import os
import sys
from collections import Counter

# 16 bars of 4/4 (the report's); BEATS=256 measures 64 bars of a dump taken with BARS=64.
BEATS = int(os.environ.get("BEATS", 64))


def lines(path, who):
    """Each piece's notes (onset in beats, pitch) of `who` ("human" or "model")."""
    for line in open(path):
        if line.startswith(who + ":"):
            notes = []
            for item in line.split()[1:]:
                onset, rest = item.split(":")
                if float(onset) < BEATS:
                    notes.append((float(onset), int(rest.split("/")[0])))
            yield notes


def figures(path, who):
    shapes, n4, aligned, moving = Counter(), 0, 0, 0
    again = Counter()
    for notes in lines(path, who):
        pitches = [p for _, p in notes]
        first = {}
        for i in range(len(pitches) - 3):
            w = tuple(pitches[i : i + 4])
            n4 += 1
            if w in first:
                shape = "".join("=" if w[j] == w[j + 1] else "-" for j in range(3))
                shapes["===" if shape == "===" else "---" if shape == "---" else "mixed"] += 1
                if shape == "---":
                    moving += 1
                    lag = notes[i][0] - notes[first[w]][0]
                    aligned += abs(lag / 4 - round(lag / 4)) < 1e-6
            first.setdefault(w, i)
        # Notes on the beat: does the note at beat b strike the last pitch again, and did the one
        # a bar back?
        on_beat = {round(t): p for t, p in notes if abs(t - round(t)) < 0.01}
        struck_again = lambda b: on_beat[b] == on_beat[b - 1] if b in on_beat and b - 1 in on_beat else None
        for b in range(5, BEATS):
            now, back = struck_again(b), struck_again(b - 4)
            if now is None or back is None:
                continue
            again[(b % 4, back, "n")] += 1
            again[(b % 4, back, "again")] += now
    shares = " ".join(f"{k} {shapes[k] / n4:.4f}" for k in ["===", "---", "mixed"])
    print(f"{who}: 4-gram repetition {sum(shapes.values()) / n4:.4f} ({shares}); moving 4-grams a whole number of bars back {aligned}/{moving}")
    rate = lambda b, back: again[(b, back, "again")] / max(1, again[(b, back, "n")])
    print(
        "  struck again where a bar back it was / was not: "
        + "  ".join(f"beat {b + 1} {rate(b, True):.2f} / {rate(b, False):.2f}" for b in range(4))
    )


def runs(path, who):
    """The runs of notes played again a whole number of bars back (models::memory::figure)."""
    lengths, starts, cut = Counter(), Counter(), 0
    for notes in lines(path, who):
        on_beat = {round(t): p for t, p in notes if abs(t - round(t)) < 0.01}
        end = min(BEATS, max(on_beat, default=-1) + 1)
        copied = lambda b, lag: b in on_beat and b - lag in on_beat and on_beat[b] == on_beat[b - lag]
        covered = set()
        for b in range(BEATS):
            if b in covered:
                continue
            best = None
            for lag in range(4, b + 1, 4):
                k = 0
                while b + k < BEATS and copied(b + k, lag):
                    k += 1
                moving = len({on_beat[b + j] for j in range(k)}) > 1
                if k >= 4 and moving and (best is None or k > best[0]) and not copied(b - 1, lag):
                    best = (k, lag)
            if best:
                lengths[best[0]] += 1
                cut += b + best[0] >= end
                starts[b % 4 + 1] += 1
                covered.update(range(b, b + best[0]))
    n = sum(lengths.values())
    past = sum((k - 4) * c for k, c in lengths.items())
    extra = past / max(1, n)
    print(
        f"  runs of 4+ notes played again: {n}; lengths {dict(sorted(lengths.items()))}; "
        f"starting on beat {dict(sorted(starts.items()))}; goes on after each note past four {extra / (1 + extra):.2f}"
        f" ({past / max(1, past + n - cut):.3f} with the {cut} runs cut short by the end counted so)"
    )


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for who in ["human", "model"]:
        figures(sys.argv[1], who)
        runs(sys.argv[1], who)


if __name__ == "__main__":
    main()
