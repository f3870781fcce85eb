//! The worker with a real model package: it feeds the editor, and model loading falls back and
//! says why.

use super::*;
use crate::channels::{Channels, EngineState, RollEvent, RuntimeState};
use models::markov::MarkovBuilder;
use models::package::{Manifest, ModelKind, Package};
use models::{Note, Sequence, Tokenizer, Vocab};

fn package(dir: &std::path::Path) {
    package_tuned(dir, &[]);
}

/// [`package`] with tuned note temperatures.
fn package_tuned(dir: &std::path::Path, tuned: &[(Role, f32)]) {
    package_with(dir, tuned, &[], &[]);
}

/// [`package`] with tuned note temperatures, rest calibrations and density calibrations.
fn package_with(dir: &std::path::Path, tuned: &[(Role, f32)], rests: &[(Role, f32)], notes: &[(Role, f32)]) {
    // A lead over Dm7 with its chord tones as input, as the tests play it.
    let mut s = Sequence::new(Role::Lead);
    for bar in 0..4 {
        s.chords.push(models::music::ChordEvent {
            start: bar as f64 * 4.0,
            chord: models::chord::Chord::parse("Dm7").unwrap(),
        });
        for pitch in [38, 62, 65, 69, 72] {
            s.inputs.push(models::music::Onset {
                start: bar as f64 * 4.0,
                pitch,
            });
        }
    }
    s.notes = (0..32)
        .map(|i| Note {
            start: i as f64 * 0.5,
            duration: 0.5,
            pitch: 60 + (i % 5) as u8,
            velocity: 80,
        })
        .collect();
    let mut b = MarkovBuilder::new(8);
    b.add_sequence(&Tokenizer::default().encode(&s).unwrap());
    std::fs::create_dir_all(dir).unwrap();
    b.build(1, 1).save(&dir.join("markov.bin")).unwrap();
    let mut m = Manifest {
        trainer_revision: "test".into(),
        note_temperature: tuned.iter().map(|&(r, t)| (r.name().to_string(), t)).collect(),
        rest_bias: rests.iter().map(|&(r, b)| (r.name().to_string(), b)).collect(),
        note_bias: notes.iter().map(|&(r, b)| (r.name().to_string(), b)).collect(),
        ..Manifest::new(
            "t",
            "",
            ModelKind::Markov {
                file: "markov.bin".into(),
                order: 8,
            },
            Vocab::new(),
            vec![Role::Lead],
        )
    };
    Package::write(dir, &mut m).unwrap();
}

/// A worker with default parameters (its channels' other ends dropped), and what it reads and
/// publishes.
fn worker() -> (Arc<SidemanParams>, Arc<SharedStatus>, Worker) {
    let params = Arc::new(SidemanParams::default());
    let status = Arc::new(SharedStatus::default());
    let ch = Channels::new();
    let w = Worker::new(params.clone(), status.clone(), ch.from_audio_rx, ch.to_audio_tx);
    (params, status, w)
}

fn wait_until(status: &SharedStatus, what: impl Fn(&SharedStatus) -> bool) -> bool {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if what(status) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn describe(s: &SharedStatus) -> String {
    format!(
        "{:?} model {:?} notice {:?} error {:?}",
        s.state(),
        s.model_name(),
        s.notice(),
        s.last_error()
    )
}

/// While it plays, the worker logs for the editor what it generates, what the user plays
/// and the chords it hears, and publishes its speed and how far ahead it is.
#[test]
fn the_worker_feeds_the_editor() {
    let params = Arc::new(SidemanParams::default());
    let dir = std::env::temp_dir().join(format!("sideman-engine-roll-{}", std::process::id()));
    package(&dir);
    params.set_model_path(dir.to_str().unwrap());
    let status = Arc::new(SharedStatus::default());
    let mut ch = Channels::new();
    let engine = Engine::spawn(params.clone(), status.clone(), ch.from_audio_rx, ch.to_audio_tx).unwrap();
    let ready = |s: &SharedStatus| s.state() == EngineState::Ready;
    assert!(wait_until(&status, ready), "{}", describe(&status));
    assert_eq!(status.model_ref(), dir.to_str().unwrap());
    assert_ne!(
        status.runtime(),
        RuntimeState::Unknown,
        "the runtime is checked even for Markov"
    );

    status.tempo_bits.store(120f64.to_bits(), Ordering::Release);
    status.playhead_bits.store(0f64.to_bits(), Ordering::Release);
    status.playing.store(true, Ordering::Release);
    let transport = TransportSnapshot {
        beat: 0.0,
        tempo_bpm: 120.0,
        numerator: 4,
        denominator: 4,
        bar_start_beat: 0.0,
        wrapped_from: None,
    };
    ch.to_worker_tx
        .push(ToWorker::Reset {
            seq: 1,
            epoch: 1,
            transport,
        })
        .unwrap();
    // Dm7 with the bass root.
    for pitch in [38, 62, 65, 69, 72] {
        ch.to_worker_tx
            .push(ToWorker::NoteOn {
                seq: 1,
                beat: 0.0,
                pitch,
                velocity: 90,
            })
            .unwrap();
    }
    status.block_seq.store(1, Ordering::Release);
    engine.wake();
    let mut events = Vec::new();
    let mut seen = 0;
    let fed =
        |s: &SharedStatus| s.decode_rate() > 0.0 && s.ahead_beats() >= params.look_ahead_beats.value() as f64 - 1e-9;
    assert!(wait_until(&status, fed), "{}", describe(&status));
    let t0 = std::time::Instant::now();
    while !events.iter().any(|e| matches!(e, RollEvent::Generated(_))) && t0.elapsed() < Duration::from_secs(20) {
        seen = status.roll.read_since(seen, &mut events).0;
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        matches!(
            events[0],
            RollEvent::Reset {
                beat: 0.0,
                numerator: 4,
                ..
            }
        ),
        "{events:?}"
    );
    let inputs = events.iter().filter(|e| matches!(e, RollEvent::InputOn { .. })).count();
    assert_eq!(inputs, 5, "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RollEvent::Chord { chord, .. } if chord.to_string() == "Dm7")),
        "{events:?}"
    );
    let generated: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RollEvent::Generated(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert!(!generated.is_empty());
    assert!(generated.iter().all(|n| n.start >= 0.0 && n.end > n.start));
    assert!(status.tokens_sampled.load(Ordering::Relaxed) > 0);
}

/// The built-in default, a path that is gone, a good package, a damaged one, a corrupt ONNX
/// graph: the engine always ends up playing something and says why it is not what was asked.
#[test]
fn model_loading_falls_back_and_says_why() {
    let params = Arc::new(SidemanParams::default());
    let status = Arc::new(SharedStatus::default());
    let ch = Channels::new();
    let engine = Engine::spawn(params.clone(), status.clone(), ch.from_audio_rx, ch.to_audio_tx).unwrap();
    let ready = |s: &SharedStatus| s.state() == EngineState::Ready && !s.model_name().is_empty();
    assert!(wait_until(&status, ready), "{}", describe(&status));
    let default_name = status.model_name();
    if models::runtime::is_available() {
        assert!(
            default_name.contains("Jazz lead") && default_name.contains("int8"),
            "{}",
            describe(&status)
        );
        assert!(status.notice().is_empty(), "{}", describe(&status));
    } else {
        assert!(status.notice().contains("ONNX Runtime"), "{}", describe(&status));
    }

    params.set_model_path("/definitely/not/here");
    engine.wake();
    assert!(
        wait_until(&status, |s| ready(s) && s.notice().contains("/definitely/not/here")),
        "{}",
        describe(&status)
    );
    assert!(status.notice().contains("playing the default"), "{}", describe(&status));
    assert_eq!(status.model_name(), default_name);

    let dir = std::env::temp_dir().join(format!("sideman-engine-test-{}", std::process::id()));
    package(&dir);
    params.set_model_path(dir.to_str().unwrap());
    assert!(
        wait_until(&status, |s| ready(s)
            && s.notice().is_empty()
            && s.model_name() != default_name),
        "{}",
        describe(&status)
    );

    std::fs::write(dir.join("markov.bin"), b"damaged").unwrap();
    params.set_model_path(dir.join("manifest.json").to_str().unwrap());
    assert!(
        wait_until(&status, |s| ready(s) && s.notice().contains("checksum")),
        "{}",
        describe(&status)
    );
    assert_eq!(status.model_name(), default_name);

    if models::runtime::is_available() {
        // A transformer package whose graph is not ONNX (checksums made to match).
        let bad = dir.join("bad-onnx");
        std::fs::create_dir_all(&bad).unwrap();
        let jazz = models::assets::builtin("jazz-lead").unwrap();
        let mut m = models::package::Manifest::from_json(jazz.manifest, &bad).unwrap();
        m.name = "Broken graph".into();
        std::fs::write(bad.join("model.int8.onnx"), b"not a protobuf at all").unwrap();
        Package::write(&bad, &mut m).unwrap();
        params.set_model_path(bad.to_str().unwrap());
        assert!(
            wait_until(&status, |s| ready(s) && s.notice().contains("ONNX Runtime")),
            "{}",
            describe(&status)
        );
        assert_eq!(status.model_name(), default_name);
    }
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Temperature parameter is relative to the loaded model's tuned note temperature for the
/// role: 1 plays the jazz lead at its 0.5, say; a model without one plays at the parameter. So is
/// the Top-p parameter to the tuned top-p (the default 0.95 plays the jazz bass at its 0.99). The
/// model's calibrations (rests, density, fast tempos, lengths, register hold), its piece memory
/// and its meters come with it.
#[test]
fn the_temperature_is_relative_to_the_models_tuned_one() {
    let (params, status, mut w) = worker();
    let dir = std::env::temp_dir().join(format!("sideman-engine-tuned-{}", std::process::id()));
    package_with(
        &dir,
        &[(Role::Lead, 0.5)],
        &[(Role::Lead, 1.25)],
        &[(Role::Lead, -0.375)],
    );
    // The lead's memory, as `trainer ship --memory` writes it.
    let mut m = Package::load(&dir).unwrap().manifest;
    let spec = models::package::MemorySpec {
        relative: false,
        weights: vec![0.25; models::memory::MEMORY_CELLS],
        changes: vec![0.75, 0.5, 0.6],
        rhythm: vec![0.5, 0.7],
        phrase: vec![0.99, 0.8],
        figure: vec![0.9, 0.3, 0.5],
    };
    m.memory.insert("lead".into(), spec);
    m.fast_rest.insert("lead".into(), 0.75);
    m.entry_rest.insert("lead".into(), 0.625);
    m.note_top_p.insert("lead".into(), 0.99);
    m.harmony.insert("lead".into(), 0.0);
    m.duration_temperature.insert("lead".into(), 0.5);
    m.velocity_temperature.insert("lead".into(), 0.75);
    m.register.insert("lead".into(), [55, 84]);
    m.register_hold.insert("lead".into(), 8.0);
    m.silence.insert("lead".into(), 0.875);
    m.no_input.push("lead".into());
    m.no_chords.push("lead".into());
    m.meters.insert(
        "lead".into(),
        [("4/4".to_string(), 900), ("3/4".to_string(), 100)].into(),
    );
    Package::write(&dir, &mut m).unwrap();
    params.set_model_path(dir.to_str().unwrap());
    w.check_model();
    assert_eq!(status.state(), EngineState::Ready, "{}", describe(&status));
    let user = params.temperature.value();
    assert_eq!(user, 1.0, "the parameter's default");
    let s = w.read_setup();
    assert_eq!(s.role, Role::Lead);
    assert!((s.sampler.temperature - 0.5 * user).abs() < 1e-6, "{:?}", s.sampler);
    assert_eq!(
        params.top_p.value(),
        models::sampling::DEFAULT_TOP_P,
        "the parameter's default"
    );
    assert!(
        (s.sampler.top_p - 0.99).abs() < 1e-6,
        "the default Top-p plays the tuned one: {:?}",
        s.sampler
    );
    assert_eq!(
        s.constraints.chord_tones, 0.0,
        "the default Harmony plays the tuned one"
    );
    assert_eq!(s.constraints.rest_bias, 1.25, "{:?}", s.constraints);
    assert_eq!(s.constraints.note_bias, -0.375, "{:?}", s.constraints);
    assert_eq!(s.constraints.fast_rest, 0.75, "{:?}", s.constraints);
    assert_eq!(s.constraints.entry_rest, 0.625, "{:?}", s.constraints);
    assert_eq!(s.constraints.duration_temperature, 0.5, "{:?}", s.constraints);
    assert_eq!(s.constraints.velocity_temperature, 0.75, "{:?}", s.constraints);
    assert_eq!(s.constraints.register_hold, 8, "{:?}", s.constraints);
    assert_eq!(s.constraints.silence, 0.875, "{:?}", s.constraints);
    assert_eq!(
        params.memory_pct.value(),
        100.0,
        "the parameter's default plays the memory as shipped"
    );
    assert_eq!(s.constraints.memory.cells, [0.25; models::memory::MEMORY_CELLS]);
    assert_eq!(
        s.constraints.memory.changes,
        [0.75, 0.5, 0.6],
        "the memory of the changes, in 60 % of the bars"
    );
    assert_eq!(
        s.constraints.memory.rhythm,
        [0.5, 0.7],
        "and of the groove's rhythm, in 70 %"
    );
    assert_eq!(
        s.constraints.memory.phrase,
        [0.99, 0.8],
        "and of a phrase come round, in 80 %"
    );
    assert_eq!(
        s.constraints.memory.figure,
        [0.9, 0.3, 0.5],
        "and of a figure come round, starting in 30 % of the places"
    );
    // The Lowest and Highest parameters' defaults play the lead's register
    // (`models::sampling::within_register` has the other cases).
    assert_eq!((s.constraints.pitch_lo, s.constraints.pitch_hi), (55, 84));
    assert_eq!(status.register(Role::Lead), Some((55, 84)), "the editor shows it");
    assert_eq!(status.register(Role::Bass), None);
    // The meters the lead learned reach its sessions (a host in 3/2 gets bars of 3/4).
    assert_eq!(w.session_config(&s).learned_meters, vec![(4, 4), (3, 4)]);
    // A role its data gave nothing to hear hears none of the user's notes, and one its data gave
    // no chord is written none.
    assert!(!w.session_config(&s).write_inputs);
    assert!(!w.session_config(&s).write_chords);

    let plain = dir.join("plain");
    package(&plain);
    params.set_model_path(plain.to_str().unwrap());
    w.check_model();
    assert_eq!(status.state(), EngineState::Ready, "{}", describe(&status));
    assert!((w.read_setup().sampler.temperature - user).abs() < 1e-6);
    assert_eq!(w.read_setup().sampler.top_p, models::sampling::DEFAULT_TOP_P);
    assert!((w.read_setup().constraints.chord_tones - models::sampling::DEFAULT_CHORD_TONES).abs() < 1e-6);
    assert_eq!(w.read_setup().constraints.rest_bias, 0.0);
    assert_eq!(w.read_setup().constraints.note_bias, 0.0);
    assert_eq!(w.read_setup().constraints.fast_rest, 0.0);
    assert_eq!(w.read_setup().constraints.entry_rest, 0.0);
    assert_eq!(w.read_setup().constraints.duration_temperature, 1.0);
    assert_eq!(w.read_setup().constraints.velocity_temperature, 1.0);
    assert_eq!(w.read_setup().constraints.register_hold, 0);
    assert!(w.session_config(&w.read_setup()).learned_meters.is_empty());
    assert!(w.session_config(&w.read_setup()).write_inputs, "a lead hears the user");
    assert!(
        w.session_config(&w.read_setup()).write_chords,
        "and is written the chords"
    );
    assert!(w.read_setup().constraints.memory.is_none());
    let c = w.read_setup().constraints;
    assert_eq!(
        (c.pitch_lo, c.pitch_hi),
        (models::sampling::DEFAULT_PITCH_LO, models::sampling::DEFAULT_PITCH_HI),
        "no register: the parameters' range"
    );
    assert_eq!(status.register(Role::Lead), None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With a model whose data names its players, the header names the Player beside the Style: the
/// one picked, or for Auto one drawn from the Seed among those who played that style; a Style
/// that is itself a player is kept alone.
#[test]
fn the_player_joins_the_style_in_the_header() {
    let (params, status, mut w) = worker();
    let dir = std::env::temp_dir().join(format!("sideman-engine-players-{}", std::process::id()));
    package(&dir);
    let mut m = Package::load(&dir).unwrap().manifest;
    let slot = |m: &mut Manifest, s: &str| m.vocab.add_style(s).unwrap();
    let (rock, jazz) = (slot(&mut m, "rock"), slot(&mut m, "jazz"));
    let (d2, d3, d10) = (
        slot(&mut m, "drummer2"),
        slot(&mut m, "drummer3"),
        slot(&mut m, "drummer10"),
    );
    let tags = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let beats = [
        tags(&["rock", "drummer2"]),
        tags(&["rock", "drummer10"]),
        tags(&["jazz", "drummer3"]),
    ];
    m.players = Some(models::players::Players::count(
        beats.iter().map(Vec::as_slice),
        |t| t.starts_with("drummer"),
        |_| false,
    ));
    Package::write(&dir, &mut m).unwrap();
    params.set_model_path(dir.to_str().unwrap());
    w.check_model();
    assert_eq!(status.state(), EngineState::Ready, "{}", describe(&status));
    assert_eq!(params.player.value(), 0, "Auto by default");
    let header = |style: u16, player: i32, seed: i32| {
        let setup = Setup {
            style: style as i32 + 1,
            player,
            seed,
            ..w.read_setup()
        };
        w.session_config(&setup).styles
    };
    let drawn: std::collections::BTreeSet<u16> = (0..40).map(|seed| header(rock, 0, seed)[1]).collect();
    assert_eq!(drawn, [d2, d10].into(), "Auto draws among rock's drummers");
    for seed in 0..10 {
        assert_eq!(header(jazz, 0, seed), [jazz, d3]);
        assert_eq!(header(rock, 0, seed), header(rock, 0, seed), "the Seed draws alike");
    }
    // Players in natural order: drummer2, drummer3, drummer10.
    assert_eq!(header(rock, 3, 1), [rock, d10]);
    assert_eq!(
        header(jazz, 1, 1),
        [jazz, d2],
        "a player beside a style they never recorded"
    );
    assert_eq!(header(d3, 1, 1), [d3], "a Style that is a player names the player");
    assert_eq!(
        w.player_phrasing(Role::Drums, 1),
        None,
        "drummers are named, not calibrated"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// With a model that knows its players by their phrasing alone (the jazz lead's soloists), the
/// Player picks the silence and fast-note calibrations the session plays: Auto the role's, n the
/// n-th player's in name order (a player with one of them takes the role's other); the header
/// names no one.
#[test]
fn the_player_sets_the_phrasing_of_a_lead_that_knows_them_by_it() {
    let (params, status, mut w) = worker();
    let dir = std::env::temp_dir().join(format!("sideman-engine-phrasing-{}", std::process::id()));
    package(&dir);
    let mut m = Package::load(&dir).unwrap().manifest;
    m.silence.insert("lead".into(), 0.15);
    m.player_silence.insert(
        "lead".into(),
        [("Miles Davis".to_string(), -0.9), ("Charlie Parker".to_string(), 0.45)].into(),
    );
    m.fast_notes.insert("lead".into(), 0.5);
    m.player_fast_notes
        .insert("lead".into(), [("Miles Davis".to_string(), 2.0)].into());
    Package::write(&dir, &mut m).unwrap();
    params.set_model_path(dir.to_str().unwrap());
    w.check_model();
    assert_eq!(status.state(), EngineState::Ready, "{}", describe(&status));
    assert_eq!(params.player.value(), 0, "Auto by default");
    let setup = w.read_setup();
    assert_eq!(setup.role, Role::Lead);
    assert_eq!(setup.constraints.silence, 0.15, "Auto: the role's");
    assert_eq!(setup.constraints.fast_notes, 0.5, "Auto: the role's");
    // In name order: Charlie Parker, Miles Davis.
    let phrasing = |silence, fast_notes| Some(models::package::Phrasing { silence, fast_notes });
    assert_eq!(w.player_phrasing(Role::Lead, 1), phrasing(0.45, 0.5));
    assert_eq!(w.player_phrasing(Role::Lead, 2), phrasing(-0.9, 2.0));
    assert_eq!(w.player_phrasing(Role::Lead, 3), None, "past the players: Auto");
    assert_eq!(w.player_phrasing(Role::Bass, 1), None, "another role's");
    let header = w.session_config(&Setup { player: 2, ..setup }).styles;
    assert!(header.is_empty(), "no one in the header: {header:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Resets `w` to bars of `numerator` quarter notes starting at `bar_start_beat` (from the worker's
/// first transport), then plays `notes` (beat, key) into it, each held `length` beats, as the
/// audio thread sends them.
fn play_into(w: &mut Worker, numerator: u8, bar_start_beat: f64, notes: &[(f64, u8)], length: f64) {
    let transport = TransportSnapshot {
        numerator,
        bar_start_beat,
        ..w.transport
    };
    w.handle(ToWorker::Reset {
        seq: 1,
        epoch: 1,
        transport,
    });
    // In time order, a key's release before a press at the same beat, as a host sends them.
    let mut events: Vec<(f64, bool, u8)> = notes
        .iter()
        .flat_map(|&(b, p)| [(b, true, p), (b + length, false, p)])
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (beat, on, pitch) in events {
        w.handle(match on {
            true => ToWorker::NoteOn {
                seq: 1,
                beat,
                pitch,
                velocity: 90,
            },
            false => ToWorker::NoteOff { seq: 1, beat, pitch },
        });
    }
}

/// The follower hears the host's bars (models/README.md, "The downbeat and the chord before"): F
/// broken high, then a low G struck alone on a bar line is a new bass note, and names its chord
/// there; the same G off the bar line waits for the tones after it.
#[test]
fn the_follower_hears_the_hosts_bar_lines() {
    // 3/4 with its bar lines on beats 1, 4, 7...; then 4/4 from beat 0, where 7 is beat 4.
    for (numerator, bar_start_beat, heard) in [(3, 1.0, Some("G")), (4, 0.0, Some("F"))] {
        let (_, _, mut w) = worker();
        play_into(
            &mut w,
            numerator,
            bar_start_beat,
            &[(5.0, 65), (5.5, 69), (6.0, 72), (7.0, 43)],
            0.4,
        );
        let at = w.cond.chord_at(beat_to_tick(7.0)).flatten().map(|c| c.to_string());
        assert_eq!(at.as_deref(), heard, "{numerator}/4 from beat {bar_start_beat}");
    }
}

/// A jazz pianist's rootless voicings comped in rhythm (models/README.md, "A voicing struck
/// again, and struck by hand"), each key 12 ms after the one below: the worker hears the
/// progression, not the chord each voicing names alone, and the same voicing struck again
/// changes nothing.
#[test]
fn rootless_voicings_comped_into_the_plugin_are_heard_in_the_progression() {
    let (_, _, mut w) = worker();
    // A7 in root position, then Dm9 G13 Cmaj9 rootless, each struck on beat 1 and the "and" of 2.
    let voicings: [&[u8]; 4] = [
        &[45, 49, 52, 55],
        &[53, 57, 60, 64],
        &[53, 57, 59, 64],
        &[52, 55, 59, 62],
    ];
    let mut notes = Vec::new();
    for (bar, v) in voicings.iter().enumerate() {
        for start in [0.0, 1.5] {
            for (k, &p) in v.iter().enumerate() {
                notes.push((bar as f64 * 4.0 + start + k as f64 * 0.025, p));
            }
        }
    }
    play_into(&mut w, 4, 0.0, &notes, 1.4);
    let at = |beat: f64| w.cond.chord_at(beat_to_tick(beat)).flatten().map(|c| c.to_string());
    let heard: Vec<Option<String>> = [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0]
        .into_iter()
        .map(at)
        .collect();
    let want = ["A7", "A7", "Dm7", "Dm7", "G7", "G7", "Cmaj7", "Cmaj7"];
    assert_eq!(heard, want.map(|c| Some(c.to_string())));
}

#[test]
fn a_tune_played_into_the_plugin_is_harmonised() {
    // "Twinkle, twinkle" in C, one note at a time, as models/src/generate/tunes_tests.rs plays it:
    // the worker's follower hears it over the host's bars as a player harmonises it.
    let (_, _, mut w) = worker();
    let tune = [
        (0.0, 60),
        (1.0, 60),
        (2.0, 67),
        (3.0, 67),
        (4.0, 69),
        (5.0, 69),
        (6.0, 67),
        (8.0, 65),
        (9.0, 65),
        (10.0, 64),
        (11.0, 64),
        (12.0, 62),
        (13.0, 65),
        (14.0, 71),
        (16.0, 72),
        (17.0, 67),
        (18.0, 64),
        (19.0, 60),
    ];
    play_into(&mut w, 4, 0.0, &tune, 0.9);
    let at = |beat: f64| w.cond.chord_at(beat_to_tick(beat)).flatten().map(|c| c.to_string());
    let heard: Vec<Option<String>> = [3.5, 5.5, 8.5, 12.5, 14.5, 19.5].into_iter().map(at).collect();
    let want = ["C", "F", "F", "G7", "G7", "C"];
    assert_eq!(heard, want.map(|c| Some(c.to_string())));
}
