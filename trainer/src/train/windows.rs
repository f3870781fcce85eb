//! Training data: windows cut from stored sequences, batches, and a run's windowed dataset.

use candle_core::{Device, Tensor};
use models::Role;
use models::tokenizer::{Tokenizer, Vocab, predicted_mask};
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::bail;

use super::TrainConfig;
use crate::dataset::{Dataset, Split, SplitData};
use crate::rng::Rng;

/// One training window: ids (at most context + 1) and the role it generates.
#[derive(Debug, Clone)]
pub struct Window {
    /// Token ids.
    pub ids: Vec<u16>,
    /// Generated role.
    pub role: Role,
}

/// Cuts a stored sequence into windows of at most `context + 1` tokens that start at bars, each
/// with its header and the chord in force restated (decode, `slice_bars`, encode). Style slots are
/// mapped through `style_map` (dataset slot -> model slot).
pub fn windows_of(
    ids: &[u16],
    tok: &Tokenizer,
    context: usize,
    stride_bars: u32,
    window_bars: u32,
    style_map: &[u16],
) -> Vec<Window> {
    windows_with_dropout(
        ids,
        tok,
        context,
        stride_bars,
        window_bars,
        style_map,
        WindowDraws::default(),
        0,
        None,
    )
}

/// What a window's conditioning may be changed into, each a probability drawn per window
/// ([`windows_with_dropout`]; the `[train]` settings of the same names).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowDraws {
    /// The window loses its `IN` conditioning.
    pub input_dropout: f64,
    /// A window that keeps its input hears its chords struck where they change instead.
    pub input_as_chords: f64,
    /// Chords struck in place of the input are moved by octaves drawn from `-n..=n`.
    pub input_chord_octaves: u8,
    /// The window's chord symbols are named by their triads.
    pub chord_triads: f64,
    /// The window loses its chord symbols.
    pub chord_dropout: f64,
}

impl WindowDraws {
    /// The draws a training config asks for.
    pub fn of(train: &super::TrainParams) -> WindowDraws {
        WindowDraws {
            input_dropout: train.input_dropout,
            input_as_chords: train.input_as_chords,
            input_chord_octaves: train.input_chord_octaves,
            chord_triads: train.chord_triads,
            chord_dropout: train.chord_dropout,
        }
    }
}

/// [`windows_of`], where each window loses its `IN` conditioning (the bass a lead hears, say)
/// with probability `input_dropout`, decided by a hash of `key` (the sequence) and the window's
/// first bar, so the choice is a pure function of the data. A role that always hears a walking
/// bass can name the harmony from it and never learns the chord symbols; without the input it
/// must read them, and it plays over chords alone, as `trainer generate --chords` and a user who
/// only holds chords ask it to. With `opening` (a style slot), the window that starts at the
/// sequence's first bar carries that tag too.
///
/// With `draws` ([`WindowDraws`]), a window that keeps its input has it replaced, with
/// probability `input_as_chords` (a second draw of the same hash), by its chords struck
/// where they change ([`crate::eval::chord_onsets`]), as the plugin hears a user who holds
/// chords: the band's bass trained only on the grooves' comping played a third more notes over
/// bare chords than the grooves' bass (models/README.md, "The memory of the changes, bar by bar").
/// With `input_chord_octaves` n, those chords are moved by k octaves, k drawn from `-n..=n` (a
/// third draw of the same hash; pitches kept within MIDI): the jazz lead, which only ever heard a
/// bass below it, dropped into the bass register under a user's held chords (models/README.md,
/// "The lead over a user's chords").
/// With probability `chord_triads` (a draw of its own) a window's chord symbols are named by their
/// triads (Cmaj7 and C7 as C, Dm7 as Dm: [`models::chord::ChordQuality::triad`]), its notes
/// unchanged, as a user who holds triads names them: the MMA grooves are all over one progression
/// of seventh chords (models/README.md, "The chords the grooves were played over").
/// With probability `chord_dropout` (a draw of its own) a window loses its chord symbols: a piano
/// trained over the chords named from its own notes otherwise never plays without them, and a
/// sketch continued without a progression gives it none (models/README.md, "The pianos learn the
/// chords they play").
#[allow(clippy::too_many_arguments)]
pub fn windows_with_dropout(
    ids: &[u16],
    tok: &Tokenizer,
    context: usize,
    stride_bars: u32,
    window_bars: u32,
    style_map: &[u16],
    draws: WindowDraws,
    key: u64,
    opening: Option<u16>,
) -> Vec<Window> {
    let WindowDraws {
        input_dropout,
        input_as_chords,
        input_chord_octaves,
        chord_triads,
        chord_dropout,
    } = draws;
    let ids32: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
    let Ok(mut seq) = models::tokenizer::decode(&ids32) else {
        return Vec::new();
    };
    crate::eval::map_styles(&mut seq.styles, style_map);
    let role = seq.role;
    let mut out = Vec::new();
    let stride = stride_bars.max(1);
    let mut start = 0;
    while start < seq.bars.max(1) {
        let mut w = seq.slice_bars(start, (start + window_bars.max(1)).min(seq.bars));
        // Named by triads first, so that chords struck in place of the input are those named.
        if chord_triads > 0.0 {
            let mut rng = Rng::new(key.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ (start as u64 + 1));
            if rng.next_f64() < chord_triads {
                for c in w.chords.iter_mut() {
                    if let Some(ch) = &mut c.chord {
                        ch.quality = ch.quality.triad();
                    }
                }
            }
        }
        if chord_dropout > 0.0 && !w.chords.is_empty() {
            let mut rng = Rng::new(key.wrapping_mul(0xA076_1D64_78BD_642F) ^ (start as u64 + 1));
            if rng.next_f64() < chord_dropout {
                w.chords.clear();
            }
        }
        if (input_dropout > 0.0 || input_as_chords > 0.0) && !w.inputs.is_empty() {
            let mut rng = Rng::new(key.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (start as u64 + 1));
            if rng.next_f64() < input_dropout {
                w.inputs.clear();
            } else if rng.next_f64() < input_as_chords && w.chords.iter().any(|c| c.chord.is_some()) {
                w.inputs = crate::eval::chord_onsets(&w.chords);
                if input_chord_octaves > 0 {
                    let n = i32::from(input_chord_octaves);
                    let k = (rng.next_f64() * f64::from(2 * n + 1)).floor() as i32 - n;
                    for o in w.inputs.iter_mut() {
                        o.pitch = (i32::from(o.pitch) + 12 * k).clamp(0, 127) as u8;
                    }
                }
            }
        }
        if let Some(slot) = opening.filter(|_| start == 0) {
            w.styles.push(slot);
            w.styles.sort_unstable();
            w.styles.dedup();
        }
        if let Ok(mut enc) = tok.encode(&w) {
            enc.truncate(context + 1);
            if predicted_mask(&enc).iter().skip(1).any(|&m| m) {
                out.push(Window {
                    ids: enc.iter().map(|&i| i as u16).collect(),
                    role,
                });
            }
        }
        if start + window_bars >= seq.bars {
            break;
        }
        start += stride;
    }
    out
}

/// Windows of every sequence of a split.
pub fn split_windows(
    data: &SplitData,
    tok: &Tokenizer,
    cfg: &TrainConfig,
    style_map: &[u16],
    opening: Option<u16>,
) -> Vec<Window> {
    windows_by_sequence(data, tok, cfg, style_map, opening)
        .into_iter()
        .flatten()
        .collect()
}

/// [`split_windows`], one list for each sequence.
fn windows_by_sequence(
    data: &SplitData,
    tok: &Tokenizer,
    cfg: &TrainConfig,
    style_map: &[u16],
    opening: Option<u16>,
) -> Vec<Vec<Window>> {
    use rayon::prelude::*;
    (0..data.seqs.len())
        .into_par_iter()
        .map(|i| {
            windows_with_dropout(
                data.seq(i),
                tok,
                cfg.model.context,
                cfg.train.window_stride_bars,
                cfg.train.window_bars,
                style_map,
                WindowDraws::of(&cfg.train),
                data.seqs[i].offset,
                opening,
            )
        })
        .collect()
}

/// Repeats the windows of each sequence shorter than most of its role's, so that pieces weigh
/// more alike: a sequence of `n` windows is taken `round(p90 / n)` times in all, at most
/// `max_factor` (0 or 1: off), where `p90` is the 90th percentile of its role's sequences' window
/// counts (whole repeats, so the data order stays a pure function of the seed). Cut into
/// windows, a long piece weighs as much as many short ones, and a network learns what a *bar*
/// usually does where a listener hears what a *piece* does: the folk tunes are swung in 25 % of
/// the tunes and 31 % of the bars, the hornpipes being the long tunes (models/README.md, "Each
/// piece once").
pub fn balance_pieces(by_sequence: Vec<Vec<Window>>, max_factor: usize) -> Vec<Window> {
    if max_factor <= 1 {
        return by_sequence.into_iter().flatten().collect();
    }
    let mut counts: BTreeMap<Role, Vec<usize>> = BTreeMap::new();
    for ws in by_sequence.iter().filter(|ws| !ws.is_empty()) {
        counts.entry(ws[0].role).or_default().push(ws.len());
    }
    let p90: BTreeMap<Role, usize> = counts
        .into_iter()
        .map(|(role, mut c)| {
            c.sort_unstable();
            (role, c[(c.len() * 9 / 10).min(c.len() - 1)])
        })
        .collect();
    let mut out = Vec::new();
    for ws in by_sequence.into_iter().filter(|ws| !ws.is_empty()) {
        let target = p90[&ws[0].role] as f64;
        let factor = ((target / ws.len() as f64).round() as usize).clamp(1, max_factor);
        for _ in 1..factor {
            out.extend(ws.iter().cloned());
        }
        out.extend(ws);
    }
    out
}

/// A batch: inputs and targets `[b, t]` (u32), loss weights `[b, t]` (f32), and the count of
/// weighted positions.
pub struct Batch {
    /// Input ids.
    pub inputs: Tensor,
    /// Next-token targets.
    pub targets: Tensor,
    /// 1 where the target is a predicted token.
    pub weights: Tensor,
    /// Tokens in the batch (inputs, unpadded).
    pub tokens: usize,
}

/// Builds a batch from windows, padding with `PAD` (weight 0) to the longest. With `given_kind`
/// the loss also covers the first token of each position's given events
/// ([`models::tokenizer::given_kind_mask`]; training only: a validation loss stays comparable).
pub fn make_batch(windows: &[&Window], dev: &Device, given_kind: bool) -> candle_core::Result<Batch> {
    let t = windows
        .iter()
        .map(|w| w.ids.len().saturating_sub(1))
        .max()
        .unwrap_or(1)
        .max(1);
    let b = windows.len();
    let mut inputs = vec![0u32; b * t];
    let mut targets = vec![0u32; b * t];
    let mut weights = vec![0f32; b * t];
    let mut tokens = 0;
    for (r, w) in windows.iter().enumerate() {
        let ids: Vec<u32> = w.ids.iter().map(|&i| i as u32).collect();
        let mut mask = predicted_mask(&ids);
        if given_kind {
            for (m, g) in mask.iter_mut().zip(models::tokenizer::given_kind_mask(&ids)) {
                *m |= g;
            }
        }
        for i in 0..ids.len().saturating_sub(1) {
            inputs[r * t + i] = ids[i];
            targets[r * t + i] = ids[i + 1];
            weights[r * t + i] = if mask[i + 1] { 1.0 } else { 0.0 };
        }
        tokens += ids.len().saturating_sub(1);
    }
    Ok(Batch {
        inputs: Tensor::from_vec(inputs, (b, t), dev)?,
        targets: Tensor::from_vec(targets, (b, t), dev)?,
        weights: Tensor::from_vec(weights, (b, t), dev)?,
        tokens,
    })
}

/// Data for a run, already windowed.
pub struct RunData {
    /// Training windows.
    pub train: Vec<Window>,
    /// Validation windows.
    pub valid: Vec<Window>,
    /// Vocabulary the model is trained with (style names).
    pub vocab: Vocab,
    /// Training data provenance for the package.
    pub sources: Vec<models::package::DataSource>,
    /// Whether the data uses MICRO tokens.
    pub microtiming: bool,
    /// Roles in the data.
    pub roles: Vec<Role>,
    /// The register of each pitched role in the training split ([`crate::dataset::SplitData::registers`]).
    pub registers: BTreeMap<String, [u8; 2]>,
    /// Bars of each time signature in the training split ([`crate::dataset::SplitData::meters`]).
    pub meters: crate::dataset::MeterBars,
    /// The roles the training split gave nothing to hear
    /// ([`crate::dataset::SplitData::roles_without_input`]).
    pub no_input: Vec<String>,
    /// The pitched roles the training split gave no chord
    /// ([`crate::dataset::SplitData::roles_without_chords`]).
    pub no_chords: Vec<String>,
}

/// Loads and windows a prepared dataset. `vocab` is the model's vocabulary when fine-tuning: the
/// data's styles are added to it and their slots remapped.
pub fn load_data(dir: &Path, cfg: &TrainConfig, vocab: Option<Vocab>, seed: u64) -> anyhow::Result<RunData> {
    let ds = Dataset::open(dir)?;
    let tok = Tokenizer::new(Vocab::new(), ds.manifest.microtiming);
    let mut vocab = vocab.unwrap_or_else(|| ds.manifest.vocab.clone());
    let mut style_map = Vec::with_capacity(ds.manifest.vocab.styles.len());
    for name in &ds.manifest.vocab.styles {
        style_map.push(vocab.add_style(name)?);
    }
    let opening = if cfg.train.opening {
        Some(vocab.add_style(models::tokenizer::vocab::OPENING_STYLE)?)
    } else {
        None
    };
    let train_split = ds.load_split(Split::Train)?;
    let registers = train_split.registers();
    let meters = train_split.meters();
    let no_input = train_split.roles_without_input();
    let no_chords = train_split.roles_without_chords();
    let mut train = balance_pieces(
        windows_by_sequence(&train_split, &tok, cfg, &style_map, opening),
        cfg.train.balance_pieces,
    );
    balance_roles(&mut train, cfg.train.balance_roles);
    oversample_styles(&mut train, &vocab, &cfg.train.oversample);
    drop_styles(&mut train, &vocab, &cfg.train.style_dropout, seed);
    let mut valid = split_windows(&ds.load_split(Split::Valid)?, &tok, cfg, &style_map, opening);
    drop_styles(&mut valid, &vocab, &cfg.train.style_dropout, seed ^ 0x5717e);
    if train.is_empty() {
        bail!("{}: no training windows", dir.display());
    }
    if valid.is_empty() {
        bail!(
            "{}: no validation windows (the valid split holds no piece of the roles trained); prepare the \
             data again: every folder of 2 or more pieces gets validation pieces",
            dir.display()
        );
    }
    Rng::new(seed ^ 0xa11d).shuffle(&mut valid);
    valid.truncate(cfg.train.valid_windows.max(1));
    Ok(RunData {
        train,
        valid,
        vocab,
        sources: ds.manifest.sources.clone(),
        microtiming: ds.manifest.microtiming,
        roles: ds.manifest.roles.clone(),
        registers,
        meters,
        no_input,
        no_chords,
    })
}

/// Repeats each window whose header holds a style named in `factors` that many times in all
/// (the largest factor among its styles).
pub fn oversample_styles(
    windows: &mut Vec<Window>,
    vocab: &Vocab,
    factors: &std::collections::BTreeMap<String, usize>,
) {
    let slots: Vec<(u32, usize)> = factors
        .iter()
        .filter_map(|(name, &k)| Some((Vocab::id(models::tokenizer::Token::Style(vocab.style_slot(name)?)), k)))
        .collect();
    if slots.is_empty() {
        return;
    }
    let mut extra = Vec::new();
    for w in windows.iter() {
        let header = w.ids.iter().take(12).map(|&i| i as u32);
        let k = header
            .filter_map(|id| slots.iter().find(|(s, _)| *s == id).map(|(_, k)| *k))
            .max()
            .unwrap_or(1);
        for _ in 1..k {
            extra.push(w.clone());
        }
    }
    windows.extend(extra);
}

/// Takes each header style tag that matches a key of `rates` (its name, or a prefix ending in
/// `*`) out of each window with that key's probability, drawn from `seed` and the window's index
/// (so the choice is a pure function of the data and the seed; a repeated window draws again).
pub fn drop_styles(windows: &mut [Window], vocab: &Vocab, rates: &std::collections::BTreeMap<String, f64>, seed: u64) {
    use models::tokenizer::Token;
    if rates.is_empty() {
        return;
    }
    let rate = |slot: u16| -> f64 {
        // The opening tag says where a window lies, not what a user asks for: never dropped.
        let Some(name) = vocab
            .style_name(slot)
            .filter(|n| *n != models::tokenizer::vocab::OPENING_STYLE)
        else {
            return 0.0;
        };
        rates
            .iter()
            .filter(|(k, _)| match k.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == k.as_str(),
            })
            .map(|(_, &p)| p)
            .fold(0.0, f64::max)
    };
    for (i, w) in windows.iter_mut().enumerate() {
        let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64 + 1));
        let mut k = 0;
        w.ids.retain(|&id| {
            k += 1;
            // Style tags sit in the header, right after BOS and the role.
            if k > 12 {
                return true;
            }
            match Vocab::token(id as u32) {
                Some(Token::Style(slot)) => rng.next_f64() >= rate(slot),
                _ => true,
            }
        });
    }
}

/// Repeats the windows of each role up to `max_factor` times, towards the count of the commonest
/// role (whole repeats only, so the data order stays a pure function of the seed).
pub fn balance_roles(windows: &mut Vec<Window>, max_factor: usize) {
    if max_factor <= 1 {
        return;
    }
    let mut counts = [0usize; Role::ALL.len()];
    for w in windows.iter() {
        counts[w.role.index()] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0);
    let mut extra = Vec::new();
    for role in Role::ALL {
        let c = counts[role.index()];
        if c == 0 {
            continue;
        }
        let factor = (most / c).clamp(1, max_factor);
        for _ in 1..factor {
            extra.extend(windows.iter().filter(|w| w.role == role).cloned());
        }
    }
    windows.extend(extra);
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::tokenizer::Token;

    #[test]
    fn short_pieces_are_repeated_towards_the_long_ones() {
        let seq = |role: Role, n: usize, tag: u16| -> Vec<Window> {
            (0..n).map(|_| Window { ids: vec![tag], role }).collect()
        };
        // Lead: nine pieces of 6 windows, one of 1, one of 2 (p90 = 6); piano: 3 and 3.
        let mut by = vec![seq(Role::Lead, 1, 1), seq(Role::Lead, 2, 2), Vec::new()];
        by.extend((0..9).map(|_| seq(Role::Lead, 6, 6)));
        by.extend([seq(Role::Piano, 3, 30), seq(Role::Piano, 3, 30)]);
        let count = |w: &[Window], tag: u16| w.iter().filter(|w| w.ids[0] == tag).count();
        let off = balance_pieces(by.clone(), 1);
        assert_eq!((count(&off, 1), count(&off, 2), count(&off, 6)), (1, 2, 54));
        let on = balance_pieces(by.clone(), 8);
        assert_eq!((count(&on, 1), count(&on, 2), count(&on, 6)), (6, 6, 54));
        assert_eq!(count(&on, 30), 6, "the piano's pieces are alike already");
        let capped = balance_pieces(by, 4);
        assert_eq!(count(&capped, 1), 4, "at most the factor");
    }

    #[test]
    fn windows_with_an_oversampled_style_are_repeated() {
        let mut vocab = Vocab::new();
        let (beat, fill) = (vocab.add_style("beat").unwrap(), vocab.add_style("fill").unwrap());
        let window = |style: u16| Window {
            ids: [Token::Bos, Token::Role(Role::Drums), Token::Style(style), Token::Bar]
                .iter()
                .map(|&t| Vocab::id(t) as u16)
                .collect(),
            role: Role::Drums,
        };
        let mut w = vec![window(beat), window(fill), window(beat)];
        oversample_styles(&mut w, &vocab, &[("fill".to_string(), 4)].into_iter().collect());
        let fills = w.iter().filter(|x| x.ids == window(fill).ids).count();
        assert_eq!((w.len(), fills), (6, 4));
        // An unknown style name changes nothing.
        let mut w = vec![window(beat)];
        oversample_styles(&mut w, &vocab, &[("nope".to_string(), 4)].into_iter().collect());
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn only_the_window_at_the_first_bar_carries_the_opening_tag() {
        use models::music::{Meter, Note, Piece, Track};
        // 24 bars of 4/4, a note a beat.
        let piece = Piece {
            meter: Meter::constant(4, 4),
            tempo_map: vec![models::music::TempoChange { beat: 0.0, bpm: 120.0 }],
            chords: vec![],
            tracks: vec![Track {
                name: "lead".into(),
                channel: 0,
                program: None,
                role: Role::Lead,
                notes: (0..96)
                    .map(|i| Note {
                        start: f64::from(i),
                        duration: 1.0,
                        pitch: 60 + (i % 12) as u8,
                        velocity: 80,
                    })
                    .collect(),
            }],
        };
        let tok = Tokenizer::default();
        let seq = &models::tokenizer::sequences_from_piece(&piece, &[0], Some(&[Role::Lead]))[0];
        let ids: Vec<u16> = tok.encode(seq).unwrap().iter().map(|&i| i as u16).collect();
        let styles = |w: &Window| -> Vec<u16> {
            w.ids
                .iter()
                .take(12)
                .filter_map(|&id| match Vocab::token(u32::from(id)) {
                    Some(Token::Style(s)) => Some(s),
                    _ => None,
                })
                .collect()
        };
        let w = windows_with_dropout(&ids, &tok, 512, 4, 8, &[], WindowDraws::default(), 0, Some(7));
        assert!(w.len() >= 4);
        assert_eq!(styles(&w[0]), vec![0, 7]);
        assert!(w[1..].iter().all(|x| styles(x) == vec![0]));
        let plain = windows_with_dropout(&ids, &tok, 512, 4, 8, &[], WindowDraws::default(), 0, None);
        assert!(plain.iter().all(|x| styles(x) == vec![0]));
        // Style dropout never takes the opening tag.
        let mut vocab = Vocab::new();
        vocab.add_style("wjazzd").unwrap();
        assert_eq!(vocab.add_style(models::tokenizer::vocab::OPENING_STYLE).unwrap(), 1);
        let mut w = windows_with_dropout(&ids, &tok, 512, 4, 8, &[], WindowDraws::default(), 0, Some(1));
        drop_styles(&mut w, &vocab, &[("*".to_string(), 1.0)].into_iter().collect(), 3);
        assert_eq!(styles(&w[0]), vec![1]);
        assert!(w[1..].iter().all(|x| styles(x).is_empty()));
    }

    #[test]
    fn a_window_may_hear_its_chords_struck_in_place_of_its_input() {
        use models::chord::{Chord, ChordQuality};
        use models::music::{ChordEvent, Onset};
        use models::tokenizer::Sequence;
        // 16 bars of bass (a note a beat) over C and F a bar each, hearing an 8th-note comping.
        let mut s = Sequence::new(Role::Bass);
        s.bars = 16;
        s.ended = true;
        s.chords = (0..16)
            .map(|b| ChordEvent {
                start: b as f64 * 4.0,
                chord: Some(Chord::new([0, 5][b % 2], ChordQuality::Maj)),
            })
            .collect();
        s.notes = (0..64)
            .map(|i| models::music::Note {
                start: i as f64,
                duration: 1.0,
                pitch: 36,
                velocity: 90,
            })
            .collect();
        s.inputs = (0..128)
            .map(|i| Onset {
                start: i as f64 * 0.5,
                pitch: 64,
            })
            .collect();
        let tok = Tokenizer::default();
        let ids: Vec<u16> = tok.encode(&s).unwrap().iter().map(|&i| i as u16).collect();
        let inputs = |w: &Window| {
            let ids: Vec<u32> = w.ids.iter().map(|&i| u32::from(i)).collect();
            let d = models::tokenizer::decode(&ids).unwrap();
            (d.inputs, d.chords)
        };
        for w in windows_with_dropout(
            &ids,
            &tok,
            256,
            2,
            4,
            &[],
            WindowDraws {
                input_as_chords: 1.0,
                ..WindowDraws::default()
            },
            3,
            None,
        ) {
            let (heard, chords) = inputs(&w);
            assert_eq!(
                heard,
                crate::eval::chord_onsets(&chords),
                "the chords struck where they change"
            );
            assert_eq!(heard.len(), 3 * 4, "a triad a bar");
        }
        let kept = windows_with_dropout(&ids, &tok, 256, 2, 4, &[], WindowDraws::default(), 3, None);
        assert!(kept.iter().all(|w| inputs(w).0.len() == 32), "the comping as it was");
        // At a rate, some windows of each kind; dropped inputs stay dropped (windows a bar apart,
        // from seed 9, with the draws given).
        let every_bar = |draws: WindowDraws| windows_with_dropout(&ids, &tok, 256, 1, 4, &[], draws, 9, None);
        let half = every_bar(WindowDraws {
            input_as_chords: 0.5,
            ..WindowDraws::default()
        });
        let struck = half.iter().filter(|w| inputs(w).0.len() == 12).count();
        assert!(struck > 0 && struck < half.len(), "{struck} of {}", half.len());
        let none = every_bar(WindowDraws {
            input_dropout: 1.0,
            input_as_chords: 1.0,
            ..WindowDraws::default()
        });
        assert!(none.iter().all(|w| inputs(w).0.is_empty()));
        // Moved by whole octaves, one shift a window, more than one over the windows.
        let moved = every_bar(WindowDraws {
            input_as_chords: 1.0,
            input_chord_octaves: 1,
            ..WindowDraws::default()
        });
        let mut shifts = std::collections::BTreeSet::new();
        for w in &moved {
            let (heard, chords) = inputs(w);
            let at = crate::eval::chord_onsets(&chords);
            assert_eq!(heard.len(), at.len());
            let k = i32::from(heard[0].pitch) - i32::from(at[0].pitch);
            assert!([-12, 0, 12].contains(&k), "{k}");
            assert!(
                heard
                    .iter()
                    .zip(&at)
                    .all(|(h, a)| i32::from(h.pitch) - i32::from(a.pitch) == k)
            );
            assert!(heard.iter().zip(&at).all(|(h, a)| h.start == a.start));
            shifts.insert(k);
        }
        assert!(shifts.len() >= 2, "{shifts:?} over {} windows", moved.len());
    }

    /// Sixteen 4/4 bars of `role`, a chord a bar (`chord(bar)`) and a half note on each bar's
    /// first beat, tokenized.
    fn sixteen_bars(role: Role, chord: impl Fn(usize) -> models::chord::Chord) -> Vec<u16> {
        let mut s = models::tokenizer::Sequence::new(role);
        s.bars = 16;
        s.ended = true;
        s.chords = (0..16)
            .map(|b| models::music::ChordEvent {
                start: b as f64 * 4.0,
                chord: Some(chord(b)),
            })
            .collect();
        s.notes = (0..16)
            .map(|b| models::music::Note {
                start: b as f64 * 4.0,
                duration: 2.0,
                pitch: 60,
                velocity: 90,
            })
            .collect();
        Tokenizer::default()
            .encode(&s)
            .unwrap()
            .iter()
            .map(|&i| i as u16)
            .collect()
    }

    #[test]
    fn chord_triads_name_a_windows_sevenths_by_their_triads() {
        use models::chord::{Chord, ChordQuality};
        let qualities = [
            ChordQuality::Min7,
            ChordQuality::Dom7,
            ChordQuality::Maj7,
            ChordQuality::Maj7,
        ];
        let ids = sixteen_bars(Role::Comping, |b| Chord::new([2, 7, 0, 0][b % 4], qualities[b % 4]));
        let tok = Tokenizer::default();
        let decoded = |w: &Window| {
            let ids: Vec<u32> = w.ids.iter().map(|&i| u32::from(i)).collect();
            models::tokenizer::decode(&ids).unwrap()
        };
        let triads = |w: &Window| {
            let d = decoded(w);
            assert_eq!(d.notes.len() as u32, d.bars, "the notes stay");
            d.chords
                .iter()
                .all(|c| c.chord.is_some_and(|c| c.quality.triad() == c.quality))
        };
        let all = windows_with_dropout(
            &ids,
            &tok,
            256,
            1,
            4,
            &[],
            WindowDraws {
                chord_triads: 1.0,
                ..WindowDraws::default()
            },
            5,
            None,
        );
        assert!(all.iter().all(&triads), "every window named by triads");
        let roots = |w: &Window| {
            decoded(w)
                .chords
                .iter()
                .map(|c| c.chord.unwrap().root)
                .collect::<Vec<_>>()
        };
        let plain = windows_with_dropout(&ids, &tok, 256, 1, 4, &[], WindowDraws::default(), 5, None);
        assert!(plain.iter().all(|w| !triads(w)), "none without it");
        assert_eq!(
            all.iter().map(roots).collect::<Vec<_>>(),
            plain.iter().map(roots).collect::<Vec<_>>()
        );
        let half = windows_with_dropout(
            &ids,
            &tok,
            256,
            1,
            4,
            &[],
            WindowDraws {
                chord_triads: 0.5,
                ..WindowDraws::default()
            },
            5,
            None,
        );
        let named = half.iter().filter(|w| triads(w)).count();
        assert!(named > 0 && named < half.len(), "{named} of {}", half.len());
    }

    /// `chord_dropout`: a share of the windows loses its chords, the notes kept; none without it.
    #[test]
    fn chord_dropout_takes_a_windows_chords_out_at_its_rate() {
        use models::chord::{Chord, ChordQuality};
        let ids = sixteen_bars(Role::Piano, |b| Chord::new([0, 5, 7, 9][b % 4], ChordQuality::Maj));
        let tok = Tokenizer::default();
        let windows = |rate: f64| {
            let draws = WindowDraws {
                chord_dropout: rate,
                ..WindowDraws::default()
            };
            windows_with_dropout(&ids, &tok, 256, 1, 4, &[], draws, 9, None)
                .iter()
                .map(|w| {
                    let ids: Vec<u32> = w.ids.iter().map(|&i| u32::from(i)).collect();
                    let d = models::tokenizer::decode(&ids).unwrap();
                    assert_eq!(d.notes.len() as u32, d.bars, "the notes stay");
                    d.chords.is_empty()
                })
                .collect::<Vec<bool>>()
        };
        assert!(windows(0.0).iter().all(|&bare| !bare), "every window keeps its chords");
        assert!(windows(1.0).iter().all(|&bare| bare), "every window loses them");
        let half = windows(0.5);
        let bare = half.iter().filter(|&&b| b).count();
        assert!(bare > 0 && bare < half.len(), "{bare} of {}", half.len());
    }

    #[test]
    fn style_dropout_takes_matching_tags_out_at_its_rate() {
        let mut vocab = Vocab::new();
        let rock = vocab.add_style("rock").unwrap();
        let drummers: Vec<u16> = (1..=3)
            .map(|d| vocab.add_style(&format!("drummer{d}")).unwrap())
            .collect();
        let window = |d: u16| Window {
            ids: [
                Token::Bos,
                Token::Role(Role::Drums),
                Token::Style(rock),
                Token::Style(d),
                Token::Bar,
            ]
            .iter()
            .map(|&t| Vocab::id(t) as u16)
            .collect(),
            role: Role::Drums,
        };
        let mut w: Vec<Window> = (0..3000).map(|i| window(drummers[i % 3])).collect();
        let rates = [("drummer*".to_string(), 0.4)].into_iter().collect();
        drop_styles(&mut w, &vocab, &rates, 7);
        let rock_id = Vocab::id(Token::Style(rock)) as u16;
        // The genre is never matched; the drummers lose their tag at about the rate.
        assert!(w.iter().all(|x| x.ids.contains(&rock_id) && x.ids.len() >= 4));
        let dropped = w.iter().filter(|x| x.ids.len() == 4).count() as f64 / w.len() as f64;
        assert!((dropped - 0.4).abs() < 0.03, "dropped {dropped}");
        // The same seed draws the same windows; an exact name matches only itself.
        let mut again: Vec<Window> = (0..3000).map(|i| window(drummers[i % 3])).collect();
        drop_styles(&mut again, &vocab, &rates, 7);
        assert!(w.iter().zip(&again).all(|(a, b)| a.ids == b.ids));
        let mut exact: Vec<Window> = (0..300).map(|i| window(drummers[i % 3])).collect();
        drop_styles(
            &mut exact,
            &vocab,
            &[("drummer1".to_string(), 1.0)].into_iter().collect(),
            7,
        );
        assert_eq!(exact.iter().filter(|x| x.ids.len() == 4).count(), 100);
    }
}
