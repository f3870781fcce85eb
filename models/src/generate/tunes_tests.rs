use super::*;

const BAR: i64 = 4 * TICKS_PER_BEAT as i64;

#[test]
fn the_built_in_table_is_the_one_fitted_on_lead_sheets() {
    let t = TuneTable::builtin();
    assert!(t.is_valid());
    assert!(
        t.pieces > 100 && t.notes > 10_000,
        "{} pieces, {} notes",
        t.pieces,
        t.notes
    );
    assert!(t.fitted_on.contains("train"), "{}", t.fitted_on);
    // Lead sheets put the root, third and fifth of a major chord on its bar line far more often
    // than the notes a semitone above them.
    let on_the_bar = &t.emit[0][0];
    for tone in [0, 4, 7] {
        assert!(on_the_bar[tone] > on_the_bar[tone + 1] + 1.0, "{on_the_bar:?}");
    }
    // The chord moves on a bar line more often than on another beat.
    assert!(t.change[0] > t.change[2] + 1.0, "{:?}", t.change);
}

#[test]
fn a_table_round_trips_through_its_json_and_a_bad_one_is_refused() {
    let t = TuneTable::builtin();
    let back: TuneTable = serde_json::from_str(&serde_json::to_string(t).unwrap()).unwrap();
    assert!(back.is_valid());
    assert_eq!(back.emit, t.emit);
    let mut bad = back.clone();
    bad.progression.pop();
    assert!(!bad.is_valid());
    let mut bad = back;
    bad.change[1] = f32::NAN;
    assert!(!bad.is_valid());
    assert!(TuneTable::uniform().is_valid());
}

/// The chords a tune (pitch, start beat) is heard as, note by note, in bars of 4/4.
fn heard(tune: &[(u8, f64)]) -> Vec<String> {
    let mut s = TuneState::new(TuneTable::builtin());
    tune.iter()
        .map(|&(p, beat)| s.hear((beat * TICKS_PER_BEAT as f64) as i64, p, 0, BAR).to_string())
        .collect()
}

#[test]
fn a_tune_is_heard_in_its_key_and_its_cadence() {
    // "Twinkle, twinkle" in C: C C G G A A G- | F F E E D D C-, then the cadence G7 to C.
    let tune = [
        (60, 0.0),
        (60, 1.0),
        (67, 2.0),
        (67, 3.0),
        (69, 4.0),
        (69, 5.0),
        (67, 6.0),
        (65, 8.0),
        (65, 9.0),
        (64, 10.0),
        (64, 11.0),
        (62, 12.0),
        (65, 13.0),
        (71, 14.0),
        (72, 16.0),
        (67, 17.0),
        (64, 18.0),
        (60, 19.0),
    ];
    // Heard as a player harmonises it: C | F (the A over the subdominant) C | F C | G7 | C.
    let named = heard(&tune);
    assert_eq!(named[2..7], ["C", "C", "F", "F", "C"], "{named:?}");
    assert_eq!(named[7..9], ["F", "F"], "{named:?}");
    // Over the dominant's notes, D F B, a chord on G where D and B sound.
    assert_eq!([&named[11], &named[13]], ["G7", "G7"], "{named:?}");
    // The last bar, the tonic after its dominant.
    assert_eq!(named[14..], ["C", "C", "C", "C"], "{named:?}");
}

#[test]
fn hearing_anything_never_panics_nor_hangs() {
    let ticks = [i64::MIN, -1, 0, 1, 5, 47, 48, 1_000_000, i64::MAX - 1, i64::MAX];
    for table in [TuneTable::builtin().clone(), TuneTable::uniform()] {
        for bar in [1, 5, BAR, 9 * TICKS_PER_BEAT as i64, i64::MAX] {
            let mut s = TuneState::new(&table);
            for (i, &t) in ticks.iter().chain(ticks.iter().rev()).enumerate() {
                let origin = ticks[(i * 7) % ticks.len()];
                let c = s.hear(t, (i * 37 % 128) as u8, origin, bar);
                assert!(c.root < 12);
            }
            s.reset();
            let c = s.hear(0, 67, 0, bar);
            assert!(c.contains_pitch(67) || table.pieces == 0, "{c}");
        }
    }
}
