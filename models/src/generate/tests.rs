//! The generation session's tests (the memories' are in `memory_tests`, the drums' in
//! `drums_tests`).

use super::*;
use crate::chord::ChordQuality;
use crate::markov::{MarkovBuilder, MarkovModel};
use crate::music::Role;
use std::sync::Arc;

/// Bars of arpeggiated chord tones over a ii-V-I-vi loop, with the bass's roots as input.
pub(crate) fn training_sequences() -> Vec<Vec<u32>> {
    let prog = [
        Chord::new(2, ChordQuality::Min7),
        Chord::new(7, ChordQuality::Dom7),
        Chord::new(0, ChordQuality::Maj7),
        Chord::new(9, ChordQuality::Min7),
    ];
    let mut out = Vec::new();
    for t in 0..12 {
        let mut s = Sequence::new(Role::Lead);
        s.tempo_bpm = Some(120.0);
        for bar in 0..16 {
            let c = prog[(bar + t) % 4].transposed(t as i32);
            let start = bar as f64 * 4.0;
            s.chords.push(ChordEvent { start, chord: Some(c) });
            s.inputs.push(Onset {
                start,
                pitch: 36 + c.root,
            });
            let tones: Vec<u8> = c.pitch_classes().collect();
            for k in 0..8 {
                let pc = tones[(k * 3 + bar) % tones.len()];
                s.notes.push(Note {
                    start: start + k as f64 * 0.5,
                    duration: 0.5,
                    pitch: 60 + pc,
                    velocity: 80,
                });
            }
        }
        s.bars = 16;
        out.push(Tokenizer::default().encode(&s).unwrap());
    }
    out
}

/// The ii-V-I-vi the test model learned, one chord a bar for `bars` bars, each with its root
/// as an input note.
pub(crate) fn progression(bars: i64) -> Conditioning {
    let mut c = Conditioning::default();
    let prog = [
        Chord::new(2, ChordQuality::Min7),
        Chord::new(7, ChordQuality::Dom7),
        Chord::new(0, ChordQuality::Maj7),
        Chord::new(9, ChordQuality::Min7),
    ];
    for bar in 0..bars {
        let t = bar * 4 * TICKS_PER_BEAT as i64;
        c.set_chord(t, Some(prog[bar as usize % 4]));
        c.add_input(t, 36 + prog[bar as usize % 4].root);
    }
    c
}

pub(crate) fn model() -> MarkovModel {
    let mut b = MarkovBuilder::new(10);
    for s in training_sequences() {
        b.add_sequence(&s);
    }
    MarkovModel::with_context_len(Arc::new(b.build(1, 1)), 600)
}

#[test]
fn generates_decodable_notes_that_follow_the_chords() {
    let mut cond = Conditioning::default();
    cond.set_chord(0, Some(Chord::new(2, ChordQuality::Min7)));
    cond.set_chord(48, Some(Chord::new(7, ChordQuality::Dom7)));
    cond.add_input(48, 43);
    let mut cfg = SessionConfig::new(Role::Lead);
    cfg.seed = 7;
    let mut s = Session::new(model(), cfg.clone(), 0, &cond).unwrap();
    s.generate_until(&cond, 96).unwrap();
    let seq = decode(s.tokens()).unwrap();
    assert_eq!(seq.chords.len(), 2, "{:?}", seq.chords);
    assert_eq!(seq.inputs, vec![Onset { start: 4.0, pitch: 43 }]);
    let mut notes = Vec::new();
    s.drain_notes(&mut notes);
    assert!(notes.len() >= 8, "{notes:?}");
    let in_bar2: Vec<_> = notes.iter().filter(|n| n.start >= 4.0 && n.start < 8.0).collect();
    assert!(!in_bar2.is_empty());
    let g7 = Chord::new(7, ChordQuality::Dom7);
    let fit = in_bar2.iter().filter(|n| g7.contains_pitch(n.pitch)).count();
    assert!(fit * 10 >= in_bar2.len() * 8, "{fit} of {}", in_bar2.len());

    // Same seed, same conditioning: same tokens.
    let mut again = Session::new(model(), cfg, 0, &cond).unwrap();
    again.generate_until(&cond, 96).unwrap();
    assert_eq!(again.tokens(), s.tokens());
}

#[test]
fn rollback_regenerates_identically_and_follows_new_input() {
    let mut cond = Conditioning::default();
    cond.set_chord(0, Some(Chord::new(0, ChordQuality::Maj7)));
    let mut s = Session::new(model(), SessionConfig::new(Role::Lead), 0, &cond).unwrap();
    s.generate_until(&cond, 192).unwrap();
    let before = s.tokens().to_vec();
    assert!(s.rollback(60));
    assert!(s.frontier() < 60);
    s.generate_until(&cond, 192).unwrap();
    assert_eq!(s.tokens(), &before[..s.tokens().len()]);
    // Now the input changes at beat 8: the stream must show it there.
    cond.set_chord(96, Some(Chord::new(5, ChordQuality::Dom7)));
    assert!(s.written_through() >= 96);
    assert!(s.rollback(96));
    s.generate_until(&cond, 192).unwrap();
    let seq = decode(s.tokens()).unwrap();
    assert!(
        seq.chords
            .iter()
            .any(|c| c.start == 8.0 && c.chord == Some(Chord::new(5, ChordQuality::Dom7)))
    );
}

#[test]
fn a_bar_denser_than_the_room_left_never_overflows_the_context() {
    let mut cond = Conditioning::default();
    cond.set_chord(0, Some(Chord::new(0, ChordQuality::Maj7)));
    let mut c = SessionConfig::new(Role::Lead);
    c.constraints.density = 0.98;
    c.seed = 5;
    for context in [40, 64, 96] {
        let m = MarkovModel::with_context_len(model().table().clone(), context);
        let mut s = Session::new(m, c.clone(), 0, &cond).unwrap();
        s.generate_until(&cond, 48 * 32)
            .unwrap_or_else(|e| panic!("context {context}: {e}"));
        assert!(s.tokens().len() <= context);
        assert!(s.reprimes() > 0);
    }
}

#[test]
fn a_bar_of_dense_input_after_sparse_bars_never_overflows_the_context() {
    // Given events are written before time moves past them: a bar whose input alone is denser
    // than the room left must still close without overflowing (it used to fail with
    // "context full" on an MMA groove).
    let mut cond = Conditioning::default();
    cond.set_chord(0, Some(Chord::new(0, ChordQuality::Maj7)));
    for t in (3 * 48..4 * 48).step_by(2) {
        for p in [40, 47, 52, 55, 59] {
            cond.add_input(t, p);
        }
    }
    let mut c = SessionConfig::new(Role::Lead);
    c.seed = 2;
    for context in [96, 128, 256] {
        let m = MarkovModel::with_context_len(model().table().clone(), context);
        let mut s = Session::new(m, c.clone(), 0, &cond).unwrap();
        s.generate_until(&cond, 48 * 8)
            .unwrap_or_else(|e| panic!("context {context}: {e}"));
        assert!(s.tokens().len() <= context);
    }
}

#[test]
fn reprimes_a_full_context_and_keeps_going() {
    let mut cond = Conditioning::default();
    cond.set_chord(0, Some(Chord::new(0, ChordQuality::Maj7)));
    let mut s = Session::new(model(), SessionConfig::new(Role::Lead), 0, &cond).unwrap();
    s.generate_until(&cond, 48 * 64).unwrap();
    assert!(s.reprimes() > 0);
    assert!(s.tokens().len() <= 600);
    let mut notes = Vec::new();
    s.drain_notes(&mut notes);
    assert!(notes.windows(2).all(|w| w[0].start <= w[1].start));
    assert!(notes.last().unwrap().start > 200.0);
    decode(s.tokens()).unwrap();
}

#[test]
fn a_fresh_stream_opens_with_the_opening_tag_until_its_first_reprime() {
    let mut cond = Conditioning::default();
    cond.set_chord(0, Some(Chord::new(0, ChordQuality::Maj7)));
    let mut config = SessionConfig::new(Role::Lead);
    config.styles = vec![3];
    config.opening = Some(9);
    let mut s = Session::new(model(), config.clone(), 0, &cond).unwrap();
    let header = |s: &Session<MarkovModel>| -> Vec<u16> {
        s.tokens()
            .iter()
            .take_while(|&&id| !matches!(Vocab::token(id), Some(Token::Bar)))
            .filter_map(|&id| match Vocab::token(id) {
                Some(Token::Style(st)) => Some(st),
                _ => None,
            })
            .collect()
    };
    assert_eq!(header(&s), vec![3, 9]);
    s.generate_until(&cond, 48 * 64).unwrap();
    assert!(s.reprimes() > 0);
    assert_eq!(header(&s), vec![3], "the kept bars are no longer the opening");
    // A model without the tag, or a continuation of a prompt, opens as before.
    let plain = Session::new(model(), SessionConfig::new(Role::Lead), 0, &cond).unwrap();
    assert!(header(&plain).is_empty());
    config.prompt = vec![crate::music::Note {
        start: 0.0,
        duration: 1.0,
        pitch: 60,
        velocity: 90,
    }];
    config.silent_until = Some(48 * 4);
    let cont = Session::new(model(), config, 0, &cond).unwrap();
    assert_eq!(header(&cont), vec![3]);
}

#[test]
fn a_fill_plan_switches_the_header_at_each_phrase_end_and_back() {
    let mut cond = Conditioning::default();
    cond.set_chord(0, Some(Chord::new(0, ChordQuality::Maj7)));
    let mut config = SessionConfig::new(Role::Lead);
    config.styles = vec![7];
    config.fills = Some(crate::groove::FillPlan {
        every: 4,
        fill: 5,
        beat: Some(6),
        parts: 1,
    });
    let bar = config.bar_ticks();
    let mut s = Session::new(model(), config.clone(), 0, &cond).unwrap();
    let mut headers = Vec::new();
    for b in 0..12 {
        s.generate_until(&cond, b * bar + 1).unwrap();
        assert_eq!(s.frontier().div_euclid(bar), b, "the stream is in bar {b}");
        headers.push(s.current_styles());
    }
    for (b, h) in headers.iter().enumerate() {
        let want = if b % 4 == 3 { vec![5, 7] } else { vec![6, 7] };
        assert_eq!(h, &want, "bar {b}");
    }
    assert!(s.reprimes() >= 5, "switches into bars 3, 7, 11 and out of 3 and 7");
    decode(s.tokens()).unwrap();
    // Rolling back into the first phrase and regenerating gives the same stream.
    let mut notes = Vec::new();
    s.drain_notes(&mut notes);
    let end = 12 * bar;
    s.generate_until(&cond, end).unwrap();
    let mut a = Vec::new();
    s.drain_notes(&mut a);
    // Each fill costs two re-primes and four are kept: bar 2 is beyond them, and the session
    // says so rather than regenerate from a rebuilt stream.
    let mut far = Session::new(model(), s.config().clone(), 0, &cond).unwrap();
    far.generate_until(&cond, end).unwrap();
    assert!(!far.rollback(2 * bar));
    assert!(s.rollback(6 * bar + 12));
    s.generate_until(&cond, end).unwrap();
    let whole: Vec<GeneratedNote> = s.notes().copied().collect();
    let mut fresh = Session::new(model(), config, 0, &cond).unwrap();
    fresh.generate_until(&cond, end).unwrap();
    let again: Vec<GeneratedNote> = fresh.notes().copied().collect();
    let pre: Vec<GeneratedNote> = notes.iter().chain(a.iter()).copied().collect();
    assert_eq!(pre, again, "bar by bar or at once, the same notes");
    assert_eq!(whole, again, "rollback across fill switches replays the same notes");
}

#[test]
fn steady_dynamics_keeps_an_instrument_near_its_level_and_lets_the_snare_ghost() {
    let cond = Conditioning::default();
    let mut s = Session::new(model(), SessionConfig::new(Role::Drums), 0, &cond).unwrap();
    let vel = |b: u8| Vocab::id(Token::Vel(b)) as usize;
    let hit = |beat: f64, pitch: u8, velocity: u8| NoteRec {
        tick: (beat * TICKS_PER_BEAT as f64) as i64,
        note: GeneratedNote {
            start: beat,
            duration: 0.25,
            pitch,
            velocity,
        },
    };
    let allowed_bins = |s: &mut Session<MarkovModel>, key: u8| -> Vec<u8> {
        s.allowed.iter_mut().for_each(|a| *a = false);
        (0..16).for_each(|b| s.allowed[vel(b)] = true);
        s.steady_velocity(key);
        (0..16).filter(|&b| s.allowed[vel(b)]).collect()
    };
    // Three kicks: not yet a level, every bin open.
    s.notes = (0..3).map(|i| hit(i as f64, 36, 52)).collect();
    assert_eq!(allowed_bins(&mut s, 36).len(), 16);
    // Kicks at 45-60 (bins 5-7): the kick's one-bin margin keeps bins 4-8 open, the 124 of a
    // sudden slam does not.
    s.notes = (0..8).map(|i| hit(i as f64 * 0.5, 36, 45 + 2 * i as u8)).collect();
    assert_eq!(
        allowed_bins(&mut s, 35),
        (4..=8).collect::<Vec<u8>>(),
        "35 is a kick too"
    );
    // A hi-hat at the same levels keeps two bins either side: 3-9.
    s.notes = (0..8).map(|i| hit(i as f64 * 0.5, 42, 45 + 2 * i as u8)).collect();
    assert_eq!(allowed_bins(&mut s, 42), (3..=9).collect::<Vec<u8>>());
    // Snare backbeats at 100 (bin 12): up to bin 14, and down to ghost notes.
    s.notes = (0..4).map(|i| hit(1.0 + 2.0 * i as f64, 38, 100)).collect();
    assert_eq!(allowed_bins(&mut s, 38), (0..=14).collect::<Vec<u8>>());
    // A class that has not played is free.
    assert_eq!(allowed_bins(&mut s, 46).len() + allowed_bins(&mut s, 49).len(), 32);
}

/// The rest calibration moves mass to resting until the next given event: over a chord and a
/// bass note on every beat, a positive bias plays fewer notes and leaves more beats empty; with
/// no given event ahead in the bar it changes nothing.
#[test]
fn the_rest_calibration_rests_until_given_events_and_only_there() {
    let m = || {
        let mut b = MarkovBuilder::new(3);
        for s in training_sequences() {
            b.add_sequence(&s);
        }
        MarkovModel::with_context_len(Arc::new(b.build(1, 1)), 4096)
    };
    let bars = 16i64;
    let bar = 4 * TICKS_PER_BEAT as i64;
    let mut beats = Conditioning::default();
    for b in 0..bars {
        beats.set_chord(b * bar, Some(Chord::new(((b * 5) % 12) as u8, ChordQuality::Dom7)));
        for k in 0..4 {
            beats.add_input(b * bar + k * TICKS_PER_BEAT as i64, 36 + (b % 12) as u8);
        }
    }
    let notes = |cond: &Conditioning, bias: f32, seed: u64| {
        let mut cfg = SessionConfig::new(Role::Lead);
        cfg.seed = seed;
        cfg.constraints.rest_bias = bias;
        let mut s = Session::new(m(), cfg, 0, cond).unwrap();
        s.generate_until(cond, bars * bar).unwrap();
        let mut out = Vec::new();
        s.drain_notes(&mut out);
        (out.len(), s.tokens().to_vec())
    };
    let (mut plain, mut rested) = (0, 0);
    for seed in 1..=4 {
        plain += notes(&beats, 0.0, seed).0;
        rested += notes(&beats, 3.0, seed).0;
    }
    assert!(
        plain > 0 && rested * 10 < plain * 8,
        "{rested} notes rested against {plain}"
    );
    // One chord held, no input: no given event ahead, the same stream to the token.
    let mut held = Conditioning::default();
    held.set_chord(0, Some(Chord::new(0, ChordQuality::Maj7)));
    assert_eq!(notes(&held, 0.0, 3).1, notes(&held, 3.0, 3).1);
}

/// The register hold keeps the session's notes near the register of its take (the prompt's notes
/// first); without it the test model leaps to the chord tones it learned an octave span
/// away.
#[test]
fn the_register_hold_keeps_the_notes_near_the_take() {
    // Sixteen notes between C4 and D4, below most of the chord tones the model learned (C4-B4).
    let prompt: Vec<crate::music::Note> = (0..16)
        .map(|i| crate::music::Note {
            start: i as f64 * 0.5,
            duration: 0.5,
            pitch: [60u8, 62][i % 2],
            velocity: 90,
        })
        .collect();
    let cond = progression(10);
    let run = |hold: u8| -> (usize, usize) {
        let mut far = 0;
        let mut notes_n = 0;
        for seed in 1..=4 {
            let mut cfg = SessionConfig::new(Role::Lead);
            cfg.seed = seed;
            cfg.prompt = prompt.clone();
            cfg.constraints.register_hold = hold;
            cfg.silent_until = Some(beat_to_tick(8.0));
            let mut s = Session::new(model(), cfg, 0, &cond).unwrap();
            s.generate_until(&cond, 10 * 4 * TICKS_PER_BEAT as i64).unwrap();
            let mut played: Vec<u8> = prompt.iter().map(|n| n.pitch).collect();
            for n in s.notes() {
                let (lo, hi) = (*played.iter().min().unwrap(), *played.iter().max().unwrap());
                far += (n.pitch + 2 < lo || n.pitch > hi + 2) as usize;
                notes_n += 1;
                played.push(n.pitch);
            }
        }
        (far, notes_n)
    };
    let (held, n_held) = run(2);
    let (free, n_free) = run(0);
    assert!(n_held >= 64 && n_free >= 64, "{n_held} and {n_free} notes");
    assert_eq!(held, 0, "{held} of {n_held} notes beyond the hold");
    assert!(free >= 4, "without the hold only {free} of {n_free} notes leapt away");
}

/// A prompt that ends before the session's origin is not a panic (it restates no chord change).
#[test]
fn a_prompt_before_the_origin_does_not_panic() {
    let prompt = vec![crate::music::Note {
        start: 0.0,
        duration: 0.5,
        pitch: 60,
        velocity: 90,
    }];
    let cond = progression(4);
    let mut cfg = SessionConfig::new(Role::Lead);
    cfg.prompt = prompt;
    let s = Session::new(model(), cfg, 2 * 4 * TICKS_PER_BEAT as i64, &cond);
    assert!(s.is_ok(), "{:?}", s.err());
}

/// A session in a meter its role never learned writes learned bars that divide the host's (3/2
/// as two bars of 3/4), the fills in the second half of the host's bar; in a learned meter, or
/// one no learned bar divides, the stream keeps the host's meter.
#[test]
fn an_unlearned_meter_is_written_in_learned_bars() {
    let cond = progression(8);
    let ts = |n, d| Vocab::id(Token::TimeSig(time_signature_index(n, d).unwrap()));
    let stream = |num: u8, den: u8, learned: Vec<(u8, u8)>| {
        let mut config = SessionConfig::new(Role::Lead);
        (config.numerator, config.denominator) = (num, den);
        config.learned_meters = learned;
        config.fills = Some(crate::groove::FillPlan {
            every: 2,
            fill: 5,
            beat: Some(6),
            parts: 1,
        });
        let host_bar = config.bar_ticks();
        let mut s = Session::new(model(), config, 0, &cond).unwrap();
        let (mut tokens, mut fills) = (Vec::new(), Vec::new());
        let stream_bar = host_bar / s.config().fills.unwrap().parts as i64;
        for b in 0..8 {
            s.generate_until(&cond, b * stream_bar + 1).unwrap();
            tokens.extend_from_slice(s.tokens());
            // (The test model may run past a bar line: the bar is where the stream is.)
            let at = s.frontier().div_euclid(stream_bar);
            fills.push((at, s.current_styles().contains(&5)));
        }
        (tokens, fills, s.config().fills.unwrap().parts)
    };
    let (tokens, fills, parts) = stream(3, 2, vec![(4, 4), (3, 4)]);
    assert!(tokens.contains(&ts(3, 4)) && !tokens.contains(&ts(3, 2)));
    assert_eq!(parts, 2);
    assert!(
        fills.iter().all(|&(bar, fill)| fill == (bar % 4 == 3)),
        "the second half of host bars 1, 3: {fills:?}"
    );
    assert!(fills.iter().any(|&(_, fill)| fill));
    let (tokens, fills, parts) = stream(3, 2, vec![(3, 2), (4, 4)]);
    assert!(tokens.contains(&ts(3, 2)) && parts == 1);
    assert!(
        fills.iter().all(|&(bar, fill)| fill == (bar % 2 == 1)),
        "host bars 1, 3, ...: {fills:?}"
    );
    let (tokens, _, parts) = stream(5, 4, vec![(4, 4), (3, 4)]);
    assert!(tokens.contains(&ts(5, 4)) && parts == 1);
    let (tokens, _, parts) = stream(3, 2, vec![]);
    assert!(tokens.contains(&ts(3, 2)) && parts == 1);
}

/// A role that never learned chords ([`SessionConfig::write_chords`] off, the manifest's
/// `no_chords`) is written none, at the start, at changes or in a prompt; the Harmony pull still
/// reads the conditioning's chord.
#[test]
fn a_role_without_chords_is_written_none_and_still_pulled_to_them() {
    let cond = progression(8);
    let mut cfg = SessionConfig::new(Role::Lead);
    cfg.seed = 3;
    cfg.write_chords = false;
    cfg.prompt = vec![Note {
        start: 0.0,
        duration: 1.0,
        pitch: 62,
        velocity: 80,
    }];
    cfg.silent_until = Some(4 * TICKS_PER_BEAT as i64);
    let fit = |harmony: f32| {
        let mut cfg = cfg.clone();
        cfg.constraints.chord_tones = harmony;
        let mut s = Session::new(model(), cfg, 0, &cond).unwrap();
        s.generate_until(&cond, 8 * 4 * TICKS_PER_BEAT as i64).unwrap();
        let seq = decode(s.tokens()).unwrap();
        assert!(seq.chords.is_empty(), "{:?}", seq.chords);
        let mut notes = Vec::new();
        s.drain_notes(&mut notes);
        let in_chord = notes
            .iter()
            .filter(|n| {
                let c = cond.chord_at(beat_to_tick(n.start)).flatten().unwrap();
                c.contains_pitch(n.pitch)
            })
            .count();
        (in_chord, notes.len())
    };
    let (free, n0) = fit(0.0);
    let (pulled, n4) = fit(crate::sampling::FULL_CHORD_TONES);
    eprintln!("chord tones: {free}/{n0} alone, {pulled}/{n4} with the full pull");
    assert!(n0 >= 16 && n4 >= 16, "{n0} {n4}");
    assert!(pulled * 10 >= n4 * 8, "{pulled} of {n4} chord tones with the full pull");
    assert!(pulled * n0 > free * n4, "the pull: {pulled}/{n4} against {free}/{n0}");
}
