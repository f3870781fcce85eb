"""The per-piece table the `piece_density` example prints (one line a piece: its index, tempo,
bars, the human and the model value of two metrics, its file), read for the scripts beside it
(`bound-power.py`, `tempo-range-humans.py`)."""
import sys


def read(path):
    """The table's two metric names, and each piece as a dict: `bpm`, `human` and `model` (the two
    metrics' values), `file`."""
    names, pieces = None, []
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
            v = [float(x) for x in t[3:7]]
            pieces.append({"bpm": float(t[1]), "human": v[0::2], "model": v[1::2], "file": t[-1]})
    if names is None:
        sys.exit(f"{path}: no piece_density table")
    return names, pieces


def player(path):
    """The soloist of a WJazzD file (`Performer_Tune[-take]_FINAL.csv`)."""
    return path.split("/")[-1].split("_")[0]
