#!/usr/bin/env python3
"""Give a newly trained package the sampling of a shipped one (models/README.md, "The band
trained longer still").

    python3 scripts/copy-calibrations.py PACKAGE [SHIPPED_MANIFEST]

Copies every field of SHIPPED_MANIFEST (default models/assets/band/manifest.json) into
PACKAGE/manifest.json except the network's own (format, name, description, model, vocab, files,
metrics, data, trainer_revision, and no_chords and no_input, what its training data gave it): the tuned note, duration and velocity temperatures, rest,
density and silence calibrations, memories, register and its hold, meters, `given_kind`. Then the package samples as the shipped
model does, and a network can be compared with the shipped one at the same settings.
"""
import json
import sys

OWN = {'format', 'name', 'description', 'model', 'files', 'metrics', 'data', 'trainer_revision', 'vocab', 'no_chords',
       'no_input'}


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    pkg = sys.argv[1]
    src = sys.argv[2] if len(sys.argv) == 3 else 'models/assets/band/manifest.json'
    with open(f'{pkg}/manifest.json') as f:
        target = json.load(f)
    with open(src) as f:
        shipped = json.load(f)
    if target.get('format') != shipped.get('format'):
        sys.exit(f"{pkg} is manifest format {target.get('format')}, {src} {shipped.get('format')}")
    copied = sorted(k for k in shipped if k not in OWN)
    for k in copied:
        target[k] = shipped[k]
    with open(f'{pkg}/manifest.json', 'w') as f:
        json.dump(target, f, indent=2)
    print(f"{pkg}: copied {', '.join(copied)} from {src}")


if __name__ == '__main__':
    main()
