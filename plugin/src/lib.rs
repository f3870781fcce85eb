//! Sideman: a MIDI generator that plays along with the musician, in step with the host.
//!
//! Wiring only (STYLE.md §2): the [`Plugin`] impl, the audio-thread `process()` that reads the
//! transport and input and drives the [`schedule::NoteScheduler`] (whose notes [`preview`] also
//! plays on the audio output), and the exports. The generator thread is [`engine`]; the protocol
//! between the two is documented in [`channels`]. The GUI is [`editor`]: it reads the status and
//! the generator's roll log, and steers through parameters.
//!
//! `process()` never allocates, locks, logs or waits (except, in offline rendering only, for the
//! worker to catch up: see [`channels`]); `assert_process_allocs` is a default feature, active in
//! every build with debug assertions.

pub mod channels;
pub mod editor;
pub mod engine;
pub mod params;
pub mod preview;
pub mod schedule;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::Thread;
use std::time::{Duration, Instant};

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

use channels::{Channels, OFFLINE_WAIT_LIMIT_MS, SharedStatus, ToAudio, ToWorker, TransportSnapshot, bump};
use engine::Engine;
use params::{RoleParam, SidemanParams};
use preview::{Preview, PreviewBlock};
use schedule::NoteScheduler;

/// Tolerance, in beats, for "the transport went on where the last block ended". Hosts quantise
/// the beat position they report (Ardour to 1/1920 beat), so a smaller difference is not a seek:
/// the plugin then keeps its own continuous timeline (the last block's end), which keeps notes
/// sample-exact relative to where playback started.
pub const CONTINUITY_TOLERANCE_BEATS: f64 = 1.0 / 256.0;
/// Loop ends closer than this to a block end are treated as being at the block end.
pub const LOOP_EDGE_TOLERANCE_BEATS: f64 = 1e-6;
/// The project's home page: the vendor URL in the CLAP descriptor and the VST3 factory.
pub const PROJECT_URL: &str = "https://github.com/sideman-plugin/sideman";
/// The project's contact address: the vendor e-mail in the VST3 factory.
pub const PROJECT_EMAIL: &str = "sideman@users.noreply.github.com";
/// MIDI CC 123: All Notes Off.
pub const ALL_NOTES_OFF_CC: u8 = 123;
/// MIDI CC 120: All Sound Off.
pub const ALL_SOUND_OFF_CC: u8 = 120;
/// MIDI CC 64: the sustain pedal, which the chord follower hears.
pub const SUSTAIN_PEDAL_CC: u8 = 64;
/// The sustain pedal is down from this normalised value (64 of 127) up.
pub const PEDAL_DOWN: f32 = 63.5 / 127.0;

/// The audio thread's ends of the queues.
struct AudioSide {
    to_worker_tx: rtrb::Producer<ToWorker>,
    from_worker_rx: rtrb::Consumer<ToAudio>,
    worker: Thread,
}

/// The plugin instance.
pub struct Sideman {
    /// Parameters and persisted state (shared with the worker and the host).
    params: Arc<SidemanParams>,
    /// Status shared with the worker and the editor.
    status: Arc<SharedStatus>,
    /// Generator thread; created in `activate()`, joined on drop (main thread).
    engine: Option<Engine>,
    /// Queue ends used by `process()` (audio thread).
    audio: Option<AudioSide>,
    /// Note scheduler (audio thread).
    scheduler: NoteScheduler,
    /// The preview sound of the scheduled notes (audio thread; sample rate set in `activate()`).
    preview: Preview,
    /// Processing mode from the last `activate()`.
    process_mode: ProcessMode,
    /// Whether the last block played (audio thread).
    was_playing: bool,
    /// Beat where the last block ended (audio thread).
    expected_beat: f64,
    /// Time signature of the last block (audio thread).
    last_time_sig: (u8, u8),
    /// Role and channel of the last block: a change releases everything (audio thread).
    last_role: RoleParam,
    last_channel: i32,
    /// Bypass state of the last block (audio thread).
    was_bypassed: bool,
    /// Set by `reset()`: release and restart on the next block (audio thread).
    needs_reset: bool,
    /// Current epoch (audio thread; mirrored in `status.epoch`).
    epoch: u32,
    /// Block sequence number (audio thread).
    seq: u64,
    /// Beat position kept by the plugin when the host gives none (audio thread).
    own_beat: f64,
    /// The Panic parameter in the last block: a rise releases everything (audio thread).
    last_panic: bool,
    /// Send CC 123 (All Notes Off) and CC 120 (All Sound Off) at this sample of the block, on
    /// these channels (bit n: channel n) (audio thread).
    all_off: Option<(u32, u16)>,
    /// The sustain pedal as last sent to the worker (audio thread).
    pedal_down: bool,
}

impl Default for Sideman {
    fn default() -> Self {
        Sideman {
            params: Arc::new(SidemanParams::new_instance()),
            status: Arc::new(SharedStatus::default()),
            engine: None,
            audio: None,
            scheduler: NoteScheduler::new(),
            preview: Preview::default(),
            process_mode: ProcessMode::Realtime,
            was_playing: false,
            expected_beat: 0.0,
            last_time_sig: (4, 4),
            last_role: RoleParam::Lead,
            last_channel: 1,
            was_bypassed: false,
            needs_reset: true,
            epoch: 0,
            seq: 0,
            own_beat: 0.0,
            last_panic: false,
            all_off: None,
            pedal_down: false,
        }
    }
}

impl Sideman {
    /// The shared status (for the editor and the tests).
    pub fn status(&self) -> &Arc<SharedStatus> {
        &self.status
    }

    fn send(&mut self, msg: ToWorker) {
        if let Some(a) = self.audio.as_mut()
            && a.to_worker_tx.push(msg).is_err()
        {
            bump(&self.status.dropped_to_worker);
        }
    }

    /// Asks for CC 123 and CC 120 at `timing` on `channel` (0-15) in this block.
    fn all_notes_off(&mut self, timing: u32, channel: u8) {
        let bit = 1u16 << channel.min(15);
        self.all_off = Some(match self.all_off {
            Some((t, mask)) => (t.min(timing), mask | bit),
            None => (timing, bit),
        });
    }

    /// Releases everything at `timing`, forgets queued notes and starts a new epoch.
    fn discontinuity(&mut self, timing: u32) {
        self.scheduler.release_all(timing);
        self.scheduler.clear_pending();
        self.epoch = self.epoch.wrapping_add(1);
        self.status.epoch.store(self.epoch, Ordering::Release);
    }

    /// Publishes the block to the worker; in offline rendering waits for it (bounded).
    fn publish(&mut self, start_beat: f64, end_beat: f64, tempo: f64, playing: bool, wake: bool) {
        let offline = self.process_mode == ProcessMode::Offline;
        self.status.offline.store(offline, Ordering::Release);
        self.status
            .block_start_bits
            .store(start_beat.to_bits(), Ordering::Release);
        self.status.playhead_bits.store(end_beat.to_bits(), Ordering::Release);
        self.status.tempo_bits.store(tempo.to_bits(), Ordering::Release);
        self.status.playing.store(playing, Ordering::Release);
        self.status.block_seq.store(self.seq, Ordering::Release);
        if let Some(a) = self.audio.as_ref()
            && (wake || offline)
        {
            a.worker.unpark();
        }
        if offline && playing && self.audio.is_some() {
            let t0 = Instant::now();
            let mut spins = 0u32;
            while self.status.ack_seq.load(Ordering::Acquire) < self.seq {
                if spins < 2000 {
                    std::hint::spin_loop();
                    spins += 1;
                } else {
                    std::thread::yield_now();
                    if t0.elapsed() > Duration::from_millis(OFFLINE_WAIT_LIMIT_MS) {
                        bump(&self.status.offline_timeouts);
                        break;
                    }
                }
            }
        }
        self.drain_worker();
    }

    /// Takes the worker's notes and replace markers for the current epoch.
    fn drain_worker(&mut self) {
        let Some(a) = self.audio.as_mut() else { return };
        while let Ok(m) = a.from_worker_rx.pop() {
            match m {
                ToAudio::Note { epoch, note } if epoch == self.epoch && !self.scheduler.push(note) => {
                    bump(&self.status.dropped_notes);
                }
                ToAudio::ReplaceFrom { epoch, beat } if epoch == self.epoch => self.scheduler.replace_from(beat),
                _ => {}
            }
        }
    }

    fn send_events(&mut self, context: &mut impl ProcessContext<Self>) {
        for e in self.scheduler.events() {
            let key = Key::Number(e.pitch.min(127));
            let channel = Channel::Number(e.channel.min(15));
            let event = if e.on {
                NoteEvent::NoteOn {
                    timing: e.timing,
                    voice_id: VoiceID::Wildcard,
                    channel,
                    key,
                    velocity: e.velocity,
                }
            } else {
                NoteEvent::NoteOff {
                    timing: e.timing,
                    voice_id: VoiceID::Wildcard,
                    channel,
                    key,
                    velocity: 0.0,
                }
            };
            match context.try_send_event(event) {
                Ok(()) => {
                    if e.on {
                        bump(&self.status.notes_played);
                    }
                }
                Err(_) => bump(&self.status.dropped_events),
            }
        }
        self.scheduler.clear_events();
        if let Some((timing, mask)) = self.all_off.take() {
            for channel in (0..16u8).filter(|c| mask & (1 << c) != 0) {
                for cc in [ALL_NOTES_OFF_CC, ALL_SOUND_OFF_CC] {
                    let event = NoteEvent::MidiCC {
                        timing,
                        channel,
                        cc,
                        value: 0.0,
                    };
                    if context.try_send_event(event).is_err() {
                        bump(&self.status.dropped_events);
                    }
                }
            }
        }
    }
}

impl Plugin for Sideman {
    const NAME: &'static str = "Sideman";
    const VENDOR: &'static str = "Sideman developers";
    const URL: &'static str = PROJECT_URL;
    const EMAIL: &'static str = PROJECT_EMAIL;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn filter_state(state: &mut PluginState) {
        params::migrate_state(state);
    }

    // An instrument with MIDI in and out and no audio input: one stereo output, which carries the
    // preview sound (silent with "Preview sound" off), so hosts accept it as an instrument.
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: None,
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: None,
            main_output_channels: None,
            ..AudioIOLayout::const_default()
        },
    ];
    // CCs in: the sustain pedal, which the chord follower hears.
    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    // CCs out: All Notes Off and All Sound Off on stop and Panic.
    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = editor::SidemanEditor;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        Some(editor::SidemanEditor::new(self.params.clone(), self.status.clone()))
    }

    fn activate(
        &mut self,
        _layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.process_mode = buffer_config.process_mode;
        self.preview.set_sample_rate(buffer_config.sample_rate);
        if self.engine.is_none() {
            let ch = Channels::new();
            match Engine::spawn(
                self.params.clone(),
                self.status.clone(),
                ch.from_audio_rx,
                ch.to_audio_tx,
            ) {
                Ok(engine) => {
                    self.audio = Some(AudioSide {
                        to_worker_tx: ch.to_worker_tx,
                        from_worker_rx: ch.from_worker_rx,
                        worker: engine.thread(),
                    });
                    self.engine = Some(engine);
                }
                Err(e) => {
                    self.status.fail(format!("cannot start the generator thread: {e}"));
                }
            }
        }
        self.needs_reset = true;
        true
    }

    fn reset(&mut self) {
        self.needs_reset = true;
        self.preview.reset();
    }

    fn deactivate(&mut self) {
        // Neither CLAP nor VST3 lets a plugin send events outside process(), and the host will
        // not process again before activate(). What sounds is released now into the scheduler's
        // event list, which the first block after the next activation sends first (at sample 0,
        // with CC 123 and 120); until then, ending the notes of a deactivated plugin is the
        // host's (CLAP and VST3 hosts do; a host that destroys the plugin ends them itself).
        let sounding = self.scheduler.sounding_len() > 0;
        self.scheduler.release_all(0);
        self.scheduler.clear_pending();
        if sounding {
            self.all_notes_off(0, params::channel_index(self.last_channel));
        }
        self.preview.reset();
        self.was_playing = false;
        self.needs_reset = true;
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        for channel in buffer.as_slice() {
            channel.fill(0.0);
        }
        let len = buffer.samples() as u32;
        self.seq += 1;
        let t = context.transport();
        let sample_rate = t.sample_rate as f64;
        let tempo = t.tempo.filter(|x| x.is_finite() && *x > 0.0).unwrap_or(120.0);
        let spb = sample_rate * 60.0 / tempo;
        let host_beat = t.pos_beats();
        let reported = host_beat.unwrap_or(self.own_beat);
        let continuous = self.was_playing && (reported - self.expected_beat).abs() <= CONTINUITY_TOLERANCE_BEATS;
        let start_beat = if continuous { self.expected_beat } else { reported };
        let time_sig = (
            t.time_sig_numerator.filter(|n| (1..=16).contains(n)).unwrap_or(4) as u8,
            t.time_sig_denominator
                .filter(|d| [2, 4, 8, 16].contains(d))
                .unwrap_or(4) as u8,
        );
        let bar_beats = time_sig.0 as f64 * 4.0 / time_sig.1 as f64;
        let bar_start_beat = t
            .bar_start_pos_beats()
            .filter(|b| *b <= start_beat + 1e-9)
            .unwrap_or((start_beat / bar_beats).floor() * bar_beats);
        let loop_range = t.loop_range_beats();
        // A host that splits its blocks at the loop end starts this block at the loop start
        // right after a block that ended at the loop end: a wrap, not a seek.
        let host_wrapped = (!continuous && self.was_playing)
            .then_some(loop_range)
            .flatten()
            .filter(|&(ls, le)| {
                le > ls
                    && (self.expected_beat - le).abs() <= CONTINUITY_TOLERANCE_BEATS
                    && (reported - ls).abs() <= CONTINUITY_TOLERANCE_BEATS
            })
            .map(|(_, le)| le);
        let bypassed = self.params.bypass.value();
        let playing = t.playing && !bypassed && spb.is_finite();
        let end_beat = start_beat + len as f64 / spb;
        let role = self.params.role.value();
        let channel = self.params.channel.value();
        let host_playing = t.playing;

        // Panic (a rise of the parameter, from the editor's button or the host): everything off
        // now (the reset below releases it all), and generation starts again from here.
        let panic = self.params.panic.value();
        let panicked = panic && !self.last_panic;
        if panicked {
            self.all_notes_off(0, params::channel_index(channel));
            self.needs_reset = true;
        }
        self.last_panic = panic;

        // Discontinuities: release everything at the block start and start a new epoch.
        let mut wake = false;
        let changed_identity = role != self.last_role || channel != self.last_channel;
        let jumped = !continuous;
        if playing {
            if self.needs_reset || !self.was_playing || jumped || time_sig != self.last_time_sig || changed_identity {
                self.discontinuity(0);
                let transport = TransportSnapshot {
                    beat: start_beat,
                    tempo_bpm: tempo,
                    numerator: time_sig.0,
                    denominator: time_sig.1,
                    bar_start_beat,
                    wrapped_from: host_wrapped,
                };
                self.send(ToWorker::Reset {
                    seq: self.seq,
                    epoch: self.epoch,
                    transport,
                });
                wake = true;
            }
        } else if self.was_playing || self.needs_reset || (bypassed && !self.was_bypassed) {
            if self.was_playing {
                // The host stopped: every note off, and the instrument told so.
                self.all_notes_off(0, params::channel_index(self.last_channel));
            }
            self.discontinuity(0);
            self.send(ToWorker::Stop {
                seq: self.seq,
                epoch: self.epoch,
            });
            wake = true;
        }
        self.needs_reset = false;
        self.last_role = role;
        self.last_channel = channel;
        self.last_time_sig = time_sig;
        self.was_bypassed = bypassed;

        // The user's notes, stamped in beats.
        while let Some(event) = context.next_event() {
            match event {
                NoteEvent::NoteOn {
                    timing,
                    key: Key::Number(k),
                    velocity,
                    ..
                } => {
                    let beat = start_beat + timing as f64 / spb;
                    let v = (velocity * 127.0).round().clamp(1.0, 127.0) as u8;
                    self.send(ToWorker::NoteOn {
                        seq: self.seq,
                        beat,
                        pitch: k.min(127),
                        velocity: v,
                    });
                    wake = true;
                }
                NoteEvent::NoteOff {
                    timing,
                    key: Key::Number(k),
                    ..
                } => {
                    let beat = start_beat + timing as f64 / spb;
                    self.send(ToWorker::NoteOff {
                        seq: self.seq,
                        beat,
                        pitch: k.min(127),
                    });
                }
                NoteEvent::MidiCC {
                    cc: SUSTAIN_PEDAL_CC,
                    value,
                    ..
                } => {
                    let down = value >= PEDAL_DOWN;
                    if down != self.pedal_down {
                        self.pedal_down = down;
                        self.send(ToWorker::Pedal { seq: self.seq, down });
                    }
                }
                _ => {}
            }
        }

        // A loop wrap inside the block splits it in two segments.
        let wrap = loop_range
            .filter(|&(ls, le)| playing && le > ls && start_beat < le && end_beat > le + LOOP_EDGE_TOLERANCE_BEATS);
        match wrap {
            Some((ls, le)) => {
                let k = (((le - start_beat) * spb).round().max(0.0) as u32).min(len);
                self.publish(start_beat, le, tempo, playing, wake);
                self.scheduler.render(start_beat, 0, k, spb);
                self.discontinuity(k);
                self.seq += 1;
                let transport = TransportSnapshot {
                    beat: ls,
                    tempo_bpm: tempo,
                    numerator: time_sig.0,
                    denominator: time_sig.1,
                    bar_start_beat: (ls / bar_beats).floor() * bar_beats,
                    wrapped_from: Some(le),
                };
                self.send(ToWorker::Reset {
                    seq: self.seq,
                    epoch: self.epoch,
                    transport,
                });
                let rest = len - k;
                let end = ls + rest as f64 / spb;
                self.publish(ls, end, tempo, playing, true);
                self.scheduler.render(ls, k, rest, spb);
                self.expected_beat = end;
                self.own_beat = end;
            }
            None => {
                self.publish(start_beat, end_beat, tempo, playing, wake);
                if playing {
                    self.scheduler.render(start_beat, 0, len, spb);
                }
                self.expected_beat = end_beat;
                self.own_beat = if host_playing { end_beat } else { start_beat };
            }
        }
        self.was_playing = playing;
        let preview = PreviewBlock {
            enabled: self.params.preview.value(),
            level_db: self.params.preview_level_db.value(),
            role,
            // Panic silences the preview too (drums ring past their note-offs).
            playing: playing && !panicked,
        };
        self.preview
            .process(buffer.as_slice(), self.scheduler.events(), preview);
        self.send_events(context);
        ProcessStatus::Normal
    }
}

impl ClapPlugin for Sideman {
    const CLAP_ID: &'static str = "org.sideman.sideman";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Plays along with you: generated MIDI in time with the host");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[ClapFeature::Instrument, ClapFeature::NoteEffect];
}

impl Vst3Plugin for Sideman {
    const VST3_CLASS_ID: [u8; 16] = *b"SidemanMidiGen01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[Vst3SubCategory::Instrument, Vst3SubCategory::Generator];
}

nice_export_clap!(Sideman);
nice_export_vst3!(Sideman);
