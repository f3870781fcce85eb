//! Standard MIDI File reading and writing (to be completed).
