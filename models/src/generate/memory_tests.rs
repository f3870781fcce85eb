//! The piece's memory in a generation session ([`crate::memory`]).

use super::tests::{model, progression as cond};
use super::*;
use crate::memory::{MEMORY_CELLS, MemoryWeights};
use crate::music::Role;

fn config(seed: u64, weight: f32) -> SessionConfig {
    let mut c = SessionConfig::new(Role::Lead);
    c.seed = seed;
    c.constraints.memory = MemoryWeights::from_values(&[weight; MEMORY_CELLS], false);
    c
}

/// Share of the pitch 4-grams already played earlier (the music report's repetition).
fn repetition(notes: &[GeneratedNote]) -> f64 {
    let p: Vec<u8> = notes.iter().map(|n| n.pitch).collect();
    let mut seen = std::collections::HashSet::new();
    let rep = p.windows(4).filter(|w| !seen.insert(w.to_vec())).count();
    rep as f64 / p.len().saturating_sub(3).max(1) as f64
}

fn play(cfg: SessionConfig, bars: i64) -> Vec<GeneratedNote> {
    let cond = cond(bars);
    let mut s = Session::new(model(), cfg, 0, &cond).unwrap();
    s.generate_until(&cond, bars * 4 * TICKS_PER_BEAT as i64).unwrap();
    s.notes().copied().collect()
}

#[test]
fn the_memory_brings_back_the_pieces_own_figures() {
    let (mut without, mut with) = (0.0, 0.0);
    for seed in 1..=4 {
        without += repetition(&play(config(seed, 0.0), 16)) / 4.0;
        with += repetition(&play(config(seed, 0.9), 16)) / 4.0;
    }
    assert!(
        with > without + 0.1,
        "4-gram repetition {without:.3} without, {with:.3} with"
    );
}

/// Generates `bars` bars with `cfg`, rolls back to bar `back` and generates them again: the same
/// notes, or the memory did not forget what the rollback took back.
fn assert_rollback_replays(cfg: SessionConfig, bars: i64, back: i64) {
    assert_rollback_replays_with(model(), cfg, bars, back);
}

/// [`assert_rollback_replays`] with `model`.
fn assert_rollback_replays_with<M: TokenModel>(model: M, cfg: SessionConfig, bars: i64, back: i64) {
    let bar = 4 * TICKS_PER_BEAT as i64;
    let cond = cond(bars + 2);
    let mut s = Session::new(model, cfg, 0, &cond).unwrap();
    s.generate_until(&cond, bars * bar).unwrap();
    let before: Vec<GeneratedNote> = s.notes().copied().collect();
    assert!(s.rollback(back * bar));
    s.generate_until(&cond, bars * bar).unwrap();
    let after: Vec<GeneratedNote> = s.notes().copied().collect();
    assert_eq!(after, before, "the memory forgets what the rollback took back");
}

#[test]
fn a_rollback_regenerates_the_same_with_the_memory() {
    assert_rollback_replays(config(3, 0.9), 8, 3);
}

#[test]
fn a_prompt_is_remembered() {
    // A figure the model would not play by itself (a tritone leap, below the chord tones it
    // learned), twice; the session continues after it.
    let figure = [62u8, 68, 62, 56];
    let prompt: Vec<crate::music::Note> = (0..8)
        .map(|i| crate::music::Note {
            start: 4.0 + i as f64 * 0.5,
            duration: 0.5,
            pitch: figure[i % 4],
            velocity: 90,
        })
        .collect();
    let cond = cond(6);
    let mut recalled = 0;
    for seed in 1..=8 {
        let mut cfg = config(seed, 0.98);
        cfg.prompt = prompt.clone();
        cfg.silent_until = Some(beat_to_tick(8.0));
        let mut s = Session::new(model(), cfg, 4 * TICKS_PER_BEAT as i64, &cond).unwrap();
        s.generate_until(&cond, 6 * 4 * TICKS_PER_BEAT as i64).unwrap();
        let first = s.notes().next().map(|n| n.pitch);
        recalled += (first == Some(figure[0])) as usize;
    }
    assert!(recalled >= 6, "the figure went on {recalled} times in 8");
}

/// Share of the notes from bar 4 on that repeat, at the same place and pitch, a note of four bars
/// before (where the test progression's changes come round).
fn four_bars_back(notes: &[GeneratedNote]) -> f64 {
    let bar = 4.0 * 4.0;
    let later: Vec<&GeneratedNote> = notes.iter().filter(|n| n.start >= bar).collect();
    let same = later
        .iter()
        .filter(|n| {
            notes
                .iter()
                .any(|m| m.pitch == n.pitch && (m.start + bar - n.start).abs() < 1e-6)
        })
        .count();
    same as f64 / later.len().max(1) as f64
}

/// [`four_bars_back`] with each onset at its place on the grid (the test model plays off it; the
/// memory recalls places and pitches, not the timing off the grid).
fn four_bars_back_on_the_grid(notes: &[GeneratedNote]) -> f64 {
    played_again(notes, |bar| bar >= 4, 4)
}

fn changes_config(seed: u64, weight: f32) -> SessionConfig {
    shared_changes_config(seed, weight, 1.0)
}

/// The memory of the changes at `weight` in a `share` of the bars.
fn shared_changes_config(seed: u64, weight: f32, share: f32) -> SessionConfig {
    let mut c = config(seed, 0.0);
    c.constraints.memory = MemoryWeights::NONE.with_changes(&[weight, weight, share]);
    c
}

#[test]
fn the_memory_of_the_changes_plays_the_line_again_when_they_come_round() {
    let (mut without, mut with) = (0.0, 0.0);
    for seed in 1..=4 {
        without += four_bars_back(&play(changes_config(seed, 0.0), 12)) / 4.0;
        with += four_bars_back(&play(changes_config(seed, 0.95), 12)) / 4.0;
    }
    assert!(
        with > 0.9 && with > without + 0.15,
        "notes repeating four bars back: {without:.3} without, {with:.3} with"
    );
}

#[test]
fn in_a_share_of_the_bars_the_memory_of_the_changes_repeats_some_bars_and_not_others() {
    let (mut none, mut half, mut all) = (0.0, 0.0, 0.0);
    for seed in 1..=6 {
        none += four_bars_back(&play(shared_changes_config(seed, 0.95, 0.0), 12)) / 6.0;
        half += four_bars_back(&play(shared_changes_config(seed, 0.95, 0.5), 12)) / 6.0;
        all += four_bars_back(&play(shared_changes_config(seed, 0.95, 1.0), 12)) / 6.0;
    }
    assert!(
        half > none + 0.05 && half < all - 0.05,
        "notes repeating four bars back: {none:.3} in no bar, {half:.3} in half, {all:.3} in every bar"
    );
}

/// Over `chords` (one a bar, by root, major), `bars` bars with `cfg`: its notes.
fn play_over(cfg: SessionConfig, roots: &[u8], bars: i64) -> Vec<GeneratedNote> {
    let mut cond = Conditioning::default();
    for bar in 0..bars {
        let t = bar * 4 * TICKS_PER_BEAT as i64;
        let root = roots[bar as usize % roots.len()];
        cond.set_chord(t, Some(crate::chord::Chord::new(root, crate::chord::ChordQuality::Maj)));
        cond.add_input(t, 36 + root);
    }
    let mut s = Session::new(model(), cfg, 0, &cond).unwrap();
    s.generate_until(&cond, bars * 4 * TICKS_PER_BEAT as i64).unwrap();
    s.notes().copied().collect()
}

/// Share of the notes in the bars `bars` admits (4/4, counted from 0) that repeat, at the same
/// place on the grid and pitch, a note of `back` bars before.
fn played_again(notes: &[GeneratedNote], bars: impl Fn(i64) -> bool, back: i64) -> f64 {
    let place = |beat: f64| (beat * TICKS_PER_BEAT as f64 + 0.5 + 1e-6).floor() as i64;
    let bar = 4 * TICKS_PER_BEAT as i64;
    let all: std::collections::HashSet<(i64, u8)> = notes.iter().map(|n| (place(n.start), n.pitch)).collect();
    let later: Vec<(i64, u8)> = notes
        .iter()
        .map(|n| (place(n.start), n.pitch))
        .filter(|&(t, _)| bars(t / bar))
        .collect();
    let same = later
        .iter()
        .filter(|&&(t, p)| all.contains(&(t - back * bar, p)))
        .count();
    same as f64 / later.len().max(1) as f64
}

/// The memory of a phrase come round plays a bar again where the bar before it came round too,
/// and not where only the bar's own changes did.
#[test]
fn the_memory_of_a_phrase_plays_a_bar_again_where_the_bar_before_came_round_too() {
    let phrase = |seed: u64, weight: f32| {
        let mut c = config(seed, 0.0);
        c.constraints.memory = MemoryWeights::NONE.with_phrase(&[weight, 1.0]);
        c
    };
    // A four-bar progression played three times: from bar 5 on, the bar before came round too.
    let four = [2, 7, 0, 9];
    // C every other bar, after a different chord each time: its bar comes round, the bar before
    // it never does.
    let alternate = [0, 2, 0, 4, 0, 5, 0, 7, 0, 9, 0, 11];
    let odd = |bar: i64| bar >= 4 && bar % 2 == 0;
    let (mut without, mut with, mut alone, mut lone) = (0.0, 0.0, 0.0, 0.0);
    let later = |bar: i64| bar >= 5;
    for seed in 1..=4 {
        without += played_again(&play_over(phrase(seed, 0.0), &four, 12), later, 4) / 4.0;
        with += played_again(&play_over(phrase(seed, 0.98), &four, 12), later, 4) / 4.0;
        alone += played_again(&play_over(phrase(seed, 0.0), &alternate, 12), odd, 2) / 4.0;
        lone += played_again(&play_over(phrase(seed, 0.98), &alternate, 12), odd, 2) / 4.0;
    }
    assert!(
        with > 0.9 && with > without + 0.15,
        "notes of a phrase come round played again: {without:.3} without, {with:.3} with"
    );
    assert!(
        (lone - alone).abs() < 0.1,
        "notes over a chord come round alone played again: {alone:.3} without, {lone:.3} with"
    );
    // One chord held: every bar comes round a bar back, and no phrase does (no loop of a bar).
    let (mut vamp, mut looped) = (0.0, 0.0);
    let held = |bar: i64| bar >= 2;
    for seed in 1..=4 {
        vamp += played_again(&play_over(phrase(seed, 0.0), &[0], 12), held, 1) / 4.0;
        looped += played_again(&play_over(phrase(seed, 0.995), &[0], 12), held, 1) / 4.0;
    }
    assert!(
        (looped - vamp).abs() < 0.1,
        "notes over one chord held played again a bar later: {vamp:.3} without, {looped:.3} with"
    );
}

/// The memory of a figure come round walks a few notes again where the last bar of changes came
/// round, from any beat, in its share of the places; over one chord held it never speaks.
#[test]
fn the_memory_of_a_figure_walks_a_few_notes_again_from_any_beat() {
    let figure = |seed: u64, weight: f32, start: f32| {
        let mut c = config(seed, 0.0);
        c.constraints.memory = MemoryWeights::NONE.with_figure(&[weight, start, 0.5]);
        // A line of one note at a time, as a bass or a lead plays (`Constraints::for_role`).
        c.constraints.max_polyphony = 1;
        c
    };
    let four = [2, 7, 0, 9];
    let later = |bar: i64| bar >= 5;
    let (mut none, mut some, mut every) = (0.0, 0.0, 0.0);
    let mut starts_off_the_bar_line = 0;
    for seed in 1..=4 {
        none += played_again(&play_over(figure(seed, 0.0, 0.0), &four, 12), later, 4) / 4.0;
        let notes = play_over(figure(seed, 0.95, 0.2), &four, 12);
        some += played_again(&notes, later, 4) / 4.0;
        every += played_again(&play_over(figure(seed, 0.95, 1.0), &four, 12), later, 4) / 4.0;
        // Where a run of notes played again four bars back starts: not only on beat 1.
        let again = |n: &GeneratedNote| {
            notes
                .iter()
                .any(|m| (m.start - (n.start - 16.0)).abs() < 1e-6 && m.pitch == n.pitch)
        };
        for w in notes.windows(2).filter(|w| w[1].start >= 20.0) {
            if again(&w[1]) && !again(&w[0]) && (w[1].start % 4.0).abs() > 1e-6 {
                starts_off_the_bar_line += 1;
            }
        }
    }
    assert!(
        some > none + 0.1 && every > some + 0.1,
        "notes played again four bars back: {none:.3} with none, {some:.3} with figures starting in a fifth of the places, {every:.3} in all"
    );
    assert!(starts_off_the_bar_line > 0, "every figure started on a bar line");
    // One chord held: no bar of changes comes round, and the notes are the network's alone.
    for seed in 1..=3 {
        assert_eq!(
            play_over(figure(seed, 0.95, 1.0), &[0], 8),
            play_over(figure(seed, 0.0, 0.0), &[0], 8),
            "seed {seed}"
        );
    }
}

/// Where the changes came round twice before, a figure comes from either time, not only the
/// latest: after a prompt that walks one line over a four-bar progression and another over it
/// again, the session plays notes of both.
#[test]
fn a_figure_comes_from_any_time_the_changes_came_round() {
    let four = [2u8, 7, 0, 9];
    let mut cond = Conditioning::default();
    for bar in 0..12i64 {
        let root = four[bar as usize % 4];
        cond.set_chord(
            bar * 4 * TICKS_PER_BEAT as i64,
            Some(crate::chord::Chord::new(root, crate::chord::ChordQuality::Maj)),
        );
    }
    // Bars 0-3 walk up from E2, bars 4-7 from C4: pitches the other line never plays.
    let line = |beat: usize| {
        if beat < 16 {
            40 + beat as u8
        } else {
            60 + (beat - 16) as u8
        }
    };
    let prompt: Vec<crate::music::Note> = (0..32)
        .map(|beat| crate::music::Note {
            start: beat as f64,
            duration: 1.0,
            pitch: line(beat),
            velocity: 90,
        })
        .collect();
    let (mut latest, mut before) = (0, 0);
    for seed in 1..=8 {
        let mut c = config(seed, 0.0);
        c.constraints.memory = MemoryWeights::NONE.with_figure(&[0.95, 1.0, 0.5]);
        c.constraints.max_polyphony = 1;
        c.prompt = prompt.clone();
        let mut s = Session::new(model(), c, 0, &cond).unwrap();
        s.generate_until(&cond, 12 * 4 * TICKS_PER_BEAT as i64).unwrap();
        for n in s
            .notes()
            .filter(|n| n.start >= 32.0 && (n.start - n.start.round()).abs() < 1e-6)
        {
            let beat = n.start as usize;
            latest += (n.pitch == line(beat - 16)) as usize;
            before += (n.pitch == line(beat - 32)) as usize;
        }
    }
    assert!(
        latest > 8 && before > 8,
        "notes of the line four bars back {latest}, of the line eight bars back {before}"
    );
}

#[test]
fn a_rollback_regenerates_the_same_with_the_memory_of_the_changes() {
    assert_rollback_replays(changes_config(5, 0.9), 10, 5);
    assert_rollback_replays(shared_changes_config(5, 0.9, 0.5), 10, 5);
    let mut phrase = config(5, 0.0);
    phrase.constraints.memory = MemoryWeights::NONE.with_phrase(&[0.9, 0.5]);
    assert_rollback_replays(phrase, 10, 5);
    let mut figure = config(5, 0.0);
    figure.constraints.memory = MemoryWeights::NONE.with_figure(&[0.95, 0.3, 0.5]);
    figure.constraints.max_polyphony = 1;
    assert_rollback_replays(figure, 10, 5);
}

/// A comping part strikes several notes at one place: where the changes come round, the memory
/// plays the whole chord it struck there again, not its first note and then the next place.
#[test]
fn the_memory_of_the_changes_plays_a_comping_parts_chords_again_whole() {
    let comping = |seed: u64, weight: f32| {
        let mut c = changes_config(seed, weight);
        c.role = Role::Comping;
        c.write_inputs = false;
        c.constraints = Constraints {
            memory: c.constraints.memory,
            ..Constraints::for_role(Role::Comping)
        };
        c
    };
    let (mut without, mut with, mut chords) = (0.0, 0.0, 0);
    for seed in 1..=4 {
        let notes = play(comping(seed, 0.95), 12);
        // Places where it struck two notes or more, from bar 4 on.
        let mut at: std::collections::BTreeMap<i64, usize> = std::collections::BTreeMap::new();
        for n in notes.iter().filter(|n| n.start >= 16.0) {
            *at.entry((n.start * 48.0).round() as i64).or_default() += 1;
        }
        chords += at.values().filter(|&&k| k >= 2).count();
        with += four_bars_back_on_the_grid(&notes) / 4.0;
        without += four_bars_back_on_the_grid(&play(comping(seed, 0.0), 12)) / 4.0;
    }
    assert!(chords >= 8, "{chords} chords struck: the test model plays no chords");
    assert!(
        with > 0.9 && with > without + 0.15,
        "comping notes repeating four bars back: {without:.3} without, {with:.3} with"
    );
}

/// Share of the bars from bar 4 on, with notes in them, whose onsets (on the grid) are those of
/// the bar four before.
fn bars_in_rhythm_four_back(notes: &[GeneratedNote], bars: i64) -> f64 {
    let place = |beat: f64| (beat * TICKS_PER_BEAT as f64 + 0.5 + 1e-6).floor() as i64;
    let bar = 4 * TICKS_PER_BEAT as i64;
    let mut onsets = vec![std::collections::BTreeSet::new(); bars as usize];
    for n in notes {
        let t = place(n.start);
        if let Some(b) = onsets.get_mut((t / bar) as usize) {
            b.insert(t % bar);
        }
    }
    let played: Vec<usize> = (4..bars as usize).filter(|&b| !onsets[b].is_empty()).collect();
    let again = played.iter().filter(|&&b| onsets[b] == onsets[b - 4]).count();
    again as f64 / played.len().max(1) as f64
}

/// The memory of the groove's rhythm at `weight` in a `share` of the bars (no memory of the
/// changes, so it may play in every bar).
fn rhythm_config(seed: u64, weight: f32, share: f32) -> SessionConfig {
    let mut c = config(seed, 0.0);
    c.constraints.memory = MemoryWeights::NONE.with_rhythm(&[weight, share]);
    c
}

/// A Markov model of lines that play one of four rhythms in each bar, drawn at random, over the
/// test progression: a line with no rhythm of its own to keep.
fn loose_rhythm_model() -> crate::markov::MarkovModel {
    use crate::chord::{Chord, ChordQuality};
    use crate::music::{ChordEvent, Note};
    let rhythms: [&[f64]; 4] = [
        &[0.0, 1.0, 2.0, 3.0],
        &[0.0, 1.5, 2.0],
        &[0.0, 0.5, 2.5, 3.0, 3.5],
        &[1.0, 2.0, 3.5],
    ];
    let mut b = crate::markov::MarkovBuilder::new(6);
    for t in 0..12u64 {
        let mut s = crate::tokenizer::Sequence::new(Role::Lead);
        s.tempo_bpm = Some(120.0);
        for bar in 0..16u64 {
            let c = Chord::new([2, 7, 0, 9][(bar % 4) as usize], ChordQuality::Maj7);
            let start = bar as f64 * 4.0;
            s.chords.push(ChordEvent { start, chord: Some(c) });
            let r = rhythms[(crate::math::splitmix64(t * 1000 + bar) % 4) as usize];
            for (k, &x) in r.iter().enumerate() {
                s.notes.push(Note {
                    start: start + x,
                    duration: 0.5,
                    pitch: 60 + c.root + [0, 4, 7][k % 3],
                    velocity: 80,
                });
            }
        }
        s.bars = 16;
        b.add_sequence(&crate::tokenizer::Tokenizer::default().encode(&s).unwrap());
    }
    crate::markov::MarkovModel::with_context_len(std::sync::Arc::new(b.build(1, 1)), 600)
}

#[test]
fn the_memory_of_the_grooves_rhythm_plays_the_bars_rhythm_again_over_new_pitches() {
    let play = |cfg: SessionConfig, bars: i64| {
        let cond = cond(bars);
        let mut s = Session::new(loose_rhythm_model(), cfg, 0, &cond).unwrap();
        s.generate_until(&cond, bars * 4 * TICKS_PER_BEAT as i64).unwrap();
        s.notes().copied().collect::<Vec<GeneratedNote>>()
    };
    let (mut without, mut half, mut with) = (0.0, 0.0, 0.0);
    for seed in 1..=6 {
        without += bars_in_rhythm_four_back(&play(rhythm_config(seed, 0.0, 1.0), 16), 16) / 6.0;
        half += bars_in_rhythm_four_back(&play(rhythm_config(seed, 0.95, 0.5), 16), 16) / 6.0;
        with += bars_in_rhythm_four_back(&play(rhythm_config(seed, 0.95, 1.0), 16), 16) / 6.0;
    }
    assert!(
        with > 0.8 && with > half + 0.1 && half > without + 0.1,
        "bars in the rhythm of four bars before: {without:.3} without, {half:.3} in half the bars, {with:.3} in every bar"
    );
}

#[test]
fn a_rollback_regenerates_the_same_with_the_memory_of_the_grooves_rhythm() {
    assert_rollback_replays_with(loose_rhythm_model(), rhythm_config(5, 0.9, 0.5), 10, 5);
}
