//! The piano roll's model and geometry, free of egui so they are tested headless: what the
//! roll holds (rebuilt from the worker's [`RollEvent`] log), which window of beats it shows,
//! where a note lands in pixels, and the General MIDI drum lanes.

use models::Chord;

use crate::channels::RollEvent;

/// Bars of history the roll keeps behind the playhead (export reads them too).
pub const HISTORY_BARS: f64 = 16.0;
/// Bars of history the roll shows left of the playhead.
pub const VISIBLE_PAST_BARS: f64 = 4.0;
/// Notes of each kind the roll keeps at most (oldest go first).
pub const MAX_ROLL_NOTES: usize = 4096;
/// Rollback boundaries and chord changes kept at most.
pub const MAX_ROLL_MARKS: usize = 512;
/// Fewest keys the melodic lanes span (two octaves), so a few notes do not fill the height.
pub const MIN_VISIBLE_KEYS: u8 = 24;

/// A note in the roll, in beats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollNote {
    /// Onset.
    pub start: f64,
    /// Release; `f64::INFINITY` while a key is still held.
    pub end: f64,
    /// Key.
    pub pitch: u8,
    /// Velocity 1-127.
    pub velocity: u8,
}

impl RollNote {
    /// Whether the key is still held.
    pub fn is_open(&self) -> bool {
        self.end.is_infinite()
    }
}

/// What the roll shows: generated notes, the user's notes, chords, rollback boundaries, and the
/// bar grid of the last reset.
#[derive(Debug, Clone, PartialEq)]
pub struct RollModel {
    /// Generated notes, by start.
    pub generated: Vec<RollNote>,
    /// The user's notes, by start.
    pub input: Vec<RollNote>,
    /// Chord changes recognised in the input, by beat.
    pub chords: Vec<(f64, Chord)>,
    /// Beats from which generated notes were replaced, by beat.
    pub rollbacks: Vec<f64>,
    /// Time signature numerator.
    pub numerator: u8,
    /// Time signature denominator.
    pub denominator: u8,
    /// A bar line (the grid's origin).
    pub bar_origin: f64,
    /// Tempo at the last reset.
    pub tempo_bpm: f64,
    /// Whether the transport plays (as the worker last heard).
    pub playing: bool,
}

impl Default for RollModel {
    fn default() -> Self {
        RollModel {
            generated: Vec::new(),
            input: Vec::new(),
            chords: Vec::new(),
            rollbacks: Vec::new(),
            numerator: 4,
            denominator: 4,
            bar_origin: 0.0,
            tempo_bpm: 120.0,
            playing: false,
        }
    }
}

/// Inserts keeping `v` sorted by `key` (events arrive nearly in order: scans from the back).
fn insert_sorted<T>(v: &mut Vec<T>, item: T, key: impl Fn(&T) -> f64) {
    let k = key(&item);
    let mut i = v.len();
    while i > 0 && key(&v[i - 1]) > k {
        i -= 1;
    }
    v.insert(i, item);
}

/// Keeps at most `max` items, dropping the oldest.
fn cap<T>(v: &mut Vec<T>, max: usize) {
    if v.len() > max {
        v.drain(..v.len() - max);
    }
}

impl RollModel {
    /// Bar length in beats.
    pub fn bar_beats(&self) -> f64 {
        self.numerator.max(1) as f64 * 4.0 / self.denominator.max(1) as f64
    }

    /// The bar line at or before `beat`.
    pub fn bar_at_or_before(&self, beat: f64) -> f64 {
        let bar = self.bar_beats();
        self.bar_origin + ((beat - self.bar_origin) / bar + 1e-9).floor() * bar
    }

    /// Applies one event from the worker.
    pub fn apply(&mut self, e: &RollEvent) {
        match *e {
            RollEvent::Reset {
                beat,
                numerator,
                denominator,
                bar_start_beat,
                tempo_bpm,
            } => {
                // What was shown from `beat` on belonged to another pass of the timeline.
                self.generated.retain(|n| n.start < beat - 1e-9);
                self.input.retain(|n| n.start < beat - 1e-9);
                self.chords.retain(|c| c.0 < beat - 1e-9);
                self.rollbacks.retain(|b| *b < beat - 1e-9);
                self.close_input(beat);
                for n in self.generated.iter_mut().filter(|n| n.end > beat) {
                    n.end = beat;
                }
                self.numerator = numerator;
                self.denominator = denominator;
                self.bar_origin = bar_start_beat;
                self.tempo_bpm = tempo_bpm;
                self.playing = true;
            }
            RollEvent::Stop => {
                self.playing = false;
                if let Some(last) = self.input.iter().map(|n| n.start).reduce(f64::max) {
                    self.close_input(last);
                }
            }
            RollEvent::Generated(n) => {
                let note = RollNote {
                    start: n.start,
                    end: n.end.max(n.start),
                    pitch: n.pitch,
                    velocity: (n.velocity * 127.0).round().clamp(1.0, 127.0) as u8,
                };
                insert_sorted(&mut self.generated, note, |n| n.start);
                cap(&mut self.generated, MAX_ROLL_NOTES);
            }
            RollEvent::ReplaceFrom { beat } => {
                self.generated.retain(|n| n.start < beat - 1e-9);
                insert_sorted(&mut self.rollbacks, beat, |b| *b);
                cap(&mut self.rollbacks, MAX_ROLL_MARKS);
            }
            RollEvent::InputOn { beat, pitch, velocity } => {
                // A repeated NoteOn ends the key's open note.
                for n in self.input.iter_mut().filter(|n| n.pitch == pitch && n.is_open()) {
                    n.end = beat.max(n.start);
                }
                let note = RollNote {
                    start: beat,
                    end: f64::INFINITY,
                    pitch,
                    velocity,
                };
                insert_sorted(&mut self.input, note, |n| n.start);
                cap(&mut self.input, MAX_ROLL_NOTES);
            }
            RollEvent::InputOff { beat, pitch } => {
                if let Some(n) = self.input.iter_mut().rev().find(|n| n.pitch == pitch && n.is_open()) {
                    n.end = beat.max(n.start);
                }
            }
            RollEvent::Chord { beat, chord } => {
                insert_sorted(&mut self.chords, (beat, chord), |c| c.0);
                cap(&mut self.chords, MAX_ROLL_MARKS);
            }
        }
    }

    /// Ends every held input note at `beat`.
    fn close_input(&mut self, beat: f64) {
        for n in self.input.iter_mut().filter(|n| n.is_open()) {
            n.end = beat.max(n.start);
        }
    }

    /// Forgets what ended more than [`HISTORY_BARS`] before `playhead`.
    pub fn prune(&mut self, playhead: f64) {
        let horizon = playhead - HISTORY_BARS * self.bar_beats();
        self.generated.retain(|n| n.end >= horizon);
        self.input.retain(|n| n.end >= horizon);
        self.rollbacks.retain(|b| *b >= horizon);
        // Keep the chord in force at the horizon.
        let first_kept = self.chords.iter().rposition(|c| c.0 <= horizon).unwrap_or(0);
        self.chords.drain(..first_kept);
    }

    /// The chord in force at `beat`, if any was recognised.
    pub fn chord_at(&self, beat: f64) -> Option<Chord> {
        self.chords.iter().rev().find(|c| c.0 <= beat + 1e-9).map(|c| c.1)
    }
}

/// The beats the roll shows: [`VISIBLE_PAST_BARS`] behind the playhead and the look-ahead (plus
/// a beat of margin) in front. Returns (first beat, beats shown).
pub fn view_window(playhead: f64, bar_beats: f64, look_ahead_beats: f64) -> (f64, f64) {
    let past = VISIBLE_PAST_BARS * bar_beats;
    let future = look_ahead_beats.max(1.0) + 1.0;
    (playhead - past, past + future)
}

/// The lanes of the roll, bottom to top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lanes {
    /// One lane per key from `lo` to `hi` inclusive.
    Keys {
        /// Lowest key shown.
        lo: u8,
        /// Highest key shown.
        hi: u8,
    },
    /// General MIDI drum lanes ([`DRUM_LANES`]).
    Drums,
}

/// A General MIDI drum lane: its label and the keys it gathers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrumLane {
    /// Label drawn at the lane's left.
    pub name: &'static str,
    /// GM keys shown in the lane.
    pub keys: &'static [u8],
}

/// The drum lanes, bottom (kick) to top; keys not listed go to the last lane, "Perc".
pub const DRUM_LANES: &[DrumLane] = &[
    DrumLane {
        name: "Kick",
        keys: &[35, 36],
    },
    DrumLane {
        name: "Snare",
        keys: &[38, 40],
    },
    DrumLane {
        name: "Rim",
        keys: &[37],
    },
    DrumLane {
        name: "Clap",
        keys: &[39],
    },
    DrumLane {
        name: "Closed hat",
        keys: &[42],
    },
    DrumLane {
        name: "Pedal hat",
        keys: &[44],
    },
    DrumLane {
        name: "Open hat",
        keys: &[46],
    },
    DrumLane {
        name: "Low tom",
        keys: &[41, 43, 45],
    },
    DrumLane {
        name: "Mid tom",
        keys: &[47, 48],
    },
    DrumLane {
        name: "High tom",
        keys: &[50],
    },
    DrumLane {
        name: "Crash",
        keys: &[49, 52, 55, 57],
    },
    DrumLane {
        name: "Ride",
        keys: &[51, 53, 59],
    },
    DrumLane {
        name: "Perc",
        keys: &[],
    },
];

/// The drum lane of a General MIDI key (unlisted keys: the last lane, "Perc").
pub fn drum_lane(key: u8) -> usize {
    DRUM_LANES
        .iter()
        .position(|l| l.keys.contains(&key))
        .unwrap_or(DRUM_LANES.len() - 1)
}

/// Melodic lanes that fit `notes`: their lowest to highest key, widened evenly to at least
/// [`MIN_VISIBLE_KEYS`] keys (centred on middle C when there are no notes).
pub fn fit_keys<'a>(notes: impl IntoIterator<Item = &'a RollNote>) -> Lanes {
    let (mut lo, mut hi) = (u8::MAX, 0u8);
    for n in notes {
        lo = lo.min(n.pitch);
        hi = hi.max(n.pitch);
    }
    if lo > hi {
        (lo, hi) = (60, 60);
    }
    let span = (hi - lo) as i32 + 1;
    let missing = (MIN_VISIBLE_KEYS as i32 - span).max(0);
    let mut lo = lo as i32 - missing / 2 - 1;
    let mut hi = hi as i32 + (missing - missing / 2) + 1;
    if lo < 0 {
        hi -= lo;
        lo = 0;
    }
    if hi > 127 {
        lo -= hi - 127;
        hi = 127;
    }
    Lanes::Keys {
        lo: lo.max(0) as u8,
        hi: hi.min(127) as u8,
    }
}

/// A rectangle in pixels: x grows to the right, y grows down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelRect {
    /// Left edge.
    pub x0: f32,
    /// Top edge.
    pub y0: f32,
    /// Right edge.
    pub x1: f32,
    /// Bottom edge.
    pub y1: f32,
}

/// Where the roll is drawn and what it shows: beats map linearly to x, lanes stack bottom to
/// top.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollGeometry {
    /// The drawing area.
    pub rect: PixelRect,
    /// Beat at the left edge.
    pub first_beat: f64,
    /// Beats across the width.
    pub beats: f64,
    /// The lanes.
    pub lanes: Lanes,
}

impl RollGeometry {
    /// Number of lanes.
    pub fn lane_count(&self) -> usize {
        match self.lanes {
            Lanes::Keys { lo, hi } => (hi.saturating_sub(lo)) as usize + 1,
            Lanes::Drums => DRUM_LANES.len(),
        }
    }

    /// Height of one lane in pixels.
    pub fn lane_height(&self) -> f32 {
        (self.rect.y1 - self.rect.y0) / self.lane_count() as f32
    }

    /// The x of a beat (not clipped).
    pub fn beat_to_x(&self, beat: f64) -> f32 {
        let w = (self.rect.x1 - self.rect.x0) as f64;
        (self.rect.x0 as f64 + (beat - self.first_beat) / self.beats * w) as f32
    }

    /// The beat at an x.
    pub fn x_to_beat(&self, x: f32) -> f64 {
        let w = (self.rect.x1 - self.rect.x0) as f64;
        self.first_beat + (x - self.rect.x0) as f64 / w * self.beats
    }

    /// The lane of a key, if shown.
    pub fn lane_of(&self, key: u8) -> Option<usize> {
        match self.lanes {
            Lanes::Keys { lo, hi } => (lo..=hi).contains(&key).then(|| (key - lo) as usize),
            Lanes::Drums => Some(drum_lane(key)),
        }
    }

    /// Top and bottom y of a lane (lane 0 at the bottom).
    pub fn lane_span(&self, lane: usize) -> (f32, f32) {
        let h = self.lane_height();
        let bottom = self.rect.y1 - lane as f32 * h;
        (bottom - h, bottom)
    }

    /// The rectangle of a note, clipped to the drawing area; `None` when it is out of view.
    /// Open notes (held keys) reach `now`. Notes are at least 2 px wide so short hits show.
    pub fn note_rect(&self, n: &RollNote, now: f64) -> Option<PixelRect> {
        let lane = self.lane_of(n.pitch)?;
        let end = if n.is_open() { now.max(n.start) } else { n.end };
        let x0 = self.beat_to_x(n.start);
        let x1 = self.beat_to_x(end).max(x0 + 2.0);
        if x1 < self.rect.x0 || x0 > self.rect.x1 {
            return None;
        }
        let (y0, y1) = self.lane_span(lane);
        Some(PixelRect {
            x0: x0.max(self.rect.x0),
            y0,
            x1: x1.min(self.rect.x1),
            y1,
        })
    }
}

pub use models::music::key_name;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::ScheduledNote;
    use models::ChordQuality;

    fn geometry(lanes: Lanes) -> RollGeometry {
        RollGeometry {
            rect: PixelRect {
                x0: 100.0,
                y0: 20.0,
                x1: 900.0,
                y1: 420.0,
            },
            first_beat: 8.0,
            beats: 16.0,
            lanes,
        }
    }

    fn generated(start: f64, end: f64, pitch: u8) -> RollEvent {
        RollEvent::Generated(ScheduledNote {
            start,
            end,
            pitch,
            channel: 0,
            velocity: 100.0 / 127.0,
        })
    }

    mod placement {
        use super::*;

        #[test]
        fn beats_map_linearly_to_x() {
            let g = geometry(Lanes::Keys { lo: 48, hi: 71 });
            // 16 beats over 800 px: 50 px per beat from x = 100 at beat 8.
            assert_eq!(g.beat_to_x(8.0), 100.0);
            assert_eq!(g.beat_to_x(9.0), 150.0);
            assert_eq!(g.beat_to_x(24.0), 900.0);
            assert_eq!(g.beat_to_x(4.0), -100.0);
            for x in [100.0, 337.5, 900.0] {
                assert!((g.beat_to_x(g.x_to_beat(x)) - x).abs() < 1e-3);
            }
        }

        #[test]
        fn keys_stack_bottom_to_top() {
            let g = geometry(Lanes::Keys { lo: 48, hi: 71 });
            assert_eq!(g.lane_count(), 24);
            assert!((g.lane_height() - 400.0 / 24.0).abs() < 1e-4);
            assert_eq!(g.lane_of(48), Some(0));
            assert_eq!(g.lane_of(71), Some(23));
            assert_eq!(g.lane_of(47), None);
            assert_eq!(g.lane_of(72), None);
            let (top, bottom) = g.lane_span(0);
            assert_eq!(bottom, 420.0);
            assert!((bottom - top - g.lane_height()).abs() < 1e-4);
            let (top23, _) = g.lane_span(23);
            assert!((top23 - 20.0).abs() < 1e-3);
        }

        #[test]
        fn a_note_covers_its_beats_in_its_lane() {
            let g = geometry(Lanes::Keys { lo: 48, hi: 71 });
            let n = RollNote {
                start: 10.0,
                end: 11.5,
                pitch: 60,
                velocity: 90,
            };
            let r = g.note_rect(&n, 12.0).unwrap();
            assert_eq!((r.x0, r.x1), (200.0, 275.0));
            let (y0, y1) = g.lane_span(12);
            assert_eq!((r.y0, r.y1), (y0, y1));
        }

        #[test]
        fn notes_are_clipped_and_hidden_out_of_view() {
            let g = geometry(Lanes::Keys { lo: 48, hi: 71 });
            let early = RollNote {
                start: 6.0,
                end: 9.0,
                pitch: 60,
                velocity: 90,
            };
            let r = g.note_rect(&early, 12.0).unwrap();
            assert_eq!((r.x0, r.x1), (100.0, 150.0));
            let gone = RollNote {
                start: 2.0,
                end: 7.0,
                pitch: 60,
                velocity: 90,
            };
            assert_eq!(g.note_rect(&gone, 12.0), None);
            let later = RollNote {
                start: 25.0,
                end: 26.0,
                pitch: 60,
                velocity: 90,
            };
            assert_eq!(g.note_rect(&later, 12.0), None);
            let off_range = RollNote {
                start: 10.0,
                end: 11.0,
                pitch: 90,
                velocity: 90,
            };
            assert_eq!(g.note_rect(&off_range, 12.0), None);
        }

        #[test]
        fn held_keys_reach_now_and_short_hits_stay_visible() {
            let g = geometry(Lanes::Keys { lo: 48, hi: 71 });
            let held = RollNote {
                start: 10.0,
                end: f64::INFINITY,
                pitch: 60,
                velocity: 90,
            };
            assert_eq!(g.note_rect(&held, 12.0).unwrap().x1, 300.0);
            let hit = RollNote {
                start: 10.0,
                end: 10.0,
                pitch: 60,
                velocity: 90,
            };
            let r = g.note_rect(&hit, 12.0).unwrap();
            assert_eq!(r.x1 - r.x0, 2.0);
        }

        #[test]
        fn the_window_shows_four_bars_back_and_the_look_ahead() {
            let (first, beats) = view_window(40.0, 4.0, 4.0);
            assert_eq!(first, 24.0);
            assert_eq!(beats, 16.0 + 5.0);
            let (first, beats) = view_window(40.0, 3.0, 0.5);
            assert_eq!(first, 28.0);
            assert_eq!(beats, 12.0 + 2.0);
        }

        #[test]
        fn fitted_keys_span_two_octaves_at_least_and_stay_in_midi_range() {
            let at = |pitch| RollNote {
                start: 0.0,
                end: 1.0,
                pitch,
                velocity: 90,
            };
            let Lanes::Keys { lo, hi } = fit_keys(&[at(60), at(64)]) else {
                panic!()
            };
            assert!(lo <= 60 && hi >= 64 && hi - lo + 1 >= MIN_VISIBLE_KEYS, "{lo}-{hi}");
            let Lanes::Keys { lo, hi } = fit_keys(&[at(30), at(90)]) else {
                panic!()
            };
            assert!(lo < 30 && hi > 90, "{lo}-{hi}");
            let Lanes::Keys { lo, hi } = fit_keys(&[at(0), at(2)]) else {
                panic!()
            };
            assert_eq!(lo, 0);
            assert!(hi >= MIN_VISIBLE_KEYS - 1);
            let Lanes::Keys { lo, hi } = fit_keys(&[at(127)]) else {
                panic!()
            };
            assert_eq!(hi, 127);
            assert!(127 - lo + 1 >= MIN_VISIBLE_KEYS);
            let Lanes::Keys { lo, hi } = fit_keys(&[]) else {
                panic!()
            };
            assert!(lo < 60 && hi > 60);
        }

        #[test]
        fn key_names() {
            assert_eq!(key_name(60), "C4");
            assert_eq!(key_name(63), "Eb4");
            assert_eq!(key_name(21), "A0");
            assert_eq!(key_name(0), "C-1");
        }
    }

    mod drums {
        use super::*;

        #[test]
        fn gm_kit_pieces_have_their_lanes() {
            let lane = |name: &str| DRUM_LANES.iter().position(|l| l.name == name).unwrap();
            assert_eq!(drum_lane(36), 0, "bass drum 1 is the bottom lane");
            assert_eq!(drum_lane(35), lane("Kick"));
            assert_eq!(drum_lane(38), lane("Snare"));
            assert_eq!(drum_lane(40), lane("Snare"));
            assert_eq!(drum_lane(37), lane("Rim"));
            assert_eq!(drum_lane(42), lane("Closed hat"));
            assert_eq!(drum_lane(44), lane("Pedal hat"));
            assert_eq!(drum_lane(46), lane("Open hat"));
            assert_eq!(drum_lane(45), lane("Low tom"));
            assert_eq!(drum_lane(48), lane("Mid tom"));
            assert_eq!(drum_lane(50), lane("High tom"));
            assert_eq!(drum_lane(49), lane("Crash"));
            assert_eq!(drum_lane(51), lane("Ride"));
            assert_eq!(drum_lane(53), lane("Ride"));
            assert_eq!(drum_lane(56), lane("Perc"), "cowbell");
            assert_eq!(drum_lane(0), lane("Perc"));
            // Cymbals above toms above hats above snare above kick.
            assert!(lane("Kick") < lane("Snare"));
            assert!(lane("Snare") < lane("Closed hat"));
            assert!(lane("Closed hat") < lane("Low tom"));
            assert!(lane("Low tom") < lane("Crash"));
        }

        #[test]
        fn no_key_is_in_two_lanes() {
            let mut seen = [false; 128];
            for l in DRUM_LANES {
                for &k in l.keys {
                    assert!(!seen[k as usize], "key {k} twice");
                    seen[k as usize] = true;
                }
            }
        }

        #[test]
        fn every_key_lands_in_a_drum_lane() {
            let g = geometry(Lanes::Drums);
            assert_eq!(g.lane_count(), DRUM_LANES.len());
            for k in 0..=127u8 {
                let lane = g.lane_of(k).unwrap();
                assert!(lane < DRUM_LANES.len());
                let n = RollNote {
                    start: 10.0,
                    end: 10.25,
                    pitch: k,
                    velocity: 100,
                };
                let r = g.note_rect(&n, 12.0).unwrap();
                assert!(r.y0 >= 20.0 - 1e-3 && r.y1 <= 420.0 + 1e-3);
            }
            let kick = g.lane_span(drum_lane(36));
            assert_eq!(kick.1, 420.0, "the kick sits at the bottom");
        }
    }

    mod model {
        use super::*;

        fn reset(beat: f64) -> RollEvent {
            RollEvent::Reset {
                beat,
                numerator: 4,
                denominator: 4,
                bar_start_beat: (beat / 4.0).floor() * 4.0,
                tempo_bpm: 120.0,
            }
        }

        #[test]
        fn generated_input_chords_and_rollbacks_are_kept_in_order() {
            let mut m = RollModel::default();
            m.apply(&reset(0.0));
            m.apply(&RollEvent::InputOn {
                beat: 0.0,
                pitch: 62,
                velocity: 90,
            });
            m.apply(&RollEvent::Chord {
                beat: 0.0,
                chord: Chord::new(2, ChordQuality::Min7),
            });
            m.apply(&generated(1.0, 1.5, 65));
            m.apply(&generated(0.5, 1.0, 69));
            m.apply(&RollEvent::InputOff { beat: 3.5, pitch: 62 });
            assert_eq!(m.generated.iter().map(|n| n.start).collect::<Vec<_>>(), [0.5, 1.0]);
            assert_eq!(m.generated[0].velocity, 100);
            assert_eq!(m.input.len(), 1);
            assert_eq!((m.input[0].start, m.input[0].end), (0.0, 3.5));
            assert_eq!(m.chord_at(2.0), Some(Chord::new(2, ChordQuality::Min7)));
            m.apply(&RollEvent::ReplaceFrom { beat: 1.0 });
            assert_eq!(m.generated.len(), 1, "notes from the boundary on are replaced");
            assert_eq!(m.rollbacks, [1.0]);
            m.apply(&generated(1.0, 2.0, 67));
            assert_eq!(m.generated.len(), 2);
        }

        #[test]
        fn a_reset_forgets_the_other_pass_and_closes_held_keys() {
            let mut m = RollModel::default();
            m.apply(&reset(0.0));
            m.apply(&RollEvent::InputOn {
                beat: 6.0,
                pitch: 60,
                velocity: 90,
            });
            for b in 0..16 {
                m.apply(&generated(b as f64, b as f64 + 0.5, 60));
            }
            // Loop back to beat 8 (mid-note at 7.5-8.0 ends there).
            m.apply(&reset(8.0));
            assert!(m.generated.iter().all(|n| n.start < 8.0));
            assert_eq!(m.input[0].end, 8.0);
            assert!(m.playing);
            m.apply(&RollEvent::Stop);
            assert!(!m.playing);
        }

        #[test]
        fn pruning_keeps_the_history_and_the_chord_in_force() {
            let mut m = RollModel::default();
            m.apply(&reset(0.0));
            for bar in 0..40 {
                let b = bar as f64 * 4.0;
                m.apply(&generated(b, b + 1.0, 60));
                m.apply(&RollEvent::Chord {
                    beat: b,
                    chord: Chord::new((bar % 12) as u8, ChordQuality::Maj7),
                });
            }
            m.prune(160.0);
            let horizon = 160.0 - HISTORY_BARS * 4.0;
            assert!(m.generated.iter().all(|n| n.end >= horizon));
            assert_eq!(m.generated.len(), 40 - (horizon as usize / 4));
            assert_eq!(m.chords[0].0, horizon, "the chord in force at the horizon stays");
            assert_eq!(
                m.chord_at(horizon + 1.0).map(|c| c.root),
                Some(((horizon / 4.0) as u8) % 12)
            );
        }

        #[test]
        fn bar_lines_follow_the_time_signature() {
            let mut m = RollModel::default();
            m.apply(&RollEvent::Reset {
                beat: 7.5,
                numerator: 3,
                denominator: 4,
                bar_start_beat: 6.0,
                tempo_bpm: 90.0,
            });
            assert_eq!(m.bar_beats(), 3.0);
            assert_eq!(m.bar_at_or_before(7.5), 6.0);
            assert_eq!(m.bar_at_or_before(9.0), 9.0);
            assert_eq!(m.bar_at_or_before(5.0), 3.0);
        }
    }
}
