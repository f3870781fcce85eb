//! The generator thread: one per plugin instance (not nice-plug's shared background worker).
//!
//! It owns the model, the conditioning timeline and the generation session, and keeps generated
//! notes ready from the playhead to the playhead plus the look-ahead. The message protocol with the
//! audio thread is in [`crate::channels`]; this module decides *what* to regenerate:
//!
//! - **Reset** (play, seek, time signature, role or channel change): a new session at the bar
//!   containing the new position; notes before the position are not sent. A **loop wrap** keeps
//!   the conditioning (the looped input repeats) and plays the pass before again or continues from
//!   it, as Lock and Vary say (`looping.rs`).
//! - **Input divergence** (Accompany). The user's NoteOns become `IN` onsets (for roles
//!   conditioned on input) and, through [`models::Chord::recognize`] over the held keys, chord
//!   changes. If the stream has already been generated past such an event, the worker rolls back
//!   to the event's tick (regenerating with the event written in), and replaces the notes the
//!   audio thread holds from the **commit boundary**: the first 16th note ([`COMMIT_GRID_BEATS`])
//!   that the regeneration can still meet, that is at least the model's measured regeneration time
//!   (with [`REGEN_SAFETY`] headroom, never less than [`COMMIT_MARGIN_MS`]) after the playhead. The
//!   stale notes from the boundary on are dropped before the regeneration starts, so a
//!   regeneration that misses its deadline plays late notes, never wrong ones. Notes before the
//!   boundary were already promised to the host and stay as they were. With the synthetic test
//!   model at 180 BPM, a chord is followed from the first 16th at least 15 ms after it. In offline
//!   rendering the audio thread waits for the worker on every block, so the boundary is the event
//!   itself: a bounce gives exactly the notes `trainer generate --input` writes for the same
//!   model, seed, input and tempo.
//! - **Modes.** *Accompany* as above; *Free* ignores the input; *Call and response* and
//!   *Continue* treat the user's notes as a phrase to answer or continue (`answer.rs`): silent
//!   while the user plays, a session prompted with their phrase when they rest.
//! - **Model choice.** The model reference in the state (a package path, or `builtin:<id>`; empty
//!   means the built-in default for the role, see [`models::assets`]). A path that is gone falls
//!   back to the default; a neural model without ONNX Runtime falls back to the built-in Markov
//!   model. Both say so in [`SharedStatus::notice`] while the plugin plays on.
//! - **Parameter changes** that shape generation (temperature, top-k/p, density, key/scale lock,
//!   pitch range) roll back to the commit boundary; style, seed, model, mode or a new tempo
//!   bucket start a new session there. Velocity, humanize, swing and channel apply to notes as
//!   they are sent.
//!
//! Humanize and swing are pure functions of (seed, note), so regenerating a note gives the same
//! note. The worker sleeps at most [`IDLE_SLEEP_MS`] between turns; the audio thread wakes it at
//! once on a reset, on input, and in offline rendering on every block. It generates a beat per
//! turn, so regenerated notes reach the audio thread as soon as they exist.

mod answer;
pub mod generator;
mod loading;
mod looping;
mod writing;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use models::generate::{
    Conditioning, GeneratedNote, InputFollower, SessionConfig, beat_to_tick, session_seed, tick_to_beat,
};
use models::groove::{Feel, FillPlan, place_note};
use models::sampling::{Constraints, Rng, SamplerConfig};
use models::tokenizer::SequenceSpec;
use models::tokenizer::vocab::{TICKS_PER_BEAT, tempo_bucket};
use models::{Chord, Role};

use crate::channels::{
    ROLL_LOG_CAPACITY, RollEvent, ScheduledNote, SharedStatus, ToAudio, ToWorker, TransportSnapshot, bump,
};
use crate::params::{ModeParam, SidemanParams};
use answer::{Answer, Phrase};
use generator::Generator;
use looping::Looper;

/// Least margin between the playhead and the first step a rollback may replace.
pub const COMMIT_MARGIN_MS: f64 = 15.0;
/// Most margin between the playhead and the commit boundary, however slow regeneration was.
pub const MAX_COMMIT_MARGIN_MS: f64 = 1000.0;
/// Grid of the commit boundary, in beats: a rollback replaces notes from a 16th note on.
pub const COMMIT_GRID_BEATS: f64 = 0.25;
/// Headroom over a measured regeneration time.
pub const REGEN_SAFETY: f64 = 1.5;
/// Milliseconds added to a measured regeneration time (a wake-up and a block of the host).
pub const REGEN_EXTRA_MS: f64 = 5.0;
/// How fast the expected regeneration time comes down after faster regenerations.
pub const REGEN_DECAY: f64 = 0.05;
/// Expected regeneration time of a neural model before the first measurement, ms.
pub const NEURAL_REGEN_GUESS_MS: f64 = 100.0;
/// How far before the block start the offline commit boundary lies (rounding of block starts).
pub const OFFLINE_COMMIT_SLACK_BEATS: f64 = 1e-6;
/// Longest sleep between worker turns when idle.
pub const IDLE_SLEEP_MS: u64 = 1;
/// Environment variable that makes the worker log what it does to stderr (worker thread only).
pub const LOG_ENV: &str = "SIDEMAN_LOG";
/// Environment variable naming the model package used when the project names none.
pub const DEFAULT_MODEL_ENV: &str = "SIDEMAN_MODEL";
/// Weight of the newest measurement in the smoothed decode speed.
pub const DECODE_RATE_SMOOTHING: f64 = 0.2;

/// Handle to the generator thread; dropping it stops and joins the thread.
pub struct Engine {
    stop: Arc<AtomicBool>,
    thread: Thread,
    handle: Option<JoinHandle<()>>,
}

impl Engine {
    /// Spawns the worker with its ends of the queues.
    pub fn spawn(
        params: Arc<SidemanParams>,
        status: Arc<SharedStatus>,
        rx: rtrb::Consumer<ToWorker>,
        tx: rtrb::Producer<ToAudio>,
    ) -> std::io::Result<Engine> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::Builder::new()
            .name("sideman-generator".into())
            .spawn(move || {
                let status2 = status.clone();
                let mut w = Worker::new(params, status, rx, tx);
                while !stop2.load(Ordering::Acquire) {
                    // A bug in a model or the session must not take the host down: report it, drop
                    // the generator (silence) and keep answering the audio thread.
                    let busy =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.turn())).unwrap_or_else(|_| {
                            status2.fail("the generator crashed; output is silent until the model is reloaded".into());
                            w.generator = None;
                            w.ack_all();
                            true
                        });
                    if !busy {
                        std::thread::park_timeout(Duration::from_millis(IDLE_SLEEP_MS));
                    }
                }
            })?;
        Ok(Engine {
            stop,
            thread: handle.thread().clone(),
            handle: Some(handle),
        })
    }

    /// Wakes the worker (audio thread safe: no allocation, no lock).
    pub fn wake(&self) {
        self.thread.unpark();
    }

    /// A handle that can wake the worker.
    pub fn thread(&self) -> Thread {
        self.thread.clone()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.thread.unpark();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The settings that shape generation, read from the parameters.
#[derive(Debug, Clone, PartialEq)]
struct Setup {
    role: Role,
    mode: ModeParam,
    style: i32,
    /// Player parameter (0 Auto).
    player: i32,
    /// Fill every N bars (0: off).
    fills: u32,
    seed: i32,
    sampler: SamplerConfig,
    constraints: Constraints,
}

/// The worker's state (generator thread only).
struct Worker {
    params: Arc<SidemanParams>,
    status: Arc<SharedStatus>,
    rx: rtrb::Consumer<ToWorker>,
    tx: rtrb::Producer<ToAudio>,
    generator: Option<Box<dyn Generator>>,
    /// Reference asked for (parameter or environment; empty: the role's default) and the role it
    /// was resolved for, when loaded or failed.
    model_key: Option<(String, Role)>,
    microtiming: bool,
    /// Whether the model says whose a position is (`Manifest::given_kind`).
    given_kind: bool,
    styles_known: usize,
    /// The model's vocabulary and players, when its data names them (the GMD drums).
    players: Option<(models::tokenizer::vocab::Vocab, models::players::Players)>,
    /// The phrasing calibrations of each player the model knows by those alone
    /// (`Manifest::player_silence` and `player_fast_notes`, the WJazzD soloists), by
    /// `Role::index`, in the Player parameter's order (`Manifest::phrasing_players`).
    player_phrasing: [Vec<models::package::Phrasing>; Role::ALL.len()],
    /// The model's `fill`/`beat` tags, when it learned fills (the GMD drums).
    fill_plan: Option<FillPlan>,
    /// Bars kept when the session re-primes (from the model's manifest).
    keep_bars: u32,
    /// The meters each role of the model learned (`Manifest::learned_meters`), by
    /// `Role::index`: a session in another meter writes its stream in learned bars that divide
    /// the host's.
    learned_meters: [Vec<(u8, u8)>; Role::ALL.len()],
    /// Whether each role of the model hears the user's notes as input
    /// (`Manifest::hears_input`), by `Role::index`: a role its data gave nothing to hear (the
    /// WJazzD bass) follows the chords it recognises and nothing more.
    hears_input: [bool; Role::ALL.len()],
    /// Whether each role of the model is written the chords in force (`Manifest::hears_chords`),
    /// by `Role::index`: a role its data gave no chord (the folk lead, the pianos) hears the
    /// user's chords through the Harmony pull alone.
    hears_chords: [bool; Role::ALL.len()],
    /// The loaded model's opening tag ([`models::package::Manifest::opening_slot`]).
    opening: Option<u16>,
    /// The model's tuned note temperature per role (its manifest): the Temperature parameter is
    /// relative to it.
    note_temperature: [f32; Role::ALL.len()],
    /// The model's tuned top-p per role (its manifest): the Top-p parameter is relative to it.
    note_top_p: [f32; Role::ALL.len()],
    /// Each role's defaults with the model's calibrations (its manifest's rest, density,
    /// fast-tempo and length calibrations, piece memory, and the Harmony its default plays:
    /// `Manifest::constraints_for`); the parameters set the rest, the Memory parameter scales the
    /// memory and the Harmony parameter maps through the tuned pull.
    calibrated: [Constraints; Role::ALL.len()],
    cond: Conditioning,
    follower: InputFollower,
    last_chord: Option<Option<Chord>>,
    playing: bool,
    epoch: u32,
    transport: TransportSnapshot,
    /// Notes starting before this beat are not sent.
    send_floor: f64,
    backlog: std::collections::VecDeque<ToAudio>,
    notes: Vec<GeneratedNote>,
    setup: Option<Setup>,
    pending_rollback: Option<i64>,
    restart_pending: bool,
    /// Conditioning before this tick has been dropped.
    forgotten_before: i64,
    /// Piano-roll events not yet in the editor's log (the editor held its lock).
    roll_pending: std::collections::VecDeque<RollEvent>,
    /// Call and response / Continue: the user's phrase, and the answer to it.
    phrase: Phrase,
    answer: Option<Answer>,
    /// Loop passes and takes (Lock, Vary).
    looper: Looper,
    /// Expected time (ms) from a rollback to the regenerated notes being sent: sets how far
    /// ahead of the playhead the commit boundary lies.
    regen_ms: f64,
    /// When the last rollback started, until its regenerated notes are out.
    regen_started: Option<(Instant, f64)>,
    log: bool,
}

impl Worker {
    fn new(
        params: Arc<SidemanParams>,
        status: Arc<SharedStatus>,
        rx: rtrb::Consumer<ToWorker>,
        tx: rtrb::Producer<ToAudio>,
    ) -> Worker {
        Worker {
            params,
            status,
            rx,
            tx,
            generator: None,
            model_key: None,
            microtiming: false,
            given_kind: false,
            styles_known: 0,
            players: None,
            player_phrasing: Default::default(),
            fill_plan: None,
            keep_bars: 8,
            learned_meters: Default::default(),
            hears_input: Role::ALL.map(SequenceSpec::hears_a_part),
            hears_chords: [true; Role::ALL.len()],
            opening: None,
            note_temperature: [1.0; Role::ALL.len()],
            note_top_p: [models::sampling::DEFAULT_TOP_P; Role::ALL.len()],
            calibrated: Role::ALL.map(Constraints::for_role),
            cond: Conditioning::default(),
            follower: InputFollower::default(),
            last_chord: None,
            playing: false,
            epoch: 0,
            transport: TransportSnapshot {
                beat: 0.0,
                tempo_bpm: 120.0,
                numerator: 4,
                denominator: 4,
                bar_start_beat: 0.0,
                wrapped_from: None,
            },
            send_floor: 0.0,
            backlog: std::collections::VecDeque::with_capacity(1024),
            notes: Vec::with_capacity(1024),
            setup: None,
            pending_rollback: None,
            restart_pending: false,
            forgotten_before: i64::MIN,
            roll_pending: std::collections::VecDeque::with_capacity(ROLL_LOG_CAPACITY),
            phrase: Phrase::default(),
            answer: None,
            looper: Looper::default(),
            regen_ms: COMMIT_MARGIN_MS,
            regen_started: None,
            log: std::env::var_os(LOG_ENV).is_some(),
        }
    }

    fn log(&self, what: impl FnOnce() -> String) {
        if self.log {
            eprintln!("[sideman] {}", what());
        }
    }

    /// Queues a piano-roll event for the editor (the oldest give way when the editor lags).
    fn roll(&mut self, e: RollEvent) {
        if self.roll_pending.len() == ROLL_LOG_CAPACITY {
            self.roll_pending.pop_front();
        }
        self.roll_pending.push_back(e);
    }

    /// One turn: model, messages, parameters, rollback, look-ahead, delivery. True if it did
    /// anything.
    fn turn(&mut self) -> bool {
        let seq = self.status.block_seq.load(Ordering::Acquire);
        let mut busy = self.check_model();
        while let Ok(msg) = self.rx.peek() {
            if msg.seq() > seq {
                break;
            }
            let Ok(msg) = self.rx.pop() else { break };
            self.handle(msg);
            busy = true;
        }
        self.check_loop_input();
        if self.playing {
            self.check_setup();
            self.check_answer();
            if self.restart_pending {
                self.restart_at_commit();
            } else if let Some(t) = self.pending_rollback.take() {
                self.rollback(t);
            }
            busy |= self.fill();
        }
        busy |= self.flush();
        self.status.roll.try_append(&mut self.roll_pending);
        let prev = self.status.ack_seq.swap(seq, Ordering::AcqRel);
        busy || prev != seq
    }

    /// Acknowledges every block so far (after a crash, so offline rendering does not wait).
    fn ack_all(&self) {
        let seq = self.status.block_seq.load(Ordering::Acquire);
        self.status.ack_seq.store(seq, Ordering::Release);
    }

    fn handle(&mut self, msg: ToWorker) {
        match msg {
            ToWorker::Reset { epoch, transport, .. } => {
                self.log(|| format!("reset: epoch {epoch}, {transport:?}"));
                self.epoch = epoch;
                self.transport = transport;
                self.playing = true;
                self.roll(RollEvent::Reset {
                    beat: transport.beat,
                    numerator: transport.numerator,
                    denominator: transport.denominator,
                    bar_start_beat: transport.bar_start_beat,
                    tempo_bpm: transport.tempo_bpm,
                });
                self.backlog.clear();
                self.pending_rollback = None;
                self.restart_pending = false;
                self.follower.forget_onsets();
                self.follower
                    .set_bars(beat_to_tick(transport.bar_start_beat), beat_to_tick(self.bar_beats()));
                self.send_floor = transport.beat;
                let origin = beat_to_tick(transport.bar_start_beat);
                self.answer = None;
                self.phrase.clear();
                self.setup = Some(self.read_setup());
                let mode = self.params.mode.value();
                let from_take = match transport.wrapped_from {
                    // The looped material repeats: the conditioning stays.
                    Some(le) => self.loop_wrap(transport.beat, le),
                    None => {
                        self.looper.range = None;
                        self.looper.passes = 0;
                        self.looper.new_pass(transport.beat);
                        self.cond.clear();
                        self.forgotten_before = i64::MIN;
                        if mode != ModeParam::Free
                            && let Some(c) = self.last_chord
                        {
                            self.cond.set_chord(origin, c);
                        }
                        false
                    }
                };
                if from_take {
                    // The take's first notes go out before the session's prefill.
                    let ahead = self.params.look_ahead_beats.value() as f64;
                    self.send_replay(transport.beat + ahead);
                    self.flush();
                }
                self.start_session(origin);
            }
            ToWorker::Stop { epoch, .. } => {
                self.log(|| format!("stop: epoch {epoch}"));
                self.epoch = epoch;
                self.playing = false;
                self.roll(RollEvent::Stop);
                self.status
                    .ahead_beats_bits
                    .store(f64::NAN.to_bits(), Ordering::Release);
                self.backlog.clear();
                self.pending_rollback = None;
                self.restart_pending = false;
                self.follower.forget_onsets();
                self.answer = None;
                self.phrase.clear();
                self.looper.range = None;
                self.looper.new_pass(f64::INFINITY);
                if let Some(g) = self.generator.as_mut() {
                    g.stop();
                }
            }
            ToWorker::NoteOn {
                beat, pitch, velocity, ..
            } => {
                self.follower.press(pitch);
                if self.playing {
                    self.roll(RollEvent::InputOn { beat, pitch, velocity });
                }
                let mode = self.params.mode.value();
                if !self.playing || mode == ModeParam::Free {
                    return;
                }
                if mode.answers() {
                    // The user's notes are the phrase; the chords they hold still set the harmony.
                    self.phrase_note_on(beat, pitch, velocity);
                }
                if !self.params.follow_input.value() {
                    return;
                }
                // In an answering mode the notes are not conditioning, only the chords they make.
                let write_inputs = !mode.answers()
                    && self
                        .generator
                        .as_ref()
                        .and_then(|g| g.config())
                        .is_some_and(|c| c.write_inputs);
                let tick = beat_to_tick(beat);
                let effect = self.follower.note_on(&mut self.cond, tick, pitch, write_inputs);
                if let Some(c) = effect.chord {
                    self.log(|| format!("chord {c} at beat {beat:.3}"));
                    self.last_chord = Some(Some(c));
                    bump(&self.status.chords_seen);
                    self.roll(RollEvent::Chord { beat, chord: c });
                }
                // A voicing's later keys change the conditioning from its first key's tick.
                let at = effect.at;
                if effect.changed && self.generator.as_ref().is_some_and(|g| g.written_through() >= at) {
                    self.pending_rollback = Some(self.pending_rollback.map_or(at, |t: i64| t.min(at)));
                }
            }
            ToWorker::Pedal { down, .. } => {
                self.log(|| format!("sustain pedal {}", if down { "down" } else { "up" }));
                self.follower.set_pedal(down);
            }
            ToWorker::NoteOff { beat, pitch, .. } => {
                self.follower.release(pitch);
                if self.playing {
                    self.roll(RollEvent::InputOff { beat, pitch });
                    if self.params.mode.value().answers() {
                        self.phrase_note_off(beat, pitch);
                    }
                }
            }
        }
    }

    fn read_setup(&self) -> Setup {
        let p = &self.params;
        let role = p.role.value().role();
        let pitch_classes = match p.key.value().tonic() {
            Some(t) if !role.is_drums() => p.scale.value().scale().mask(t),
            _ => 0xFFF,
        };
        let (lo, hi) = (
            p.pitch_lo.value().clamp(0, 127) as u8,
            p.pitch_hi.value().clamp(0, 127) as u8,
        );
        let calibrated = self.calibrated[role.index()];
        let phrasing = self
            .player_phrasing(role, p.player.value())
            .unwrap_or(models::package::Phrasing {
                silence: calibrated.silence,
                fast_notes: calibrated.fast_notes,
            });
        // The Lowest and Highest parameters play within the loaded model's register of the role
        // (the status holds it for the editor too).
        let (lo, hi) = models::sampling::within_register(self.status.register(role), lo.min(hi), hi.max(lo));
        Setup {
            role,
            mode: p.mode.value(),
            style: p.style.value(),
            player: p.player.value(),
            fills: if role.is_drums() { p.fills.value().bars() } else { 0 },
            seed: p.seed.value(),
            sampler: SamplerConfig {
                temperature: p.temperature.value(),
                top_k: p.top_k.value().max(0) as u32,
                top_p: p.top_p.value(),
            }
            .relative_to(self.note_temperature[role.index()])
            .top_p_relative_to(self.note_top_p[role.index()]),
            constraints: Constraints {
                pitch_classes,
                pitch_lo: if role.is_drums() { 0 } else { lo },
                pitch_hi: if role.is_drums() { 127 } else { hi },
                density: p.density.value(),
                chord_tones: if role.is_drums() {
                    0.0
                } else {
                    // `calibrated` holds the pull the model plays at the parameter's default.
                    models::sampling::tuned_harmony(
                        p.harmony_pct.value() / 100.0 * models::sampling::FULL_CHORD_TONES,
                        calibrated.chord_tones,
                    )
                },
                memory: calibrated.memory.scaled(p.memory_pct.value() / 100.0),
                silence: phrasing.silence,
                fast_notes: phrasing.fast_notes,
                ..calibrated
            },
        }
    }

    /// The phrasing calibrations of the Player `n` for `role`, where the model knows its players
    /// by those alone (no drummers in its headers); `None` for Auto and past the players.
    fn player_phrasing(&self, role: Role, n: i32) -> Option<models::package::Phrasing> {
        if self.players.is_some() {
            return None;
        }
        let i = usize::try_from(n - 1).ok()?;
        self.player_phrasing[role.index()].get(i).copied()
    }

    fn session_config(&self, setup: &Setup) -> SessionConfig {
        let mut c = SessionConfig::new(setup.role);
        c.styles = if setup.style > 0 && (setup.style as usize) <= self.styles_known {
            vec![(setup.style - 1) as u16]
        } else {
            vec![]
        };
        c.numerator = self.transport.numerator;
        c.denominator = self.transport.denominator;
        c.tempo_bpm = Some(self.status.tempo())
            .filter(|t| t.is_finite() && *t > 0.0)
            .or(Some(self.transport.tempo_bpm));
        c.microtiming = self.microtiming;
        c.given_kind = self.given_kind;
        c.write_inputs = self.hears_input[setup.role.index()];
        c.write_chords = self.hears_chords[setup.role.index()];
        c.sampler = setup.sampler;
        c.constraints = setup.constraints;
        c.seed = session_seed(setup.seed.max(0) as u64);
        if let Some((vocab, players)) = &self.players {
            players.complete(vocab, &mut c.styles, players.choice(vocab, setup.player), c.seed);
        }
        c.allow_end = false;
        c.keep_bars = self.keep_bars;
        c.learned_meters = self.learned_meters[setup.role.index()].clone();
        c.opening = self.opening;
        // Drums from a model that learned beats and fills: beats, and a fill where asked.
        if setup.role.is_drums() {
            c.fills = self.fill_plan.map(|p| FillPlan {
                every: setup.fills,
                ..p
            });
        }
        c
    }

    /// A new session from `origin` (a bar line, ticks); an answer or a loop take starts from its
    /// prompt instead. In an answering mode with no answer due, the generator rests.
    fn start_session(&mut self, origin: i64) {
        let Some(setup) = self.setup.clone() else { return };
        let mut config = self.session_config(&setup);
        let mut origin = origin;
        if self.params.mode.value().answers() {
            let Some(a) = &self.answer else {
                if let Some(g) = self.generator.as_mut() {
                    g.stop();
                }
                return;
            };
            config.prompt = a.prompt.clone();
            config.silent_until = Some(beat_to_tick(a.start));
            origin = a.origin;
        } else if let Some((o, prompt, until)) = &self.looper.plan {
            config.prompt = prompt.clone();
            config.silent_until = Some(beat_to_tick(*until));
            origin = *o;
        }
        // Each pass of a loop draws anew (passes is 0 outside loops).
        config.seed = self.pass_seed(config.seed);
        let Some(g) = self.generator.as_mut() else { return };
        let mut r = g.restart(config.clone(), origin, &self.cond);
        if r.is_err() && !config.prompt.is_empty() {
            // A prompt the tokenizer refuses (a meter it lacks): start from the silence alone.
            config.prompt.clear();
            let bar = config.bar_ticks();
            let at = config.silent_until.unwrap_or(origin);
            r = g.restart(config, at.div_euclid(bar) * bar, &self.cond);
        }
        if let Err(e) = r {
            g.stop();
            self.status.fail(format!("generator: {e}"));
        }
    }

    /// The first [`COMMIT_GRID_BEATS`] step the regeneration can still meet: at least the measured
    /// regeneration time (and [`COMMIT_MARGIN_MS`]) after the playhead; in offline rendering, the
    /// start of the block being rendered (the audio thread has not rendered it yet).
    fn commit_beat(&self) -> f64 {
        if self.status.offline.load(Ordering::Acquire) {
            // A hair early: the block start accumulates rounding, and an event on its first
            // sample must still replace a note stamped exactly there. Notes that already started
            // are not pending any more, so nothing played is touched.
            return self.status.block_start().max(self.transport.beat) - OFFLINE_COMMIT_SLACK_BEATS;
        }
        let tempo = self.status.tempo();
        let tempo = if tempo.is_finite() && tempo > 0.0 {
            tempo
        } else {
            self.transport.tempo_bpm
        };
        let p = self.status.playhead().max(self.transport.beat);
        let margin_ms = self.regen_ms.max(COMMIT_MARGIN_MS);
        ((p + margin_ms / 60_000.0 * tempo) / COMMIT_GRID_BEATS).ceil() * COMMIT_GRID_BEATS
    }

    /// Folds one measured regeneration time into [`Worker::regen_ms`]: it rises at once to a slow
    /// regeneration (with [`REGEN_SAFETY`] headroom) and comes down slowly.
    fn learn_regen(&mut self, took_ms: f64) {
        let want = (took_ms * REGEN_SAFETY + REGEN_EXTRA_MS).clamp(COMMIT_MARGIN_MS, MAX_COMMIT_MARGIN_MS);
        self.regen_ms = if want > self.regen_ms {
            want
        } else {
            self.regen_ms + REGEN_DECAY * (want - self.regen_ms)
        };
        self.status
            .commit_margin_ms_bits
            .store(self.regen_ms.to_bits(), Ordering::Release);
    }

    /// Regenerates with new settings from the commit boundary: rollback for sampling settings, a
    /// new session for style, seed, role, or a new tempo bucket.
    fn check_setup(&mut self) {
        let new = self.read_setup();
        let tempo = self.status.tempo();
        let bucket_changed = self
            .generator
            .as_ref()
            .and_then(|g| g.config())
            .and_then(|c| c.tempo_bpm)
            .is_some_and(|t| tempo.is_finite() && tempo > 0.0 && tempo_bucket(t) != tempo_bucket(tempo));
        let Some(old) = self.setup.clone() else {
            self.setup = Some(new);
            return;
        };
        if old == new && !bucket_changed {
            return;
        }
        self.setup = Some(new.clone());
        if old.mode != new.mode {
            self.answer = None;
            self.phrase.clear();
            self.looper.plan = None;
            self.looper.replay.clear();
            if new.mode == ModeParam::Free {
                self.cond.clear();
                self.last_chord = None;
            }
            if new.mode.answers() {
                // Listen from the commit boundary on.
                let c = self.commit_beat();
                self.replace_from(c);
                if let Some(g) = self.generator.as_mut() {
                    g.stop();
                }
                return;
            }
            self.restart_pending = true;
            return;
        }
        if old.role != new.role
            || old.style != new.style
            || old.player != new.player
            || old.seed != new.seed
            || old.fills != new.fills
            || bucket_changed
        {
            self.restart_pending = true;
        } else {
            if let Some(g) = self.generator.as_mut() {
                g.set_sampling(new.sampler, new.constraints);
            }
            let c = beat_to_tick(self.commit_beat());
            self.pending_rollback = Some(self.pending_rollback.map_or(c, |t| t.min(c)));
        }
    }

    /// A new session from the bar containing the commit boundary; queued notes from there on are
    /// replaced.
    fn restart_at_commit(&mut self) {
        self.restart_pending = false;
        self.pending_rollback = None;
        let commit = self.commit_beat();
        self.log(|| format!("restart at commit beat {commit}"));
        let origin_beat = self.bar_line_before(commit);
        self.replace_from(commit);
        let origin = beat_to_tick(origin_beat);
        if let Some(c) = self.cond.chord_at(origin) {
            self.cond.set_chord(origin, c);
        }
        self.start_session(origin);
    }
}

#[cfg(test)]
mod tests;
