"""What the measuring scripts share: scripts/played-chords.py as a module (its hyphen keeps it from
`import`): its ways of playing, its MIDI writer and its reader of a generated track's onsets.

    from played import played_chords
"""
import importlib.util
import os


def played_chords():
    """scripts/played-chords.py, loaded."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'played-chords.py')
    spec = importlib.util.spec_from_file_location('played_chords', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
