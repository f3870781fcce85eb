#!/usr/bin/env python3
"""Fits a silence calibration per player on the training pieces, and measures it on held-out ones
(models/README.md, "The soloist's phrasing"); with a fast-note calibration beside it where the
grid has one ("A soloist's fast notes").

    python3 scripts/player-silence.py fit DIR[,DIR...] DATA [MIN_PIECES] [FAST_OUT]  > players.json
    python3 scripts/player-silence.py measure DIR SPLIT players.json [DEFAULT] [FAST_IN]
    python3 scripts/player-silence.py fit-role DIR[,DIR...]

DIR holds `piece_density` tables of one role at a grid of silence calibrations (nats an empty
beat), named `g-s<value>-<split>-<seed>.txt` (`scripts/silence-grid.sh` writes them: the package
with its silence set to each value). `fit` takes, for each player (a WJazzD file
`Performer_Tune[-take]_FINAL.csv` names its soloist) with at least MIN_PIECES (3) training pieces,
the value at which the model's notes a bar and empty beats over that player's training pieces,
the mean of every seed, come closest to the player's own (the sum of the two log ratios squared),
and prints them as JSON by the player's tag in the prepared dataset DATA (`data/jazz-wjp`, whose
headers name the soloist: "Art Pepper" for `ArtPepper`), as `trainer ship --player-silence` reads
them. Given several folders (the pieces played in other ways: over their chords struck, alone),
the value is the one closest over all of them together (the sum of each one's loss). `measure`
plays each piece of SPLIT at its player's value (DEFAULT, the role's shipped silence, where the
player has none) and prints the mean of each metric, human and model, as the music report
compares them (the mean over pieces), beside the same at DEFAULT alone.

Tables named `g-s<value>-f<nats>-<split>-<seed>.txt` (`FAST=<nats> scripts/silence-grid.sh`) are
played with a fast-note calibration as well (a name without `-f` has none: 0). `fit` then chooses
the pair, prints the silence values and writes the fast-note values to FAST_OUT (`trainer ship
--player-fast-notes`); `measure` reads them from FAST_IN (the default pair: DEFAULT and 0).
`fit-role` prints the pair fitted over every training piece at once (the role's, Auto's).
"""
import glob
import json
import math
import os
import re
import sys

import piece_table


def tables(directory, split):
    """{(silence value, fast-note value): [pieces of each seed]} of `split`, and the metric names."""
    out, names = {}, None
    for path in glob.glob(os.path.join(directory, f"g-s*-{split}-*.txt")):
        m = re.fullmatch(rf"g-s(-?[0-9.]+)(?:-f(-?[0-9.]+))?-{split}-([0-9]+)\.txt", os.path.basename(path))
        if not m:
            continue
        names, pieces = piece_table.read(path)
        out.setdefault((float(m.group(1)), float(m.group(2) or 0)), []).append(pieces)
    if not out:
        sys.exit(f"{directory}: no g-s*-{split}-*.txt tables")
    return out, names


def by_piece(draws):
    """Each piece's human values and its model values averaged over the draws, by file."""
    out = {}
    for pieces in draws:
        for p in pieces:
            e = out.setdefault(p["file"], {"human": p["human"], "model": [], "bpm": p["bpm"]})
            e["model"].append(p["model"])
    for e in out.values():
        e["model"] = [sum(v[k] for v in e["model"]) / len(e["model"]) for k in range(len(e["human"]))]
    return out


def mean(values):
    return sum(values) / len(values)


def squeezed(name):
    """A player's name without its spaces and punctuation, as the WJazzD file names write it."""
    return "".join(c for c in name if c.isalnum())


def tags_of(data):
    """The player tags of a prepared dataset, by their squeezed name."""
    styles = json.load(open(os.path.join(data, "manifest.json")))["vocab"]["styles"]
    return {squeezed(t): t for t in styles}


def grids_of(directories):
    """One grid a way of playing the training pieces (a folder each), and the values all have."""
    grids = [{v: by_piece(d) for v, d in tables(d, "train")[0].items()} for d in directories.split(",")]
    return grids, sorted(set.intersection(*(set(g) for g in grids)))


def best(grids, values, fs):
    """The value at which the model's notes a bar and empty beats over the pieces `fs` come
    closest to the human's: the sum over the grids of the two log ratios squared."""

    def loss(v):
        total = 0.0
        for pieces in grids:
            here = [f for f in fs if f in pieces[v]]
            if not here:
                continue
            for k in range(2):
                h = mean([pieces[v][f]["human"][k] for f in here])
                m = mean([pieces[v][f]["model"][k] for f in here])
                total += math.log(max(m, 1e-3) / max(h, 1e-3)) ** 2
        return total

    return min(values, key=loss)


def fit_role(directories):
    """The role's value over every training piece (Auto's)."""
    grids, values = grids_of(directories)
    silence, fast = best(grids, values, list(next(iter(grids[0].values())).keys()))
    print(f"silence {silence}, fast notes {fast}")


def fit(directories, data, min_pieces, fast_out=None):
    tags = tags_of(data)
    grids, values = grids_of(directories)
    players = {}
    for f in next(iter(grids[0].values())).keys():
        players.setdefault(piece_table.player(f), []).append(f)
    out, fast = {}, {}
    for player, fs in sorted(players.items()):
        if len(fs) < min_pieces:
            continue
        if player not in tags:
            sys.exit(f"{data} names no player {player}")
        out[tags[player]], fast[tags[player]] = best(grids, values, fs)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    if any(v for v in fast.values()):
        if fast_out is None:
            sys.exit("the grid has fast-note values: name a FAST_OUT file for them")
        with open(fast_out, "w") as f:
            json.dump(fast, f, indent=1, sort_keys=True)
            f.write("\n")


def measure(directory, split, fitted, default, fast):
    grid, names = tables(directory, split)
    pieces = {v: by_piece(d) for v, d in grid.items()}
    default = (default, 0.0)
    if default not in pieces:
        sys.exit(f"no tables at the default silence {default[0]}")
    fitted = {squeezed(k): (v, fast.get(k, 0.0)) for k, v in fitted.items()}
    files = sorted(pieces[default])
    told = sum(1 for f in files if piece_table.player(f) in fitted)
    print(f"{split}: {len(files)} pieces, {told} of them by a player with a fitted value")
    for k, name in enumerate(names):
        human = mean([pieces[default][f]["human"][k] for f in files])
        shipped = mean([pieces[default][f]["model"][k] for f in files])
        player = mean([pieces[fitted.get(piece_table.player(f), default)][f]["model"][k] for f in files])
        print(
            f"  {name:>6}: human {human:.3f}; at {default[0]} {shipped:.3f} ({shipped / human - 1:+.0%}); "
            f"at the player's {player:.3f} ({player / human - 1:+.0%})"
        )
    # Each player's pieces together: how far the model is from that player, the mean over the
    # players of the absolute log ratio (as exp - 1), at the default and at the player's value.
    players = {}
    for f in files:
        players.setdefault(piece_table.player(f), []).append(f)
    for k, name in enumerate(names):
        far = {default: [], None: []}
        for p, fs in players.items():
            human = mean([pieces[default][f]["human"][k] for f in fs])
            for v in far:
                at = fitted.get(p, default) if v is None else v
                model = mean([pieces[at][f]["model"][k] for f in fs])
                far[v].append(abs(math.log(max(model, 1e-3) / max(human, 1e-3))))
        print(
            f"  {name:>6}, each of {len(players)} players: off by {math.exp(mean(far[default])) - 1:.0%} "
            f"at {default[0]}, {math.exp(mean(far[None])) - 1:.0%} at their own"
        )


def main():
    a = sys.argv[1:]
    if len(a) in (3, 4, 5) and a[0] == "fit":
        fit(a[1], a[2], int(a[3]) if len(a) >= 4 else 3, a[4] if len(a) == 5 else None)
    elif len(a) == 2 and a[0] == "fit-role":
        fit_role(a[1])
    elif len(a) in (4, 5, 6) and a[0] == "measure":
        fitted = {k: float(v) for k, v in json.load(open(a[3])).items()}
        fast = {k: float(v) for k, v in json.load(open(a[5])).items()} if len(a) == 6 else {}
        measure(a[1], a[2], fitted, float(a[4]) if len(a) >= 5 else 0.15, fast)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
