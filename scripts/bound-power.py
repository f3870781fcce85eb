#!/usr/bin/env python3
"""How often can a 15 % bound on a small held-out set be met at all? (models/README.md, "What a
25-solo test split can show")

    python3 scripts/bound-power.py SIZE NAME=TABLE[,TABLE]:COLUMN:TEST_VALUE ...

Each TABLE is the output of the `piece_density` example over the training pieces (one line a
piece: its human and model value of two metrics); several tables of the same pieces (other seeds)
are comma-separated, and a piece's model value is their mean. COLUMN is 0 for the table's first
metric, 1 for its second; TEST_VALUE is the test pieces' human value of it. The pieces in every
table are drawn together in 20,000 random sets of SIZE pieces or more, whole tunes at a time (the
splits hold every take of a tune together: a WJazzD file `Performer_Tune[-take]_FINAL.csv` is
grouped by `Tune`), and for each metric it prints:

- the test value's percentile among the sets' humans;
- how often the model (its value on the same pieces) is within the bound of the set's humans;
- how often an oracle is: a model that plays, on every set, exactly the mean of all the training
  pieces' humans, what a perfectly calibrated model plays in expectation; and that oracle's error
  on the test set itself;

then how often each of the two passes every metric at once.
"""
import math
import random
import re
import sys
from collections import defaultdict

import piece_table

BOUND = 0.15
DRAWS = 20000


def metric(spec):
    """NAME=TABLE[,TABLE]:COLUMN:TEST_VALUE -> (name, {file: (human, model)}, test value)."""
    name, rest = spec.split("=", 1)
    tables, column, test = rest.rsplit(":", 2)
    tabs = [{p["file"]: p for p in piece_table.read(path)[1]} for path in tables.split(",")]
    k = int(column)
    files = set.intersection(*[set(t) for t in tabs])
    values = {f: (tabs[0][f]["human"][k], sum(t[f]["model"][k] for t in tabs) / len(tabs)) for f in files}
    # a piece whose value is undefined (a 4-gram rate over fewer than four notes) has none to draw
    values = {f: v for f, v in values.items() if not any(math.isnan(x) for x in v)}
    return name, values, float(test)


def tune(path):
    """The tune of a WJazzD file (`Performer_Tune[-take]_FINAL.csv`), else the file."""
    stem = path.split("/")[-1].replace("_FINAL.csv", "")
    return re.sub(r"-\d+$", "", stem.split("_", 1)[1]) if "_" in stem else stem


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    size = int(sys.argv[1])
    metrics = [metric(s) for s in sys.argv[2:]]
    files = set.intersection(*[set(v) for _, v, _ in metrics])
    by_tune = defaultdict(list)
    for f in sorted(files):
        by_tune[tune(f)].append(f)
    tunes = sorted(by_tune)
    population = {n: sum(v[f][0] for f in files) / len(files) for n, v, _ in metrics}
    rng = random.Random(1)
    below = defaultdict(int)
    model_ok, oracle_ok = defaultdict(int), defaultdict(int)
    model_all, oracle_all = 0, 0
    for _ in range(DRAWS):
        rng.shuffle(tunes)
        chosen = []
        for t in tunes:
            chosen += by_tune[t]
            if len(chosen) >= size:
                break
        m_good, o_good = True, True
        for name, v, test in metrics:
            human = sum(v[f][0] for f in chosen) / len(chosen)
            model = sum(v[f][1] for f in chosen) / len(chosen)
            below[name] += human < test
            m = abs(model / human - 1) <= BOUND
            o = abs(population[name] / human - 1) <= BOUND
            model_ok[name] += m
            oracle_ok[name] += o
            m_good &= m
            o_good &= o
        model_all += m_good
        oracle_all += o_good
    print(f"{len(files)} training pieces of {len(by_tune)} tunes in every table; sets of {size} pieces or more, whole tunes")
    for name, v, test in metrics:
        model = sum(x[1] for x in v.values()) / len(v)
        print(
            f"{name}: humans {population[name]:.4f}, model {model:.4f} ({model / population[name] - 1:+.0%}); "
            f"the test value {test} at percentile {100 * below[name] / DRAWS:.1f}; within {BOUND:.0%} of a set's humans: "
            f"the model {model_ok[name] / DRAWS:.0%}, the oracle {oracle_ok[name] / DRAWS:.0%} "
            f"(on the test set the oracle is {population[name] / test - 1:+.0%})"
        )
    print(f"every metric at once: the model {model_all / DRAWS:.0%}, the oracle {oracle_all / DRAWS:.0%}")


if __name__ == "__main__":
    main()
