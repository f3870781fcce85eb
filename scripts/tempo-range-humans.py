#!/usr/bin/env python3
"""What would a model that knew the tempo, or the player, perfectly play on a held-out split?
(models/README.md, "What a 25-solo test split can show")

    python3 scripts/tempo-range-humans.py TRAIN_TABLE TEST_TABLE

Both tables are outputs of the `piece_density` example (one line a piece: its tempo, then its
human and model value of two metrics), over the training pieces and over the held-out ones. For
each of the two metrics it prints the held-out humans' mean, the training humans' mean, and the
mean over the held-out pieces of the training humans in each one's tempo range (the example's
ranges: below 100, 140, 180, 220 BPM and above), and of the same player's training pieces (a
WJazzD file `Performer_Tune[-take]_FINAL.csv` names its soloist; the training mean where the
player has none), with how far each is from the held-out humans.
"""
import sys

RANGES = [100.0, 140.0, 180.0, 220.0, float("inf")]


def table(path):
    """The header's two metric names and each piece's (bpm, human 1, human 2, player)."""
    names, rows = None, []
    for line in open(path):
        t = line.split()
        if not t:
            continue
        if t[0] == "piece":
            names = [t[i + 1] for i, x in enumerate(t) if x == "human"]
            continue
        if t[0] == "below":
            break
        if t[0].isdigit() and names:
            player = t[-1].split("/")[-1].split("_")[0]
            rows.append((float(t[1]), float(t[3]), float(t[5]), player))
    if names is None:
        sys.exit(f"{path}: no piece_density table")
    return names, rows


def tempo_range(bpm):
    return next(i for i, upper in enumerate(RANGES) if bpm < upper)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    names, train = table(sys.argv[1])
    _, held = table(sys.argv[2])
    for k, name in enumerate(names[:2]):
        col = 1 + k
        human = sum(r[col] for r in held) / len(held)
        everyone = sum(r[col] for r in train) / len(train)
        per_piece = []
        for r in held:
            same = [x[col] for x in train if tempo_range(x[0]) == tempo_range(r[0])]
            per_piece.append(sum(same) / len(same) if same else everyone)
        in_range = sum(per_piece) / len(per_piece)
        by_player = []
        for r in held:
            same = [x[col] for x in train if x[3] == r[3]]
            by_player.append(sum(same) / len(same) if same else everyone)
        player = sum(by_player) / len(by_player)
        print(
            f"{name}: held-out humans {human:.4f}; training humans {everyone:.4f} ({everyone / human - 1:+.0%}), "
            f"in each held-out piece's tempo range {in_range:.4f} ({in_range / human - 1:+.0%}), "
            f"of its player {player:.4f} ({player / human - 1:+.0%})"
        )


if __name__ == "__main__":
    main()
