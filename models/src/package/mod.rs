//! Model packages: a folder with `manifest.json` and the model files it names.
//!
//! ```text
//! jazz-lead/
//!   manifest.json        this module's [`Manifest`]
//!   model.int8.onnx      transformer, int8 (the default variant)
//!   model.onnx           transformer, fp32 (optional)
//!   markov.bin           or: a Markov baseline model
//!   MODEL_CARD.md        human-readable card (optional)
//! ```
//!
//! The Markov baseline is a package too, so the engine loads both through one path. Loading checks
//! the vocabulary layout against this build's tokenizer and every listed file's SHA-256; any
//! mismatch is a [`PackageError`], never a guess.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::music::Role;
use crate::sampling::{Constraints, SamplerConfig};
use crate::tokenizer::{Tokenizer, Vocab, VocabError};

/// Version of the manifest format.
pub const MANIFEST_FORMAT: u32 = 1;
/// File name of the manifest inside a package folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Largest manifest read (bytes).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// What kind of model a package holds, with the facts the runtime needs to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelKind {
    /// A variable-order Markov model over tokens (the baseline).
    Markov {
        /// File name of the model inside the package.
        file: String,
        /// Longest context the model conditions on, in tokens.
        order: u32,
    },
    /// A decoder-only transformer exported to ONNX with a KV cache.
    Transformer {
        /// fp32 ONNX file, if shipped.
        fp32: Option<String>,
        /// int8 ONNX file, if shipped (preferred when present).
        int8: Option<String>,
        /// Layers.
        layers: u32,
        /// Attention heads.
        heads: u32,
        /// Model width.
        d_model: u32,
        /// Longest context, in tokens, the model was trained for.
        context_len: u32,
        /// Input and output names of the graph.
        io: OnnxIo,
    },
}

/// Names of the ONNX graph's inputs and outputs. Layer `i`'s cache tensors are the prefix with
/// `i` appended (`past_key_0`, `present_value_3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnnxIo {
    /// Token ids input, int64 `[batch, new_tokens]`.
    pub input_ids: String,
    /// Logits output, float `[batch, new_tokens, vocab]`.
    pub logits: String,
    /// Prefix of the past-key inputs, float `[batch, heads, past, head_dim]`.
    pub past_key: String,
    /// Prefix of the past-value inputs.
    pub past_value: String,
    /// Prefix of the present-key outputs.
    pub present_key: String,
    /// Prefix of the present-value outputs.
    pub present_value: String,
}

impl Default for OnnxIo {
    fn default() -> Self {
        OnnxIo {
            input_ids: "input_ids".into(),
            logits: "logits".into(),
            past_key: "past_key_".into(),
            past_value: "past_value_".into(),
            present_key: "present_key_".into(),
            present_value: "present_value_".into(),
        }
    }
}

/// Where training data came from, and under what licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// Short name of the corpus ("wjazzd", "mma-grooves/stdlib").
    pub name: String,
    /// Its licence.
    pub licence: String,
    /// Pieces used.
    pub pieces: u64,
    /// Origin and credit.
    pub provenance: String,
}

/// The manifest of a model package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// Package name, shown to the user ("Jazz lead").
    pub name: String,
    /// One-line description.
    pub description: String,
    /// The model and how to run it.
    pub model: ModelKind,
    /// Vocabulary (layout version and hash, style names).
    pub vocab: Vocab,
    /// Whether the model was trained with `MICRO` tokens.
    pub microtiming: bool,
    /// Roles the model can generate.
    pub roles: Vec<Role>,
    /// Training data.
    pub data: Vec<DataSource>,
    /// Metrics (validation NLL, baseline NLL, music metrics...), by name.
    pub metrics: BTreeMap<String, f64>,
    /// Trainer git revision that made the package.
    pub trainer_revision: String,
    /// SHA-256 (hex) of every file the manifest names, by file name.
    pub files: BTreeMap<String, String>,
    /// The temperature of the choice of note each role plays at when the user's Temperature is 1
    /// (its tuned setting, by role name; a role not named plays at 1). How flat a network's note
    /// distribution is depends on the network and the role: at 1 the jazz lead wandered (chord
    /// tones 0.37 against the soloists' 0.46) where the drums at 0.6 overshot the backbeat
    /// (models/README.md, "Temperature"). Set by `trainer ship --note-temperature`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub note_temperature: BTreeMap<String, f32>,
    /// The top-p of the choice of note each role plays at when the user's Top-p is the default
    /// (by role name; a role not named plays at the user's), within
    /// [`crate::sampling::TUNED_TOP_P_RANGE`]. The cut narrows a line: at the default 0.95 the jazz
    /// bass walked 13 semitones where the bassists walk 16.5 (models/README.md, "The jazz bass's
    /// top-p"). Set by `trainer ship --note-top-p`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub note_top_p: BTreeMap<String, f32>,
    /// The Harmony (nats of chord-tone pull) each role plays at when the user's Harmony is the
    /// default [`crate::sampling::DEFAULT_CHORD_TONES`] (by role name; a role not named plays at the
    /// user's), within `0..=FULL_CHORD_TONES`; the user's setting maps through
    /// [`crate::sampling::tuned_harmony`], so 0 is the network alone and 100 % the full pull for
    /// every role. A network that follows the chords as its humans did needs none: the jazz lead
    /// alone plays the soloists' chord tones, and the default pull took it 20 % past them on the
    /// validation solos (models/README.md, "The Harmony default, per role"). Set by `trainer ship
    /// --harmony`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub harmony: BTreeMap<String, f32>,
    /// The rest calibration of each role, nats added to resting until the next given event at
    /// each timing decision ([`Constraints::rest_bias`]), by role name; a role not named plays as
    /// the network does. Sampled freely, a small network can play more notes than the humans it
    /// learned from, on the very pieces it trained on, when each decision to play is a little too
    /// likely. The bias acts once per decision before a given event, so its effect grows with the
    /// number of given events: a value fitted over dense conditioning (the MMA bass over its
    /// comping) silences the role over sparse conditioning (a chord root a beat), so check it over
    /// both (models/README.md, "Rest calibration"). Set by `trainer ship --rest-bias`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rest_bias: BTreeMap<String, f32>,
    /// The density calibration of each role, nats added to starting a note at every decision
    /// ([`Constraints::note_bias`]), by role name; a role not named plays as the network does.
    /// Where a tuned note temperature changes how densely a role plays (a sharper choice of note
    /// settles the neoclassical piano into busier figures), this brings the density back to the
    /// data's without giving up the temperature's gain. Set by `trainer ship --note-bias`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub note_bias: BTreeMap<String, f32>,
    /// The piece's memory of each role, by role name: the weight of what the role played after
    /// its current figure the last time, by the length of the match and how far back it was
    /// ([`crate::memory::cell`]), and whether it keeps notes relative to the chord's root.
    /// Fitted by likelihood on the training pieces (`trainer memory`); a role not named plays as
    /// the network does. Set by `trainer ship --memory`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub memory: BTreeMap<String, MemorySpec>,
    /// Who played what in the training data, where its pieces name their player (the drums'
    /// drummers): the player a session's header names beside the user's style, picked or drawn
    /// among those who played that style ([`crate::players`]). Set by `trainer ship --players`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<crate::players::Players>,
    /// The fast-tempo rest calibration of each role, by role name: nats per beat of the gap to
    /// the next onset, per doubling of the tempo above [`crate::sampling::FAST_TEMPO_BPM`]
    /// ([`Constraints::fast_rest`]); a role not named plays its network's rhythm at every tempo.
    /// The jazz lead plays its own training soloists' density below 150 BPM and more notes than
    /// they do above, the more the faster (models/README.md, "tempo"); fitted on the training
    /// solos by tempo. Set by `trainer ship --fast-rest`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fast_rest: BTreeMap<String, f32>,
    /// The entry calibration of each role, by role name: nats per beat of the gap to the next
    /// onset in the first bars of a stream that starts fresh, halving each bar
    /// ([`Constraints::entry_rest`]); a role not named opens as its network does. Soloists enter
    /// late and build, and a network trained on windows from a solo's middle does not know where
    /// the solo starts (models/README.md, "The solo's entry"). Fitted on the training pieces' first
    /// bars. Set by `trainer ship --entry-rest`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub entry_rest: BTreeMap<String, f32>,
    /// The duration calibration of each role, by role name: the temperature of its choice of a
    /// note's length ([`Constraints::duration_temperature`]); a role not named keeps its network's
    /// lengths. Chosen on the validation split. Set by `trainer ship --duration-temperature`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub duration_temperature: BTreeMap<String, f32>,
    /// The velocity calibration of each role, by role name: the temperature of its choice of a
    /// note's velocity ([`Constraints::velocity_temperature`]); a role not named keeps its
    /// network's dynamics. Chosen on the validation split. Set by `trainer ship
    /// --velocity-temperature`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub velocity_temperature: BTreeMap<String, f32>,
    /// Whether the network was trained to say whose each position is (its own note's or a given
    /// event's: `trainer`'s `given_kind`, [`crate::tokenizer::given_kind_mask`]). A session then
    /// keeps, of a position it samples where nothing is given, only the network's own share
    /// (models/README.md, "Whose position"). Older packages: false, sampled as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub given_kind: bool,
    /// The register of each pitched role, by role name: its lowest and highest pitch in the
    /// training data (the transposed copies included), with [`crate::sampling::REGISTER_TAIL`]
    /// of its notes left out at each end ([`crate::sampling::register_of`]). A session plays the
    /// user's range within it ([`crate::sampling::within_register`]); a role not named plays the
    /// user's range. Measured by `trainer train` (run.json) and written by export; set by
    /// `trainer ship --register-from` for older packages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub register: BTreeMap<String, [u8; 2]>,
    /// The register hold of each pitched role, by role name: semitones it may go beyond the range
    /// of the notes it has played this take ([`Constraints::register_hold`],
    /// [`crate::sampling::hold_register`]); a role not named plays its whole register. Chosen on the validation split over long takes.
    /// Set by `trainer ship --register-hold`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub register_hold: BTreeMap<String, f32>,
    /// The length hold of each pitched role, by role name: how many times the longest note it
    /// has played this take a note may last ([`Constraints::length_hold`],
    /// [`crate::sampling::hold_length`]); a role not named plays any length. Set by `trainer
    /// ship --length-hold`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub length_hold: BTreeMap<String, f32>,
    /// The silence calibration of each role, by role name: nats its choice of time pays for each
    /// beat in which none of its notes sound ([`Constraints::silence`]); a role not named falls
    /// silent as its network does. Fitted on the training pieces' empty beats. Set by `trainer
    /// ship --silence`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub silence: BTreeMap<String, f32>,
    /// The silence calibration of each role by player, by role name, then by player (a tag of
    /// the training data naming who played a piece: a WJazzD soloist): nats as
    /// [`Manifest::silence`], fitted on that player's own training pieces, for a session that
    /// names the player (the Player parameter, `trainer generate --player`, the piece's soloist
    /// in a music report). Auto, or a player not named, plays the role's `silence`. The soloists
    /// of the held-out solos rest more than the training soloists on the whole, as their own
    /// training solos do (models/README.md, "The soloist's phrasing";
    /// [`Manifest::silence_of`]). Set by `trainer ship --player-silence`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub player_silence: BTreeMap<String, BTreeMap<String, f32>>,
    /// The fast-note calibration of each pitched role, by role name: nats its choice of time
    /// pays for starting a note sooner than [`crate::sampling::FAST_NOTE_MS`] after its last
    /// onset, the more the sooner ([`Constraints::fast_notes`]); a role not named plays its
    /// network's fast notes. Set by `trainer ship --fast-notes`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fast_notes: BTreeMap<String, f32>,
    /// The fast-note calibration of each role by player, by role name, then by player (as
    /// [`Manifest::player_silence`]), fitted with the player's silence calibration on that
    /// player's training pieces: the silence sets how many beats a soloist plays, this how many
    /// notes in each (models/README.md, "A soloist's fast notes"). Auto, or a player not named,
    /// plays the role's `fast_notes`. Set by `trainer ship --player-fast-notes`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub player_fast_notes: BTreeMap<String, BTreeMap<String, f32>>,
    /// The time signatures of each role's training data, by role name: bars of each in the
    /// training split, by meter key (`"3/4"`, [`crate::meters::key`]). A session in a meter its
    /// role did not learn writes its stream in learned bars that divide the host's
    /// ([`crate::meters::stream_meter`]); a role not named writes every meter as it is. Measured
    /// by `trainer train` (run.json) and written by export; set by `trainer ship --meters-from`
    /// for older packages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meters: BTreeMap<String, BTreeMap<String, u64>>,
    /// The roles, by name, whose training data gave them nothing to hear though their role hears
    /// a part by default ([`crate::tokenizer::SequenceSpec::default_for`]): no `IN` onset in any
    /// of their training sequences, as the WJazzD bass, which had the chord symbols alone. A
    /// session gives them no input ([`Manifest::hears_input`],
    /// [`crate::generate::SessionConfig::write_inputs`]), so a user's held chords reach them as
    /// chord symbols only, as in training: over chords struck as its input the jazz bass played
    /// chord tones 0.46 of the time against its bassists' 0.65 (models/README.md, "The lead over a
    /// user's chords"). Measured by `trainer train` (run.json) and written by export; set by
    /// `trainer ship --inputs-from` for older packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_input: Vec<String>,
    /// The roles whose training data gave them no chord (no chord token in any of their
    /// sequences: the folk tunes, the chorales and the Lieder's piano, which have no chord
    /// symbols and no other harmonic part). A session writes them no chord
    /// ([`Manifest::hears_chords`], [`crate::generate::SessionConfig::write_chords`]): over a
    /// user's held chords the chord tokens they never learned had pulled the pianos off the
    /// chords, 0.19 of the neoclassical piano's notes chord tones at Harmony 0 (models/README.md,
    /// "Chords a role never learned"). The chord still reaches them through the Harmony pull.
    /// Measured by `trainer train` (run.json) and written by export; set by `trainer ship
    /// --inputs-from` for older packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_chords: Vec<String>,
}

/// One role's piece memory in a manifest ([`crate::memory::MemoryWeights`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MemorySpec {
    /// Notes kept as their distance above the chord's root ([`crate::memory::key`]).
    #[serde(default)]
    pub relative: bool,
    /// The weights by [`crate::memory::cell`].
    #[serde(default)]
    pub weights: Vec<f32>,
    /// The weights of the role's memory of the changes in its choice of note and of time, then
    /// the share of bars in which it plays (missing: every bar) (a pitched role's:
    /// [`crate::memory::changes`]); none, the network's alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<f32>,
    /// The weight of the role's memory of its groove's rhythm in its choice of time, then the
    /// share of bars in which it plays (missing: every bar) (a pitched role's, in the bars the
    /// memory of the changes leaves: [`crate::memory::changes::rhythm_lag`]); none, the
    /// network's alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rhythm: Vec<f32>,
    /// The weight of the role's memory of a phrase come round in its choice of note and of
    /// time, then the share of bars in which it plays (missing: every bar) (a pitched role's, in
    /// place of the memory of the changes where the bar before came round too:
    /// [`crate::memory::changes::phrase_lag`]); none, the network's alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phrase: Vec<f32>,
    /// The weight of the role's memory of a figure come round in its choice of note, the share
    /// of the places where a figure starts and the chance that it goes on after each note past
    /// four (a monophonic role's, where neither the memory of the changes nor of a phrase speaks:
    /// [`crate::memory::figure`]); none, the network's alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figure: Vec<f32>,
}

/// Why a package could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manifest is not valid.
    #[error("{path} is not a valid model manifest: {reason}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The vocabulary does not match this build's tokenizer.
    #[error("model {name:?} was made for another tokenizer")]
    Vocab {
        /// Package name.
        name: String,
        /// The mismatch.
        source: VocabError,
    },
    /// No built-in model has this id.
    #[error("no built-in model {id:?} (built in: {known})")]
    UnknownBuiltin {
        /// The id asked for.
        id: String,
        /// The ids there are.
        known: String,
    },
    /// A model file's checksum differs from the manifest's.
    #[error("{path} is damaged or was changed (checksum mismatch)")]
    Checksum {
        /// The file.
        path: PathBuf,
    },
}

/// A loaded, checked package: its manifest and where its files are (a folder, or bytes built
/// into the binary for the default models, see [`crate::assets`]).
#[derive(Debug, Clone)]
pub struct Package {
    /// The manifest.
    pub manifest: Manifest,
    /// Folder of the package (for a built-in package, `builtin:<id>`).
    pub dir: PathBuf,
    /// Files of a built-in package.
    pub embedded: Option<&'static [(&'static str, &'static [u8])]>,
}

/// Prefix of a model reference naming a built-in package (`builtin:jazz-lead`).
pub const BUILTIN_PREFIX: &str = "builtin:";

/// SHA-256 of bytes, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    /// A manifest of this build's format for `model`, with no training data, metrics, files,
    /// trainer revision or tuning yet (every calibration, memory and hold off): what `trainer
    /// export` and `trainer markov` fill in, and what tests start from.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        model: ModelKind,
        vocab: Vocab,
        roles: Vec<Role>,
    ) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            name: name.into(),
            description: description.into(),
            model,
            vocab,
            microtiming: false,
            roles,
            data: Vec::new(),
            metrics: BTreeMap::new(),
            trainer_revision: String::new(),
            files: BTreeMap::new(),
            note_temperature: BTreeMap::new(),
            note_top_p: BTreeMap::new(),
            harmony: BTreeMap::new(),
            rest_bias: BTreeMap::new(),
            note_bias: BTreeMap::new(),
            memory: BTreeMap::new(),
            players: None,
            fast_rest: BTreeMap::new(),
            entry_rest: BTreeMap::new(),
            duration_temperature: BTreeMap::new(),
            velocity_temperature: BTreeMap::new(),
            given_kind: false,
            register: BTreeMap::new(),
            register_hold: BTreeMap::new(),
            length_hold: BTreeMap::new(),
            silence: BTreeMap::new(),
            player_silence: BTreeMap::new(),
            fast_notes: BTreeMap::new(),
            player_fast_notes: BTreeMap::new(),
            meters: BTreeMap::new(),
            no_input: Vec::new(),
            no_chords: Vec::new(),
        }
    }

    /// Reads a manifest from JSON and checks format and vocabulary (not the files).
    pub fn from_json(json: &str, path: &Path) -> Result<Manifest, PackageError> {
        let m: Manifest = serde_json::from_str(json).map_err(|e| PackageError::Manifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if m.format != MANIFEST_FORMAT {
            return Err(PackageError::Manifest {
                path: path.to_path_buf(),
                reason: format!("manifest format {} (this build reads {MANIFEST_FORMAT})", m.format),
            });
        }
        m.vocab.check().map_err(|source| PackageError::Vocab {
            name: m.name.clone(),
            source,
        })?;
        Ok(m)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The style slot of the opening tag when the model was trained with one
    /// ([`crate::tokenizer::vocab::OPENING_STYLE`]): what [`crate::generate::SessionConfig::opening`]
    /// takes, so a fresh stream opens as the model's data did.
    pub fn opening_slot(&self) -> Option<u16> {
        self.vocab.style_slot(crate::tokenizer::vocab::OPENING_STYLE)
    }

    /// Bars a generation session keeps when it re-primes a full context: few enough that they
    /// fit in half of a short context (a dense jazz bar with its conditioning is 40-80 tokens).
    /// The plugin and `trainer generate` both use it, so they re-prime alike.
    pub fn keep_bars(&self) -> u32 {
        match &self.model {
            ModelKind::Transformer { context_len, .. } => (*context_len / 256).clamp(1, 8),
            ModelKind::Markov { .. } => 8,
        }
    }

    /// The tuned temperature of `role`'s choice of note ([`Manifest::note_temperature`]), 1 when
    /// the model names none; always within `[0.05, 2]`.
    pub fn note_temperature(&self, role: Role) -> f32 {
        clamped(&self.note_temperature, role, 0.05, 2.0, 1.0)
    }

    /// The tuned top-p of `role`'s choice of note ([`Manifest::note_top_p`]), the default
    /// [`crate::sampling::DEFAULT_TOP_P`] when the model names none or a value outside
    /// [`crate::sampling::TUNED_TOP_P_RANGE`].
    pub fn note_top_p(&self, role: Role) -> f32 {
        match self.note_top_p.get(role.name()) {
            Some(&p) if crate::sampling::TUNED_TOP_P_RANGE.contains(&p) => p,
            _ => crate::sampling::DEFAULT_TOP_P,
        }
    }

    /// The Harmony (nats) `role` plays at the plugin's default ([`Manifest::harmony`]); the
    /// default [`crate::sampling::DEFAULT_CHORD_TONES`] when the model names none or a value outside
    /// `0..=FULL_CHORD_TONES`.
    pub fn harmony(&self, role: Role) -> f32 {
        match self.harmony.get(role.name()) {
            Some(&h) if (0.0..=crate::sampling::FULL_CHORD_TONES).contains(&h) => h,
            _ => crate::sampling::DEFAULT_CHORD_TONES,
        }
    }

    /// The chord-tone pull (nats) `role` plays at with this model when the user's Harmony is
    /// `user` nats ([`crate::sampling::tuned_harmony`]; drums: 0).
    pub fn harmony_for(&self, role: Role, user: f32) -> f32 {
        if role.is_drums() {
            0.0
        } else {
            crate::sampling::tuned_harmony(user, self.harmony(role))
        }
    }

    /// `user`'s sampling for `role` with this model: its temperature and top-p are relative to
    /// the model's tuned ones (the user's Temperature 1 and default Top-p play the role at
    /// [`Manifest::note_temperature`] and [`Manifest::note_top_p`]).
    pub fn sampler_for(&self, role: Role, user: SamplerConfig) -> SamplerConfig {
        user.relative_to(self.note_temperature(role))
            .top_p_relative_to(self.note_top_p(role))
    }

    /// The rest calibration of `role` ([`Manifest::rest_bias`]), nats; 0 when the model names
    /// none; always within `[-4, 4]`.
    pub fn rest_bias(&self, role: Role) -> f32 {
        clamped(&self.rest_bias, role, -4.0, 4.0, 0.0)
    }

    /// The fast-tempo rest calibration of `role` ([`Manifest::fast_rest`]), nats per beat per
    /// octave of tempo; 0 when the model names none; always within `[-2, 2]`.
    pub fn fast_rest(&self, role: Role) -> f32 {
        clamped(&self.fast_rest, role, -2.0, 2.0, 0.0)
    }

    /// The entry calibration of `role` ([`Manifest::entry_rest`]), nats per beat in a fresh
    /// stream's first bar; 0 when the model names none; always within `[-2, 2]`.
    pub fn entry_rest(&self, role: Role) -> f32 {
        clamped(&self.entry_rest, role, -2.0, 2.0, 0.0)
    }

    /// The duration calibration of `role` ([`Manifest::duration_temperature`]); 1 when the model
    /// names none or a value outside [`crate::sampling::DURATION_TEMPERATURE_RANGE`].
    pub fn duration_temperature(&self, role: Role) -> f32 {
        temperature(
            &self.duration_temperature,
            role,
            crate::sampling::DURATION_TEMPERATURE_RANGE,
        )
    }

    /// The velocity calibration of `role` ([`Manifest::velocity_temperature`]); 1 when the model
    /// names none or a value outside [`crate::sampling::VELOCITY_TEMPERATURE_RANGE`].
    pub fn velocity_temperature(&self, role: Role) -> f32 {
        temperature(
            &self.velocity_temperature,
            role,
            crate::sampling::VELOCITY_TEMPERATURE_RANGE,
        )
    }

    /// The register hold of `role` ([`Manifest::register_hold`]), semitones (at most 48); 0 (off)
    /// when the model names none, and for the drums.
    pub fn register_hold(&self, role: Role) -> u8 {
        match self.register_hold.get(role.name()) {
            Some(&h) if h.is_finite() && h >= 0.5 && !role.is_drums() => h.round().min(48.0) as u8,
            _ => 0,
        }
    }

    /// The length hold of `role` ([`Manifest::length_hold`]), at most 8; 0 (off) when the model
    /// names none, and for the drums.
    pub fn length_hold(&self, role: Role) -> f32 {
        match self.length_hold.get(role.name()) {
            Some(&h) if h.is_finite() && h > 0.0 && !role.is_drums() => h.clamp(1.0, 8.0),
            _ => 0.0,
        }
    }

    /// The silence calibration of `role` ([`Manifest::silence`]), nats a silent beat; 0 when the
    /// model names none; always within `[-2, 2]`.
    pub fn silence(&self, role: Role) -> f32 {
        clamped(&self.silence, role, -2.0, 2.0, 0.0)
    }

    /// The density calibration of `role` ([`Manifest::note_bias`]), nats; 0 when the model names
    /// none; always within `[-4, 4]`.
    pub fn note_bias(&self, role: Role) -> f32 {
        match self.note_bias.get(role.name()) {
            Some(&b) if b.is_finite() => b.clamp(-4.0, 4.0),
            _ => 0.0,
        }
    }

    /// The piece's memory of `role` ([`Manifest::memory`]); none when the model names none. The
    /// drums' is the memory of their groove ([`crate::memory::groove`]), never chord-relative,
    /// with no memory of the changes.
    pub fn memory(&self, role: Role) -> crate::memory::MemoryWeights {
        match self.memory.get(role.name()) {
            Some(m) if role.is_drums() => crate::memory::MemoryWeights::from_values(&m.weights, false),
            Some(m) => crate::memory::MemoryWeights::from_values(&m.weights, m.relative)
                .with_changes(&m.changes)
                .with_rhythm(&m.rhythm)
                .with_phrase(&m.phrase)
                .with_figure(&m.figure),
            _ => crate::memory::MemoryWeights::NONE,
        }
    }

    /// Whether a session of `role` hears the user's notes as input: its role hears a part by
    /// default and its training data gave it one ([`Manifest::no_input`]).
    pub fn hears_input(&self, role: Role) -> bool {
        crate::tokenizer::SequenceSpec::hears_a_part(role) && !self.no_input.iter().any(|r| r == role.name())
    }

    /// Whether a session of `role` writes the chords in force as chord tokens: its training data
    /// gave it chords ([`Manifest::no_chords`]).
    pub fn hears_chords(&self, role: Role) -> bool {
        !self.no_chords.iter().any(|r| r == role.name())
    }

    /// The meters `role` learned ([`Manifest::meters`], [`crate::meters::learned`]), the most
    /// played first; empty when the manifest names none for it.
    pub fn learned_meters(&self, role: Role) -> Vec<(u8, u8)> {
        self.meters
            .get(role.name())
            .map(crate::meters::learned)
            .unwrap_or_default()
    }

    /// The register of `role` ([`Manifest::register`]); none for the drums, a role not named,
    /// or a range that is not one (lowest above highest, above 127).
    pub fn register(&self, role: Role) -> Option<(u8, u8)> {
        match self.register.get(role.name()) {
            Some(&[lo, hi]) if !role.is_drums() && lo <= hi && hi <= 127 => Some((lo, hi)),
            _ => None,
        }
    }

    /// `user`'s constraints for `role` with this model: the model's rest and density
    /// calibrations and its memory added, the user's range within the role's register, the user's
    /// Harmony through the role's tuned one ([`Manifest::harmony_for`]).
    pub fn constraints_for(&self, role: Role, user: Constraints) -> Constraints {
        let (pitch_lo, pitch_hi) = crate::sampling::within_register(self.register(role), user.pitch_lo, user.pitch_hi);
        Constraints {
            pitch_lo,
            pitch_hi,
            rest_bias: self.rest_bias(role),
            note_bias: self.note_bias(role),
            memory: self.memory(role),
            fast_rest: self.fast_rest(role),
            entry_rest: self.entry_rest(role),
            duration_temperature: self.duration_temperature(role),
            velocity_temperature: self.velocity_temperature(role),
            register_hold: self.register_hold(role),
            length_hold: self.length_hold(role),
            silence: self.silence(role),
            fast_notes: self.fast_notes(role),
            chord_tones: self.harmony_for(role, user.chord_tones),
            ..user
        }
    }

    /// Takes `from`'s sampling calibrations, what a network continued from `from`'s (a
    /// fine-tune) plays with: each role's tuned note temperature, top-p and Harmony, its rest,
    /// density, fast-tempo and entry calibrations, its duration and velocity temperatures, its
    /// register and length holds, its silence and fast-note calibrations (the role's and each
    /// player's) and its memories. What describes this network, and what its training data measured (register,
    /// meters, whose positions it was trained to tell, its players), stay this manifest's. The
    /// pattern names every field, so a field added to [`Manifest`] must be sorted here before the
    /// crate compiles (a fine-tune once dropped the band's register and length holds, which came
    /// after its list was written).
    pub fn take_calibrations(&mut self, from: &Manifest) {
        let Manifest {
            format: _,
            name: _,
            description: _,
            model: _,
            vocab: _,
            microtiming: _,
            roles: _,
            data: _,
            metrics: _,
            trainer_revision: _,
            files: _,
            note_temperature,
            note_top_p,
            harmony,
            rest_bias,
            note_bias,
            memory,
            players: _,
            fast_rest,
            entry_rest,
            duration_temperature,
            velocity_temperature,
            given_kind: _,
            register: _,
            register_hold,
            length_hold,
            silence,
            player_silence,
            fast_notes,
            player_fast_notes,
            meters: _,
            no_input: _,
            no_chords: _,
        } = from.clone();
        self.note_temperature = note_temperature;
        self.note_top_p = note_top_p;
        self.harmony = harmony;
        self.rest_bias = rest_bias;
        self.note_bias = note_bias;
        self.memory = memory;
        self.fast_rest = fast_rest;
        self.entry_rest = entry_rest;
        self.duration_temperature = duration_temperature;
        self.velocity_temperature = velocity_temperature;
        self.register_hold = register_hold;
        self.length_hold = length_hold;
        self.silence = silence;
        self.player_silence = player_silence;
        self.fast_notes = fast_notes;
        self.player_fast_notes = player_fast_notes;
    }

    /// The tokenizer this model was trained with.
    pub fn tokenizer(&self) -> Tokenizer {
        Tokenizer::new(self.vocab.clone(), self.microtiming)
    }
}

/// `role`'s value in a per-role calibration `map`, within `[lo, hi]`; `none` when the map names
/// no finite value for it.
fn clamped(map: &BTreeMap<String, f32>, role: Role, lo: f32, hi: f32, none: f32) -> f32 {
    match map.get(role.name()) {
        Some(&v) if v.is_finite() => v.clamp(lo, hi),
        _ => none,
    }
}

/// `role`'s calibration temperature in `map`; 1 (the network's own choice) when the map names
/// none for it or one outside `range` (not finite included).
fn temperature(map: &BTreeMap<String, f32>, role: Role, range: std::ops::RangeInclusive<f32>) -> f32 {
    match map.get(role.name()) {
        Some(&t) if range.contains(&t) => t,
        _ => 1.0,
    }
}

impl Package {
    /// Loads the package in `path` (its folder, or its `manifest.json`), checking vocabulary and
    /// file checksums.
    pub fn load(path: &Path) -> Result<Package, PackageError> {
        let manifest_path = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let dir = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let json = read_limited(&manifest_path, MAX_MANIFEST_BYTES)?;
        let json = String::from_utf8(json).map_err(|_| PackageError::Manifest {
            path: manifest_path.clone(),
            reason: "not UTF-8 text".into(),
        })?;
        let manifest = Manifest::from_json(&json, &manifest_path)?;
        let pkg = Package {
            manifest,
            dir,
            embedded: None,
        };
        for (file, sum) in &pkg.manifest.files {
            let p = pkg.dir.join(file);
            let bytes = std::fs::read(&p).map_err(|source| PackageError::Io {
                path: p.clone(),
                source,
            })?;
            if &sha256_hex(&bytes) != sum {
                return Err(PackageError::Checksum { path: p });
            }
        }
        Ok(pkg)
    }

    /// Writes `manifest` into `dir` after filling in the checksums of the files it names.
    pub fn write(dir: &Path, manifest: &mut Manifest) -> Result<(), PackageError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PackageError::Io { path, source }
        };
        let write = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PackageError::Write { path, source }
        };
        std::fs::create_dir_all(dir).map_err(write(dir))?;
        let names: Vec<String> = match &manifest.model {
            ModelKind::Markov { file, .. } => vec![file.clone()],
            ModelKind::Transformer { fp32, int8, .. } => fp32.iter().chain(int8.iter()).cloned().collect(),
        };
        manifest.files.clear();
        for name in names {
            let p = dir.join(&name);
            let bytes = std::fs::read(&p).map_err(io(&p))?;
            manifest.files.insert(name, sha256_hex(&bytes));
        }
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        std::fs::write(&tmp, manifest.to_json()).map_err(write(&path))?;
        std::fs::rename(&tmp, &path).map_err(write(&path))?;
        Ok(())
    }

    /// Full path of a file of the package.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The bytes of a file of the package (read from disk, or built in).
    pub fn read(&self, name: &str) -> Result<std::borrow::Cow<'static, [u8]>, PackageError> {
        if let Some(files) = self.embedded {
            return files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| std::borrow::Cow::Borrowed(*b))
                .ok_or_else(|| PackageError::Io {
                    path: self.file(name),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "not built into this binary"),
                });
        }
        let p = self.file(name);
        std::fs::read(&p)
            .map(std::borrow::Cow::Owned)
            .map_err(|source| PackageError::Io { path: p, source })
    }

    /// A package from a manifest and files built into the binary, checked like one on disk.
    pub fn from_static(
        id: &str,
        manifest_json: &str,
        files: &'static [(&'static str, &'static [u8])],
    ) -> Result<Package, PackageError> {
        let dir = PathBuf::from(format!("{BUILTIN_PREFIX}{id}"));
        let manifest = Manifest::from_json(manifest_json, &dir.join(MANIFEST_FILE))?;
        let pkg = Package {
            manifest,
            dir,
            embedded: Some(files),
        };
        for (file, sum) in &pkg.manifest.files {
            if &sha256_hex(&pkg.read(file)?) != sum {
                return Err(PackageError::Checksum { path: pkg.file(file) });
            }
        }
        Ok(pkg)
    }

    /// Opens a model reference: `builtin:<id>` for a default model built into this binary, or the
    /// path of a package folder (or its manifest).
    pub fn open(reference: &str) -> Result<Package, PackageError> {
        let reference = reference.trim();
        match reference.strip_prefix(BUILTIN_PREFIX) {
            Some(id) => crate::assets::package(id),
            None => Package::load(Path::new(reference)),
        }
    }

    /// Whether this package is built into the binary.
    pub fn is_builtin(&self) -> bool {
        self.embedded.is_some()
    }
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, PackageError> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|source| PackageError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if buf.len() as u64 > limit {
        return Err(PackageError::Manifest {
            path: path.to_path_buf(),
            reason: format!("larger than {limit} bytes"),
        });
    }
    Ok(buf)
}

mod phrasing;
pub use phrasing::Phrasing;
#[cfg(test)]
mod tests;
