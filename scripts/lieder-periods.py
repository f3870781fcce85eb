#!/usr/bin/env python3
"""Writes the period tag of each composer of the OpenScore Lieder corpus as a `trainer prepare
--tag-map` file: `{ "Brahms, Johannes": ["Late Romantic"], ... }`.

The keys are the tags `--style-from layout --layout-depth 1` gives (the composer folder, `_` read
as a space). The period comes from the composer's year of birth in the corpus's `composers.tsv`;
the composers that file lacks take theirs from the table below (general reference works).

Periods, by year of birth (a composer's songs fall 20-60 years later):
  Classical       before 1790   (Arne, Haydn, Mozart, Beethoven, Reichardt, Zumsteeg)
  Early Romantic  1790-1829     (Schubert, Hensel, Mendelssohn, Schumann, Chopin, Liszt, Franz)
  Late Romantic   1830-1861     (Brahms, Bizet, Fauré, Chaminade, Wolf, Mahler, Holmès)
  Modern          1862 on       (Debussy, Strauss, Satie, Schoenberg, Berg, Ives, Boulanger)

Usage: python3 scripts/lieder-periods.py ../shared/data/lieder > trainer/configs/lieder-periods.json
"""

import csv
import json
import os
import sys

# Composers with songs in the corpus whose row composers.tsv lacks (or names another folder).
BORN = {
    "Arne,_Thomas": 1710,
    "Berg,_Alban": 1885,
    "Berlioz,_Hector": 1803,
    "Chopin,_Frédéric": 1810,
    "Donaudy,_Stefano": 1879,
    "Flégier,_Ange": 1846,
    "Ives,_Charles": 1874,
    "Leoncavallo,_Ruggero": 1857,
    "Liszt,_Franz": 1811,
    "Massenet,_Jules": 1842,
    "Obradors,_Fernando": 1897,
    "Paladilhe,_Émile": 1844,
    "Quilter,_Roger": 1877,
    "Rossini,_Gioachino": 1792,
    "Schoenberg,_Arnold": 1874,
    "Tosti,_Francesco_Paolo": 1846,
    "Verdi,_Giuseppe": 1813,
    # Harold R. White, Irish (1872-1943); the corpus's only song by him sets Josephine V. Rowe.
    "White,_Harold": 1872,
    "Zemlinsky,_Alexander_von": 1871,
}


def period(born):
    if born < 1790:
        return "Classical"
    if born < 1830:
        return "Early Romantic"
    if born < 1862:
        return "Late Romantic"
    return "Modern"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/lieder"
    born = {}
    with open(os.path.join(root, "composers.tsv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            b, d = row.get("born", "").strip(), row.get("died", "").strip()
            if b.isdigit():
                born[row["path"]] = int(b)
            elif d.isdigit():
                # Only the year of death known (Louisa Gray, d. 1911): taken as 70 years on.
                born[row["path"]] = int(d) - 70
    out = {}
    missing = []
    for folder in sorted(os.listdir(root)):
        if not os.path.isdir(os.path.join(root, folder)):
            continue
        # composers.tsv may name a folder with a suffix: "Hensel,_Fanny_(Mendelssohn)".
        year = BORN.get(folder) or born.get(folder)
        if year is None:
            year = next((y for p, y in born.items() if p.startswith(folder + "_")), None)
        if year is None:
            missing.append(folder)
            continue
        out[folder.replace("_", " ").strip()] = [period(year)]
    if missing:
        sys.exit("no year of birth for: " + ", ".join(missing))
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
