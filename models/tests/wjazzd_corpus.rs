//! Reads every pair of the project's WJazzD excerpt (`shared/data/wjazzd` beside the workspace)
//! and checks that the result is plausible. Skipped, with a message, where the data is absent.
//!
//! `cargo test -p sideman-models --test wjazzd_corpus -- --nocapture` prints the statistics,
//! including the chord symbols `Chord::parse` refuses.

use std::collections::BTreeMap;
use std::path::PathBuf;

use models::music::Role;
use models::wjazzd::{find_pairs, read_pair_with_stats};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wjazzd")
}

/// The metrical position the transcribers annotated for each note (bar, beat, tatum of
/// division), in beats from the first bar of the beat track; the first seven columns of both
/// files never hold quotes.
fn annotated_positions(melody: &str, beats: &str, piece: &models::Piece) -> Option<Vec<f64>> {
    let first_bar: i64 = beats.lines().nth(1)?.split(',').nth(4)?.parse().ok()?;
    let mut out = Vec::new();
    for line in melody.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.splitn(8, ',').collect();
        let (onset, division, bar, beat, tatum): (f64, f64, i64, f64, f64) = (
            f[0].parse().ok()?,
            f[3].parse().ok()?,
            f[4].parse().ok()?,
            f[5].parse().ok()?,
            f[6].parse().ok()?,
        );
        let bar = u32::try_from(bar - first_bar).ok()?;
        let len = 4.0 / piece.meter.at_bar(bar).denominator as f64;
        out.push((
            onset,
            piece.meter.bar_start(bar) + (beat - 1.0 + (tatum - 1.0) / division.max(1.0)) * len,
        ));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(out.into_iter().map(|(_, p)| p).collect())
}

#[test]
fn every_pair_reads_with_plausible_statistics() {
    let dir = corpus_dir();
    if !dir.join("mcsv_melody").is_dir() {
        eprintln!("skipped: no WJazzD data at {}", dir.display());
        return;
    }
    let pairs = find_pairs(&dir).expect("list pairs");
    assert_eq!(pairs.len(), 416, "the excerpt has 416 solos");
    let mut notes_per_solo = Vec::new();
    let mut unparsed: BTreeMap<String, usize> = BTreeMap::new();
    let (mut total_notes, mut fine_grid, mut dropped, mut chord_changes, mut bass_notes) = (0, 0, 0, 0, 0);
    let (mut chord_beats, mut nc_beats) = (0usize, 0usize);
    let mut agree = (0usize, 0usize);
    let mut deviations = Vec::new();
    let mut tempos = Vec::new();
    let mut meters: BTreeMap<String, usize> = BTreeMap::new();
    for (melody, beats) in &pairs {
        let (piece, stats) = read_pair_with_stats(melody, beats).unwrap_or_else(|e| panic!("{e}"));
        let solo = &piece.tracks[0];
        assert_eq!(solo.role, Role::Lead);
        assert!(
            solo.notes.windows(2).all(|w| w[0].start <= w[1].start),
            "{}",
            melody.display()
        );
        assert!(
            solo.notes
                .iter()
                .all(|n| n.duration > 0.0 && (1..=127).contains(&n.velocity))
        );
        notes_per_solo.push(solo.notes.len());
        total_notes += solo.notes.len();
        dropped += stats.dropped_notes;
        chord_changes += stats.chord_changes;
        bass_notes += stats.bass_notes;
        for (symbol, n) in stats.unparsed_chords {
            *unparsed.entry(symbol).or_default() += n;
        }
        // Share of beats under a chord (vs. N.C.), weighting each chord event by its span.
        let end = piece.end_beat();
        for (i, c) in piece.chords.iter().enumerate() {
            let until = piece.chords.get(i + 1).map_or(end, |n| n.start);
            let span = (until - c.start).max(0.0).round() as usize;
            if c.chord.is_some() {
                chord_beats += span;
            } else {
                nc_beats += span;
            }
        }
        for n in &solo.notes {
            // Distance to the 12-per-beat grid, in beats (at most 1/24).
            let d = (n.start * 12.0 - (n.start * 12.0).round()).abs() / 12.0;
            if d <= 1.0 / 48.0 {
                fine_grid += 1;
            }
        }
        let melody_text = std::fs::read_to_string(melody).unwrap();
        let beats_text = std::fs::read_to_string(beats).unwrap();
        if let Some(annotated) = annotated_positions(&melody_text, &beats_text, &piece)
            && annotated.len() == solo.notes.len()
        {
            let mut starts: Vec<f64> = solo.notes.iter().map(|n| n.start).collect();
            starts.sort_by(f64::total_cmp);
            for (a, s) in annotated.iter().zip(&starts) {
                let d = (a - s).abs();
                deviations.push(d);
                agree.1 += 1;
                if d <= 1.0 / 6.0 {
                    agree.0 += 1;
                }
            }
        }
        tempos.push(piece.initial_bpm());
        let m: Vec<String> = piece
            .meter
            .changes()
            .iter()
            .map(|c| format!("{}/{}", c.numerator, c.denominator))
            .collect();
        *meters.entry(m.join(" ")).or_default() += 1;
    }
    notes_per_solo.sort_unstable();
    tempos.sort_by(f64::total_cmp);
    deviations.sort_by(f64::total_cmp);
    let pct = |n: usize, d: usize| 100.0 * n as f64 / d.max(1) as f64;
    let unparsed_beats: usize = unparsed.values().sum();
    eprintln!(
        "{} solos, {total_notes} notes ({dropped} dropped), {bass_notes} bass notes",
        pairs.len()
    );
    eprintln!(
        "notes per solo: min {} median {} max {}",
        notes_per_solo[0],
        notes_per_solo[notes_per_solo.len() / 2],
        notes_per_solo[notes_per_solo.len() - 1]
    );
    eprintln!(
        "onsets within 1/48 beat of the 12-per-beat grid: {:.1}% (uniform timing would give 50%; every onset is within 1/24)",
        pct(fine_grid, total_notes)
    );
    eprintln!(
        "interpolated onset within 1/6 beat of the transcribers' bar/beat/tatum: {:.1}% of {} notes; median deviation {:.3} beat, 95th percentile {:.3}",
        pct(agree.0, agree.1),
        agree.1,
        deviations[deviations.len() / 2],
        deviations[deviations.len() * 95 / 100]
    );
    eprintln!(
        "tempo: min {:.0} median {:.0} max {:.0} BPM",
        tempos[0],
        tempos[tempos.len() / 2],
        tempos[tempos.len() - 1]
    );
    eprintln!("meters: {meters:?}");
    eprintln!(
        "{chord_changes} chord changes; {:.1}% of beats under a chord, {:.1}% N.C.",
        pct(chord_beats, chord_beats + nc_beats),
        pct(nc_beats, chord_beats + nc_beats)
    );
    eprintln!(
        "unparsed chord symbols ({} kinds, {unparsed_beats} beats): {unparsed:?}",
        unparsed.len()
    );

    assert!(notes_per_solo[0] >= 20, "every solo has some notes");
    assert!(total_notes > 150_000, "{total_notes}");
    assert!(dropped == 0, "no note falls outside its beat track");
    assert!(pct(agree.0, agree.1) > 90.0, "interpolation agrees with the annotation");
    assert!(tempos[0] > 30.0 && tempos[tempos.len() - 1] < 400.0);
    assert!(chord_changes > 20_000);
    assert!(
        unparsed_beats * 1000 < chord_beats + nc_beats,
        "fewer than 0.1% of beats lose their chord"
    );
}
