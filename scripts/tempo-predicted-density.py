#!/usr/bin/env python3
"""What would a jazz lead that had learned the tempo perfectly play on the test solos? (models/README.md,
"How far a small test split lies from its training pieces", the forty-seventh session's table)

    python3 scripts/tempo-predicted-density.py TRAIN_TABLE TEST_TABLE

Both tables are the `piece_density` example's output with `METRICS=notes_per_bar,empty_beats`
over `data/jazz-wj` (one line a solo: tempo, human and model notes a bar, file name). Prints the
training soloists' density at each test solo's tempo, three ways (the mean of the same tempo range,
the 15 nearest in tempo, a fit of log density on log tempo corrected for the spread of its
residuals), and the same fit with each performer's instrument family beside it (named by hand from
the file names below).
"""
import math
import statistics as st
import sys
from collections import Counter, defaultdict

FAMILIES = {
    "trumpet": "MilesDavis CliffordBrown ChetBaker WyntonMarsalis WoodyShaw KennyDorham RoyEldridge FatsNavarro "
    "DizzyGillespie LouisArmstrong DonEllis BixBeiderbecke LeeMorgan KennyWheeler FreddieHubbard BuckClayton "
    "NatAdderley RexStewart HenryAllen HarryEdison CharlieShavers",
    "trombone": "JJJohnson DickieWells SteveTurre KidOry KaiWinding JCHigginbotham CurtisFuller",
    "alto": "CharlieParker SteveColeman PaulDesmond LeeKonitz BennyCarter PhilWoods ArtPepper EricDolphy "
    "CannonballAdderley OrnetteColeman KennyGarrett JohnnyHodges",
    "tenor": "JohnColtrane SonnyRollins DavidLiebman MichaelBrecker WayneShorter JoeLovano JoeHenderson DonByas "
    "LesterYoung ChrisPotter ZootSims StanGetz SonnyStitt DexterGordon DavidMurray ColemanHawkins "
    "BranfordMarsalis BobBerg BenWebster HankMobley JoshuaRedman WarneMarsh ChuBerry VonFreeman",
    "other reeds": "SteveLacy SidneyBechet GerryMulligan PepperAdams BennyGoodman JohnnyDodds",
    "vibraphone, piano, guitar": "LionelHampton MiltJackson HerbieHancock RedGarland PatMetheny PatMartino JohnAbercrombie",
}
FAMILY = {p: f for f, names in FAMILIES.items() for p in names.split()}
RANGES = [100, 140, 180, 220, math.inf]


def solos(path):
    """(tempo, human notes a bar, model notes a bar, instrument family) of each line."""
    out = []
    for line in open(path):
        t = line.split()
        if len(t) >= 7 and t[0].isdigit():
            performer = t[-1].split("/")[-1].split("_")[0]
            out.append((float(t[1]), float(t[3]), float(t[4]), FAMILY.get(performer, "?")))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    train, test = solos(sys.argv[1]), solos(sys.argv[2])
    mean = lambda xs: st.mean(list(xs))
    xs = [math.log(s[0]) for s in train]
    ys = [math.log(s[1]) for s in train]
    mx, my = mean(xs), mean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    cut = my - slope * mx
    fit = lambda tempo: cut + slope * math.log(tempo)
    residual = [y - fit(s[0]) for s, y in zip(train, ys)]
    smear = mean(math.exp(r) for r in residual)
    rng = lambda t: next(i for i, u in enumerate(RANGES) if t < u)
    by_range = [mean(s[1] for s in train if rng(s[0]) == i) for i in range(len(RANGES))]
    nearest = lambda t: mean(s[1] for s in sorted(train, key=lambda s: abs(math.log(s[0] / t)))[:15])
    print(f"training solos: {len(train)}, notes a bar {mean(s[1] for s in train):.2f}; fit slope {slope:.2f}")
    print(f"test solos: {len(test)}, soloists {mean(s[1] for s in test):.2f}, model {mean(s[2] for s in test):.2f}")
    print(f"  the training soloists at their tempos: same range {mean(by_range[rng(s[0])] for s in test):.2f}, "
          f"15 nearest {mean(nearest(s[0]) for s in test):.2f}, fit {mean(math.exp(fit(s[0])) * smear for s in test):.2f}")
    family = defaultdict(list)
    for s, r in zip(train, residual):
        family[s[3]].append(r)
    beside = {f: mean(rs) for f, rs in family.items()}
    for f, rs in sorted(family.items(), key=lambda kv: beside[kv[0]]):
        print(f"  {f}: {len(rs)} training solos, {100 * (math.exp(beside[f]) - 1):+.0f} % beside the tempo fit")
    print(f"  test mix {dict(Counter(s[3] for s in test))}: tempo alone {mean(math.exp(fit(s[0])) for s in test):.2f}, "
          f"tempo and instrument {mean(math.exp(fit(s[0]) + beside.get(s[3], 0)) for s in test):.2f} (uncorrected fit)")


if __name__ == "__main__":
    main()
