#!/usr/bin/env python3
"""Where a walking bass's figures come from (models/README.md, "Where a figure comes from"), human
beside model.

    REPORT_PIECES=1 ALL=1 BARS=64 SAMPLING=model SEED=1 DUMP=-1 DUMPN=1000 PIECES=4000 \\
      target/release/examples/piece_density data/jazz-wj train <package> bass 3 > dump.txt
    python3 scripts/figure-lags.py dump.txt

Over each piece's first 64 bars of 4/4 (one note a beat in the WJazzD bass lines; BEATS=64 for
the report's 16 bars), at each note on a beat where the bar of changes up to it (its chord and
the chords of the four beats before it) is not one chord held and came round a whole number of
bars back, as `models::memory::figure::figure_lags` finds it (chords compared on the beats here,
every 8th there), prints:
- for each of those lags, how often the note is the note the same player played there;
- where it came round at two lags or more within 16 bars, how often it is the note at the
  latest lag, at the second latest, at the furthest within 16 and within 32 bars.
"""
import os
import sys
from collections import defaultdict

BEATS = int(os.environ.get("BEATS", 256))
MAX_LAG_BARS = 63


def notes(line):
    """The notes on a beat of a dump line: {beat: pitch}."""
    out = {}
    for item in line.split()[1:]:
        onset, rest = item.split(":")
        t = float(onset)
        if t < BEATS and abs(t - round(t)) < 0.01:
            out[int(round(t))] = int(rest.split("/")[0])
    return out


def chords(line):
    """The chord symbol in force on each beat of a dump's chords line."""
    events = sorted((float(a), b) for a, b in (item.split(":", 1) for item in line.split()[1:]))
    out, j = [], -1
    for t in range(BEATS):
        while j + 1 < len(events) and events[j + 1][0] <= t + 1e-9:
            j += 1
        out.append(events[j][1] if j >= 0 else None)
    return out


def pieces(path):
    piece = {}
    for line in open(path):
        if line.startswith("human:"):
            piece = {"human": notes(line)}
        elif line.startswith("model:"):
            piece["model"] = notes(line)
        elif line.startswith("chords:") and "human" in piece:
            piece["chords"] = chords(line)
            yield piece


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    all_pieces = list(pieces(sys.argv[1]))
    for who in ["human", "model"]:
        by_lag = defaultdict(lambda: [0, 0])
        policy = defaultdict(lambda: [0, 0])
        for p in all_pieces:
            c, d = p["chords"], p[who]
            for t, pitch in d.items():
                window = c[t - 4 : t + 1] if t >= 4 else None
                if not window or None in window or len(set(window)) < 2:
                    continue
                lags = [
                    k
                    for k in range(1, MAX_LAG_BARS + 1)
                    if t - 4 - 4 * k >= 0 and c[t - 4 - 4 * k : t + 1 - 4 * k] == window and t - 4 * k in d
                ]
                for k in lags:
                    by_lag[k][0] += 1
                    by_lag[k][1] += d[t - 4 * k] == pitch
                if len(lags) < 2 or lags[1] > 16:
                    continue
                for name, k in [
                    ("latest", lags[0]),
                    ("second latest", lags[1]),
                    ("furthest within 16 bars", [k for k in lags if k <= 16][-1]),
                    ("furthest within 32", [k for k in lags if k <= 32][-1]),
                ]:
                    policy[name][0] += 1
                    policy[name][1] += d[t - 4 * k] == pitch
        n = policy["latest"][0]
        print(f"{who}: where the bar came round at two lags or more ({n} notes), the note again at the "
              + ", ".join(f"{name} {v[1] / max(1, v[0]):.3f}" for name, v in policy.items()))
        print("  by lag (bars: share again / notes): "
              + " ".join(f"{k}: {v[1] / v[0]:.2f}/{v[0]}" for k, v in sorted(by_lag.items()) if v[0] >= 100))


if __name__ == "__main__":
    main()
