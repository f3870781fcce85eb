//! The plugin's parameters and persisted state. Ids are frozen (STYLE.md rule 8): never rename
//! one; add new ones and migrate in `Plugin::filter_state`.
//!
//! Every float parameter snaps to a step and prints exactly the digits of that step, and its
//! string-to-value parser reads that text back: value -> text -> value is the identity (hosts and
//! clap-validator's `param-conversions` check it).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use models::Role;
use models::groove::SwingUnit;
use models::sampling::{DEFAULT_CHORD_TONES, DEFAULT_PITCH_HI, DEFAULT_PITCH_LO, Scale};
use nice_plug::plugin::ParamValue;
use nice_plug::prelude::*;

/// Highest style selectable from the parameter (0 means no style tag; n is slot n - 1): every
/// slot of the vocabulary (the band model alone has 227 groove styles).
pub const MAX_STYLE_PARAM: i32 = models::tokenizer::vocab::STYLE_SLOTS as i32;
/// Highest player selectable from the parameter (0 is Auto; n is the model's n-th player,
/// [`models::players::Players::names`], or of a role's phrasing players,
/// [`models::package::Manifest::phrasing_players`]): the GMD has ten drummers, the WJazzD 78
/// soloists.
pub const MAX_PLAYER_PARAM: i32 = 96;
/// Shortest look-ahead, in beats.
pub const MIN_LOOK_AHEAD_BEATS: f32 = 1.0;
/// Longest look-ahead, in beats.
pub const MAX_LOOK_AHEAD_BEATS: f32 = 16.0;
/// The editor's default size, in logical pixels.
pub const EDITOR_DEFAULT_SIZE: (u32, u32) = (1280, 700);
/// The editor's smallest size, in logical pixels.
pub const EDITOR_MIN_SIZE: (u32, u32) = (760, 520);
/// The editor's largest size, in logical pixels.
pub const EDITOR_MAX_SIZE: (u32, u32) = (3840, 2160);
/// Bars "Export MIDI" writes by default.
pub const DEFAULT_EXPORT_BARS: u32 = 8;
/// Level of the preview sound by default, dB.
pub const DEFAULT_PREVIEW_LEVEL_DB: f32 = -12.0;
/// Lowest and highest level of the preview sound, dB.
pub const PREVIEW_LEVEL_RANGE_DB: (f32, f32) = (-48.0, 0.0);

/// Highest value of the Seed parameter (its lowest is 0).
pub const MAX_SEED: i32 = 9999;
/// Instances this process has made so far (each one's default Seed: [`fresh_seed`]).
static INSTANCES_MADE: AtomicU32 = AtomicU32::new(0);
/// Step between the default seeds of the instances of one process: prime to `MAX_SEED + 1`, so
/// the first 10,000 instances of a process all get different seeds.
const SEED_STRIDE: u32 = 7919;

/// The default Seed of a new instance (main thread, when the host creates the plugin): two
/// instances of the same role on two tracks, at every other default, play two different lines
/// over the same chords instead of doubling each other note for note. Different for every instance
/// of one process (the first 10,000), and drawn afresh in each process (OS randomness), so
/// sandboxed instances differ too (with the chance of one in 10,000 of the seed range). A saved
/// project keeps each instance's seed (the state holds every parameter), so a reload plays what
/// was heard; [`SidemanParams::default`] keeps Seed 1 for tests and tools.
pub fn fresh_seed() -> i32 {
    static BASE: OnceLock<u32> = OnceLock::new();
    let base = *BASE.get_or_init(|| {
        // `RandomState` is keyed from the OS's random source once per process.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        (h.finish() % (MAX_SEED as u64 + 1)) as u32
    });
    let n = INSTANCES_MADE.fetch_add(1, Ordering::Relaxed) % (MAX_SEED as u32 + 1);
    ((base as u64 + n as u64 * SEED_STRIDE as u64) % (MAX_SEED as u64 + 1)) as i32
}

/// The editor's own settings, saved with the project (not parameters: nothing to automate).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EditorPrefs {
    /// Window width, logical pixels (the host's DPI scale applies on top).
    pub width: u32,
    /// Window height, logical pixels.
    pub height: u32,
    /// Seed lock: the dice button leaves the seed alone.
    pub seed_locked: bool,
    /// Folder "Export MIDI" writes to (empty: the default, see `editor::export::DEFAULT_EXPORT_DIR`).
    pub export_dir: String,
    /// Bars "Export MIDI" writes.
    pub export_bars: u32,
    /// Whether "Export MIDI" adds the user's input as a second track.
    pub export_input: bool,
}

impl Default for EditorPrefs {
    fn default() -> Self {
        EditorPrefs {
            width: EDITOR_DEFAULT_SIZE.0,
            height: EDITOR_DEFAULT_SIZE.1,
            seed_locked: false,
            export_dir: String::new(),
            export_bars: DEFAULT_EXPORT_BARS,
            export_input: true,
        }
    }
}

impl EditorPrefs {
    /// The window size within the editor's limits.
    pub fn size(&self) -> (u32, u32) {
        (
            self.width.clamp(EDITOR_MIN_SIZE.0, EDITOR_MAX_SIZE.0),
            self.height.clamp(EDITOR_MIN_SIZE.1, EDITOR_MAX_SIZE.1),
        )
    }
}

/// The generated role, as a parameter.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleParam {
    /// A single melodic line.
    #[id = "lead"]
    #[name = "Lead"]
    Lead,
    /// A bass line.
    #[id = "bass"]
    #[name = "Bass"]
    Bass,
    /// Chords behind a soloist.
    #[id = "comping"]
    #[name = "Comping"]
    Comping,
    /// Drums (General MIDI keys, channel 10 by convention).
    #[id = "drums"]
    #[name = "Drums"]
    Drums,
    /// Continue the user's sketch.
    #[id = "piano"]
    #[name = "Piano"]
    Piano,
}

impl RoleParam {
    /// The tokenizer's role.
    pub fn role(self) -> Role {
        match self {
            RoleParam::Lead => Role::Lead,
            RoleParam::Bass => Role::Bass,
            RoleParam::Comping => Role::Comping,
            RoleParam::Drums => Role::Drums,
            RoleParam::Piano => Role::Piano,
        }
    }
}

/// Key of the key/scale lock.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyParam {
    /// No lock.
    #[id = "off"]
    #[name = "Off"]
    Off,
    #[id = "c"]
    #[name = "C"]
    C,
    #[id = "db"]
    #[name = "Db"]
    Db,
    #[id = "d"]
    #[name = "D"]
    D,
    #[id = "eb"]
    #[name = "Eb"]
    Eb,
    #[id = "e"]
    #[name = "E"]
    E,
    #[id = "f"]
    #[name = "F"]
    F,
    #[id = "gb"]
    #[name = "Gb"]
    Gb,
    #[id = "g"]
    #[name = "G"]
    G,
    #[id = "ab"]
    #[name = "Ab"]
    Ab,
    #[id = "a"]
    #[name = "A"]
    A,
    #[id = "bb"]
    #[name = "Bb"]
    Bb,
    #[id = "b"]
    #[name = "B"]
    B,
}

impl KeyParam {
    /// Pitch class of the tonic, or `None` when the lock is off.
    pub fn tonic(self) -> Option<u8> {
        match self {
            KeyParam::Off => None,
            k => Some(k as u8 - 1),
        }
    }
}

/// Scale of the key/scale lock.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleParam {
    #[id = "major"]
    #[name = "Major"]
    Major,
    #[id = "minor"]
    #[name = "Minor"]
    Minor,
    #[id = "dorian"]
    #[name = "Dorian"]
    Dorian,
    #[id = "mixolydian"]
    #[name = "Mixolydian"]
    Mixolydian,
    #[id = "harmonic-minor"]
    #[name = "Harmonic minor"]
    HarmonicMinor,
    #[id = "penta-major"]
    #[name = "Pentatonic major"]
    PentatonicMajor,
    #[id = "penta-minor"]
    #[name = "Pentatonic minor"]
    PentatonicMinor,
    #[id = "blues"]
    #[name = "Blues"]
    Blues,
    #[id = "chromatic"]
    #[name = "Chromatic"]
    Chromatic,
}

impl ScaleParam {
    /// The sampling module's scale.
    pub fn scale(self) -> Scale {
        match self {
            ScaleParam::Major => Scale::Major,
            ScaleParam::Minor => Scale::Minor,
            ScaleParam::Dorian => Scale::Dorian,
            ScaleParam::Mixolydian => Scale::Mixolydian,
            ScaleParam::HarmonicMinor => Scale::HarmonicMinor,
            ScaleParam::PentatonicMajor => Scale::PentatonicMajor,
            ScaleParam::PentatonicMinor => Scale::PentatonicMinor,
            ScaleParam::Blues => Scale::Blues,
            ScaleParam::Chromatic => Scale::Chromatic,
        }
    }
}

/// Which off-beats Swing moves.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwingUnitParam {
    #[id = "8ths"]
    #[name = "8ths"]
    Eighths,
    #[id = "16ths"]
    #[name = "16ths"]
    Sixteenths,
}

impl SwingUnitParam {
    /// The groove module's unit.
    pub fn unit(self) -> SwingUnit {
        match self {
            SwingUnitParam::Eighths => SwingUnit::Eighths,
            SwingUnitParam::Sixteenths => SwingUnit::Sixteenths,
        }
    }
}

/// Drums: a fill in the last bar of every N bars.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillsParam {
    #[id = "off"]
    #[name = "Off"]
    Off,
    #[id = "4"]
    #[name = "Every 4 bars"]
    Four,
    #[id = "8"]
    #[name = "Every 8 bars"]
    Eight,
    #[id = "16"]
    #[name = "Every 16 bars"]
    Sixteen,
}

impl FillsParam {
    /// Phrase length in bars (0: off).
    pub fn bars(self) -> u32 {
        match self {
            FillsParam::Off => 0,
            FillsParam::Four => 4,
            FillsParam::Eight => 8,
            FillsParam::Sixteen => 16,
        }
    }
}

/// How Sideman plays with the user (see the engine's module docs).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeParam {
    /// Follow the input as conditioning (chords, and the notes the role listens to).
    #[id = "accompany"]
    #[name = "Accompany"]
    Accompany,
    /// Silent while the user plays; when they rest, answer for as long as they played.
    #[id = "call"]
    #[name = "Call & response"]
    CallResponse,
    /// Silent while the user plays; when they stop, continue what they played until they play.
    #[id = "continue"]
    #[name = "Continue"]
    Continue,
    /// Play without listening to the input.
    #[id = "free"]
    #[name = "Free"]
    Free,
}

impl ModeParam {
    /// Whether the user's notes are a phrase to answer or continue (not conditioning).
    pub fn answers(self) -> bool {
        matches!(self, ModeParam::CallResponse | ModeParam::Continue)
    }
}

/// Call and response: when an answer starts.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeParam {
    /// After the user rests for the Rest length.
    #[id = "rest"]
    #[name = "After a rest"]
    Rest,
    /// On the bar grid: the user's phrase in one slot of 2 bars, the answer in the next.
    #[id = "2"]
    #[name = "Trade 2 bars"]
    Two,
    /// Trading fours.
    #[id = "4"]
    #[name = "Trade 4 bars"]
    Four,
    /// Trading eights.
    #[id = "8"]
    #[name = "Trade 8 bars"]
    Eight,
}

impl TradeParam {
    /// Slot length in bars (0: after a rest).
    pub fn bars(self) -> u32 {
        match self {
            TradeParam::Rest => 0,
            TradeParam::Two => 2,
            TradeParam::Four => 4,
            TradeParam::Eight => 8,
        }
    }
}

/// Value-to-text formatter of a float parameter.
type FloatToText = Arc<dyn Fn(f32) -> String + Send + Sync>;
/// Text-to-value parser of a float parameter.
type TextToFloat = Arc<dyn Fn(&str) -> Option<f32> + Send + Sync>;

/// A float parameter that snaps to `step` and prints `digits` decimals, with a parser that reads
/// its own output (with or without the unit).
fn stepped(name: &str, default: f32, range: FloatRange, step: f32, digits: usize, unit: &'static str) -> FloatParam {
    let v2s: FloatToText = Arc::new(move |v| format!("{v:.digits$}"));
    let s2v: TextToFloat = Arc::new(move |s| {
        let t = s.trim().trim_end_matches(unit.trim()).trim();
        t.parse::<f32>().ok()
    });
    FloatParam::new(name, default, range)
        .with_step_size(step)
        .with_unit(unit)
        .with_value_to_string(v2s)
        .with_string_to_value(s2v)
}

/// The revision of the parameters' meaning that a state saved now carries
/// ([`SidemanParams::state_revision`]). 2 (2026-12-03): Lowest and Highest default to A0-C8 and
/// play within the model's register of the role; before, they defaulted to C2-C7.
pub const STATE_REVISION: u32 = 2;

/// Brings a saved state up to [`STATE_REVISION`] before it is loaded (`Plugin::filter_state`).
/// A state from before revisions that kept the former default range C2-C7 gets the new default,
/// so its bass plays the roots below C2 as a new instance does; a range the user set is kept.
pub fn migrate_state(state: &mut PluginState) {
    if state.fields.contains_key("state-revision") {
        return;
    }
    let former = |id: &str, v: i32| matches!(state.params.get(id), Some(ParamValue::I32(x)) if *x == v);
    if former("lo", 36) && former("hi", 96) {
        state
            .params
            .insert("lo".into(), ParamValue::I32(DEFAULT_PITCH_LO as i32));
        state
            .params
            .insert("hi".into(), ParamValue::I32(DEFAULT_PITCH_HI as i32));
    }
}

/// Everything the host automates and saves.
#[derive(Params)]
pub struct SidemanParams {
    /// Model package folder (or its manifest), empty for none. Written by the editor or state
    /// load (main thread), read by the generator thread. Never touched by the audio thread.
    #[persist = "model-path"]
    pub model_path: Arc<RwLock<String>>,
    /// The editor's window size, seed lock and export settings. Written by the editor (main
    /// thread) and state load; never touched by the audio thread or the worker.
    #[persist = "editor-state"]
    pub editor: Arc<RwLock<EditorPrefs>>,
    /// The revision of the saved state's parameters ([`STATE_REVISION`]); a state saved before
    /// revisions has none, and [`migrate_state`] brings it up to date on load.
    #[persist = "state-revision"]
    pub state_revision: Arc<RwLock<u32>>,

    /// Generated role. Read by the audio thread (a change releases every note) and the worker.
    #[id = "role"]
    pub role: EnumParam<RoleParam>,
    /// Style tag: 0 none, n = style slot n - 1 of the model's vocabulary. Read by the worker.
    #[id = "style"]
    pub style: IntParam,
    /// The player, for a model whose data names its players: the human drums' drummer, named
    /// beside the style (0 Auto: one drawn from the Seed among those who played the style), or
    /// the soloist whose phrasing the jazz lead takes (0 Auto: the role's); n the model's n-th
    /// player. Read by the worker.
    #[id = "player"]
    pub player: IntParam,
    /// Temperature of the choice of note (the rhythm keeps the model's distribution), relative to
    /// the model's tuned one for the role (1 plays it as shipped: the jazz lead at 0.5, say). Read
    /// by the worker.
    #[id = "temp"]
    pub temperature: FloatParam,
    /// Top-k (0 = off). Read by the worker.
    #[id = "topk"]
    pub top_k: IntParam,
    /// Top-p over the note choices (1 = off), relative to the model's tuned one for the role (the
    /// default 0.95 plays it as tuned: `SamplerConfig::top_p_relative_to`). Read by the worker.
    #[id = "topp"]
    pub top_p: FloatParam,
    /// Note density, 0.5 = as the model plays. Read by the worker.
    #[id = "dens"]
    pub density: FloatParam,
    /// Harmony: how strongly notes are pulled towards the tones of the chord in force, percent
    /// (100 % = a 4-nat logit bonus; 0 = the model as it is; the default plays the role at its
    /// model's tuned pull: `models::sampling::tuned_harmony`). Read by the worker.
    #[id = "harm"]
    pub harmony_pct: FloatParam,
    /// Memory: how much the role keeps to what it played after the figure it is playing, the
    /// last time, and (where the model has one) to what it played over the same changes when the
    /// chords come round, in the model's share of those bars (a whole bar again where a phrase
    /// of the changes comes round, a figure of a few notes from any beat where a bar of them
    /// does, from any of the times it came round); percent of the model's piece
    /// memory, its weights and that share (100 % as shipped, 0 % the network
    /// alone; `models::memory`). Read by the worker.
    #[id = "memo"]
    pub memory_pct: FloatParam,
    /// How far ahead the worker keeps notes ready, in beats. Read by the worker.
    #[id = "ahead"]
    pub look_ahead_beats: FloatParam,
    /// Random seed; the same seed and input give the same notes. Read by the worker.
    #[id = "seed"]
    pub seed: IntParam,
    /// Key of the key/scale lock. Read by the worker.
    #[id = "key"]
    pub key: EnumParam<KeyParam>,
    /// Scale of the key/scale lock. Read by the worker.
    #[id = "scale"]
    pub scale: EnumParam<ScaleParam>,
    /// Lowest generated pitch, within the model's register of the role (the range of the two;
    /// this one alone where they do not meet). Read by the worker.
    #[id = "lo"]
    pub pitch_lo: IntParam,
    /// Highest generated pitch, within the model's register of the role. Read by the worker.
    #[id = "hi"]
    pub pitch_hi: IntParam,
    /// Velocity multiplier. Read by the worker.
    #[id = "velsc"]
    pub velocity_scale: FloatParam,
    /// Timing humanisation, +- milliseconds. Read by the worker.
    #[id = "humt"]
    pub humanize_ms: FloatParam,
    /// Velocity humanisation, +- percent. Read by the worker.
    #[id = "humv"]
    pub humanize_velocity_pct: FloatParam,
    /// Swing of off-beat eighths, 50 (straight) to 75 percent. Read by the worker.
    #[id = "swing"]
    pub swing_pct: FloatParam,
    /// Feel: how much of the model's own timing off the grid is kept, 0 (quantized) to 200
    /// percent (exaggerated). Read by the worker.
    #[id = "feel"]
    pub feel_pct: FloatParam,
    /// Which off-beats Swing moves. Read by the worker.
    #[id = "swunit"]
    pub swing_unit: EnumParam<SwingUnitParam>,
    /// Drums: a fill at the end of every N bars. Read by the worker.
    #[id = "fills"]
    pub fills: EnumParam<FillsParam>,
    /// MIDI output channel 1-16. Read by the audio thread (a change releases every note).
    #[id = "chan"]
    pub channel: IntParam,
    /// Whether the user's input conditions the generation. Read by the worker.
    #[id = "follow"]
    pub follow_input: BoolParam,
    /// Accompany, call and response, continue or free. Read by the worker.
    #[id = "mode"]
    pub mode: EnumParam<ModeParam>,
    /// Call and response: after a rest, or trading on a bar grid. Read by the worker.
    #[id = "trade"]
    pub trade: EnumParam<TradeParam>,
    /// Call and response and Continue: how long the user rests before Sideman plays, in beats.
    /// Read by the worker.
    #[id = "rest"]
    pub rest_beats: FloatParam,
    /// A looped range keeps its notes pass after pass (until the input changes). Read by the
    /// worker.
    #[id = "lock"]
    pub lock: BoolParam,
    /// Unlocked loops: how much of each pass is played anew, percent (0: the same notes, 100:
    /// every bar new, continuing from the pass before). Read by the worker.
    #[id = "vary"]
    pub vary_pct: FloatParam,
    /// Panic: a rise (false to true) releases every note and sends CC 123 and 120 on the
    /// output channel. The editor's Panic button pulses it. Read by the audio thread.
    #[id = "panic"]
    pub panic: BoolParam,
    /// Host bypass: releases every note and stays silent. Read by the audio thread.
    #[id = "bypass"]
    pub bypass: BoolParam,
    /// The built-in preview sound on the audio output (see [`crate::preview`]): on until the
    /// user routes the MIDI to an instrument. Read by the audio thread.
    #[id = "preview"]
    pub preview: BoolParam,
    /// Level of the preview sound, dB. Read by the audio thread.
    #[id = "prevlvl"]
    pub preview_level_db: FloatParam,
}

/// The 0-15 MIDI channel of the "MIDI channel" parameter's value (1-16).
pub fn channel_index(channel: i32) -> u8 {
    (channel.clamp(1, 16) - 1) as u8
}

impl Default for SidemanParams {
    /// The parameters at Seed 1 (tests, tools and the documentation's examples); the plugin
    /// makes its own with [`SidemanParams::new_instance`].
    fn default() -> Self {
        Self::with_seed(1)
    }
}

impl SidemanParams {
    /// A new plugin instance's parameters: the defaults with a Seed of its own ([`fresh_seed`]),
    /// which is also what double-clicking the Seed resets it to.
    pub fn new_instance() -> Self {
        Self::with_seed(fresh_seed())
    }

    /// The defaults, with `seed` as the Seed's default value.
    fn with_seed(seed: i32) -> Self {
        SidemanParams {
            model_path: Arc::new(RwLock::new(String::new())),
            editor: Arc::new(RwLock::new(EditorPrefs::default())),
            state_revision: Arc::new(RwLock::new(STATE_REVISION)),
            role: EnumParam::new("Role", RoleParam::Lead),
            style: IntParam::new(
                "Style",
                0,
                IntRange::Linear {
                    min: 0,
                    max: MAX_STYLE_PARAM,
                },
            ),
            player: IntParam::new(
                "Player",
                0,
                IntRange::Linear {
                    min: 0,
                    max: MAX_PLAYER_PARAM,
                },
            ),
            temperature: stepped(
                "Temperature",
                1.0,
                FloatRange::Linear { min: 0.05, max: 2.0 },
                0.01,
                2,
                "",
            ),
            top_k: IntParam::new("Top-k", 0, IntRange::Linear { min: 0, max: 128 }),
            top_p: stepped(
                "Top-p",
                models::sampling::DEFAULT_TOP_P,
                FloatRange::Linear { min: 0.05, max: 1.0 },
                0.01,
                2,
                "",
            ),
            density: stepped(
                "Density",
                models::sampling::NEUTRAL_DENSITY,
                FloatRange::Linear { min: 0.0, max: 1.0 },
                0.01,
                2,
                "",
            ),
            harmony_pct: stepped(
                "Harmony",
                DEFAULT_CHORD_TONES * 100.0 / models::sampling::FULL_CHORD_TONES,
                FloatRange::Linear { min: 0.0, max: 100.0 },
                // Half a percent, so the default (6 %, 0.24 nat) is on the grid and a host that
                // snaps values plays exactly what `trainer generate` plays.
                0.5,
                1,
                " %",
            ),
            memory_pct: stepped(
                "Memory",
                100.0,
                FloatRange::Linear { min: 0.0, max: 200.0 },
                1.0,
                0,
                " %",
            ),
            look_ahead_beats: stepped(
                "Look-ahead",
                4.0,
                FloatRange::Linear {
                    min: MIN_LOOK_AHEAD_BEATS,
                    max: MAX_LOOK_AHEAD_BEATS,
                },
                0.5,
                1,
                " beats",
            )
            .non_automatable(),
            seed: IntParam::new(
                "Seed",
                seed.clamp(0, MAX_SEED),
                IntRange::Linear { min: 0, max: MAX_SEED },
            )
            .non_automatable(),
            key: EnumParam::new("Key", KeyParam::Off),
            scale: EnumParam::new("Scale", ScaleParam::Major),
            pitch_lo: IntParam::new(
                "Lowest note",
                DEFAULT_PITCH_LO as i32,
                IntRange::Linear { min: 0, max: 127 },
            ),
            pitch_hi: IntParam::new(
                "Highest note",
                DEFAULT_PITCH_HI as i32,
                IntRange::Linear { min: 0, max: 127 },
            ),
            velocity_scale: stepped(
                "Velocity",
                1.0,
                FloatRange::Linear { min: 0.25, max: 2.0 },
                0.01,
                2,
                "x",
            ),
            humanize_ms: stepped(
                "Humanize time",
                0.0,
                FloatRange::Linear { min: 0.0, max: 30.0 },
                0.1,
                1,
                " ms",
            ),
            humanize_velocity_pct: stepped(
                "Humanize velocity",
                0.0,
                FloatRange::Linear { min: 0.0, max: 50.0 },
                0.1,
                1,
                " %",
            ),
            swing_pct: stepped("Swing", 50.0, FloatRange::Linear { min: 50.0, max: 75.0 }, 0.1, 1, " %"),
            feel_pct: stepped("Feel", 100.0, FloatRange::Linear { min: 0.0, max: 200.0 }, 1.0, 0, " %"),
            swing_unit: EnumParam::new("Swing on", SwingUnitParam::Eighths),
            fills: EnumParam::new("Fills", FillsParam::Off),
            channel: IntParam::new("MIDI channel", 1, IntRange::Linear { min: 1, max: 16 }),
            follow_input: BoolParam::new("Follow input", true),
            mode: EnumParam::new("Mode", ModeParam::Accompany),
            trade: EnumParam::new("Trade", TradeParam::Rest),
            rest_beats: stepped("Rest", 2.0, FloatRange::Linear { min: 0.5, max: 8.0 }, 0.5, 1, " beats"),
            lock: BoolParam::new("Lock loop", false),
            vary_pct: stepped("Vary", 100.0, FloatRange::Linear { min: 0.0, max: 100.0 }, 1.0, 0, " %"),
            panic: BoolParam::new("Panic", false).non_automatable(),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            preview: BoolParam::new("Preview sound", true),
            preview_level_db: stepped(
                "Preview level",
                DEFAULT_PREVIEW_LEVEL_DB,
                FloatRange::Linear {
                    min: PREVIEW_LEVEL_RANGE_DB.0,
                    max: PREVIEW_LEVEL_RANGE_DB.1,
                },
                0.5,
                1,
                " dB",
            ),
        }
    }
}

impl SidemanParams {
    /// The model path currently set (main or worker thread only: takes a lock).
    pub fn model_path(&self) -> String {
        self.model_path.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sets the model path (main thread).
    pub fn set_model_path(&self, path: &str) {
        if let Ok(mut s) = self.model_path.write() {
            *s = path.to_string();
        }
    }

    /// The editor's settings (main thread).
    pub fn editor_prefs(&self) -> EditorPrefs {
        self.editor.read().map(|p| p.clone()).unwrap_or_default()
    }

    /// Changes the editor's settings (main thread).
    pub fn update_editor_prefs(&self, f: impl FnOnce(&mut EditorPrefs)) {
        if let Ok(mut p) = self.editor.write() {
            f(&mut p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state from before revisions with the former default range gets the new one; one whose
    /// user set the range, or a state of this revision, keeps it.
    #[test]
    fn an_old_state_with_the_former_default_range_gets_the_new_one() {
        let state = |lo: i32, hi: i32, revision: bool| PluginState {
            version: "0.1.0".into(),
            params: [
                ("lo".to_string(), ParamValue::I32(lo)),
                ("hi".to_string(), ParamValue::I32(hi)),
            ]
            .into(),
            fields: if revision {
                [("state-revision".to_string(), "2".to_string())].into()
            } else {
                Default::default()
            },
        };
        let range = |s: &PluginState| {
            let int = |id: &str| match s.params.get(id) {
                Some(ParamValue::I32(v)) => *v,
                _ => -1,
            };
            (int("lo"), int("hi"))
        };
        let mut old = state(36, 96, false);
        migrate_state(&mut old);
        assert_eq!(range(&old), (DEFAULT_PITCH_LO as i32, DEFAULT_PITCH_HI as i32));
        for (lo, hi, revision) in [(40, 96, false), (36, 96, true)] {
            let mut s = state(lo, hi, revision);
            migrate_state(&mut s);
            assert_eq!(range(&s), (lo, hi));
        }
        // A state saved now carries the revision.
        let p = SidemanParams::default();
        assert_eq!(*p.state_revision.read().unwrap(), STATE_REVISION);
        assert!(p.serialize_fields().contains_key("state-revision"));
    }

    #[test]
    fn float_params_round_trip_through_text() {
        let p = SidemanParams::default();
        for f in [
            &p.temperature,
            &p.top_p,
            &p.density,
            &p.memory_pct,
            &p.look_ahead_beats,
            &p.velocity_scale,
            &p.humanize_ms,
            &p.humanize_velocity_pct,
            &p.swing_pct,
            &p.feel_pct,
            &p.rest_beats,
            &p.vary_pct,
            &p.preview_level_db,
        ] {
            for i in 0..=20 {
                let norm = i as f32 / 20.0;
                let v = f.preview_plain(norm);
                let text = f.normalized_value_to_string(f.preview_normalized(v), true);
                let back = f.string_to_normalized_value(&text).map(|n| f.preview_plain(n));
                assert_eq!(back, Some(v), "{} {v} -> {text:?}", f.name());
            }
        }
    }

    #[test]
    fn each_new_instance_gets_a_seed_of_its_own() {
        let seeds: Vec<i32> = (0..64).map(|_| SidemanParams::new_instance().seed.value()).collect();
        let mut distinct = seeds.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), seeds.len(), "{seeds:?}");
        assert!(seeds.iter().all(|s| (0..=MAX_SEED).contains(s)));
        // Its default is its own seed (double-click resets to it); the plain defaults keep Seed 1.
        let p = SidemanParams::new_instance();
        assert_eq!(p.seed.default_plain_value(), p.seed.value());
        assert_eq!(SidemanParams::default().seed.value(), 1);
    }
}
