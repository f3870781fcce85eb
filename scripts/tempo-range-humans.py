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

import piece_table

RANGES = [100.0, 140.0, 180.0, 220.0, float("inf")]


def tempo_range(bpm):
    return next(i for i, upper in enumerate(RANGES) if bpm < upper)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    names, train = piece_table.read(sys.argv[1])
    _, held = piece_table.read(sys.argv[2])
    for k, name in enumerate(names):
        human = sum(r["human"][k] for r in held) / len(held)
        everyone = sum(r["human"][k] for r in train) / len(train)

        def guess(alike):
            # The mean over the held-out pieces of the training humans alike to each (the
            # corpus's where none is).
            out = []
            for r in held:
                same = [x["human"][k] for x in train if alike(x, r)]
                out.append(sum(same) / len(same) if same else everyone)
            return sum(out) / len(out)

        in_range = guess(lambda x, r: tempo_range(x["bpm"]) == tempo_range(r["bpm"]))
        player = guess(lambda x, r: piece_table.player(x["file"]) == piece_table.player(r["file"]))
        print(
            f"{name}: held-out humans {human:.4f}; training humans {everyone:.4f} ({everyone / human - 1:+.0%}), "
            f"in each held-out piece's tempo range {in_range:.4f} ({in_range / human - 1:+.0%}), "
            f"of its player {player:.4f} ({player / human - 1:+.0%})"
        )


if __name__ == "__main__":
    main()
