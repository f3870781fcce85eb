#!/usr/bin/env python3
"""How far can a small held-out set lie from the pieces a model trained on? (models/README.md,
"How far a small test split lies from its training pieces")

    python3 scripts/subset-spread.py TABLE[,TABLE...] SIZE [METRIC:TEST_VALUE ...]

TABLE is the output of the `piece_density` example over the training pieces (one line a piece:
its human and model value of each metric); several tables of the same pieces (other seeds) are
comma-separated, and a piece's model value is then their mean. For each metric it prints the
humans' and the model's mean over every piece, then over 20,000 random SIZE-piece subsets drawn
without replacement: the 5-95 % range of the humans' mean, the 5-95 % range of the model's
relative error against them, and how often that error is beyond 15 %. With METRIC:TEST_VALUE it
also prints the test pieces' value's percentile among the subsets' humans.
"""
import math
import random
import sys

BOUND = 0.15
DRAWS = 20000


def table(path):
    """The header's metric names and the piece lines of one `piece_density` table."""
    rows, header = [], None
    for line in open(path):
        t = line.split()
        if not t:
            continue
        if t[0] == "piece":
            header = t
            continue
        if t[0] == "below" or header is None:
            break
        if t[0].isdigit():
            rows.append(t)
    if header is None:
        sys.exit(f"{path}: no piece_density table")
    names = [header[i + 1] for i, x in enumerate(header) if x == "human"]
    return names, rows


def quantile(sorted_values, p):
    return sorted_values[int(p * (len(sorted_values) - 1))]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    tables = [table(p) for p in sys.argv[1].split(",")]
    size = int(sys.argv[2])
    tests = dict(a.split(":") for a in sys.argv[3:])
    names, rows = tables[0]
    for _, other in tables[1:]:
        if [t[0] for t in other] != [t[0] for t in rows]:
            sys.exit("the tables are not of the same pieces")
    random.seed(1)
    for j, metric in enumerate(names):
        pairs = []
        for i, t in enumerate(rows):
            human = float(t[3 + 2 * j])
            model = sum(float(r[i][4 + 2 * j]) for _, r in tables) / len(tables)
            if not (math.isnan(human) or math.isnan(model)):
                pairs.append((human, model))
        n = len(pairs)
        if n < size:
            print(f"{metric}: {n} pieces, fewer than {size}")
            continue
        h_all = sum(h for h, _ in pairs) / n
        m_all = sum(m for _, m in pairs) / n
        humans, errors = [], []
        for _ in range(DRAWS):
            s = random.sample(pairs, size)
            h = sum(a for a, _ in s) / size
            m = sum(b for _, b in s) / size
            humans.append(h)
            if h > 0:
                errors.append((m - h) / h)
        humans.sort()
        errors.sort()
        line = (
            f"{metric}: {n} pieces, human {h_all:.3f}, model {m_all:.3f} "
            f"({100 * (m_all - h_all) / h_all:+.0f} %); {size}-piece subsets: human 5-95 % "
            f"{quantile(humans, .05):.3f}-{quantile(humans, .95):.3f}, model error 5-95 % "
            f"{100 * quantile(errors, .05):+.0f} % to {100 * quantile(errors, .95):+.0f} %, "
            f"|error| > {100 * BOUND:.0f} % in "
            f"{100 * sum(abs(e) > BOUND for e in errors) / len(errors):.0f} %"
        )
        if metric in tests:
            value = float(tests[metric])
            pct = sum(h <= value for h in humans) / len(humans)
            line += f"; the test pieces' {value:.3f} at percentile {100 * pct:.1f}"
        print(line)


main()
