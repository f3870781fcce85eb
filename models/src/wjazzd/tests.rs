use super::*;
use crate::chord::ChordQuality;

/// A beat track: a pickup bar (-1, from beat 3) and two bars of 4/4 at 120 BPM, then a bar
/// of 3/4, with chords and bass.
const BEATS: &str = "onset,duration,period,division,bar,beat,signature,chord,form,chorus_id,bass
1.0,0.5,4,1,-1,3,'4/4',NC,I1,0,
1.5,0.5,4,1,-1,4,'4/4',NC,I1,0,
2.0,0.5,4,1,0,1,'4/4',D-7,A1,1,38
2.5,0.5,4,1,0,2,'4/4',D-7,A1,1,41
3.0,0.5,4,1,0,3,'4/4',G7,A1,1,43
3.5,0.5,4,1,0,4,'4/4',G79b,A1,1,47
4.0,0.5,4,1,1,1,'4/4',Cj7,A1,1,48
4.5,0.5,4,1,1,2,'4/4',,A1,1,
5.0,0.5,4,1,1,3,'4/4',Cj7,A1,1,
5.5,0.5,4,1,1,4,'4/4',Xq7,A1,1,
6.0,0.25,4,1,2,1,'3/4',Bb7,A1,1,46
6.25,0.25,4,1,2,2,,Bb7,A1,1,
6.5,0.25,4,1,2,3,'3/4',Bb7,A1,1,
";

/// Notes: one on the pickup, an eighth pair, one between two beats of different speeds, and
/// one after the last beat. Loudness in the two formats the set uses.
const MELODY: &str = "onset,duration,period,division,bar,beat,tatum,beat_duration,signature,pitch,loud_max,loud_median,phrase_id,phrase_begin,chorus_id,chord,form,idea
1.25,0.25,4,2,-1,3,2,0.5,\"\"\"4/4\"\"\",60,0.5,70.0,1,1,0,NC,I1,\"lick:\"\"the lick\"\"\"
2.0,0.25,4,2,0,1,1,0.5,\"\"\"4/4\"\"\",62,0.5,75.0,1,0,1,D-7,A1,
2.25,0.25,4,2,0,1,2,0.5,\"\"\"4/4\"\"\",64,0.5,,1,0,1,D-7,A1,
5.75,0.375,4,2,1,4,2,0.5,\"\"\"4/4\"\"\",65,0.5,50.0,1,0,1,Cj7,A1,
7.0,0.5,4,1,3,1,1,0.25,\"\"\"3/4\"\"\",67,0.5,70.0,1,0,1,Bb7,A1,
";

fn read() -> (Piece, PairStats) {
    read_pair_str_with_stats(MELODY, BEATS).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn bars_start_at_the_first_bar_and_follow_the_signature() {
    let (p, stats) = read();
    assert_eq!(
        p.meter.changes(),
        &[
            MeterChange {
                bar: 0,
                numerator: 4,
                denominator: 4
            },
            MeterChange {
                bar: 3,
                numerator: 3,
                denominator: 4
            }
        ]
    );
    assert_eq!((stats.beats, stats.bars), (13, 4));
    assert_eq!(p.tempo_map, vec![TempoChange { beat: 0.0, bpm: 120.0 }]);
}

#[test]
fn notes_are_placed_between_beats() {
    let (p, stats) = read();
    let solo = &p.tracks[0];
    assert_eq!(solo.role, Role::Lead);
    let starts: Vec<f64> = solo.notes.iter().map(|n| n.start).collect();
    // Pickup beat 3 = beat 2 of bar 0; bar 1 (first full bar) starts at beat 4.
    assert_eq!(starts, vec![2.5, 4.0, 4.5, 11.5, 16.0]);
    assert_eq!(solo.notes[0].duration, 0.5);
    // 5.75 s + 0.375 s ends 0.125 s (half a 0.25 s beat) into bar 2's first beat.
    assert!((solo.notes[3].duration - 1.0).abs() < 1e-12);
    // After the last beat (6.5 s, 0.25 s long): 0.5 s later = 2 beats later.
    assert!((solo.notes[4].duration - 2.0).abs() < 1e-12);
    assert_eq!(stats.notes, 5);
    assert_eq!(stats.dropped_notes, 0);
}

#[test]
fn velocity_follows_loudness_around_the_median() {
    let (p, _) = read();
    let v: Vec<u8> = p.tracks[0].notes.iter().map(|n| n.velocity).collect();
    // loud_median 70, 75, (empty), 50, 70: median 70.
    assert_eq!(v, vec![80, 100, 80, 20, 80]);
    // Without loud_median, loud_max is used.
    let melody = "onset,duration,pitch,loud_max\n2.0,0.5,60,0.5\n2.5,0.5,62,0.7\n3.0,0.5,64,0.6\n";
    let p = read_pair_str(melody, BEATS).unwrap();
    let v: Vec<u8> = p.tracks[0].notes.iter().map(|n| n.velocity).collect();
    assert_eq!(v, vec![74, 86, 80]);
}

#[test]
fn chords_change_where_the_symbol_changes() {
    let (p, stats) = read();
    let c = |root, q| Some(Chord::new(root, q));
    let got: Vec<(f64, Option<Chord>)> = p.chords.iter().map(|e| (e.start, e.chord)).collect();
    assert_eq!(
        got,
        vec![
            (2.0, None),
            (4.0, c(2, ChordQuality::Min7)),
            (6.0, c(7, ChordQuality::Dom7)),
            (7.0, c(7, ChordQuality::Dom7Alt)),
            (8.0, c(0, ChordQuality::Maj7)),
            (11.0, None), // "Xq7" does not parse
            (12.0, c(10, ChordQuality::Dom7)),
        ]
    );
    assert_eq!(stats.unparsed_chords, BTreeMap::from([("Xq7".to_string(), 1)]));
    assert_eq!(stats.chord_changes, 7);
}

#[test]
fn bass_column_gives_one_note_per_beat() {
    let (p, stats) = read();
    let bass = &p.tracks[1];
    assert_eq!(bass.role, Role::Bass);
    let got: Vec<(f64, f64, u8)> = bass.notes.iter().map(|n| (n.start, n.duration, n.pitch)).collect();
    assert_eq!(
        got,
        vec![
            (4.0, 1.0, 38),
            (5.0, 1.0, 41),
            (6.0, 1.0, 43),
            (7.0, 1.0, 47),
            (8.0, 1.0, 48),
            (12.0, 1.0, 46)
        ]
    );
    assert!(bass.notes.iter().all(|n| n.velocity == BASS_VELOCITY));
    assert_eq!(stats.bass_notes, 6);
    // No bass column: no bass track.
    let no_bass: String = BEATS
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_string() + "\n")
        .collect();
    assert_eq!(read_pair_str(MELODY, &no_bass).unwrap().tracks.len(), 1);
}

#[test]
fn signatures_in_any_quoting() {
    for s in ["4/4", "'4/4'", "\"4/4\"", "\"\"\"4/4\"\"\"", " '4/4' "] {
        assert_eq!(signature(s), Some((4, 4)), "{s}");
    }
    assert_eq!(signature("'0/4'"), None);
    assert_eq!(signature("4/3"), None);
    assert_eq!(signature("four"), None);
    assert_eq!(
        split_csv_line("a,\"\"\"4/4\"\"\",\"x,y\",").unwrap(),
        vec!["a", "\"4/4\"", "x,y", ""]
    );
    assert_eq!(split_csv_line("a,\"open"), None);
}

#[test]
fn malformed_rows_name_the_file_and_line() {
    let line_of = |melody: &str, beats: &str| match read_pair_str(melody, beats) {
        Err(WjazzdError::Row { line, file, .. }) => (file, line),
        other => panic!("{other:?}"),
    };
    let bad_onset = BEATS.replace("3.0,0.5,4,1,0,3", "x,0.5,4,1,0,3");
    assert_eq!(line_of(MELODY, &bad_onset), (PathBuf::from("<beat>"), 6));
    let backwards = BEATS.replace("3.0,0.5,4,1,0,3", "2.2,0.5,4,1,0,3");
    assert_eq!(line_of(MELODY, &backwards).1, 6);
    let short = BEATS.replace("3.0,0.5,4,1,0,3,'4/4',G7,A1,1,43", "3.0,0.5");
    assert_eq!(line_of(MELODY, &short).1, 6);
    let bad_sig = BEATS.replace("3.0,0.5,4,1,0,3,'4/4'", "3.0,0.5,4,1,0,3,'4/x'");
    assert_eq!(line_of(MELODY, &bad_sig).1, 6);
    let bad_beat = BEATS.replace("6.5,0.25,4,1,2,3,'3/4'", "6.5,0.25,4,1,2,4,'3/4'");
    assert_eq!(line_of(MELODY, &bad_beat).1, 14);
    let bad_pitch = MELODY.replace(",62,0.5,75.0,", ",200,0.5,75.0,");
    assert_eq!(line_of(&bad_pitch, BEATS), (PathBuf::from("<melody>"), 3));
    let no_pitch = MELODY.replace(",62,0.5,75.0,", ",,0.5,75.0,");
    assert_eq!(line_of(&no_pitch, BEATS).1, 3);
    assert!(matches!(
        read_pair_str("onset,duration\n1,1\n", BEATS),
        Err(WjazzdError::MissingColumn { column: "pitch", .. })
    ));
    assert!(matches!(
        read_pair_str(MELODY, "onset,duration\n"),
        Err(WjazzdError::Empty { .. })
    ));
    assert!(matches!(read_pair_str(MELODY, ""), Err(WjazzdError::Empty { .. })));
    let far = BEATS.replace("6.5,0.25,4,1,2,3", "6.5,0.25,4,1,99999,3");
    assert!(matches!(read_pair_str(MELODY, &far), Err(WjazzdError::TooLong { .. })));
}

#[test]
fn files_and_pairs_on_disk() {
    let dir = std::env::temp_dir().join(format!("sideman-wjazzd-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("mcsv_melody")).unwrap();
    std::fs::create_dir_all(dir.join("mcsv_beat")).unwrap();
    let melody = dir.join("mcsv_melody/Someone_Tune_FINAL.csv");
    let beats = dir.join("mcsv_beat/Someone_Tune_FINAL_beattrack.csv");
    std::fs::write(&melody, MELODY).unwrap();
    std::fs::write(&beats, BEATS).unwrap();
    std::fs::write(dir.join("mcsv_melody/Lonely_FINAL.csv"), MELODY).unwrap();
    assert_eq!(find_pairs(&dir).unwrap(), vec![(melody.clone(), beats.clone())]);
    assert_eq!(read_pair(&melody, &beats).unwrap(), read().0);
    let e = read_pair(&melody, &dir.join("nope.csv")).unwrap_err();
    assert!(e.to_string().contains("nope.csv"), "{e}");
    assert!(find_pairs(&dir.join("missing")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
