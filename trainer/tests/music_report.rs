//! The music report on a model that must reproduce its data: a Markov model counted on a few
//! pieces the test writes (a lead that rests over a walking bass, a backbeat groove), sampled at
//! calibration settings over those pieces' own conditioning. A high-order Markov model replays
//! what it counted, so every statistic must come back close to the human one; if the generation
//! path (the session writing given events, the runtime rule, the sampler) ever starts to play
//! differently from what the model learned, this fails. Runs in seconds.

use std::collections::BTreeMap;
use std::sync::Arc;

use models::chord::{Chord, ChordQuality};
use models::markov::MarkovBuilder;
use models::music::{ChordEvent, Note, Onset, Role};
use models::package::{Manifest, ModelKind, Package};
use models::tokenizer::{Sequence, Tokenizer, Vocab};
use sideman_trainer::report::{self, ReportSettings};
use sideman_trainer::rng::Rng;

fn note(start: f64, duration: f64, pitch: u8) -> Note {
    Note {
        start,
        duration,
        pitch,
        velocity: 80,
    }
}

/// A lead over ii-V-I changes and a walking bass (its input): phrases of chord tones in swung
/// eighths (2:1) at shaded velocities, one bar on, then a bar that rests after beat 2.
fn lead(seed: u64, bars: u32) -> Sequence {
    let mut rng = Rng::new(seed);
    let mut s = Sequence::new(Role::Lead);
    s.tempo_bpm = Some(140.0);
    let changes = [
        (2, ChordQuality::Min7),
        (7, ChordQuality::Dom7),
        (0, ChordQuality::Maj7),
    ];
    for b in 0..bars {
        let (root, q) = changes[(b as usize / 2) % 3];
        let c = Chord::new(root, q);
        let t = b as f64 * 4.0;
        if b % 2 == 0 {
            s.chords.push(ChordEvent {
                start: t,
                chord: Some(c),
            });
        }
        for beat in 0..4 {
            s.inputs.push(Onset {
                start: t + beat as f64,
                pitch: 36 + root + [0, 3, 7, 10][beat],
            });
        }
        let tones: Vec<u8> = c.pitch_classes().collect();
        let eighths = if b % 2 == 0 { 8 } else { 3 };
        for e in 0..eighths {
            let pc = tones[(e + rng.below(2)) % tones.len()];
            let (beat, off) = ((e / 2) as f64, e % 2 == 1);
            s.notes.push(Note {
                velocity: if off { 56 } else { 72 + 16 * rng.below(2) as u8 },
                ..note(
                    t + beat + if off { 2.0 / 3.0 } else { 0.0 },
                    if off { 1.0 / 3.0 } else { 2.0 / 3.0 },
                    60 + pc,
                )
            });
        }
    }
    s.bars = bars;
    s
}

/// A rock groove: kick on 1 and 3, snare on 2 and 4, eighth hats, a random extra kick.
fn drums(seed: u64, bars: u32) -> Sequence {
    let mut rng = Rng::new(seed);
    let mut s = Sequence::new(Role::Drums);
    s.tempo_bpm = Some(100.0);
    for b in 0..bars {
        let t = b as f64 * 4.0;
        s.notes.push(note(t, 0.25, 36));
        s.notes.push(note(t + 2.0, 0.25, 36));
        s.notes.push(note(t + 1.0, 0.25, 38));
        s.notes.push(note(t + 3.0, 0.25, 38));
        if rng.below(3) == 0 {
            s.notes.push(note(t + 2.5, 0.25, 36));
        }
        for e in 0..8 {
            s.notes.push(note(t + e as f64 * 0.5, 0.25, 42));
        }
    }
    s.bars = bars;
    s
}

fn markov_package(dir: &std::path::Path, seqs: &[Sequence]) -> Package {
    let tok = Tokenizer::default();
    let mut b = MarkovBuilder::new(10);
    for s in seqs {
        b.add_sequence(&tok.encode(s).unwrap());
    }
    let table = Arc::new(b.build(1, 1));
    std::fs::create_dir_all(dir).unwrap();
    table.save(&dir.join("markov.bin")).unwrap();
    let mut manifest = Manifest {
        trainer_revision: "test".into(),
        ..Manifest::new(
            "report test",
            "Markov model of the test's own pieces",
            ModelKind::Markov {
                file: "markov.bin".into(),
                order: 10,
            },
            Vocab::new(),
            vec![Role::Lead, Role::Drums],
        )
    };
    Package::write(dir, &mut manifest).unwrap();
    Package::load(dir).unwrap()
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1e-9),
        "{what}: generated {got:.3}, human {want:.3}"
    );
}

#[test]
fn calibrated_sampling_reproduces_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut seqs: Vec<Sequence> = (0..6).map(|i| lead(i, 12)).collect();
    seqs.extend((0..6).map(|i| drums(100 + i, 12)));
    let pkg = markov_package(dir.path(), &seqs);
    let settings = ReportSettings {
        pieces: 6,
        bars: 12,
        seed: 1,
        draws: 1,
        fp32: false,
        knobs: report::Knobs::default(),
    };
    let r = report::build(&pkg, None, &seqs, &[], &[], false, &settings).unwrap();
    report::print(&r, settings.bars);

    let lead = &r["lead"];
    assert_eq!(lead.pieces, 6);
    let get = |set: &[f64], k: &str| lead.value(set, k).unwrap();
    for k in [
        "notes_per_bar",
        "empty_beats",
        "chord_tones",
        "chord_tones_strong",
        "swing",
        "velocity_spread",
        "phrase_length",
        "rhythm_repeat",
    ] {
        close(get(&lead.calibration, k), get(&lead.human, k), 0.15, k);
    }
    // The touch is measured: a swung line at shaded velocities, not a straight one at one.
    assert!((get(&lead.human, "swing") - 2.0).abs() < 1e-6);
    assert!(get(&lead.human, "velocity_spread") > 8.0);
    // The human rests half the bars: a generation path that never rested would fail here.
    assert!(get(&lead.human, "empty_beats") > 0.2);
    // Its phrases: a bar of eighths and the first beat and two thirds of the next, then a breath.
    assert!((get(&lead.human, "phrase_length") - (4.0 + 5.0 / 3.0)).abs() < 1e-6);
    // Its rhythm: a bar of eighths and a bar of three, in turn: every bar from the third plays
    // the rhythm of the bar two before it, the second none before it.
    assert!((get(&lead.human, "rhythm_repeat") - 10.0 / 11.0).abs() < 1e-6);
    // Teacher-forced: the model counted these pieces, so moving the chords or the bass costs.
    assert!(lead.sensitivity.input_cost > 0.0, "{:?}", lead.sensitivity);
    assert!(lead.sensitivity.chord_cost.is_finite());
    close(lead.rest.model_mass, lead.rest.data_rate, 0.15, "rest calibration");

    let d = &r["drums"];
    let get = |set: &[f64], k: &str| d.value(set, k).unwrap();
    assert_eq!(get(&d.human, "backbeat"), 1.0);
    for k in ["backbeat", "kick_on_one", "notes_per_bar", "groove_consistency"] {
        close(get(&d.calibration, k), get(&d.human, k), 0.10, k);
    }
    // The JSON form reads back (NaN as null).
    let json = serde_json::to_string(&r).unwrap();
    let back: BTreeMap<String, report::RoleReport> = serde_json::from_str(&json).unwrap();
    assert_eq!(back["lead"].pieces, 6);
    assert!(report::markdown(&r, Some(&back), "previous").contains("| notes per bar |"));
    // The lead's table has its phrases, the drums' none (a row no role has is left out).
    let md = report::markdown(&r, None, "previous");
    assert_eq!(md.matches("| phrase length (beats; leads) |").count(), 1, "{md}");
}

/// `draws` samples each piece that many times, each draw at its own seed: the report's sampled
/// columns are then the mean of the one-draw reports at those seeds.
#[test]
fn draws_average_the_samples_of_each_piece() {
    let dir = tempfile::tempdir().unwrap();
    let seqs: Vec<Sequence> = (0..4).map(|i| lead(i, 8)).collect();
    let pkg = markov_package(dir.path(), &seqs);
    let at = |seed: u64, draws: usize| {
        let settings = ReportSettings {
            pieces: 4,
            bars: 8,
            seed,
            draws,
            fp32: false,
            knobs: report::Knobs::default(),
        };
        report::build(&pkg, None, &seqs, &[], &[], false, &settings)
            .unwrap()
            .remove("lead")
            .unwrap()
    };
    let (first, second, both) = (at(1, 1), at(1 + report::DRAW_STRIDE, 1), at(1, 2));
    assert_eq!((first.draws, both.draws), (1, 2));
    // Notes a bar and the longest note are defined for every piece, so the means commute.
    let mut differ = false;
    for k in ["notes_per_bar", "longest_note"] {
        for set in [
            |r: &report::RoleReport| r.model.clone(),
            |r: &report::RoleReport| r.calibration.clone(),
        ] {
            let (a, b, m) = (
                first.value(&set(&first), k).unwrap(),
                second.value(&set(&second), k).unwrap(),
                both.value(&set(&both), k).unwrap(),
            );
            assert!((m - (a + b) / 2.0).abs() < 1e-9, "{k}: {m} against ({a} + {b}) / 2");
            differ |= a != b;
        }
        // The standard error over two draws is half their difference.
        let (a, b) = (
            first.value(&first.model, k).unwrap(),
            second.value(&second.model, k).unwrap(),
        );
        let se = both.std_err.as_ref().expect("a standard error with two draws");
        let e = both.value(&se.model, k).unwrap();
        assert!(
            (e - (a - b).abs() / 2.0).abs() < 1e-9,
            "{k}: {e} against |{a} - {b}| / 2"
        );
    }
    assert!(differ, "the two seeds gave the same samples");
    assert_eq!(both.human, first.human);
    assert!(first.std_err.is_none(), "one draw has no standard error");
    // It survives the JSON a report is written as.
    let json = serde_json::to_string(&both).unwrap();
    let back: report::RoleReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.std_err.map(|s| s.model.len()), Some(both.metrics.len()));
    // A card says what its ± is, and a one-draw card prints as before.
    let card = |r: &report::RoleReport| report::markdown(&[("lead".to_string(), r.clone())].into(), None, "previous");
    assert!(card(&both).contains("2 draws of each; ± the standard error over the draws"));
    assert!(card(&both).contains(" ± "));
    assert!(!card(&first).contains('±'));
}

/// A piece whose dataset header names a player the package knows by a silence calibration alone
/// (the jazz lead's soloists) is played as if the user had picked that player: the report's
/// "model" column rests more for a player fitted to rest, and the piece's header is unchanged.
#[test]
fn a_piece_names_its_player_to_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let seqs: Vec<Sequence> = (0..4).map(|i| lead(i, 8)).collect();
    let mut pkg = markov_package(dir.path(), &seqs);
    pkg.manifest
        .player_silence
        .insert("lead".into(), [("Miles Davis".to_string(), -2.0)].into());
    // The pieces name dataset style 0, a player the package has no slot for.
    let named: Vec<Sequence> = seqs
        .iter()
        .map(|s| Sequence {
            styles: vec![0],
            ..s.clone()
        })
        .collect();
    let unknown = [sideman_trainer::eval::UNKNOWN_STYLE];
    let empty = |players: &[String]| {
        let settings = ReportSettings {
            pieces: 4,
            bars: 8,
            seed: 1,
            draws: 4,
            fp32: false,
            knobs: report::Knobs::default(),
        };
        let r = report::build(&pkg, None, &named, &unknown, players, false, &settings).unwrap();
        r["lead"].value(&r["lead"].model, "empty_beats").unwrap()
    };
    let miles = ["Miles Davis".to_string()];
    assert_eq!(report::player_of(&pkg, Role::Lead, &[0], &miles), Some("Miles Davis"));
    assert_eq!(
        report::player_of(&pkg, Role::Lead, &[0], &["Chet Baker".to_string()]),
        None
    );
    let (as_miles, as_nobody) = (empty(&miles), empty(&[]));
    assert!(as_miles > as_nobody + 0.05, "{as_miles} vs {as_nobody}");
}
