#!/usr/bin/env python3
"""Which earlier bar a part plays again where a phrase of the changes comes round (models/README.md,
"Where a figure comes from"), human beside model: the latest time, as the memories of the changes
and of a phrase come round recall it, or any time.

    REPORT_PIECES=1 ALL=1 BARS=64 SAMPLING=model SEED=1 DUMP=-1 DUMPN=4000 PIECES=4000 \\
      target/release/examples/piece_density data/lieder-chords train <package> piano 6 > dump.txt
    python3 scripts/bar-lags.py dump.txt

For each bar of each piece (its meter from the dump) whose chords, and the chords of the bar
before, are those of the two bars some whole number of bars back (compared every 8th, as
`models::memory::changes::phrase_lag` does; not one chord held through both), prints how often
the part plays the bar of the latest time again note for note (the same pitches at the same
places) where that was 16 bars back or fewer and where it was further; then, where the phrase
came round at two lags or more, how often it plays the bar of the latest time again, of the time
before, of the furthest, and of any; then lag by lag; then, in the first 16 bars (the music
report's), how often it plays a bar again where its changes came round, split by whether the bar
before came round with it (a phrase) or not.
"""
import sys
from collections import defaultdict

STEP = 0.5  # an 8th note, in beats


def pieces(path):
    piece = {}
    for line in open(path):
        if line.startswith("meter:"):
            num, den = line.split()[1].split("/")
            piece = {"bar": int(num) * 4 / int(den)}
        elif line.startswith("human:") or line.startswith("model:"):
            notes = []
            for item in line.split()[1:]:
                onset, rest = item.split(":")
                notes.append((float(onset), int(rest.split("/")[0])))
            piece[line.split(":")[0]] = notes
        elif line.startswith("chords:") and "human" in piece:
            piece["chords"] = sorted((float(a), b) for a, b in (item.split(":", 1) for item in line.split()[1:]))
            yield piece


def chord_at(chords, t):
    current = None
    for start, name in chords:
        if start > t + 1e-9:
            break
        current = name
    return current


def bar_contents(notes, bar):
    """Each bar's notes as a set of (place in twelfths of a beat, pitch): two bars are the same
    bar played again when their sets are equal."""
    content = defaultdict(set)
    for t, pitch in notes:
        content[int(t // bar)].add((round((t % bar) * 12), pitch))
    return content


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    all_pieces = list(pieces(sys.argv[1]))
    for who in ["human", "model"]:
        by_lag = defaultdict(lambda: [0, 0])
        policy = defaultdict(lambda: [0, 0])
        for p in all_pieces:
            bar, notes, chords = p["bar"], p[who], p["chords"]
            bars = int(max((t for t, _ in notes), default=0) // bar) + 1
            content = bar_contents(notes, bar)
            steps = int(round(2 * bar / STEP))
            # The chords of bars b-1 and b, every 8th.
            sig = {
                b: tuple(chord_at(chords, (b - 1) * bar + k * STEP) for k in range(steps))
                for b in range(1, bars)
            }
            for b in range(2, bars):
                if len(set(sig[b])) < 2 or not content[b]:
                    continue
                lags = [k for k in range(1, b) if sig.get(b - k) == sig[b] and content[b - k]]
                for k in lags:
                    by_lag[min(k, 33)][0] += 1
                    by_lag[min(k, 33)][1] += content[b] == content[b - k]
                if lags and lags[0] > 16:
                    policy["latest, more than 16 bars back"][0] += 1
                    policy["latest, more than 16 bars back"][1] += content[b] == content[b - lags[0]]
                elif lags:
                    policy["latest, 16 bars back or fewer"][0] += 1
                    policy["latest, 16 bars back or fewer"][1] += content[b] == content[b - lags[0]]
                if len(lags) >= 2:
                    for name, k in [("latest", lags[0]), ("second latest", lags[1]), ("furthest", lags[-1])]:
                        policy[name][0] += 1
                        policy[name][1] += content[b] == content[b - k]
                    policy["any"][0] += 1
                    policy["any"][1] += any(content[b] == content[b - k] for k in lags)
        print(f"{who}: the bar again, where the phrase came round " + ", ".join(
            f"{name} {v[1] / max(1, v[0]):.3f} ({v[0]} bars)" for name, v in policy.items() if "16" in name))
        print(f"  where it came round at two lags or more ({policy['latest'][0]} bars), the bar of the "
              + ", ".join(f"{name} {v[1] / max(1, v[0]):.3f}" for name, v in policy.items() if "16" not in name))
        print("  by lag (bars: share again / bars): "
              + " ".join(f"{k}: {v[1] / v[0]:.2f}/{v[0]}" for k, v in sorted(by_lag.items()) if v[0] >= 20))
        first = first_bars(all_pieces, who)
        print("  in the first 16 bars, where a bar's changes came round (the report's bars played again): "
              + ", ".join(f"{name} {v[1] / max(1, v[0]):.3f} ({v[0]} bars)" for name, v in first.items()))


def first_bars(all_pieces, who, bars=16):
    """In each piece's first `bars` bars, where the chords of a bar are those of a bar up to 16
    back (the latest such, as the report's "bars played again" takes it): how often `who` plays
    that bar again, where the bar before came round too at the same lag (a phrase, not one chord
    held) and where only the bar did."""
    out = {"the phrase too": [0, 0], "the bar only": [0, 0]}
    for p in all_pieces:
        bar, notes, chords = p["bar"], p[who], p["chords"]
        content = bar_contents(notes, bar)
        steps = int(round(bar / STEP))
        sig = {b: tuple(chord_at(chords, b * bar + k * STEP) for k in range(steps)) for b in range(bars)}
        for b in range(1, bars):
            lags = [k for k in range(1, min(b, 16) + 1) if sig[b - k] == sig[b]]
            if not lags or not content[b - lags[0]]:
                continue
            d = lags[0]
            phrase = b - 1 - d >= 0 and sig[b - 1 - d] == sig[b - 1] and len(set(sig[b - 1] + sig[b])) >= 2
            kind = out["the phrase too" if phrase else "the bar only"]
            kind[0] += 1
            kind[1] += content[b] == content[b - d]
    return out


if __name__ == "__main__":
    main()
