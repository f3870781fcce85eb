//! The model contract shared by the Sideman plugin and its trainer.
//!
//! Everything that must mean the same thing on both sides lives here:
//! - [`music`]: notes, roles, meter and chords in musical time (beats, never seconds);
//! - [`assets`]: the default models built into every binary;
//! - [`chord`]: chord symbols, their reduced quality set, and chord recognition from held notes;
//! - [`tokenizer`]: the one tokenizer (see `models/TOKENS.md`), with its grammar;
//! - [`midi`]: Standard MIDI File reading and writing;
//! - [`musicxml`]: MusicXML and compressed `.mxl` reading (repeats expanded, chord symbols reduced);
//! - [`wjazzd`]: the Weimar Jazz Database CSV pair format;
//! - [`package`]: model packages (manifest + model files), checked on load;
//! - [`model`]: the [`model::TokenModel`] interface every model implements;
//! - [`markov`]: the variable-order Markov baseline (Witten-Bell), a [`model::TokenModel`];
//! - [`sampling`]: seeded temperature/top-k/top-p sampling and musical constraints;
//! - [`runtime`]: ONNX Runtime loading and the KV-cached [`runtime::OnnxModel`];
//! - [`generate`]: the generation session (given-event rule, look-ahead, rollback, re-priming);
//! - [`groove`]: Feel and Swing (where a generated note sounds) and fills at phrase ends;
//! - [`error`]: error chains as text (causes are sources, never repeated in messages);
//! - [`synth`]: a small realtime-safe preview synthesizer (GM drums, one tone) and offline rendering.

pub mod assets;
pub mod chord;
pub mod error;
pub mod generate;
pub mod groove;
pub mod markov;
pub mod math;
pub mod memory;
pub mod meters;
pub mod midi;
pub mod model;
pub mod music;
pub mod musicxml;
pub mod package;
pub mod players;
pub mod runtime;
pub mod sampling;
pub mod synth;
pub mod tokenizer;
pub mod wjazzd;

pub use chord::{Chord, ChordQuality};
pub use music::{ChordEvent, Meter, MeterChange, Note, Onset, Piece, Role, Track};
pub use tokenizer::{Sequence, Tokenizer, Vocab};
