//! Writing ahead: the bar grid, rollback and replacement from the commit boundary, filling the
//! look-ahead with generated notes, shaping them (velocity, humanize, swing, feel) and sending them
//! to the audio thread through the backlog.

use super::*;

impl Worker {
    /// Beats per bar of the transport.
    pub(super) fn bar_beats(&self) -> f64 {
        self.transport.numerator as f64 * 4.0 / self.transport.denominator.max(1) as f64
    }

    /// The bar line at or before `beat`, on the transport's bar grid.
    pub(super) fn bar_line_before(&self, beat: f64) -> f64 {
        let (start, bar) = (self.transport.bar_start_beat, self.bar_beats());
        start + ((beat - start) / bar).floor() * bar
    }

    pub(super) fn replace_from(&mut self, beat: f64) {
        self.looper.replaced_from(beat);
        // Notes waiting in the backlog from `beat` on are stale too.
        self.backlog
            .retain(|m| !matches!(m, ToAudio::Note { note, .. } if note.start >= beat));
        self.backlog.push_back(ToAudio::ReplaceFrom {
            epoch: self.epoch,
            beat,
        });
        self.roll(RollEvent::ReplaceFrom { beat });
        self.send_floor = beat;
    }

    pub(super) fn rollback(&mut self, tick: i64) {
        let commit = self.commit_beat();
        bump(&self.status.rollbacks);
        let ok = self.generator.as_mut().is_some_and(|g| g.rollback(tick));
        self.log(|| {
            format!(
                "rollback to tick {tick} (commit beat {commit}): {}",
                if ok { "done" } else { "too far back, restarting" }
            )
        });
        if ok {
            // The stream before `tick` is unchanged: the notes queued there stay. The audio thread
            // drops the stale notes now, before the regeneration: better late than wrong.
            self.replace_from(commit.max(tick_to_beat(tick)));
            self.flush();
            self.regen_started = Some((Instant::now(), commit));
        } else {
            self.restart_pending = true;
            self.restart_at_commit();
        }
    }

    /// Generates up to the look-ahead (a beat per turn, so that regenerated notes go out as soon
    /// as they exist) and turns new notes into scheduled notes; sends a loop take's notes due.
    pub(super) fn fill(&mut self) -> bool {
        let ahead = self.params.look_ahead_beats.value() as f64;
        let playhead = self.status.playhead().max(self.transport.beat);
        let busy = self.send_replay(playhead + ahead);
        let Some(g) = self.generator.as_mut() else { return busy };
        if !g.is_running() {
            return busy;
        }
        let target = beat_to_tick(playhead + ahead);
        let through = g.written_through();
        if through >= target {
            self.report_ahead(playhead);
            return busy;
        }
        let step = target.min(through.max(beat_to_tick(playhead)) + TICKS_PER_BEAT as i64);
        let (t0, tokens0) = (Instant::now(), g.tokens_sampled());
        if let Err(e) = g.generate_until(&self.cond, step) {
            self.status.fail(format!("generator: {e}"));
            g.stop();
            return true;
        }
        let sampled = g.tokens_sampled().saturating_sub(tokens0);
        self.report_decode(sampled, t0.elapsed());
        let Some(g) = self.generator.as_mut() else { return true };
        self.notes.clear();
        g.drain_notes(&mut self.notes);
        let origin = g.origin();
        let through = g.written_through();
        if origin > self.forgotten_before {
            // Input before the stream's first bar can no longer matter.
            self.cond.forget_before(origin - 1);
            self.forgotten_before = origin;
        }
        let answering = self.params.mode.value().answers();
        let window = self.answer_window();
        let notes = std::mem::take(&mut self.notes);
        for n in &notes {
            if n.start < self.send_floor - 1e-9 {
                continue;
            }
            if answering && !window.is_some_and(|(a, b)| n.start >= a - 1e-9 && n.start < b) {
                continue;
            }
            self.send_note(n);
        }
        self.notes = notes;
        if let Some((t0, commit)) = self.regen_started
            && through >= beat_to_tick(commit + COMMIT_GRID_BEATS)
        {
            self.regen_started = None;
            if !self.status.offline.load(Ordering::Acquire) {
                self.learn_regen(t0.elapsed().as_secs_f64() * 1e3);
                if self.status.playhead() > commit {
                    bump(&self.status.missed_commits);
                }
            }
        }
        self.report_ahead(playhead);
        true
    }

    /// Shapes a model note and queues it for the audio thread (an answer's notes end with it).
    pub(super) fn send_note(&mut self, n: &GeneratedNote) {
        let mut note = self.shape(n);
        if let Some((_, end)) = self.answer_window()
            && note.end > end
        {
            note.end = end.max(note.start + 1.0 / 96.0);
        }
        bump(&self.status.notes_generated);
        self.backlog.push_back(ToAudio::Note {
            epoch: self.epoch,
            note,
        });
        self.roll(RollEvent::Generated(note));
        self.looper.record(*n);
    }

    /// Publishes the decode speed of one `generate_until` call (smoothed).
    pub(super) fn report_decode(&self, sampled: u64, took: Duration) {
        if sampled == 0 {
            return;
        }
        self.status.tokens_sampled.fetch_add(sampled, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        if secs <= 0.0 {
            return;
        }
        let rate = sampled as f64 / secs;
        let old = self.status.decode_rate();
        let new = if old > 0.0 && old.is_finite() {
            old + DECODE_RATE_SMOOTHING * (rate - old)
        } else {
            rate
        };
        self.status.decode_rate_bits.store(new.to_bits(), Ordering::Release);
    }

    /// Publishes how far past the playhead the stream is written.
    pub(super) fn report_ahead(&self, playhead: f64) {
        let through = self.generator.as_ref().map_or(i64::MIN, |g| g.written_through());
        let ahead = if through == i64::MIN {
            f64::NAN
        } else {
            tick_to_beat(through) - playhead
        };
        self.status.ahead_beats_bits.store(ahead.to_bits(), Ordering::Release);
    }

    /// Swing, humanize, velocity scale and channel: a pure function of (seed, note).
    pub(super) fn shape(&self, n: &GeneratedNote) -> ScheduledNote {
        let p = &self.params;
        let tempo = self.status.tempo();
        let tempo = if tempo.is_finite() && tempo > 0.0 { tempo } else { 120.0 };
        let tick = beat_to_tick(n.start);
        let mut rng = Rng::new(
            (p.seed.value() as u64) << 32 ^ (tick as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.pitch as u64,
        );
        let feel = Feel {
            amount: p.feel_pct.value() as f64 / 100.0,
            swing: p.swing_pct.value() as f64 / 100.0,
            unit: p.swing_unit.value().unit(),
        };
        let (mut start, length) = place_note(n.start, n.duration, &feel);
        let end = start + length;
        let jitter_ms = p.humanize_ms.value() as f64;
        if jitter_ms > 0.0 {
            start += rng.next_signed() * jitter_ms / 60_000.0 * tempo;
        }
        let mut vel = n.velocity as f64 * p.velocity_scale.value() as f64;
        let hv = p.humanize_velocity_pct.value() as f64;
        if hv > 0.0 {
            vel *= 1.0 + rng.next_signed() * hv / 100.0;
        }
        let vel = vel.round().clamp(1.0, 127.0) / 127.0;
        ScheduledNote {
            start,
            end: end.max(start + 1.0 / 96.0),
            pitch: n.pitch,
            channel: crate::params::channel_index(p.channel.value()),
            velocity: vel as f32,
        }
    }

    /// Pushes the backlog into the audio queue; what does not fit waits for the next turn.
    pub(super) fn flush(&mut self) -> bool {
        let mut any = false;
        while let Some(m) = self.backlog.front() {
            if self.tx.push(*m).is_err() {
                break;
            }
            self.backlog.pop_front();
            any = true;
        }
        any
    }
}
