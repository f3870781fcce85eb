//! Every link between the audio thread and the generator thread: the two queues, their
//! capacities, their message types, and the shared status atomics.
//!
//! # Protocol
//! ```text
//! audio thread (process)                               generator thread (engine::Worker)
//! ----------------------                               ---------------------------------
//! ToWorker::{Reset, Stop, NoteOn, NoteOff, Pedal}  --q1-->    conditioning + session restarts
//!   each stamped with the block's `seq`
//! SharedStatus.{playhead, tempo, block_seq}  (atomics, latest value wins)
//!                                            <--q2--   ToAudio::{Note, ReplaceFrom}, stamped
//!                                                      with the epoch they were made for
//! SharedStatus.ack_seq                        <-----   "everything up to seq is handled and the
//!                                                      look-ahead is filled for it"
//! ```
//! - **Epochs.** The audio thread owns the epoch. On every discontinuity (play, stop, seek, loop
//!   wrap, time-signature change, role or channel change, deactivate) it first releases every
//!   sounding note and drops every queued one, then bumps the epoch and sends `Reset` (or
//!   `Stop`). Notes arriving with an older epoch are dropped on arrival, so nothing generated for
//!   the old timeline can sound on the new one.
//! - **Rollback.** When the worker regenerates within an epoch (the user's input diverged from what
//!   the future assumed, a tempo bucket or model change), it sends `ReplaceFrom { beat }` and then
//!   the new notes. The scheduler drops its queued notes from `beat` on; notes already sounding
//!   keep their scheduled NoteOff. The worker never replaces before the beat boundary it promised
//!   (see `engine`), so nothing the host already heard is contradicted.
//! - **Offline rendering.** In `ProcessMode::Offline` the audio thread waits (spinning, then
//!   yielding, bounded by [`OFFLINE_WAIT_LIMIT_MS`]) until `ack_seq` reaches its block's `seq`.
//!   The worker only handles messages up to the `block_seq` it read, so its state after each
//!   block is a function of the blocks so far: bounces are deterministic. In realtime modes the
//!   audio thread never waits.
//! - **Full queues.** The audio side uses `try_*` only and counts what it could not push in
//!   [`SharedStatus`]; the worker keeps notes it could not push and retries on its next turn.
//!
//! # The editor
//! ```text
//! generator thread (engine::Worker)                    editor (GUI thread)
//! ---------------------------------                    -------------------
//! SharedStatus atomics (tokens/s, look-ahead)  ----->  status line (read each frame)
//! SharedStatus.roll: RollFeed, a bounded log   ----->  piano roll (copies what is new)
//!   of RollEvents (notes sent, input, chords,
//!   replace boundaries, resets)
//! ```
//! The editor never talks to the audio thread: it reads snapshots and steers through the
//! host's parameters (`ParamSetter`) and the persisted model path the worker polls. Only the
//! worker and the editor take the roll log's lock, the worker with `try_lock` (it keeps what it
//! could not append and retries next turn), so neither ever waits on the audio thread, and the
//! worker never waits on the editor.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering};

use models::Chord;

/// Capacity of the audio -> worker queue (note events and transport changes).
pub const TO_WORKER_CAPACITY: usize = 4096;
/// Capacity of the worker -> audio queue (generated notes and replace markers).
pub const TO_AUDIO_CAPACITY: usize = 4096;
/// Notes the scheduler can hold waiting for their start.
pub const MAX_PENDING_NOTES: usize = 2048;
/// Notes the scheduler can hold sounding at once.
pub const MAX_SOUNDING_NOTES: usize = 256;
/// Output events the scheduler can emit in one block segment.
pub const MAX_BLOCK_EVENTS: usize = 2 * MAX_SOUNDING_NOTES + 2 * MAX_PENDING_NOTES;
/// Longest the audio thread waits for the worker per block in offline rendering.
pub const OFFLINE_WAIT_LIMIT_MS: u64 = 2000;
/// Events the piano-roll log keeps (worker -> editor); the oldest go first. Sixteen bars (what
/// the roll keeps for export) of dense drums with input and chords need about a thousand.
pub const ROLL_LOG_CAPACITY: usize = 4096;

/// The transport as the audio thread saw it at a discontinuity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransportSnapshot {
    /// Beat (quarter notes from the song start) where playback (re)starts.
    pub beat: f64,
    /// Tempo.
    pub tempo_bpm: f64,
    /// Time signature numerator.
    pub numerator: u8,
    /// Time signature denominator.
    pub denominator: u8,
    /// Beat where the bar containing `beat` starts.
    pub bar_start_beat: f64,
    /// The loop's end, when this restart is the host wrapping its loop from there back to
    /// `beat` (the loop's start); `None` for a start, seek or other jump.
    pub wrapped_from: Option<f64>,
}

/// Audio thread -> worker. `Copy`, no heap data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ToWorker {
    /// The timeline jumped or (re)started: regenerate from `transport.beat` for `epoch`.
    Reset {
        /// Block sequence number.
        seq: u64,
        /// New epoch.
        epoch: u32,
        /// Where and how playback goes on.
        transport: TransportSnapshot,
    },
    /// The transport stopped.
    Stop {
        /// Block sequence number.
        seq: u64,
        /// New epoch.
        epoch: u32,
    },
    /// The user pressed a key at `beat`.
    NoteOn {
        /// Block sequence number.
        seq: u64,
        /// Beat of the onset.
        beat: f64,
        /// Key.
        pitch: u8,
        /// Velocity 1-127.
        velocity: u8,
    },
    /// The user released a key at `beat`.
    NoteOff {
        /// Block sequence number.
        seq: u64,
        /// Beat of the release.
        beat: f64,
        /// Key.
        pitch: u8,
    },
    /// The sustain pedal (MIDI CC 64) went down or up.
    Pedal {
        /// Block sequence number.
        seq: u64,
        /// Down (64 or above) or up.
        down: bool,
    },
}

impl ToWorker {
    /// Block sequence number of the message.
    pub fn seq(&self) -> u64 {
        match self {
            ToWorker::Reset { seq, .. }
            | ToWorker::Stop { seq, .. }
            | ToWorker::NoteOn { seq, .. }
            | ToWorker::NoteOff { seq, .. }
            | ToWorker::Pedal { seq, .. } => *seq,
        }
    }
}

/// A note ready to schedule, in beats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduledNote {
    /// Onset in beats.
    pub start: f64,
    /// Release in beats (> start).
    pub end: f64,
    /// Key.
    pub pitch: u8,
    /// MIDI channel 0-15.
    pub channel: u8,
    /// Velocity 0..=1.
    pub velocity: f32,
}

/// Worker -> audio thread. `Copy`, no heap data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ToAudio {
    /// A note to play.
    Note {
        /// Epoch it was generated for.
        epoch: u32,
        /// The note.
        note: ScheduledNote,
    },
    /// Drop queued notes starting at or after `beat`.
    ReplaceFrom {
        /// Epoch it applies to.
        epoch: u32,
        /// First beat replaced.
        beat: f64,
    },
}

/// What the engine is doing, for the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EngineState {
    /// No model loaded yet.
    NoModel = 0,
    /// A model is being loaded.
    Loading = 1,
    /// Generating.
    Ready = 2,
    /// No model could be loaded (not even a fallback), or the generator failed; see
    /// [`SharedStatus::last_error`]. Output is silent.
    Failed = 3,
}

impl EngineState {
    fn from_u8(v: u8) -> EngineState {
        match v {
            1 => EngineState::Loading,
            2 => EngineState::Ready,
            3 => EngineState::Failed,
            _ => EngineState::NoModel,
        }
    }
}

/// Whether the ONNX Runtime library was found (for the editor's status line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RuntimeState {
    /// Not checked yet.
    Unknown = 0,
    /// Found (and loaded when a neural model plays).
    Found = 1,
    /// Missing or unusable: neural models fall back to the Markov model.
    Missing = 2,
}

/// Status shared by the audio thread, the worker and the editor. Atomics only, except the
/// `Mutex`es and the roll log, which the audio thread never touches.
#[derive(Debug, Default)]
pub struct SharedStatus {
    /// Block sequence number, bumped by the audio thread after a block's messages are pushed.
    pub block_seq: AtomicU64,
    /// Highest `block_seq` the worker has fully handled (written by the worker).
    pub ack_seq: AtomicU64,
    /// End of the last processed block, in beats (`f64` bits; audio thread).
    pub playhead_bits: AtomicU64,
    /// Start of the last processed block, in beats (`f64` bits; audio thread).
    pub block_start_bits: AtomicU64,
    /// Whether the host renders offline (audio thread): the audio thread then waits for the
    /// worker on every block, so notes from the block's start may still be replaced.
    pub offline: AtomicBool,
    /// Tempo of the last block (`f64` bits; audio thread).
    pub tempo_bits: AtomicU64,
    /// Whether the transport plays (audio thread).
    pub playing: AtomicBool,
    /// Current epoch (audio thread).
    pub epoch: AtomicU32,
    /// Messages to the worker lost because q1 was full (audio thread).
    pub dropped_to_worker: AtomicU64,
    /// Generated notes lost: scheduler full (audio thread).
    pub dropped_notes: AtomicU64,
    /// Output events the host refused (audio thread).
    pub dropped_events: AtomicU64,
    /// Notes that arrived too late to play (audio thread).
    pub late_notes: AtomicU64,
    /// NoteOns sent to the host (audio thread).
    pub notes_played: AtomicU64,
    /// Blocks where offline rendering gave up waiting for the worker (audio thread).
    pub offline_timeouts: AtomicU64,
    /// Notes generated (worker).
    pub notes_generated: AtomicU64,
    /// Rollbacks performed (worker).
    pub rollbacks: AtomicU64,
    /// Chords the worker recognised in the input (worker).
    pub chords_seen: AtomicU64,
    /// [`EngineState`] as `u8` (worker).
    pub state: AtomicU8,
    /// Tokens sampled by the model since the plugin started (worker).
    pub tokens_sampled: AtomicU64,
    /// Decode speed while generating, tokens per second, smoothed (`f64` bits; worker).
    pub decode_rate_bits: AtomicU64,
    /// How far after the playhead a rollback replaces notes, ms: the regeneration time measured
    /// for the model with headroom (`f64` bits; worker).
    pub commit_margin_ms_bits: AtomicU64,
    /// Rollbacks whose regenerated notes were ready only after the playhead had passed their
    /// commit boundary (the worker did not get the CPU in time; worker).
    pub missed_commits: AtomicU64,
    /// How far ahead of the playhead notes are ready, in beats (`f64` bits; worker). Negative
    /// when the worker is behind; NaN while nothing is being generated.
    pub ahead_beats_bits: AtomicU64,
    /// [`RuntimeState`] as `u8` (worker).
    pub runtime: AtomicU8,
    /// Where ONNX Runtime was found, or why it is missing and how to fix it (worker writes;
    /// editor reads).
    pub runtime_detail: Mutex<String>,
    /// Reference of the model playing (`builtin:<id>` or a package path), after any fallback
    /// (worker writes; editor reads).
    pub model_ref: Mutex<String>,
    /// What the generator did, for the piano roll (worker appends; editor reads).
    pub roll: RollFeed,
    /// Human-readable cause of the last failure (worker writes; editor reads).
    pub last_error: Mutex<String>,
    /// What the user should know although Sideman plays: a fallback model in use and why (worker
    /// writes; editor reads). Empty when all is as asked.
    pub notice: Mutex<String>,
    /// Name of the model playing, with its variant ("Jazz lead (int8)") (worker writes).
    pub model_name: Mutex<String>,
    /// Each role's register in the model playing (`Manifest::register`), by `Role::index`:
    /// `0x8000 | lowest << 8 | highest`, 0 for none (worker writes; the worker and the editor
    /// read).
    registers: [AtomicU16; models::Role::ALL.len()],
}

impl SharedStatus {
    /// The engine state.
    pub fn state(&self) -> EngineState {
        EngineState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Sets the engine state.
    pub fn set_state(&self, s: EngineState) {
        self.state.store(s as u8, Ordering::Release);
    }

    /// The last failure message (not for the audio thread).
    pub fn last_error(&self) -> String {
        self.last_error.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Forgets the last failure (worker: a model loaded).
    pub fn clear_error(&self) {
        if let Ok(mut e) = self.last_error.lock() {
            e.clear();
        }
    }

    /// Records a failure (worker).
    pub fn fail(&self, msg: String) {
        if let Ok(mut e) = self.last_error.lock() {
            *e = msg;
        }
        self.set_state(EngineState::Failed);
    }

    /// The current notice (not for the audio thread).
    pub fn notice(&self) -> String {
        self.notice.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sets the notice (worker).
    pub fn set_notice(&self, msg: String) {
        if let Ok(mut n) = self.notice.lock() {
            *n = msg;
        }
    }

    /// Name of the model playing (not for the audio thread).
    pub fn model_name(&self) -> String {
        self.model_name.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sets the model name (worker).
    pub fn set_model_name(&self, name: String) {
        if let Ok(mut n) = self.model_name.lock() {
            *n = name;
        }
    }

    /// Sets each role's register in the model playing.
    pub fn set_registers(&self, registers: &[Option<(u8, u8)>; models::Role::ALL.len()]) {
        for (a, r) in self.registers.iter().zip(registers) {
            let bits = r.map_or(0, |(lo, hi)| 0x8000 | (lo as u16 & 0x7F) << 8 | hi as u16 & 0x7F);
            a.store(bits, Ordering::Release);
        }
    }

    /// `role`'s register in the model playing: the pitches it played in training.
    pub fn register(&self, role: models::Role) -> Option<(u8, u8)> {
        let bits = self.registers[role.index()].load(Ordering::Acquire);
        (bits & 0x8000 != 0).then_some(((bits >> 8) as u8 & 0x7F, bits as u8 & 0x7F))
    }

    /// Start of the last block in beats.
    pub fn block_start(&self) -> f64 {
        f64::from_bits(self.block_start_bits.load(Ordering::Acquire))
    }

    /// Playhead (end of the last block) in beats.
    pub fn playhead(&self) -> f64 {
        f64::from_bits(self.playhead_bits.load(Ordering::Acquire))
    }

    /// Tempo of the last block.
    pub fn tempo(&self) -> f64 {
        f64::from_bits(self.tempo_bits.load(Ordering::Acquire))
    }

    /// Decode speed in tokens per second (0 before the first generation).
    pub fn decode_rate(&self) -> f64 {
        f64::from_bits(self.decode_rate_bits.load(Ordering::Acquire))
    }

    /// The commit margin in ms (0 before a model is loaded).
    pub fn commit_margin_ms(&self) -> f64 {
        f64::from_bits(self.commit_margin_ms_bits.load(Ordering::Acquire))
    }

    /// Beats of look-ahead ready (NaN while not generating).
    pub fn ahead_beats(&self) -> f64 {
        f64::from_bits(self.ahead_beats_bits.load(Ordering::Acquire))
    }

    /// Whether ONNX Runtime was found.
    pub fn runtime(&self) -> RuntimeState {
        match self.runtime.load(Ordering::Acquire) {
            1 => RuntimeState::Found,
            2 => RuntimeState::Missing,
            _ => RuntimeState::Unknown,
        }
    }

    /// Sets the runtime state and its detail (worker).
    pub fn set_runtime(&self, state: RuntimeState, detail: String) {
        if let Ok(mut d) = self.runtime_detail.lock() {
            *d = detail;
        }
        self.runtime.store(state as u8, Ordering::Release);
    }

    /// Where ONNX Runtime is, or why it is missing (not for the audio thread).
    pub fn runtime_detail(&self) -> String {
        self.runtime_detail.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Reference of the model playing (not for the audio thread).
    pub fn model_ref(&self) -> String {
        self.model_ref.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sets the reference of the model playing (worker).
    pub fn set_model_ref(&self, reference: String) {
        if let Ok(mut r) = self.model_ref.lock() {
            *r = reference;
        }
    }
}

/// What the generator did, as the piano roll shows it. `Copy`, no heap data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RollEvent {
    /// Playback (re)started at `beat` (play, seek, loop wrap): what the roll showed from `beat`
    /// on belongs to another pass.
    Reset {
        /// Where playback goes on.
        beat: f64,
        /// Time signature numerator.
        numerator: u8,
        /// Time signature denominator.
        denominator: u8,
        /// Beat of the bar line at or before `beat`.
        bar_start_beat: f64,
        /// Tempo.
        tempo_bpm: f64,
    },
    /// The transport stopped.
    Stop,
    /// A generated note, as sent to the audio thread (swing and humanize applied).
    Generated(ScheduledNote),
    /// Generated notes from `beat` on were replaced (a rollback or a new session).
    ReplaceFrom {
        /// First beat replaced.
        beat: f64,
    },
    /// The user pressed a key.
    InputOn {
        /// Beat of the onset.
        beat: f64,
        /// Key.
        pitch: u8,
        /// Velocity 1-127.
        velocity: u8,
    },
    /// The user released a key.
    InputOff {
        /// Beat of the release.
        beat: f64,
        /// Key.
        pitch: u8,
    },
    /// The worker recognised a chord in the input.
    Chord {
        /// Beat of the change.
        beat: f64,
        /// The chord.
        chord: Chord,
    },
}

/// The bounded log of [`RollEvent`]s, numbered in order. Only the worker (appending, never
/// waiting) and the editor (reading what is new) take its lock.
#[derive(Debug)]
pub struct RollFeed {
    log: Mutex<RollLog>,
}

#[derive(Debug)]
struct RollLog {
    /// The newest events, at most [`ROLL_LOG_CAPACITY`].
    events: VecDeque<RollEvent>,
    /// Number of the first event in `events` (events are numbered from 1).
    first: u64,
}

impl Default for RollFeed {
    fn default() -> Self {
        RollFeed {
            log: Mutex::new(RollLog {
                events: VecDeque::with_capacity(ROLL_LOG_CAPACITY),
                first: 1,
            }),
        }
    }
}

impl RollFeed {
    /// Moves `pending` into the log unless the editor holds the lock (then `pending` stays for
    /// the next try). Worker thread; never waits. True if the log took them.
    pub fn try_append(&self, pending: &mut VecDeque<RollEvent>) -> bool {
        if pending.is_empty() {
            return true;
        }
        let Ok(mut log) = self.log.try_lock() else { return false };
        for e in pending.drain(..) {
            if log.events.len() == ROLL_LOG_CAPACITY {
                log.events.pop_front();
                log.first += 1;
            }
            log.events.push_back(e);
        }
        true
    }

    /// Copies the events numbered after `seen` into `out` and returns the number of the last
    /// one (editor). `out` starts with everything still logged when some were overwritten
    /// since: the second value is then true and the reader should rebuild from scratch.
    pub fn read_since(&self, seen: u64, out: &mut Vec<RollEvent>) -> (u64, bool) {
        let Ok(log) = self.log.lock() else { return (seen, false) };
        let last = log.first + log.events.len() as u64 - 1;
        let lost = seen + 1 < log.first;
        let from = if lost { 0 } else { (seen + 1 - log.first) as usize };
        out.extend(log.events.iter().skip(from).copied());
        (last, lost)
    }
}

/// Both ends of both queues, created together.
pub struct Channels {
    /// Audio side: sends to the worker.
    pub to_worker_tx: rtrb::Producer<ToWorker>,
    /// Worker side: receives from audio.
    pub from_audio_rx: rtrb::Consumer<ToWorker>,
    /// Worker side: sends to audio.
    pub to_audio_tx: rtrb::Producer<ToAudio>,
    /// Audio side: receives from the worker.
    pub from_worker_rx: rtrb::Consumer<ToAudio>,
}

impl Channels {
    /// Allocates both queues (not on the audio thread).
    pub fn new() -> Channels {
        let (to_worker_tx, from_audio_rx) = rtrb::RingBuffer::new(TO_WORKER_CAPACITY);
        let (to_audio_tx, from_worker_rx) = rtrb::RingBuffer::new(TO_AUDIO_CAPACITY);
        Channels {
            to_worker_tx,
            from_audio_rx,
            to_audio_tx,
            from_worker_rx,
        }
    }
}

impl Default for Channels {
    fn default() -> Self {
        Channels::new()
    }
}

/// Relaxed-enough increment for counters.
pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start: f64) -> RollEvent {
        RollEvent::Generated(ScheduledNote {
            start,
            end: start + 0.5,
            pitch: 60,
            channel: 0,
            velocity: 0.8,
        })
    }

    #[test]
    fn the_roll_log_hands_out_what_is_new() {
        let feed = RollFeed::default();
        let mut out = Vec::new();
        assert_eq!(feed.read_since(0, &mut out), (0, false));
        assert!(out.is_empty());
        let mut pending: VecDeque<RollEvent> = (0..3).map(|i| note(i as f64)).collect();
        assert!(feed.try_append(&mut pending));
        assert!(pending.is_empty());
        let (seen, lost) = feed.read_since(0, &mut out);
        assert_eq!((seen, lost, out.len()), (3, false, 3));
        out.clear();
        pending.push_back(RollEvent::Stop);
        feed.try_append(&mut pending);
        let (seen, lost) = feed.read_since(seen, &mut out);
        assert_eq!((seen, lost), (4, false));
        assert_eq!(out, [RollEvent::Stop]);
        out.clear();
        assert_eq!(feed.read_since(seen, &mut out), (4, false));
        assert!(out.is_empty());
    }

    #[test]
    fn a_reader_that_fell_behind_rebuilds_from_what_is_kept() {
        let feed = RollFeed::default();
        let mut pending: VecDeque<RollEvent> = (0..ROLL_LOG_CAPACITY + 10).map(|i| note(i as f64)).collect();
        feed.try_append(&mut pending);
        let mut out = Vec::new();
        let (seen, lost) = feed.read_since(3, &mut out);
        assert!(lost);
        assert_eq!(seen, (ROLL_LOG_CAPACITY + 10) as u64);
        assert_eq!(out.len(), ROLL_LOG_CAPACITY);
        assert_eq!(out[0], note(10.0), "the oldest went first");
    }

    #[test]
    fn the_worker_never_waits_for_the_editor() {
        let feed = RollFeed::default();
        let guard = feed.log.lock().unwrap();
        let mut pending: VecDeque<RollEvent> = [RollEvent::Stop].into();
        assert!(
            !feed.try_append(&mut pending),
            "the editor holds the lock: keep it for later"
        );
        assert_eq!(pending.len(), 1);
        drop(guard);
        assert!(feed.try_append(&mut pending));
        assert!(pending.is_empty());
    }
}
