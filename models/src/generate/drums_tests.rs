//! The drums in a generation session: the memory of their groove and the drafts of their first
//! bar ([`super::drums`]).

use std::sync::Arc;

use super::*;
use crate::markov::{MarkovBuilder, MarkovModel};
use crate::memory::{MEMORY_CELLS, MemoryWeights};
use crate::music::Role;

/// One bar of a groove at `bar` (beats from the piece's start): a rock beat (kick on 1 and 3,
/// snare on 2 and 4, 8th hi-hats) or a busy one (16th hi-hats, a syncopated kick, ghost notes).
fn groove(busy: bool, bar: f64, out: &mut Vec<crate::music::Note>) {
    let hit = |beat: f64, pitch: u8, velocity: u8| crate::music::Note {
        start: bar + beat,
        duration: 0.25,
        pitch,
        velocity,
    };
    let (kicks, ghosts, hats): (&[f64], &[f64], f64) = if busy {
        (&[0.0, 0.75, 2.5], &[1.75, 2.25, 3.75], 0.25)
    } else {
        (&[0.0, 2.0], &[], 0.5)
    };
    out.extend(kicks.iter().map(|&b| hit(b, 36, 100)));
    out.extend([1.0, 3.0].iter().map(|&b| hit(b, 38, 110)));
    out.extend(ghosts.iter().map(|&b| hit(b, 38, 30)));
    let mut b = 0.0;
    while b < 4.0 {
        out.push(hit(b, 42, 70));
        b += hats;
    }
}

/// A drums model that learned both grooves, and pieces that switch between them every two bars:
/// left to itself it wanders from one to the other.
fn drum_model() -> MarkovModel {
    let mut b = MarkovBuilder::new(8);
    for piece in 0..12 {
        let mut s = Sequence::new(Role::Drums);
        s.tempo_bpm = Some(100.0);
        let mut notes = Vec::new();
        for bar in 0..16 {
            let busy = match piece % 3 {
                0 => false,
                1 => true,
                _ => (bar / 2) % 2 == 1,
            };
            groove(busy, bar as f64 * 4.0, &mut notes);
        }
        notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
        s.notes = notes;
        s.bars = 16;
        b.add_sequence(&Tokenizer::default().encode(&s).unwrap());
    }
    MarkovModel::with_context_len(Arc::new(b.build(1, 1)), 4096)
}

fn config(seed: u64, memory: f32, drafts: u8) -> SessionConfig {
    let mut c = SessionConfig::new(Role::Drums);
    c.tempo_bpm = Some(100.0);
    c.seed = seed;
    c.constraints = Constraints::for_role(Role::Drums);
    c.constraints.memory = MemoryWeights::from_values(&[memory; MEMORY_CELLS], false);
    c.constraints.first_bar_drafts = drafts;
    c
}

fn bar_ticks() -> i64 {
    4 * TICKS_PER_BEAT as i64
}

fn play(cfg: SessionConfig, bars: i64) -> Vec<GeneratedNote> {
    let cond = Conditioning::default();
    let mut s = Session::new(drum_model(), cfg, 0, &cond).unwrap();
    s.generate_until(&cond, bars * bar_ticks()).unwrap();
    s.notes().copied().collect()
}

/// Share of bars whose hits (16th step, key) are the bar before's.
fn repeated_bars(notes: &[GeneratedNote], bars: usize) -> f64 {
    let mut pattern = vec![std::collections::BTreeSet::new(); bars];
    for n in notes {
        let bar = (n.start / 4.0).floor() as usize;
        if bar < bars {
            pattern[bar].insert((((n.start - bar as f64 * 4.0) * 4.0).round() as i64, n.pitch));
        }
    }
    (1..bars).filter(|&b| pattern[b] == pattern[b - 1]).count() as f64 / (bars - 1) as f64
}

#[test]
fn the_groove_memory_holds_the_groove_the_drums_started() {
    let (mut without, mut with) = (0.0, 0.0);
    for seed in 1..=6 {
        without += repeated_bars(&play(config(seed, 0.0, 1), 16), 16) / 6.0;
        with += repeated_bars(&play(config(seed, 0.9, 1), 16), 16) / 6.0;
    }
    assert!(
        with > without + 0.15,
        "bars repeating the bar before: {without:.2} without the memory, {with:.2} with"
    );
}

#[test]
fn a_rollback_regenerates_the_same_drums_with_memory_and_drafts() {
    let cond = Conditioning::default();
    let end = 10 * bar_ticks();
    let mut s = Session::new(drum_model(), config(4, 0.9, 4), 0, &cond).unwrap();
    s.generate_until(&cond, end).unwrap();
    let before: Vec<GeneratedNote> = s.notes().copied().collect();
    for tick in [3 * bar_ticks() + 6, 0] {
        assert!(s.rollback(tick));
        s.generate_until(&cond, end).unwrap();
        let after: Vec<GeneratedNote> = s.notes().copied().collect();
        assert_eq!(after, before, "rolled back to {tick}");
    }
    assert_eq!(play(config(4, 0.9, 4), 10), before, "a fresh session plays the same");
}

#[test]
fn the_drafts_keep_the_likeliest_first_bar() {
    let cond = Conditioning::default();
    // The first bar's mean log-probability a token, as the session scored it.
    let first_bar = |drafts: u8, seed: u64| {
        let mut s = Session::new(drum_model(), config(seed, 0.0, drafts), 0, &cond).unwrap();
        s.generate_until(&cond, bar_ticks()).unwrap();
        s.draft_score.0 / s.draft_score.1.max(1) as f64
    };
    let mut better = 0;
    for seed in 1..=8 {
        let (one, eight) = (first_bar(1, seed), first_bar(8, seed));
        // The first draft is drawn as an undrafted session draws its bar.
        assert!(eight >= one - 1e-9, "seed {seed}: {eight} < {one}");
        better += (eight > one + 1e-9) as usize;
    }
    assert!(better >= 1, "drafting never chose another bar");
}

/// No two of the plugin's first Seeds share a first-bar draft, and no draft's random stream is
/// another's (or a session's own) shifted by a few draws: each draft is a draw of its own.
#[test]
fn the_first_bar_drafts_of_different_seeds_are_their_own() {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    // SplitMix64's state after k draws is seed + k * gamma: streams a and b are one stream
    // shifted when (a - b) / gamma (mod 2^64; gamma is odd, so invertible) is small.
    let mut inverse: u64 = 1;
    for _ in 0..6 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(GAMMA.wrapping_mul(inverse)));
    }
    assert_eq!(GAMMA.wrapping_mul(inverse), 1);
    let mut seeds = Vec::new();
    for user in 0..32 {
        let session = session_seed(user);
        seeds.push(session);
        for d in 1..crate::sampling::FIRST_BAR_DRAFTS as u64 {
            seeds.push(super::drums::draft_seed(session, d));
        }
    }
    for (i, &a) in seeds.iter().enumerate() {
        for &b in &seeds[i + 1..] {
            let shift = a.wrapping_sub(b).wrapping_mul(inverse);
            assert!(
                shift.min(shift.wrapping_neg()) > 1 << 20,
                "{a:#x} and {b:#x} are one stream {} draws apart",
                shift.min(shift.wrapping_neg())
            );
        }
    }
}

/// A drums model whose pieces mostly start with silent bars (a count-in), then play hits at
/// random places and levels: an empty first bar is one likely token, a played one many unlikely
/// ones, so the empty bar has the better mean log-probability a token.
fn count_in_model() -> MarkovModel {
    let mut b = MarkovBuilder::new(8);
    let mut rng = Rng::new(7);
    for piece in 0..24 {
        let mut s = Sequence::new(Role::Drums);
        s.tempo_bpm = Some(100.0);
        let mut notes = Vec::new();
        // One piece in four starts playing at once, the others after one to three silent bars.
        let silent = if piece % 4 == 0 { 0 } else { 1 + piece % 3 };
        for bar in silent..16 {
            for _ in 0..8 {
                notes.push(crate::music::Note {
                    start: bar as f64 * 4.0 + (rng.next_u64() % 16) as f64 * 0.25,
                    duration: 0.25,
                    pitch: [36, 38, 42, 46, 49][(rng.next_u64() % 5) as usize],
                    velocity: 20 + (rng.next_u64() % 100) as u8,
                });
            }
        }
        notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
        notes.dedup_by(|a, b| a.start == b.start && a.pitch == b.pitch);
        s.notes = notes;
        s.bars = 16;
        b.add_sequence(&Tokenizer::default().encode(&s).unwrap());
    }
    MarkovModel::with_context_len(Arc::new(b.build(1, 1)), 4096)
}

/// The likeliest first-bar draft by mean log-probability a token is often the empty one (one
/// `BAR`); a draft with hits wins over it, so the groove starts in the first bar.
#[test]
fn a_first_bar_draft_with_hits_beats_an_empty_one() {
    let cond = Conditioning::default();
    let first_bar_hits = |drafts: u8, seed: u64| {
        let mut s = Session::new(count_in_model(), config(seed, 0.0, drafts), 0, &cond).unwrap();
        s.generate_until(&cond, 2 * bar_ticks()).unwrap();
        s.notes().filter(|n| n.start < 4.0).count()
    };
    let seeds = 1..=16u64;
    let one = seeds.clone().filter(|&s| first_bar_hits(1, s) == 0).count();
    assert!(one >= 4, "a single draft starts silent as the pieces do ({one} of 16)");
    let drafted = seeds.filter(|&s| first_bar_hits(8, s) == 0).count();
    assert_eq!(drafted, 0, "eight drafts: one has hits, and it is played");
}
