use super::*;

#[test]
fn rng_is_fixed() {
    let mut r = Rng::new(0);
    // Reference values of SplitMix64 seeded with 0.
    assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
}

#[test]
fn sampling_respects_mask_top_k_and_is_seeded() {
    let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
    let (a, b, c, d) = (pitch(60), pitch(62), pitch(64), pitch(65));
    let mut logits = vec![0.0f32; VOCAB_SIZE as usize];
    logits[a] = 3.0;
    logits[b] = 2.0;
    logits[c] = 1.0;
    let mut allowed = vec![false; VOCAB_SIZE as usize];
    allowed[a] = true;
    allowed[b] = true;
    allowed[c] = true;
    allowed[d] = true;
    let mut s = Sampler::new(
        SamplerConfig {
            temperature: 1.0,
            top_k: 2,
            top_p: 1.0,
        },
        42,
    );
    let draws: Vec<u32> = (0..200).map(|_| s.sample(&logits, &allowed).unwrap()).collect();
    assert!(draws.iter().all(|&x| x as usize == a || x as usize == b));
    assert!(draws.contains(&(b as u32)));
    let mut s2 = Sampler::new(s.config, 42);
    let again: Vec<u32> = (0..200).map(|_| s2.sample(&logits, &allowed).unwrap()).collect();
    assert_eq!(draws, again);
    let mut g = Sampler::new(
        SamplerConfig {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
        },
        1,
    );
    assert_eq!(g.sample(&logits, &allowed), Some(a as u32));
    let mut p = Sampler::new(
        SamplerConfig {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.5,
        },
        1,
    );
    assert!((0..50).all(|_| p.sample(&logits, &allowed) == Some(a as u32)));
    assert_eq!(s.sample(&logits, &[false; 10]), None);
    // Timing keeps its tail: a rare long rest survives top-p 0.5 beside the notes.
    let rest = Vocab::id(Token::Pos(36)) as usize;
    allowed[rest] = true;
    logits[rest] = -1.0;
    let mut p = Sampler::new(p.config, 3);
    let draws: Vec<u32> = (0..2000).map(|_| p.sample(&logits, &allowed).unwrap()).collect();
    assert!(draws.contains(&(rest as u32)));
    assert!(draws.iter().all(|&x| x as usize == a || x as usize == rest));
}

#[test]
fn the_memory_mixes_into_the_notes_within_their_mass() {
    let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
    let rest = Vocab::id(Token::Pos(36)) as usize;
    let logits = vec![0.0f32; VOCAB_SIZE as usize];
    let mut allowed = vec![false; VOCAB_SIZE as usize];
    for i in [pitch(60), pitch(62), pitch(64), pitch(65), rest] {
        allowed[i] = true;
    }
    // The memory recalls 64, and 70, which is not allowed here.
    let mut dist = [0.0f32; 128];
    dist[64] = 1.0;
    dist[70] = 3.0;
    let mut s = Sampler::new(SamplerConfig::default(), 5);
    let n = 20_000;
    let (mut recalled, mut rests) = (0, 0);
    for _ in 0..n {
        s.set_memory(0.5, &dist);
        let id = s.sample(&logits, &allowed).unwrap() as usize;
        recalled += (id == pitch(64)) as usize;
        rests += (id == rest) as usize;
    }
    // Notes keep their 4/5; 64 gets half of the network's 1/4 of them and all the memory's
    // half: 0.8 * (0.125 + 0.5) = 0.5.
    let share = |k: usize| k as f64 / n as f64;
    assert!((share(recalled) - 0.5).abs() < 0.02, "{}", share(recalled));
    assert!((share(rests) - 0.2).abs() < 0.02, "{}", share(rests));
    // The memory is for one draw: the next plays the network alone.
    let alone = (0..n)
        .filter(|_| s.sample(&logits, &allowed) == Some(pitch(64) as u32))
        .count();
    assert!((share(alone) - 0.2).abs() < 0.02, "{}", share(alone));
}

#[test]
fn the_rhythm_memory_mixes_into_the_time_choices_and_keeps_the_microtiming() {
    let id = |t: Token| Vocab::id(t) as usize;
    let (drum, pos, bar, micro) = (
        id(Token::Drum(42)),
        id(Token::Pos(6)),
        id(Token::Bar),
        id(Token::Micro(1)),
    );
    let logits = vec![0.0f32; VOCAB_SIZE as usize];
    let mut allowed = vec![false; VOCAB_SIZE as usize];
    for i in [drum, pos, bar, micro] {
        allowed[i] = true;
    }
    // The memory recalls the next position (and a velocity, which is not its to choose).
    let mut dist = vec![0.0f32; VOCAB_SIZE as usize];
    dist[pos] = 2.0;
    dist[id(Token::Vel(3))] = 5.0;
    let mut s = Sampler::new(SamplerConfig::default(), 9);
    let n = 20_000;
    let (mut at_pos, mut micros) = (0, 0);
    for _ in 0..n {
        s.set_token_memory(0.6, &dist, MemoryScope::Rhythm);
        let x = s.sample(&logits, &allowed).unwrap() as usize;
        at_pos += (x == pos) as usize;
        micros += (x == micro) as usize;
    }
    let share = |k: usize| k as f64 / n as f64;
    // The time choices keep their 3/4; the position gets 0.4 of the network's third of it
    // and all the memory's 0.6: 0.75 * (0.4 / 3 + 0.6) = 0.55.
    assert!((share(at_pos) - 0.55).abs() < 0.02, "{}", share(at_pos));
    assert!((share(micros) - 0.25).abs() < 0.02, "{}", share(micros));
}

#[test]
fn a_pitched_roles_rhythm_memory_plays_now_and_leaves_the_pitch_to_the_note_memory() {
    let id = |t: Token| Vocab::id(t) as usize;
    let (c, e, pos, bar, vel) = (
        id(Token::Pitch(48)),
        id(Token::Pitch(52)),
        id(Token::Pos(12)),
        id(Token::Bar),
        id(Token::Vel(3)),
    );
    let logits = vec![0.0f32; VOCAB_SIZE as usize];
    let mut allowed = vec![false; VOCAB_SIZE as usize];
    for i in [c, e, pos, bar, vel] {
        allowed[i] = true;
    }
    let mut s = Sampler::new(SamplerConfig::default(), 5);
    let mut pitches = [0.0f32; 128];
    pitches[52] = 1.0;
    let none = vec![0.0f32; VOCAB_SIZE as usize];
    let mut to_bar = vec![0.0f32; VOCAB_SIZE as usize];
    to_bar[bar] = 1.0;
    let n = 20_000;
    let (mut at_e, mut at_c, mut at_bar, mut at_vel) = (0, 0, 0, 0);
    let (mut rest_notes, mut rest_vel) = (0, 0);
    for _ in 0..n {
        // Where the role has not played yet: the memory says play now (weight 0.8), and
        // the note memory says which pitch (0.5).
        s.set_rhythm_memory(0.8, &none, Some(1.0));
        s.set_memory(0.5, &pitches);
        let x = s.sample(&logits, &allowed).unwrap() as usize;
        at_e += (x == e) as usize;
        at_c += (x == c) as usize;
        at_vel += (x == vel) as usize;
        // It says rest to the bar line.
        s.set_rhythm_memory(0.8, &to_bar, Some(0.0));
        let y = s.sample(&logits, &allowed).unwrap() as usize;
        at_bar += (y == bar) as usize;
        rest_notes += (y == c || y == e) as usize;
        rest_vel += (y == vel) as usize;
    }
    let share = |k: usize| k as f64 / n as f64;
    // Notes and time hold 4/5 of the mass (1/5 each id): the notes get 0.2 * 0.4 + 0.8 * 0.8
    // = 0.72 of it, shared 3:1 by the note memory; the velocity keeps its 0.2.
    assert!((share(at_e) - 0.54).abs() < 0.02, "{}", share(at_e));
    assert!((share(at_c) - 0.18).abs() < 0.02, "{}", share(at_c));
    assert!((share(at_vel) - 0.2).abs() < 0.02, "{}", share(at_vel));
    // Resting: the notes keep 0.2 of their 0.4; the bar line 0.2 * 0.2 + 0.8 * 0.8.
    assert!((share(rest_notes) - 0.08).abs() < 0.02, "{}", share(rest_notes));
    assert!((share(at_bar) - 0.68).abs() < 0.02, "{}", share(at_bar));
    assert!((share(rest_vel) - 0.2).abs() < 0.02, "{}", share(rest_vel));
}

#[test]
fn temperature_sharpens_the_notes_and_keeps_the_rests_mass() {
    let (a, b) = (
        Vocab::id(Token::Pitch(60)) as usize,
        Vocab::id(Token::Pitch(61)) as usize,
    );
    let rest = Vocab::id(Token::Pos(36)) as usize;
    let mut logits = vec![0.0f32; VOCAB_SIZE as usize];
    let mut allowed = vec![false; VOCAB_SIZE as usize];
    for i in [a, b, rest] {
        allowed[i] = true;
    }
    // At temperature 1: a 0.5, b 0.25, the rest 0.25.
    logits[a] = 2f32.ln();
    let share = |t: f32| {
        let mut s = Sampler::new(
            SamplerConfig {
                temperature: t,
                top_k: 0,
                top_p: 1.0,
            },
            7,
        );
        let n = 40_000;
        let mut c = [0usize; 3];
        for _ in 0..n {
            let x = s.sample(&logits, &allowed).unwrap() as usize;
            c[[a, b, rest].iter().position(|&i| i == x).unwrap()] += 1;
        }
        c.map(|k| k as f64 / n as f64)
    };
    let one = share(1.0);
    assert!((one[0] - 0.5).abs() < 0.015 && (one[2] - 0.25).abs() < 0.015, "{one:?}");
    // At 0.5 the notes' 0.75 splits 4:1 (0.6, 0.15); the rest keeps 0.25.
    let half = share(0.5);
    assert!(
        (half[0] - 0.6).abs() < 0.015 && (half[1] - 0.15).abs() < 0.015,
        "{half:?}"
    );
    assert!((half[2] - 0.25).abs() < 0.015, "{half:?}");
    // At 2 they split 1.41:1; the rest still keeps 0.25.
    let two = share(2.0);
    assert!(
        (two[0] - 0.75 * 2f64.sqrt() / (1.0 + 2f64.sqrt())).abs() < 0.015,
        "{two:?}"
    );
    assert!((two[2] - 0.25).abs() < 0.015, "{two:?}");
}

#[test]
fn constraints_lock_the_scale_but_never_empty_the_mask() {
    let mut logits = vec![0.0f32; VOCAB_SIZE as usize];
    let mut allowed = vec![false; VOCAB_SIZE as usize];
    for p in 60..72 {
        allowed[Vocab::id(Token::Pitch(p)) as usize] = true;
    }
    let c = Constraints {
        pitch_classes: Scale::Major.mask(0),
        ..Constraints::default()
    };
    apply_constraints(&c, 0, None, &mut logits, &mut allowed, false);
    let kept: Vec<u8> = (60..72)
        .filter(|&p| allowed[Vocab::id(Token::Pitch(p)) as usize])
        .collect();
    assert_eq!(kept, vec![60, 62, 64, 65, 67, 69, 71]);
    let c = Constraints {
        pitch_lo: 100,
        ..Constraints::default()
    };
    apply_constraints(&c, 0, None, &mut logits, &mut allowed, false);
    assert!(allowed[Vocab::id(Token::Pitch(60)) as usize]);
}

/// A register leaves a note in a thousand out at each end; the user's range plays within it,
/// or alone where the two do not meet.
#[test]
fn the_register_leaves_the_stray_notes_out_and_holds_the_users_range() {
    let mut counts = [0u64; 128];
    counts[20] = 1; // a stray low note
    (40..=60).for_each(|p| counts[p] = 100);
    counts[100] = 2; // two stray high notes
    assert_eq!(register_of(&counts), Some((40, 60)));
    counts[100] = 3; // 3 of 2,104 notes is more than one in a thousand
    assert_eq!(register_of(&counts), Some((40, 100)));
    assert_eq!(register_of(&[0; 128]), None);
    let bass = Some((28, 67));
    assert_eq!(within_register(bass, DEFAULT_PITCH_LO, DEFAULT_PITCH_HI), (28, 67));
    assert_eq!(within_register(bass, 36, 96), (36, 67));
    assert_eq!(within_register(bass, 72, 84), (72, 84), "they do not meet: the user's");
    assert_eq!(within_register(None, 36, 96), (36, 96));
}

/// A monophonic role whose last note still sounds, where the grammar asks for a note: the
/// polyphony cap yields and nothing else does (the range and scale hold, the Harmony still
/// pulls). Where a position may come instead, the cap holds.
#[test]
fn a_sounding_note_lifts_the_polyphony_cap_only() {
    let v = VOCAB_SIZE as usize;
    let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
    let c = Constraints {
        pitch_lo: 28,
        pitch_hi: 67,
        pitch_classes: Scale::Major.mask(0),
        chord_tones: 1.0,
        ..Constraints::for_role(crate::music::Role::Bass)
    };
    assert_eq!(c.max_polyphony, 1);
    let c7 = crate::chord::Chord::parse("C7").unwrap();
    let mut logits = vec![0.0f32; v];
    let mut allowed = vec![false; v];
    (20..100).for_each(|p| allowed[pitch(p)] = true);
    apply_constraints(&c, 1, c7, &mut logits, &mut allowed, false);
    let kept: Vec<u8> = (20..100).filter(|&p| allowed[pitch(p)]).collect();
    assert_eq!(kept.first(), Some(&28));
    assert_eq!(kept.last(), Some(&67));
    assert!(!allowed[pitch(61)], "C# is outside C major");
    assert!(logits[pitch(48)] > logits[pitch(50)], "C is in C7, D is not");
    // A position may come instead: the sounding note keeps the new one out.
    let mut allowed = vec![false; v];
    (20..100).for_each(|p| allowed[pitch(p)] = true);
    allowed[Vocab::id(Token::Pos(4)) as usize] = true;
    apply_constraints(&c, 1, c7, &mut vec![0.0f32; v], &mut allowed, false);
    assert!((20..100).all(|p| !allowed[pitch(p)]));
    assert!(allowed[Vocab::id(Token::Pos(4)) as usize]);
}

/// The length hold masks the lengths past its multiple of the take's longest note, and nothing
/// else; it waits for enough notes and never masks every length.
#[test]
fn the_length_hold_keeps_a_role_to_the_lengths_of_its_take() {
    let v = VOCAB_SIZE as usize;
    let dur = |d: usize| Vocab::id(Token::Dur(d as u8)) as usize;
    let ticks = crate::tokenizer::vocab::DURATION_TICKS;
    let fresh = || {
        let mut a = vec![false; v];
        (0..ticks.len()).for_each(|d| a[dur(d)] = true);
        a[Vocab::id(Token::Bar) as usize] = true;
        a
    };
    // Sixteen notes of a beat at most (12 ticks), the last one a beat long.
    let played = (0..HOLD_AFTER).fold(Span::EMPTY, |s, i| s.with(40).lasting(if i == 9 { 12 } else { 6 }));
    assert_eq!(played.longest, 12);
    let mut a = fresh();
    let early = (0..HOLD_AFTER - 1).fold(Span::EMPTY, |s, _| s.with(40).lasting(12));
    hold_length(early, 1.0, &mut a);
    assert_eq!(a, fresh(), "too few notes yet");
    hold_length(played, 0.0, &mut a);
    assert_eq!(a, fresh(), "off");
    hold_length(played, 1.0, &mut a);
    let kept: Vec<u16> = (0..ticks.len()).filter(|&d| a[dur(d)]).map(|d| ticks[d]).collect();
    assert_eq!(kept, (1..=12).collect::<Vec<u16>>(), "a beat at most");
    assert!(a[Vocab::id(Token::Bar) as usize], "time is never masked");
    let mut a = fresh();
    hold_length(played, 1.5, &mut a);
    assert_eq!(
        ticks
            .iter()
            .enumerate()
            .filter(|&(d, _)| a[dur(d)])
            .map(|(_, &t)| t)
            .max(),
        Some(18)
    );
    // Only lengths past the hold allowed: left as they were.
    let mut a = vec![false; v];
    a[dur(ticks.len() - 1)] = true;
    hold_length(played, 1.0, &mut a);
    assert!(a[dur(ticks.len() - 1)]);
}

/// The register hold masks the pitches beyond its margin around the role's take so far, and
/// nothing else; it waits for enough notes, remembers the whole take, and never masks every
/// pitch.
#[test]
fn the_register_hold_keeps_a_role_near_its_take() {
    let v = VOCAB_SIZE as usize;
    let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
    let bar = Vocab::id(Token::Bar) as usize;
    let fresh = || {
        let mut a = vec![false; v];
        for p in 30..=100 {
            a[pitch(p)] = true;
        }
        a[bar] = true;
        a
    };
    let span = |pitches: &[u8]| pitches.iter().fold(Span::EMPTY, |s, &p| s.with(p));
    let played: Vec<u8> = (0..HOLD_AFTER).map(|i| 60 + (i % 8) as u8).collect(); // 60..=67
    assert_eq!(
        span(&played),
        Span {
            notes: HOLD_AFTER,
            lo: 60,
            hi: 67,
            longest: 0
        }
    );
    let mut a = fresh();
    hold_register(span(&played[..HOLD_AFTER - 1]), 4, &mut a);
    assert_eq!(a, fresh(), "too few notes yet");
    hold_register(span(&played), 0, &mut a);
    assert_eq!(a, fresh(), "off");
    hold_register(span(&played), 4, &mut a);
    let kept: Vec<u8> = (30..=100).filter(|&p| a[pitch(p)]).collect();
    assert_eq!(kept, (56..=71).collect::<Vec<u8>>(), "4 semitones beyond 60-67");
    assert!(a[bar], "time is never masked");
    // The whole take counts: a low note long ago still opens the register down to it.
    let mut long = vec![40u8];
    long.extend(std::iter::repeat_n(72u8, 500));
    let mut a = fresh();
    hold_register(span(&long), 2, &mut a);
    assert!(!a[pitch(37)] && a[pitch(38)] && a[pitch(74)] && !a[pitch(75)]);
    // Only pitches far away allowed: left as they were.
    let mut a = vec![false; v];
    a[pitch(100)] = true;
    a[bar] = true;
    let before = a.clone();
    hold_register(span(&played), 4, &mut a);
    assert_eq!(a, before, "never masks every allowed pitch");
}

/// The duration temperature sharpens the choice among lengths (the likeliest gains, the long
/// tail loses) and touches no other id.
#[test]
fn the_duration_temperature_sharpens_the_lengths_only() {
    let v = VOCAB_SIZE as usize;
    let mut logits = vec![0.0f32; v];
    let mut allowed = vec![false; v];
    let lengths = [(3u8, 2.0f32), (6, 1.0), (40, 0.0)];
    for &(d, l) in &lengths {
        logits[Vocab::id(Token::Dur(d)) as usize] = l;
        allowed[Vocab::id(Token::Dur(d)) as usize] = true;
    }
    let pitch = Vocab::id(Token::Pitch(60)) as usize;
    logits[pitch] = 1.5;
    allowed[pitch] = true;
    let probs = |logits: &[f32]| -> Vec<f64> {
        let z: f64 = lengths
            .iter()
            .map(|&(d, _)| (logits[Vocab::id(Token::Dur(d)) as usize] as f64).exp())
            .sum();
        lengths
            .iter()
            .map(|&(d, _)| (logits[Vocab::id(Token::Dur(d)) as usize] as f64).exp() / z)
            .collect()
    };
    let before = probs(&logits);
    let mut sharp = logits.clone();
    temper_durations(&mut sharp, &allowed, 0.5);
    let after = probs(&sharp);
    assert!(after[0] > before[0] + 0.1, "{before:?} -> {after:?}");
    assert!(after[2] < before[2] / 2.0, "the long tail: {before:?} -> {after:?}");
    assert_eq!(sharp[pitch], 1.5, "a pitch keeps its logit");
    let mut same = logits.clone();
    temper_durations(&mut same, &allowed, 1.0);
    temper_durations(&mut same, &allowed, 0.0);
    temper_durations(&mut same, &allowed, f32::NAN);
    assert_eq!(same, logits, "1, or a value out of range, changes nothing");
}

/// The velocity temperature sharpens the choice among velocities and touches no length.
#[test]
fn the_velocity_temperature_sharpens_the_velocities_only() {
    let v = VOCAB_SIZE as usize;
    let mut logits = vec![0.0f32; v];
    let mut allowed = vec![false; v];
    let vels = [(9u8, 2.0f32), (10, 1.0), (3, 0.0)];
    for &(b, l) in &vels {
        logits[Vocab::id(Token::Vel(b)) as usize] = l;
        allowed[Vocab::id(Token::Vel(b)) as usize] = true;
    }
    let dur = Vocab::id(Token::Dur(6)) as usize;
    logits[dur] = 1.5;
    allowed[dur] = true;
    let mut sharp = logits.clone();
    temper_velocities(&mut sharp, &allowed, 0.5);
    for &(b, l) in &vels {
        assert_eq!(sharp[Vocab::id(Token::Vel(b)) as usize], l / 0.5);
    }
    assert_eq!(sharp[dur], 1.5, "a length keeps its logit");
    let mut lengths = logits.clone();
    temper_durations(&mut lengths, &allowed, 0.5);
    assert_eq!(lengths[dur], 3.0);
    assert_eq!(
        lengths[Vocab::id(Token::Vel(9)) as usize],
        2.0,
        "a velocity keeps its logit"
    );
    let mut same = logits.clone();
    temper_velocities(&mut same, &allowed, 1.0);
    temper_velocities(&mut same, &allowed, 3.0);
    assert_eq!(same, logits, "1, or a value out of range, changes nothing");
}

#[test]
fn the_density_calibration_adds_to_the_density_on_note_starts_only() {
    let pitch = Vocab::id(Token::Pitch(60)) as usize;
    let drum = Vocab::id(Token::Drum(38)) as usize;
    let time = Vocab::id(Token::Bar) as usize;
    let run = |c: Constraints, drums: bool| {
        let mut logits = vec![0.0f32; VOCAB_SIZE as usize];
        let mut allowed = vec![false; VOCAB_SIZE as usize];
        for id in [pitch, drum, time] {
            allowed[id] = true;
        }
        apply_constraints(&c, 0, None, &mut logits, &mut allowed, drums);
        (logits[pitch], logits[drum], logits[time])
    };
    let calibrated = run(
        Constraints {
            note_bias: -0.4,
            ..Constraints::default()
        },
        false,
    );
    assert_eq!(calibrated, (-0.4, -0.4, 0.0));
    // The user's Density comes on top of the model's calibration.
    let both = run(
        Constraints {
            note_bias: -0.4,
            density: 0.45,
            ..Constraints::default()
        },
        true,
    );
    let d = 2.0 * (0.45f32 / 0.55).ln();
    assert!(
        (both.0 - (d - 0.4)).abs() < 1e-6 && (both.1 - (d - 0.4)).abs() < 1e-6,
        "{both:?}"
    );
    assert_eq!(both.2, 0.0, "time is never biased");
    let broken = run(
        Constraints {
            note_bias: f32::NAN,
            ..Constraints::default()
        },
        false,
    );
    assert_eq!(broken, (0.0, 0.0, 0.0), "a damaged value leaves the model as it is");
}

#[test]
fn the_users_top_p_scales_the_tuned_cut() {
    let user = |top_p| SamplerConfig {
        temperature: 1.0,
        top_k: 0,
        top_p,
    };
    let at = |u: f32, tuned: f32| user(u).top_p_relative_to(tuned).top_p;
    // The default plays the tuned top-p; 1 cuts nothing; a lower Top-p cuts proportionally more.
    assert!((at(DEFAULT_TOP_P, 0.99) - 0.99).abs() < 1e-6);
    assert_eq!(at(1.0, 0.99), 1.0);
    assert!((at(0.9, 0.99) - 0.98).abs() < 1e-5);
    assert!((at(0.5, 0.99) - 0.9).abs() < 1e-5);
    assert!((at(DEFAULT_TOP_P, 0.9) - 0.9).abs() < 1e-6);
    assert_eq!(at(0.05, 0.5), 0.05, "never below the parameter's floor");
    // Tuned to the default, or out of range: the user's, bit for bit.
    for tuned in [DEFAULT_TOP_P, 0.2, f32::NAN, 1.5] {
        assert_eq!(user(0.8).top_p_relative_to(tuned), user(0.8));
    }
    // A tuned 1 turns the cut off at every setting of the user's.
    assert_eq!(at(0.3, 1.0), 1.0);
}

#[test]
fn the_users_harmony_maps_through_the_tuned_one() {
    let d = DEFAULT_CHORD_TONES;
    let f = FULL_CHORD_TONES;
    // Through 0 -> 0, the default -> the tuned pull and full -> full.
    for tuned in [0.0, 0.12, 0.5, 2.0] {
        assert_eq!(tuned_harmony(0.0, tuned), 0.0, "0 is the network alone");
        assert!((tuned_harmony(d, tuned) - tuned).abs() < 1e-6);
        assert!((tuned_harmony(f, tuned) - f).abs() < 1e-5);
    }
    // A network that needs no pull at the default still gets one above it, rising.
    assert_eq!(tuned_harmony(d / 2.0, 0.0), 0.0);
    let half = tuned_harmony((d + f) / 2.0, 0.0);
    assert!((half - f / 2.0).abs() < 1e-5, "{half}");
    assert!(tuned_harmony(1.0, 0.0) < tuned_harmony(1.1, 0.0));
    // Below the default the tuned pull scales with the user's.
    assert!((tuned_harmony(d / 2.0, 0.5) - 0.25).abs() < 1e-6);
    // At the default, or out of range: the user's.
    for tuned in [d, -1.0, 5.0, f32::NAN] {
        assert_eq!(tuned_harmony(0.7, tuned), 0.7);
    }
}

/// The Harmony chooses which note, never whether to play one: the allowed pitches keep their
/// total probability against the other tokens, the chord tones get more of it.
#[test]
fn the_harmony_shares_the_notes_mass_and_keeps_it() {
    let v = VOCAB_SIZE as usize;
    let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
    let pos = Vocab::id(Token::Pos(4)) as usize;
    let c = Constraints {
        chord_tones: 1.5,
        ..Constraints::for_role(crate::music::Role::Comping)
    };
    let c7 = crate::chord::Chord::parse("C7").unwrap();
    let mut allowed = vec![false; v];
    (40..80).for_each(|p| allowed[pitch(p)] = true);
    allowed[pos] = true;
    let mut logits: Vec<f32> = (0..v).map(|i| (i % 7) as f32 * 0.3).collect();
    let before = logits.clone();
    let notes_share = |l: &[f32], allowed: &[bool]| {
        let m = l
            .iter()
            .zip(allowed)
            .filter(|(_, a)| **a)
            .map(|(x, _)| *x)
            .fold(f32::MIN, f32::max);
        let e = |i: usize| ((l[i] - m) as f64).exp();
        let notes: f64 = (40..80).map(|p| e(pitch(p))).sum();
        notes / (notes + e(pos))
    };
    let plain = Constraints { chord_tones: 0.0, ..c };
    let mut base_logits = before.clone();
    let mut base_allowed = allowed.clone();
    apply_constraints(&plain, 0, c7, &mut base_logits, &mut base_allowed, false);
    apply_constraints(&c, 0, c7, &mut logits, &mut allowed, false);
    assert_eq!(allowed, base_allowed);
    let (with, without) = (notes_share(&logits, &allowed), notes_share(&base_logits, &base_allowed));
    assert!(
        (with - without).abs() < 1e-5,
        "a note at all: {with} with the pull, {without} without"
    );
    // Among the notes, the chord tones gain: C (48) against D (50), as much as the pull.
    let gain = (logits[pitch(48)] - logits[pitch(50)]) - (base_logits[pitch(48)] - base_logits[pitch(50)]);
    assert!((gain - 1.5).abs() < 1e-4, "{gain}");
    assert_eq!(logits[pos], base_logits[pos], "the other tokens are untouched");
}
