//! The model package's tests: manifests, checksums, calibrations reaching the constraints.

use super::*;

fn manifest() -> Manifest {
    Manifest {
        trainer_revision: "test".into(),
        ..Manifest::new(
            "test",
            "a test",
            ModelKind::Markov {
                file: "markov.bin".into(),
                order: 4,
            },
            Vocab::new(),
            vec![Role::Lead],
        )
    }
}

#[test]
fn write_load_and_detect_damage() {
    let dir = std::env::temp_dir().join(format!("sideman-pkg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("markov.bin"), b"model bytes").unwrap();
    let mut m = manifest();
    Package::write(&dir, &mut m).unwrap();
    let p = Package::load(&dir).unwrap();
    assert_eq!(p.manifest, m);
    std::fs::write(dir.join("markov.bin"), b"model bytez").unwrap();
    assert!(matches!(Package::load(&dir), Err(PackageError::Checksum { .. })));
    std::fs::write(dir.join(MANIFEST_FILE), b"{ not json").unwrap();
    assert!(matches!(Package::load(&dir), Err(PackageError::Manifest { .. })));
    assert!(matches!(
        Package::load(&dir.join("missing")),
        Err(PackageError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_register_hold_reaches_the_constraints_of_its_role() {
    let mut m = manifest();
    let user = Constraints::for_role(Role::Comping);
    assert_eq!(m.constraints_for(Role::Comping, user).register_hold, 0, "none named");
    assert!(!m.to_json().contains("\"register_hold\""), "none set, none written");
    m.register_hold.insert("comping".into(), 4.0);
    m.register_hold.insert("drums".into(), 4.0);
    m.register_hold.insert("bass".into(), 99.0);
    assert_eq!(m.constraints_for(Role::Comping, user).register_hold, 4);
    assert_eq!(m.register_hold(Role::Drums), 0, "never the drums");
    assert_eq!(m.register_hold(Role::Bass), 48, "clamped");
    assert_eq!(m.register_hold(Role::Lead), 0, "a role not named");
    assert_eq!(m.constraints_for(Role::Bass, user).length_hold, 0.0, "none named");
    m.length_hold.insert("bass".into(), 1.25);
    m.length_hold.insert("drums".into(), 1.0);
    assert_eq!(m.constraints_for(Role::Bass, user).length_hold, 1.25);
    assert_eq!(m.length_hold(Role::Drums), 0.0, "never the drums");
    let back = Manifest::from_json(&m.to_json(), Path::new("m.json")).unwrap();
    assert_eq!(back.register_hold, m.register_hold, "written and read back");
}

#[test]
fn the_memory_is_the_models_per_role_the_drums_as_a_groove() {
    let mut m = manifest();
    let spec = |relative, w: f32| MemorySpec {
        relative,
        weights: vec![w; 3],
        changes: vec![w, 0.25],
        rhythm: Vec::new(),
        phrase: Vec::new(),
        figure: Vec::new(),
    };
    let mut lead = spec(false, 0.5);
    lead.changes.push(0.4);
    lead.rhythm = vec![0.75, 0.6];
    lead.phrase = vec![0.9, 0.5];
    lead.figure = vec![0.95, 0.2, 0.57];
    m.memory.insert("lead".into(), lead);
    m.memory.insert("bass".into(), spec(true, 7.0));
    m.memory.insert("drums".into(), spec(false, 0.5));
    let c = m.constraints_for(Role::Lead, Constraints::for_role(Role::Lead));
    assert_eq!(c.memory.cells[..4], [0.5, 0.5, 0.5, 0.0]);
    assert!(!c.memory.relative);
    let bass = m.memory(Role::Bass);
    assert!(bass.relative && bass.cells[0] == 0.98, "clamped: {bass:?}");
    assert_eq!(
        bass.changes,
        [0.98, 0.25, 1.0],
        "the memory of the changes, clamped, in every bar"
    );
    assert_eq!(m.memory(Role::Lead).changes, [0.5, 0.25, 0.4], "in 40 % of the bars");
    assert_eq!(m.memory(Role::Lead).rhythm, [0.75, 0.6], "the groove's rhythm, in 60 %");
    assert_eq!(bass.rhythm, [0.0, 1.0], "none where the manifest names none");
    assert_eq!(
        m.memory(Role::Lead).phrase,
        [0.9, 0.5],
        "a phrase come round, in half the bars"
    );
    assert_eq!(bass.phrase, [0.0, 1.0], "none where the manifest names none");
    assert_eq!(
        m.memory(Role::Lead).figure,
        [0.95, 0.2, 0.57],
        "a figure come round: its weight, where it starts, how it goes on"
    );
    assert_eq!(bass.figure, [0.0; 3], "none where the manifest names none");
    let drums = m.memory(Role::Drums);
    assert!(
        !drums.relative && drums.cells[0] == 0.5 && drums.changes[..2] == [0.0; 2],
        "the groove's memory, and no memory of the changes: {drums:?}"
    );
    assert!(m.memory(Role::Comping).is_none(), "a role not named");
    let back: Manifest = serde_json::from_str(&m.to_json()).unwrap();
    assert_eq!(back.memory, m.memory);
    assert!(!manifest().to_json().contains("\"memory\""));
}

#[test]
fn the_duration_temperature_is_the_models_per_role() {
    let mut m = manifest();
    let user = Constraints::for_role(Role::Comping);
    assert_eq!(m.constraints_for(Role::Comping, user).duration_temperature, 1.0);
    m.duration_temperature.insert("comping".into(), 0.5);
    m.duration_temperature.insert("bass".into(), 0.01);
    m.duration_temperature.insert("lead".into(), f32::INFINITY);
    assert_eq!(m.constraints_for(Role::Comping, user).duration_temperature, 0.5);
    assert_eq!(m.duration_temperature(Role::Bass), 1.0, "out of range: ignored");
    assert_eq!(m.duration_temperature(Role::Lead), 1.0, "not finite: ignored");
    assert_eq!(m.duration_temperature(Role::Drums), 1.0, "a role not named");
    m.duration_temperature.remove("lead");
    let back: Manifest = serde_json::from_str(&m.to_json()).unwrap();
    assert_eq!(
        back.duration_temperature, m.duration_temperature,
        "written and read back"
    );
    assert!(!manifest().to_json().contains("\"duration_temperature\""));
}

#[test]
fn the_velocity_temperature_is_the_models_per_role() {
    let mut m = manifest();
    let user = Constraints::for_role(Role::Bass);
    assert_eq!(m.constraints_for(Role::Bass, user).velocity_temperature, 1.0);
    m.velocity_temperature.insert("bass".into(), 0.7);
    m.velocity_temperature.insert("lead".into(), 5.0);
    assert_eq!(m.constraints_for(Role::Bass, user).velocity_temperature, 0.7);
    assert_eq!(
        m.constraints_for(Role::Bass, user).duration_temperature,
        1.0,
        "its own field"
    );
    assert_eq!(m.velocity_temperature(Role::Lead), 1.0, "out of range: ignored");
    assert_eq!(m.velocity_temperature(Role::Comping), 1.0, "a role not named");
    let back: Manifest = serde_json::from_str(&m.to_json()).unwrap();
    assert_eq!(
        back.velocity_temperature, m.velocity_temperature,
        "written and read back"
    );
    assert!(!manifest().to_json().contains("\"velocity_temperature\""));
}

#[test]
fn the_rest_calibration_is_the_models_per_role() {
    let mut m = manifest();
    m.rest_bias.insert("lead".into(), 1.5);
    m.rest_bias.insert("bass".into(), f32::NAN);
    m.rest_bias.insert("comping".into(), 40.0);
    let user = Constraints {
        density: 0.7,
        ..Constraints::for_role(Role::Lead)
    };
    let c = m.constraints_for(Role::Lead, user);
    assert_eq!(c.rest_bias, 1.5);
    assert_eq!(
        (c.density, c.max_polyphony),
        (0.7, 1),
        "the user's settings pass through"
    );
    assert_eq!(m.rest_bias(Role::Bass), 0.0, "a damaged value is ignored");
    assert_eq!(m.rest_bias(Role::Comping), 4.0, "clamped");
    assert_eq!(m.constraints_for(Role::Drums, user).rest_bias, 0.0, "a role not named");
    assert!(m.to_json().contains("\"rest_bias\""));
    assert!(
        !manifest().to_json().contains("\"rest_bias\""),
        "none tuned, none written"
    );
    assert_eq!(c.note_bias, 0.0, "no density calibration named");
    m.note_bias.insert("lead".into(), -0.3);
    m.note_bias.insert("bass".into(), -9.0);
    assert_eq!(m.constraints_for(Role::Lead, user).note_bias, -0.3);
    m.register.insert("lead".into(), [55, 84]);
    m.register.insert("drums".into(), [35, 81]);
    let c = m.constraints_for(Role::Lead, Constraints::for_role(Role::Lead));
    assert_eq!((c.pitch_lo, c.pitch_hi), (55, 84), "the defaults play the register");
    let c = m.constraints_for(Role::Drums, Constraints::for_role(Role::Drums));
    assert_eq!((c.pitch_lo, c.pitch_hi), (0, 127), "the drums have none");
    assert_eq!(m.note_bias(Role::Bass), -4.0, "clamped");
    assert_eq!(m.note_bias(Role::Drums), 0.0, "a role not named");
    m.rest_bias.remove("bass"); // NaN is written as null, which is no number to read back
    let back: Manifest = serde_json::from_str(&m.to_json()).unwrap();
    assert_eq!(back.note_bias, m.note_bias, "written and read back");
    assert!(!manifest().to_json().contains("\"note_bias\""));
}

#[test]
fn the_users_temperature_is_relative_to_the_tuned_one_per_role() {
    let mut m = manifest();
    m.roles.push(Role::Drums);
    m.note_temperature.insert("lead".into(), 0.6);
    m.note_temperature.insert("bass".into(), f32::NAN);
    let user = SamplerConfig {
        temperature: 0.5,
        top_k: 3,
        top_p: 0.9,
    };
    let lead = m.sampler_for(Role::Lead, user);
    assert!((lead.temperature - 0.3).abs() < 1e-6, "{lead:?}");
    assert_eq!((lead.top_k, lead.top_p), (3, 0.9));
    assert_eq!(
        m.sampler_for(Role::Drums, user),
        user,
        "a role not named plays at the user's"
    );
    assert_eq!(m.note_temperature(Role::Bass), 1.0, "a damaged value is ignored");
    // Older manifests have no field, and one without tuning writes none.
    let json = m.to_json();
    assert!(json.contains("\"note_temperature\""));
    let mut plain = manifest();
    let back = Manifest::from_json(&plain.to_json(), Path::new("m.json")).unwrap();
    assert_eq!(back, plain);
    assert!(!plain.to_json().contains("note_temperature"));
    plain.note_temperature.insert("lead".into(), 0.6);
    let back = Manifest::from_json(&plain.to_json(), Path::new("m.json")).unwrap();
    assert_eq!(back.note_temperature(Role::Lead), 0.6);
}

#[test]
fn the_users_top_p_is_relative_to_the_tuned_one_per_role() {
    let mut m = manifest();
    m.roles.push(Role::Bass);
    m.roles.push(Role::Drums);
    m.note_top_p.insert("bass".into(), 0.99);
    m.note_top_p.insert("lead".into(), 0.2);
    let user = SamplerConfig {
        temperature: 1.0,
        top_k: 0,
        top_p: crate::sampling::DEFAULT_TOP_P,
    };
    assert!((m.sampler_for(Role::Bass, user).top_p - 0.99).abs() < 1e-6);
    assert_eq!(
        m.sampler_for(Role::Drums, user),
        user,
        "a role not named plays at the user's"
    );
    assert_eq!(
        m.note_top_p(Role::Lead),
        crate::sampling::DEFAULT_TOP_P,
        "a value out of range is ignored"
    );
    assert_eq!(m.sampler_for(Role::Lead, user), user);
    let back = Manifest::from_json(&m.to_json(), Path::new("m.json")).unwrap();
    assert_eq!(back.note_top_p(Role::Bass), 0.99);
    let plain = manifest();
    assert!(
        !plain.to_json().contains("note_top_p"),
        "a model without one writes none"
    );
}

#[test]
fn the_users_harmony_plays_each_role_at_its_tuned_one() {
    use crate::sampling::DEFAULT_CHORD_TONES;
    let mut m = manifest();
    m.roles.extend([Role::Bass, Role::Drums]);
    m.harmony.insert("lead".into(), 0.0);
    m.harmony.insert("bass".into(), 9.0);
    let user = Constraints {
        chord_tones: DEFAULT_CHORD_TONES,
        ..Constraints::for_role(Role::Lead)
    };
    assert_eq!(
        m.constraints_for(Role::Lead, user).chord_tones,
        0.0,
        "the network alone"
    );
    assert_eq!(
        m.harmony(Role::Bass),
        DEFAULT_CHORD_TONES,
        "a value out of range is ignored"
    );
    assert_eq!(m.constraints_for(Role::Bass, user).chord_tones, DEFAULT_CHORD_TONES);
    assert_eq!(m.harmony_for(Role::Drums, 1.0), 0.0);
    assert!(
        m.harmony_for(Role::Lead, 2.0) > 1.0,
        "the knob still pulls above its default"
    );
    let back = Manifest::from_json(&m.to_json(), Path::new("m.json")).unwrap();
    assert_eq!(back.harmony(Role::Lead), 0.0);
    assert!(
        !manifest().to_json().contains("\"harmony\""),
        "a model without one writes none"
    );
}

/// A fine-tune keeps every calibration of its starting model and its own network, data and
/// players: each field the manifest writes is one or the other.
#[test]
fn a_continued_network_takes_every_calibration_and_keeps_its_own_data() {
    let one = |r: &str, v: f32| BTreeMap::from([(r.to_string(), v)]);
    let mut from = manifest();
    from.name = "the starting model".into();
    from.note_temperature = one("lead", 0.5);
    from.note_top_p = one("lead", 0.99);
    from.harmony = one("lead", 0.0);
    from.rest_bias = one("lead", 0.3);
    from.note_bias = one("lead", -0.1);
    from.memory = BTreeMap::from([(
        "lead".to_string(),
        MemorySpec {
            relative: true,
            weights: vec![0.5, 0.25],
            changes: vec![0.95, 0.95, 0.2],
            rhythm: vec![0.95, 0.4],
            phrase: vec![0.98, 1.0],
            figure: vec![0.95, 0.2, 0.57],
        },
    )]);
    from.fast_rest = one("lead", 1.0);
    from.entry_rest = one("lead", 1.5);
    from.duration_temperature = one("lead", 0.9);
    from.velocity_temperature = one("lead", 0.85);
    from.register_hold = one("lead", 5.0);
    from.length_hold = one("lead", 1.0);
    from.silence = one("lead", 0.5);
    from.player_silence = BTreeMap::from([("lead".to_string(), one("Art Pepper", -0.3))]);
    from.fast_notes = one("lead", 0.5);
    from.player_fast_notes = BTreeMap::from([("lead".to_string(), one("Art Pepper", 1.5))]);
    from.register = BTreeMap::from([("lead".to_string(), [40, 90])]);
    from.meters = BTreeMap::from([("lead".to_string(), BTreeMap::from([("3/4".to_string(), 9)]))]);
    from.given_kind = true;
    from.metrics.insert("test_nll".into(), 1.0);
    let mut tuned = manifest();
    tuned.name = "the fine-tune".into();
    tuned.register = BTreeMap::from([("lead".to_string(), [50, 70])]);
    let own = tuned.clone();
    tuned.take_calibrations(&from);
    let json = |m: &Manifest| serde_json::to_value(m).unwrap();
    let (from_json, tuned_json, own_json) = (json(&from), json(&tuned), json(&own));
    const OWN: [&str; 15] = [
        "format",
        "name",
        "description",
        "model",
        "vocab",
        "microtiming",
        "roles",
        "data",
        "metrics",
        "trainer_revision",
        "files",
        "players",
        "given_kind",
        "register",
        "meters",
    ];
    for (key, value) in from_json.as_object().unwrap() {
        if OWN.contains(&key.as_str()) {
            assert_eq!(tuned_json.get(key), own_json.get(key), "{key}: the fine-tune's own");
        } else {
            assert_eq!(
                tuned_json.get(key),
                Some(value),
                "{key}: the starting model's calibration"
            );
        }
    }
    // It samples as its starting model does, within its own register.
    let user = Constraints::for_role(Role::Lead);
    let (a, mut b) = (
        tuned.constraints_for(Role::Lead, user),
        from.constraints_for(Role::Lead, user),
    );
    assert_eq!((a.pitch_lo, a.pitch_hi), (50, 70));
    (b.pitch_lo, b.pitch_hi) = (a.pitch_lo, a.pitch_hi);
    assert_eq!(a, b);
}

/// A role whose training data gave it nothing to hear gets no input in a session, whatever the
/// user plays; every other role hears as its role does by default.
#[test]
fn a_role_trained_without_input_hears_none() {
    let mut m = manifest();
    assert!(!m.to_json().contains("\"no_input\""), "none set, none written");
    assert!(m.hears_input(Role::Lead) && m.hears_input(Role::Bass) && m.hears_input(Role::Comping));
    assert!(
        !m.hears_input(Role::Drums) && !m.hears_input(Role::Piano),
        "roles that hear no part"
    );
    m.no_input.push("bass".into());
    assert!(!m.hears_input(Role::Bass));
    assert!(m.hears_input(Role::Lead), "the others as before");
    assert!(!crate::generate::SessionConfig::for_model(Role::Bass, &m).write_inputs);
    assert!(crate::generate::SessionConfig::for_model(Role::Lead, &m).write_inputs);
    let back = Manifest::from_json(&m.to_json(), Path::new("m.json")).unwrap();
    assert_eq!(back.no_input, ["bass"], "written and read back");
    // A fine-tune keeps what its own data measured.
    let mut tuned = manifest();
    tuned.take_calibrations(&m);
    assert!(tuned.no_input.is_empty());
}

/// A session naming a player with a silence calibration plays it; Auto, a player without one,
/// another role and a value that is not one play the role's.
#[test]
fn a_named_player_rests_as_fitted_and_auto_as_the_role() {
    let mut m = manifest();
    m.silence = BTreeMap::from([("lead".to_string(), 0.15)]);
    m.player_silence = BTreeMap::from([(
        "lead".to_string(),
        BTreeMap::from([
            ("Miles Davis".to_string(), -0.9),
            ("Art Pepper".to_string(), 0.45),
            ("Nobody".to_string(), f32::NAN),
            ("Loud".to_string(), 9.0),
        ]),
    )]);
    assert_eq!(m.silence_of(Role::Lead, Some("Miles Davis")), -0.9);
    assert_eq!(m.silence_of(Role::Lead, None), 0.15, "Auto");
    assert_eq!(m.silence_of(Role::Lead, Some("Chet Baker")), 0.15, "not fitted");
    assert_eq!(m.silence_of(Role::Lead, Some("Nobody")), 0.15, "not a value");
    assert_eq!(m.silence_of(Role::Lead, Some("Loud")), 2.0, "within the bounds");
    assert_eq!(m.silence_of(Role::Bass, Some("Miles Davis")), 0.0, "another role's");
    let names = m.phrasing_players(Role::Lead);
    assert_eq!(names, ["Art Pepper", "Loud", "Miles Davis", "Nobody"]);
    assert!(m.phrasing_players(Role::Bass).is_empty());
    let tags = ["wjazzd", "Miles Davis"];
    assert_eq!(m.phrasing_player(Role::Lead, tags.into_iter()), Some("Miles Davis"));
    assert_eq!(m.phrasing_player(Role::Bass, tags.into_iter()), None);
    // JSON holds no NaN.
    m.player_silence.get_mut("lead").unwrap().remove("Nobody");
    let back = Manifest::from_json(&m.to_json(), std::path::Path::new("m.json")).unwrap();
    assert_eq!(
        back.silence_of(Role::Lead, Some("Art Pepper")),
        0.45,
        "written and read"
    );
}

/// A player's fast-note calibration goes with their silence; a player with one of the two takes
/// the role's other, and the Player lists anyone with either.
#[test]
fn a_named_player_plays_their_fast_notes() {
    use crate::package::Phrasing;
    let mut m = manifest();
    m.silence = BTreeMap::from([("lead".to_string(), 0.15)]);
    m.fast_notes = BTreeMap::from([("lead".to_string(), 0.5)]);
    m.player_silence = BTreeMap::from([("lead".to_string(), BTreeMap::from([("Miles Davis".to_string(), -0.9)]))]);
    m.player_fast_notes = BTreeMap::from([(
        "lead".to_string(),
        BTreeMap::from([("Miles Davis".to_string(), 2.0), ("Art Pepper".to_string(), 9.0)]),
    )]);
    let phrasing = |silence, fast_notes| Phrasing { silence, fast_notes };
    assert_eq!(m.phrasing_of(Role::Lead, Some("Miles Davis")), phrasing(-0.9, 2.0));
    assert_eq!(
        m.phrasing_of(Role::Lead, Some("Art Pepper")),
        phrasing(0.15, 4.0),
        "bounded"
    );
    assert_eq!(m.phrasing_of(Role::Lead, None), phrasing(0.15, 0.5), "Auto");
    assert_eq!(m.phrasing_of(Role::Bass, Some("Miles Davis")), phrasing(0.0, 0.0));
    assert_eq!(m.phrasing_players(Role::Lead), ["Art Pepper", "Miles Davis"]);
    assert_eq!(
        m.phrasing_player(Role::Lead, ["wjazzd", "Art Pepper"].into_iter()),
        Some("Art Pepper")
    );
    let c = m.constraints_for(Role::Lead, crate::sampling::Constraints::for_role(Role::Lead));
    assert_eq!((c.silence, c.fast_notes), (0.15, 0.5), "the role's in every session");
    let back = Manifest::from_json(&m.to_json(), std::path::Path::new("m.json")).unwrap();
    assert_eq!(back.phrasing_of(Role::Lead, Some("Miles Davis")), phrasing(-0.9, 2.0));
}
