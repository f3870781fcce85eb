//! The model card `trainer ship`, export and fine-tune write: the manifest's facts and metrics,
//! the rows naming the graph, and the sections a ship keeps.

use std::fmt::Write as _;

use models::Role;
use models::package::ModelKind;

/// The card's row naming the ONNX graph a shipped model file holds (`trainer regraph` writes
/// the others), when it is one of Sideman's own graphs.
pub(super) fn graph_row(model: &[u8]) -> Option<&'static str> {
    let has = |needle: &[u8]| model.windows(needle.len()).any(|w| w == needle);
    if has(b"ai.sideman") {
        Some(
            "| ONNX graph | kernel: Sideman's own operators, one node a layer (`ai.sideman:DecoderLayer`, int8 weights with 14-bit inputs, f16 KV cache in place) |",
        )
    } else if has(b"GroupQueryAttention") {
        Some("| ONNX graph | fused (GroupQueryAttention, KV cache in place) |")
    } else {
        None
    }
}

/// The card's recipe when `--recipe` is not given.
pub(super) const DEFAULT_RECIPE: &str = "see models/README.md";

/// The section of `card` that starts at `heading` (a newline, then `## ...`), up to the next
/// `## ` heading; empty when it has none.
pub(super) fn card_section<'a>(card: &'a str, heading: &str) -> &'a str {
    let Some(start) = card.find(heading) else { return "" };
    let body = start + heading.len();
    let end = card[body..].find("\n## ").map_or(card.len(), |j| body + j);
    &card[start..end]
}

/// The model card of a shipped package.
pub fn card(m: &models::package::Manifest, int8_bytes: u64, fp32_bytes: Option<u64>, recipe: &str) -> String {
    let metric = |k: &str| m.metrics.get(k).copied();
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", m.name);
    let _ = writeln!(s, "{}\n", m.description);
    let roles: Vec<String> = m.roles.iter().map(|r| r.to_string()).collect();
    let _ = writeln!(s, "| | |\n| --- | --- |");
    let _ = writeln!(s, "| roles | {} |", roles.join(", "));
    let styles = if m.vocab.styles.len() > 12 {
        format!(
            "{} tags ({}, ...)",
            m.vocab.styles.len(),
            m.vocab.styles[..12].join(", ")
        )
    } else {
        m.vocab.styles.join(", ")
    };
    let _ = writeln!(s, "| styles | {styles} |");
    if let Some(p) = metric("parameters") {
        let _ = writeln!(s, "| parameters | {:.2} M |", p / 1e6);
    }
    let kind = match m.model {
        ModelKind::Transformer { .. } => "int8",
        ModelKind::Markov { .. } => "Markov table",
    };
    let _ = write!(s, "| size | {:.2} MB {kind} (shipped)", int8_bytes as f64 / 1e6);
    if let Some(f) = fp32_bytes {
        let _ = write!(s, ", {:.2} MB fp32 (not shipped)", f as f64 / 1e6);
    }
    let _ = writeln!(s, " |");
    for row in crate::regraph::speed_rows(&m.metrics) {
        let _ = writeln!(s, "{row}");
    }
    if let (Some(a), Some(k)) = (metric("int8_top1_agreement"), metric("int8_mean_kl")) {
        let _ = writeln!(
            s,
            "| int8 vs fp32 | top-1 agreement {:.1}%, mean KL {k:.1e} |",
            a * 100.0
        );
    }
    if let Some(t) = metric("train_tokens") {
        let steps = metric("train_steps").unwrap_or(0.0);
        let run = match metric("run_steps") {
            Some(r) if r != steps => format!(" (the best validation step of a {r} step run)"),
            _ => String::new(),
        };
        let _ = writeln!(s, "| training | {:.1} M tokens, {steps} steps{run} |", t / 1e6);
    }
    if !m.register.is_empty() {
        let name = models::music::key_name;
        let each: Vec<String> = m
            .register
            .iter()
            .map(|(r, &[lo, hi])| format!("{r} {}-{}", name(lo), name(hi)))
            .collect();
        let _ = writeln!(
            s,
            "| register | {} (the pitches each role played in training, a note in a thousand left out at each end; the plugin's Lowest and Highest play within it) |",
            each.join(", ")
        );
    }
    if !m.meters.is_empty() {
        let each: Vec<String> = m
            .roles
            .iter()
            .filter(|r| m.meters.contains_key(r.name()))
            .map(|&r| {
                let learned: Vec<String> = m
                    .learned_meters(r)
                    .iter()
                    .map(|&(n, d)| models::meters::key(n, d))
                    .collect();
                format!("{r} {}", learned.join(" "))
            })
            .collect();
        let _ = writeln!(
            s,
            "| meters | {} (those each role played in at least {} % of its training bars, the most played first; a session in another meter writes its stream in these where their bars divide it: models/src/meters.rs) |",
            each.join(", "),
            models::meters::MIN_SHARE * 100.0
        );
    }
    if !m.no_input.is_empty() {
        let _ = writeln!(
            s,
            "| hears no input | {} (its training data gave it no part to hear: the notes you play reach it as the chords they make, as in training) |",
            m.no_input.join(", ")
        );
    }
    // The drums take no Harmony pull: what a role that never learned chords does with yours.
    let (kit, pitched): (Vec<&str>, Vec<&str>) = m
        .no_chords
        .iter()
        .map(String::as_str)
        .partition(|r| Role::parse(r).is_some_and(Role::is_drums));
    for (roles, what) in [
        (pitched, "the chords you play reach it through the Harmony pull alone"),
        (kit, "it keeps the groove it learned whatever chords you play"),
    ] {
        if !roles.is_empty() {
            let _ = writeln!(
                s,
                "| hears no chord symbols | {} (its training data gave it no chord: {what}) |",
                roles.join(", ")
            );
        }
    }
    tuning_row(
        &mut s,
        "tuned note temperature",
        &m.note_temperature,
        false,
        " (what the plugin's Temperature 1 plays; other roles 1)",
    );
    tuning_row(
        &mut s,
        "tuned note top-p",
        &m.note_top_p,
        false,
        &format!(
            " (what the plugin's default Top-p, {}, plays; fitted on the training pieces, checked on the validation pieces; other roles {})",
            models::sampling::DEFAULT_TOP_P,
            models::sampling::DEFAULT_TOP_P
        ),
    );
    tuning_row(
        &mut s,
        "tuned Harmony",
        &m.harmony,
        false,
        &format!(
            " nats of chord-tone pull at the plugin's default Harmony (how each was chosen: models/README.md, \"The Harmony default, per role\"; other roles {}; 0 % is the network alone, 100 % the full pull)",
            models::sampling::DEFAULT_CHORD_TONES
        ),
    );
    tuning_row(
        &mut s,
        "rest calibration",
        &m.rest_bias,
        true,
        " nats on resting until the next given event (chosen on the training and validation pieces; other roles 0)",
    );
    tuning_row(
        &mut s,
        "fast-tempo rest calibration",
        &m.fast_rest,
        true,
        &format!(
            " nats a beat of rest per doubling of the tempo above {} BPM (fitted on the training pieces by tempo; other roles 0)",
            models::sampling::FAST_TEMPO_BPM
        ),
    );
    tuning_row(
        &mut s,
        "entry calibration",
        &m.entry_rest,
        true,
        &format!(
            " nats a beat of rest in the first bar of a fresh start, halving each bar for {} bars (fitted on the training pieces' first bars; other roles 0)",
            models::sampling::ENTRY_BARS
        ),
    );
    tuning_row(
        &mut s,
        "silence calibration",
        &m.silence,
        true,
        " nats for each beat in which none of the role's notes sound (fitted on the training pieces' empty beats; other roles 0)",
    );
    tuning_row(
        &mut s,
        "fast-note calibration",
        &m.fast_notes,
        true,
        &format!(
            " nats for a note at the heels of the role's last onset, falling to none at {} ms (fitted with the silence calibration on the training pieces; other roles 0)",
            models::sampling::FAST_NOTE_MS
        ),
    );
    tuning_row(
        &mut s,
        "duration temperature",
        &m.duration_temperature,
        false,
        " (the choice of a note's length; \"How it was built\" says on which pieces it was chosen; other roles 1)",
    );
    tuning_row(
        &mut s,
        "velocity temperature",
        &m.velocity_temperature,
        false,
        " (the choice of a note's velocity; chosen on the validation pieces; other roles 1)",
    );
    let hold_after = models::sampling::HOLD_AFTER;
    tuning_row(
        &mut s,
        "length hold",
        &m.length_hold,
        false,
        &format!(
            " times the longest note the role has played this take, once it has played {hold_after} (chosen on the validation split over long takes)"
        ),
    );
    tuning_row(
        &mut s,
        "register hold",
        &m.register_hold,
        false,
        &format!(
            " semitones beyond the lowest and highest note the role has played this take, once it has played {hold_after} (chosen on the validation split over long takes)"
        ),
    );
    tuning_row(
        &mut s,
        "density calibration",
        &m.note_bias,
        true,
        " nats on starting a note, at every decision (chosen on the validation pieces with the tuned note temperature; other roles 0)",
    );
    if m.memory.values().any(|spec| spec.weights.iter().any(|&w| w > 0.0)) {
        let roles: Vec<String> = m
            .memory
            .iter()
            .filter(|(_, spec)| spec.weights.iter().any(|&w| w > 0.0))
            .map(|(r, spec)| {
                let top = spec.weights.iter().copied().fold(0.0f32, f32::max);
                let kind = if r == Role::Drums.name() {
                    "the groove: hits by their place in the bar, mixed into the choice of the next drum, position or bar line"
                } else if spec.relative {
                    "chord-relative"
                } else {
                    "absolute"
                };
                format!("{r} ({kind}, weight up to {top:.2})")
            })
            .collect();
        let _ = writeln!(
            s,
            "| piece memory | {}: what the role played after its current figure, mixed into its choice by the match's length and distance (fitted on the training pieces, strength chosen on the validation pieces; models/README.md, \"The piece's memory\") |",
            roles.join(", ")
        );
    }
    let changes: Vec<String> = m
        .memory
        .iter()
        .filter(|(_, spec)| !spec.changes.is_empty())
        .map(|(r, spec)| {
            let w = |i: usize| spec.changes.get(i).copied().unwrap_or(0.0);
            match spec.changes.get(2) {
                Some(share) => format!(
                    "{r} (note {:.2}, time {:.2}, in {:.0} % of the bars)",
                    w(0),
                    w(1),
                    share * 100.0
                ),
                None => format!("{r} (note {:.2}, time {:.2})", w(0), w(1)),
            }
        })
        .collect();
    if !changes.is_empty() {
        let _ = writeln!(
            s,
            "| memory of the changes | {}: where the chords of the bar so far are those of an earlier bar, what the role played there, mixed into its choice of note and of when it plays next, in a share of the bars drawn bar by bar (weights chosen on the validation pieces; models/README.md, \"The memory of the changes\") |",
            changes.join(", ")
        );
    }
    weight_and_share_row(
        &mut s,
        m,
        "memory of the groove's rhythm",
        "time",
        |spec| &spec.rhythm,
        "in a bar the memory of the changes leaves, when the role played its next note in the bar of the last four whose rhythm most of them play, mixed into its choice of when it plays next, in a share of the bars drawn bar by bar (chosen on the validation pieces; models/README.md, \"A groove's rhythm\")",
    );
    weight_and_share_row(
        &mut s,
        m,
        "memory of a phrase come round",
        "note and time",
        |spec| &spec.phrase,
        "where the bar before came round with this bar's changes so far (the latest time, up to 64 bars back: a verse of a song), what the role played in the bar after it then, mixed into its choice of note and of when it plays next, in place of the memory of the changes (how each was chosen: models/README.md, \"A phrase comes round\", \"A verse comes round\" and \"The jazz bass's figures come round\")",
    );
    let figures: Vec<String> = m
        .memory
        .iter()
        .filter(|(_, spec)| spec.figure.len() == 3)
        .map(|(r, spec)| {
            let f = &spec.figure;
            format!(
                "{r} (note {}, starting in {:.0} % of the places, going on after each note past four {:.0} % of the time)",
                (f[0] * 1000.0).round() / 1000.0,
                f[1] * 100.0,
                f[2] * 100.0
            )
        })
        .collect();
    if !figures.is_empty() {
        let _ = writeln!(
            s,
            "| memory of a figure come round | {}: where the last bar of changes, up to the note now, came round, the note the role played at one of those times (drawn where a figure starts, each alike), mixed into its choice of note for four notes or more from any beat, where the memories of the changes and of a phrase do not speak (the chance fitted on the training pieces' figures, the share on their bars played again; models/README.md, \"The jazz bass's figures come round\" and \"Where a figure comes from\") |",
            figures.join(", ")
        );
    }
    let by_player = [
        (
            "silence by player",
            &m.player_silence,
            "nats a silent beat, in place of the role's; resting most",
            "least",
            "models/README.md, \"The soloist's phrasing\"",
        ),
        (
            "fast notes by player",
            &m.player_fast_notes,
            "nats for a note at the heels of the last, in place of the role's; playing the most fast notes",
            "the fewest",
            "fitted with their silence, models/README.md, \"A soloist's fast notes\"",
        ),
    ];
    for (row, map, what, least, doc) in by_player {
        player_rows(&mut s, row, map, what, least, doc);
    }
    if let Some(p) = &m.players {
        let names = p.names();
        let _ = writeln!(
            s,
            "| players | {} ({} training beats; Auto draws one from the session's seed among those who played the chosen style, in proportion to their training beats in it; models/README.md, \"The players\") |",
            names.join(", "),
            p.all.values().sum::<u32>()
        );
    }
    let _ = writeln!(s, "| trainer revision | {} |", m.trainer_revision);
    let _ = writeln!(s, "\n## Data\n");
    for d in &m.data {
        let _ = writeln!(
            s,
            "- **{}** ({} pieces): {}. Licence: {}.",
            d.name, d.pieces, d.provenance, d.licence
        );
    }
    // The test split's, else a held-out set's evaluated whole (`trainer eval --split all`), else
    // the validation split's.
    let split = ["test", "all", "valid"]
        .into_iter()
        .find(|s| metric(&format!("{s}_nll_all")).is_some())
        .unwrap_or("valid");
    let _ = writeln!(
        s,
        "\n## Likelihood against the Markov baseline ({})\n\nSame split, same tokens; lower is better (NLL in nats per predicted token: the role's notes and every time-advancing token).\n",
        split_label(split)
    );
    let _ = writeln!(s, "| role | model NLL | model top-1 | Markov NLL | change |");
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    let mut groups: Vec<&str> = vec!["all"];
    groups.extend(m.roles.iter().map(|r| r.name()));
    for g in groups {
        if let Some(n) = metric(&format!("{split}_nll_{g}")) {
            let top1 = metric(&format!("{split}_top1_{g}")).map_or(String::from("-"), |t| format!("{:.1}%", t * 100.0));
            let (b, change) = match metric(&format!("baseline_{split}_nll_{g}")) {
                Some(b) => (format!("{b:.3}"), format!("{:+.1}%", (n / b - 1.0) * 100.0)),
                None => ("-".into(), "-".into()),
            };
            let _ = writeln!(s, "| {g} | {n:.3} | {top1} | {b} | {change} |");
        }
    }
    let _ = writeln!(s, "\n## How it was built\n\n{recipe}");
    s
}

/// How a card names the split `split` of `trainer eval --split` (`all`: a held-out set evaluated
/// whole, every piece of its data).
pub(super) fn split_label(split: &str) -> String {
    match split {
        "all" => "a held-out set, every piece of it".into(),
        s => format!("{s} split"),
    }
}

/// A card row for a role's calibrations by player (`map`: role, then player): how many players,
/// and the three at each end of the values (`low`: what the lowest values do, `high`: the
/// highest).
fn player_rows(
    s: &mut String,
    row: &str,
    map: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, f32>>,
    low: &str,
    high: &str,
    doc: &str,
) {
    for (role, players) in map {
        let mut by: Vec<(&String, &f32)> = players.iter().collect();
        by.sort_by(|a, b| a.1.total_cmp(b.1));
        let ends = |v: &[(&String, &f32)]| {
            v.iter()
                .map(|(p, n)| format!("{p} {n:+.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let k = by.len().min(3);
        let _ = writeln!(
            s,
            "| {row} | {role}: {} player{}, each fitted on their own training pieces ({low}: {}; {high}: {}); the Player picks one, Auto plays the role's; {doc} |",
            by.len(),
            if by.len() == 1 { "" } else { "s" },
            ends(&by[..k]),
            ends(&by[by.len() - k..]),
        );
    }
}

/// A card row of a per-role tuning, `| label | role value, ...rest |` (each value with its sign
/// where `signed`); no row when no role has one.
fn tuning_row(
    s: &mut String,
    label: &str,
    per_role: &std::collections::BTreeMap<String, f32>,
    signed: bool,
    rest: &str,
) {
    if per_role.is_empty() {
        return;
    }
    let each: Vec<String> = per_role
        .iter()
        .map(|(r, v)| {
            if signed {
                format!("{r} {v:+}")
            } else {
                format!("{r} {v}")
            }
        })
        .collect();
    let _ = writeln!(s, "| {label} | {}{rest} |", each.join(", "));
}

/// A card row for a memory of one weight and a share of bars (`pick`: its manifest values), each
/// role that has it as `ROLE (WHAT W, in S % of the bars)`; no row where no role has it.
fn weight_and_share_row(
    s: &mut String,
    m: &models::package::Manifest,
    row: &str,
    what: &str,
    pick: impl Fn(&models::package::MemorySpec) -> &Vec<f32>,
    says: &str,
) {
    let roles: Vec<String> = m
        .memory
        .iter()
        .filter(|(_, spec)| !pick(spec).is_empty())
        .map(|(r, spec)| {
            let v = pick(spec);
            let share = v.get(1).copied().unwrap_or(1.0);
            format!(
                "{r} ({what} {}, in {:.0} % of the bars)",
                (v[0] * 1000.0).round() / 1000.0,
                share * 100.0
            )
        })
        .collect();
    if !roles.is_empty() {
        let _ = writeln!(s, "| {row} | {}: {says} |", roles.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_shows_the_likelihood_of_a_set_evaluated_whole() {
        let json = include_str!("../../../models/assets/band/manifest.json");
        let mut m = models::package::Manifest::from_json(json, std::path::Path::new("band")).unwrap();
        m.metrics.clear();
        m.metrics.insert("valid_nll_all".into(), 0.9);
        m.metrics.insert("all_nll_all".into(), 0.8);
        m.metrics.insert("baseline_all_nll_all".into(), 1.6);
        let c = card(&m, 1, None, "");
        assert!(c.contains("Markov baseline (a held-out set, every piece of it)"), "{c}");
        assert!(c.contains("| all | 0.800 | - | 1.600 | -50.0% |"), "{c}");
        m.metrics.insert("test_nll_all".into(), 0.7);
        let c = card(&m, 1, None, "");
        assert!(
            c.contains("Markov baseline (test split)") && c.contains("| all | 0.700 |"),
            "{c}"
        );
    }

    #[test]
    fn a_card_names_the_learned_meters_and_keeps_a_report_section() {
        let json = include_str!("../../../models/assets/band/manifest.json");
        let mut m = models::package::Manifest::from_json(json, std::path::Path::new("band")).unwrap();
        let bars = |l: &[(&str, u64)]| l.iter().map(|&(k, b)| (k.to_string(), b)).collect();
        m.meters.clear();
        m.meters
            .insert("bass".into(), bars(&[("4/4", 900), ("3/4", 90), ("5/4", 1)]));
        let c = card(&m, 1, None, "");
        assert!(c.contains("| meters | bass 4/4 3/4 (those each role"), "{c}");
        assert!(!c.contains("| hears no input"), "{c}");
        m.no_input = vec!["bass".into()];
        assert!(card(&m, 1, None, "").contains("| hears no input | bass (its training data"));
        assert!(!c.contains("| hears no chord symbols"), "{c}");
        m.no_chords = vec!["comping".into()];
        assert!(card(&m, 1, None, "").contains("| hears no chord symbols | comping (its training data"));
        m.no_chords = vec!["drums".into(), "comping".into()];
        let c2 = card(&m, 1, None, "");
        assert!(c2.contains("| comping (its training data gave it no chord: the chords you play reach it through the Harmony pull alone) |"), "{c2}");
        assert!(c2.contains("| drums (its training data gave it no chord: it keeps the groove it learned whatever chords you play) |"), "{c2}");
        let with = format!("{c}\n## Music report (test split)\n\nthe table\n\n## How it was built\n\nx");
        let section = card_section(&with, "\n## Music report");
        assert_eq!(section, "\n## Music report (test split)\n\nthe table\n");
        assert_eq!(card_section(&c, "\n## Music report"), "");
    }
}
