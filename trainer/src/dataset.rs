//! Prepared datasets on disk: token shards plus a manifest.
//!
//! ```text
//! <dataset>/
//!   manifest.json      DatasetManifest: vocabulary (with style names), splits, per-file provenance
//!   vocab.json         the vocabulary alone
//!   train.bin          u16 little-endian token ids, every sequence of the split back to back
//!   train.idx          one 20-byte record per sequence (see SeqRecord::to_bytes)
//!   valid.bin/.idx, test.bin/.idx
//! ```
//!
//! A sequence is one (piece, generated role, transposition) as `models::tokenizer` writes it, from
//! `BOS` to `EOS`. Splits are by piece, so no piece (and none of its transpositions) is in two.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use models::Role;
use models::package::DataSource;
use models::tokenizer::Vocab;
use serde::{Deserialize, Serialize};

/// Version of the dataset layout.
pub const DATASET_FORMAT: u32 = 1;
/// Bytes per index record.
pub const INDEX_RECORD_BYTES: usize = 20;

/// The three splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training data (the only split that is transposed).
    Train,
    /// Validation: early stopping and model selection.
    Valid,
    /// Held-out test.
    Test,
}

impl Split {
    /// All splits.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// File stem of the split's shard.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }

    /// The split of a piece, from a hash of its identity: 90% train, 5% valid, 5% test. A small
    /// collection can draw no held-out piece this way: [`assign_splits`] tops it up.
    pub fn of_piece(piece_id: &str) -> Split {
        match piece_hash(piece_id) % 100 {
            0..=89 => Split::Train,
            90..=94 => Split::Valid,
            _ => Split::Test,
        }
    }
}

/// FNV-1a of a piece identity, stable across platforms and releases.
fn piece_hash(piece_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in piece_id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Held-out pieces each of the valid and test splits of a source is guaranteed: a tenth of its
/// pieces, at least 1 and at most 4 (none for valid below 2 pieces, none for test below 4).
pub fn held_out_minimum(pieces: usize, split: Split) -> usize {
    let floor = match split {
        Split::Train => return 0,
        Split::Valid => 2,
        Split::Test => 4,
    };
    if pieces < floor { 0 } else { (pieces / 10).clamp(1, 4) }
}

/// The split of every piece: [`Split::of_piece`], then, per source (the part of the identity
/// before its first `/`), held-out pieces beyond a tenth of the source returned to train and the
/// train pieces with the highest hashes moved to valid and test until each holds
/// [`held_out_minimum`]. Deterministic and independent of the order of the files, so a
/// folder of 40 pieces always gives a validation set, whatever its name; large corpora keep the
/// pure hash split (their held-out splits are far above the minimum).
pub fn assign_splits<'a>(piece_ids: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, Split> {
    let mut by_source: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for id in piece_ids {
        let source = id.split_once('/').map_or("", |(s, _)| s);
        by_source.entry(source).or_default().insert(id);
    }
    let mut out = BTreeMap::new();
    for ids in by_source.values() {
        let mut split: BTreeMap<&str, Split> = ids.iter().map(|&id| (id, Split::of_piece(id))).collect();
        // A handful of pieces can hash to valid and test together: beyond a tenth (or the
        // minimum), the lowest hashes go back to train.
        for held in [Split::Valid, Split::Test] {
            let cap = held_out_minimum(ids.len(), held).max(ids.len() / 10);
            let mut extra: Vec<&str> = split.iter().filter(|(_, s)| **s == held).map(|(id, _)| *id).collect();
            extra.sort_by_key(|id| (piece_hash(id), *id));
            let excess = extra.len().saturating_sub(cap);
            for id in extra.into_iter().take(excess) {
                split.insert(id, Split::Train);
            }
        }
        for held in [Split::Valid, Split::Test] {
            let need = held_out_minimum(ids.len(), held);
            let have = split.values().filter(|&&s| s == held).count();
            if have >= need {
                continue;
            }
            let mut train: Vec<&str> = split
                .iter()
                .filter(|(_, s)| **s == Split::Train)
                .map(|(id, _)| *id)
                .collect();
            train.sort_by_key(|id| (std::cmp::Reverse(piece_hash(id)), *id));
            for id in train.into_iter().take(need - have) {
                split.insert(id, held);
            }
        }
        out.extend(split.into_iter().map(|(id, s)| (id.to_string(), s)));
    }
    out
}

/// Counts for one split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitStats {
    /// Distinct pieces.
    pub pieces: u64,
    /// Sequences (pieces x roles x transpositions).
    pub sequences: u64,
    /// Tokens.
    pub tokens: u64,
    /// Generated-role notes.
    pub notes: u64,
    /// Sequences by role.
    pub by_role: BTreeMap<Role, u64>,
}

/// One input file and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Path as given (relative to its input folder when possible).
    pub path: String,
    /// Input corpus it came from.
    pub source: String,
    /// Piece identity used for the split.
    pub piece: String,
    /// Its split.
    pub split: Split,
    /// Style tags.
    pub styles: Vec<String>,
    /// Roles it gave sequences for.
    pub roles: Vec<Role>,
    /// Notes in the file (all tracks).
    pub notes: u64,
    /// A MusicXML score's title (its movement title, else its work title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A MusicXML score's composer(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composer: Option<String>,
    /// A MusicXML score's date, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// A file that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A file that was used although only part of it could be read (a truncated MIDI file), or that
/// was read with omissions (a MusicXML score with a jump left unexpanded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialFile {
    /// The file.
    pub path: String,
    /// What was read and why it is partial: "truncated MIDI (...), read N notes up to bar B", or
    /// "MusicXML read with omissions: jump \"D.S. al Coda\" at measure 32 not expanded; ...".
    pub reason: String,
}

/// Tokenization statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenStats {
    /// Tokens per generated note over all untransposed sequences, conditioning included.
    pub tokens_per_note: f64,
    /// Tokens per note when each role is encoded alone (no chords, no input): comparable with
    /// MidiTok REMI's measured 4.4-4.6.
    pub solo_tokens_per_note: f64,
    /// Time taken by `prepare`, seconds.
    pub seconds: f64,
}

/// The dataset manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetManifest {
    /// [`DATASET_FORMAT`].
    pub format: u32,
    /// Vocabulary, with the style names of this dataset.
    pub vocab: Vocab,
    /// Whether `MICRO` tokens were written.
    pub microtiming: bool,
    /// Transposition applied to train: "none" or "all-keys".
    pub transpose: String,
    /// Roles present.
    pub roles: Vec<Role>,
    /// Per-split counts.
    pub splits: BTreeMap<Split, SplitStats>,
    /// Corpora, with licences.
    pub sources: Vec<DataSource>,
    /// Files used.
    pub files: Vec<FileRecord>,
    /// Files skipped.
    pub skipped: Vec<Skipped>,
    /// Files used but read only in part (also in `files`); absent from older manifests.
    #[serde(default)]
    pub partial: Vec<PartialFile>,
    /// Token statistics.
    pub stats: TokenStats,
}

/// One sequence in a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRecord {
    /// First token, as an index into the split's token array.
    pub offset: u64,
    /// Number of tokens.
    pub len: u32,
    /// Index of the file in [`DatasetManifest::files`].
    pub file: u32,
    /// Generated role.
    pub role: Role,
    /// Transposition applied, semitones.
    pub transpose: i8,
}

impl SeqRecord {
    /// Little-endian record: offset u64, len u32, file u32, role u8, transpose i8, 2 bytes zero.
    pub fn to_bytes(&self) -> [u8; INDEX_RECORD_BYTES] {
        let mut b = [0u8; INDEX_RECORD_BYTES];
        b[0..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..12].copy_from_slice(&self.len.to_le_bytes());
        b[12..16].copy_from_slice(&self.file.to_le_bytes());
        b[16] = self.role.index() as u8;
        b[17] = self.transpose as u8;
        b
    }

    /// Reads a record written by [`SeqRecord::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Option<SeqRecord> {
        if b.len() != INDEX_RECORD_BYTES {
            return None;
        }
        Some(SeqRecord {
            offset: u64::from_le_bytes(b[0..8].try_into().ok()?),
            len: u32::from_le_bytes(b[8..12].try_into().ok()?),
            file: u32::from_le_bytes(b[12..16].try_into().ok()?),
            role: Role::from_index(b[16] as usize)?,
            transpose: b[17] as i8,
        })
    }
}

/// The tokens and sequence index of one split, in memory.
#[derive(Debug, Clone, Default)]
pub struct SplitData {
    /// All tokens of the split.
    pub tokens: Vec<u16>,
    /// The sequences.
    pub seqs: Vec<SeqRecord>,
}

impl SplitData {
    /// Tokens of sequence `i`.
    pub fn seq(&self, i: usize) -> &[u16] {
        let r = &self.seqs[i];
        &self.tokens[r.offset as usize..r.offset as usize + r.len as usize]
    }

    /// The register of each pitched role of the split, by role name: the pitches of its own
    /// notes (`PITCH` tokens; the input's are not its) with [`models::sampling::REGISTER_TAIL`]
    /// left out at each end ([`models::sampling::register_of`]).
    pub fn registers(&self) -> BTreeMap<String, [u8; 2]> {
        let mut counts: BTreeMap<Role, [u64; 128]> = BTreeMap::new();
        for (i, r) in self.seqs.iter().enumerate() {
            if r.role.is_drums() {
                continue;
            }
            let c = counts.entry(r.role).or_insert([0; 128]);
            for &t in self.seq(i) {
                if let Some(models::tokenizer::Token::Pitch(p)) = Vocab::token(t as u32) {
                    c[p.min(127) as usize] += 1;
                }
            }
        }
        counts
            .into_iter()
            .filter_map(|(role, c)| {
                models::sampling::register_of(&c).map(|(lo, hi)| (role.name().to_string(), [lo, hi]))
            })
            .collect()
    }

    /// By role, among the roles `counted`: (sequences, sequences holding a token `held` matches).
    fn sequences_holding(
        &self,
        counted: impl Fn(Role) -> bool,
        held: impl Fn(models::tokenizer::Token) -> bool,
    ) -> BTreeMap<Role, (usize, usize)> {
        let mut counts: BTreeMap<Role, (usize, usize)> = BTreeMap::new();
        for (i, r) in self.seqs.iter().enumerate() {
            if !counted(r.role) {
                continue;
            }
            let c = counts.entry(r.role).or_insert((0, 0));
            c.0 += 1;
            c.1 += self.seq(i).iter().any(|&t| Vocab::token(t as u32).is_some_and(&held)) as usize;
        }
        counts
    }

    /// The roles of the split, by name, that hear a part by default
    /// (`models::tokenizer::SequenceSpec::default_for`) but whose sequences hold no `IN` onset:
    /// what `models::package::Manifest::no_input` records (the WJazzD bass, which has the chord
    /// symbols alone).
    pub fn roles_without_input(&self) -> Vec<String> {
        use models::tokenizer::{SequenceSpec, Token};
        self.sequences_holding(SequenceSpec::hears_a_part, |t| matches!(t, Token::InPitch(_)))
            .into_iter()
            .filter(|&(_, (_, with))| with == 0)
            .map(|(r, _)| r.name().to_string())
            .collect()
    }

    /// The roles of the split, by name, fewer than [`MIN_CHORD_SEQUENCES`] of whose sequences
    /// hold a chord token: what `models::package::Manifest::no_chords` records (the folk tunes,
    /// the chorales and the Lieder's piano, which have no other harmonic part, and a few songs
    /// carry a stray chord symbol; the Groove MIDI Dataset's drummers, who played alone).
    pub fn roles_without_chords(&self) -> Vec<String> {
        use models::tokenizer::Token;
        let chord = |t: Token| matches!(t, Token::ChordRoot(_) | Token::ChordNone);
        self.sequences_holding(|_| true, chord)
            .into_iter()
            .filter(|&(_, (n, with))| (with as f64) < MIN_CHORD_SEQUENCES * n as f64)
            .map(|(r, _)| r.name().to_string())
            .collect()
    }

    /// Bars of each time signature over each role's sequences of the split, by role name and
    /// meter key (`"3/4"`, `models::meters::key`): what `models::package::Manifest::meters`
    /// records.
    pub fn meters(&self) -> MeterBars {
        let mut bars: BTreeMap<(Role, (u8, u8)), u64> = BTreeMap::new();
        for i in 0..self.seqs.len() {
            let role = self.seqs[i].role;
            let (mut meter, mut open) = (None, false);
            for &t in self.seq(i) {
                match Vocab::token(t as u32) {
                    Some(models::tokenizer::Token::TimeSig(ts)) => meter = models::tokenizer::vocab::time_signature(ts),
                    Some(models::tokenizer::Token::Bar) => {
                        // A bar counts under the meter in force once its own `TS` (if any) is read.
                        if let (true, Some(m)) = (open, meter) {
                            *bars.entry((role, m)).or_default() += 1;
                        }
                        open = true;
                        continue;
                    }
                    _ => {}
                }
                if let (true, Some(m)) = (open, meter) {
                    *bars.entry((role, m)).or_default() += 1;
                    open = false;
                }
            }
            if let (true, Some(m)) = (open, meter) {
                *bars.entry((role, m)).or_default() += 1;
            }
        }
        let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for ((role, (n, d)), b) in bars {
            out.entry(role.name().to_string())
                .or_default()
                .insert(models::meters::key(n, d), b);
        }
        out
    }

    /// Appends a sequence.
    pub fn push(&mut self, ids: &[u32], file: u32, role: Role, transpose: i8) {
        let offset = self.tokens.len() as u64;
        self.tokens.extend(ids.iter().map(|&i| i as u16));
        self.seqs.push(SeqRecord {
            offset,
            len: ids.len() as u32,
            file,
            role,
            transpose,
        });
    }
}

/// The share of a role's training sequences that must hold a chord token for it to have
/// learned chords ([`SplitData::roles_without_chords`]).
pub const MIN_CHORD_SEQUENCES: f64 = 0.01;

/// The roles a model continued from `base` on data whose split gave `data` (its roles, and those
/// of them without input, [`SplitData::roles_without_input`]) has heard nothing for: each role
/// neither heard, in the data or in the base model (`models::package::Manifest::no_input`).
pub fn merge_no_input(data: &[String], data_roles: &[Role], base: &models::package::Manifest) -> Vec<String> {
    merge_unheard(data, data_roles, &base.roles, &base.no_input)
}

/// [`merge_no_input`] for chords: the roles neither the data
/// ([`SplitData::roles_without_chords`]) nor the base model gave a chord
/// (`models::package::Manifest::no_chords`).
pub fn merge_no_chords(data: &[String], data_roles: &[Role], base: &models::package::Manifest) -> Vec<String> {
    merge_unheard(data, data_roles, &base.roles, &base.no_chords)
}

/// The roles in neither list of what was never heard: `data`'s (over `data_roles`) and
/// `base_unheard` (over `base_roles`); a role only one side trained keeps that side's word.
fn merge_unheard(data: &[String], data_roles: &[Role], base_roles: &[Role], base_unheard: &[String]) -> Vec<String> {
    let mut out: Vec<String> = data
        .iter()
        .filter(|r| !base_roles.iter().any(|b| b.name() == r.as_str()) || base_unheard.contains(r))
        .cloned()
        .collect();
    for r in base_unheard {
        if !data_roles.iter().any(|d| d.name() == r.as_str()) && !out.contains(r) {
            out.push(r.clone());
        }
    }
    out.sort();
    out
}

/// `registers` widened by `more`: each role's register spans both (a fine-tune plays what its
/// base model played and what the user's pieces add).
pub fn widen_registers(
    mut registers: BTreeMap<String, [u8; 2]>,
    more: &BTreeMap<String, [u8; 2]>,
) -> BTreeMap<String, [u8; 2]> {
    for (role, &[lo, hi]) in more {
        let r = registers.entry(role.clone()).or_insert([lo, hi]);
        *r = [r[0].min(lo), r[1].max(hi)];
    }
    registers
}

/// Each role's bars by meter (`SplitData::meters`).
pub type MeterBars = BTreeMap<String, BTreeMap<String, u64>>;

/// `meters` with the bars of `more` added (a fine-tune has learned its base model's meters and
/// its own pieces').
pub fn add_meters(mut meters: MeterBars, more: &MeterBars) -> MeterBars {
    for (role, bars) in more {
        let mine = meters.entry(role.clone()).or_default();
        for (k, &b) in bars {
            *mine.entry(k.clone()).or_default() += b;
        }
    }
    meters
}

/// A prepared dataset opened from disk.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Its folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: DatasetManifest,
}

impl Dataset {
    /// Opens a dataset folder and checks its format and vocabulary.
    pub fn open(dir: &Path) -> anyhow::Result<Dataset> {
        let path = dir.join("manifest.json");
        let json = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: DatasetManifest =
            serde_json::from_str(&json).with_context(|| format!("{} is not a dataset manifest", path.display()))?;
        if manifest.format != DATASET_FORMAT {
            bail!(
                "{}: dataset format {} (this build reads {DATASET_FORMAT})",
                path.display(),
                manifest.format
            );
        }
        manifest
            .vocab
            .check()
            .with_context(|| format!("{}: prepared with another tokenizer; run prepare again", path.display()))?;
        Ok(Dataset {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Loads one split's tokens and index.
    pub fn load_split(&self, split: Split) -> anyhow::Result<SplitData> {
        let bin = self.dir.join(format!("{}.bin", split.name()));
        let idx = self.dir.join(format!("{}.idx", split.name()));
        let raw = std::fs::read(&bin).with_context(|| format!("reading {}", bin.display()))?;
        if raw.len() % 2 != 0 {
            bail!("{} has an odd length", bin.display());
        }
        let tokens: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        let raw = std::fs::read(&idx).with_context(|| format!("reading {}", idx.display()))?;
        if raw.len() % INDEX_RECORD_BYTES != 0 {
            bail!("{} is not a whole number of records", idx.display());
        }
        let mut seqs = Vec::with_capacity(raw.len() / INDEX_RECORD_BYTES);
        for (i, rec) in raw.chunks_exact(INDEX_RECORD_BYTES).enumerate() {
            let r = SeqRecord::from_bytes(rec).with_context(|| format!("{} record {i} is damaged", idx.display()))?;
            if r.offset + r.len as u64 > tokens.len() as u64 {
                bail!("{} record {i} points past the end of {}", idx.display(), bin.display());
            }
            seqs.push(r);
        }
        Ok(SplitData { tokens, seqs })
    }

    /// Writes a dataset: manifest, vocabulary and every split's shard and index (atomically per file).
    pub fn write(dir: &Path, manifest: &DatasetManifest, splits: &BTreeMap<Split, SplitData>) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot write {}", dir.display()))?;
        for split in Split::ALL {
            let empty = SplitData::default();
            let data = splits.get(&split).unwrap_or(&empty);
            let mut bin = Vec::with_capacity(data.tokens.len() * 2);
            for t in &data.tokens {
                bin.extend_from_slice(&t.to_le_bytes());
            }
            write_atomic(&dir.join(format!("{}.bin", split.name())), &bin)?;
            let mut idx = Vec::with_capacity(data.seqs.len() * INDEX_RECORD_BYTES);
            for r in &data.seqs {
                idx.extend_from_slice(&r.to_bytes());
            }
            write_atomic(&dir.join(format!("{}.idx", split.name())), &idx)?;
        }
        write_atomic(&dir.join("vocab.json"), manifest.vocab.to_json().as_bytes())?;
        write_atomic(
            &dir.join("manifest.json"),
            serde_json::to_string_pretty(manifest)?.as_bytes(),
        )?;
        Ok(())
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a crash never leaves half a file.
/// Errors say "cannot write <path>" (the temporary file is an implementation detail).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let cannot = || format!("cannot write {}", path.display());
    std::fs::write(&tmp, bytes).with_context(cannot)?;
    std::fs::rename(&tmp, path).with_context(cannot)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip() {
        let r = SeqRecord {
            offset: 1 << 40,
            len: 77,
            file: 3,
            role: Role::Drums,
            transpose: -5,
        };
        assert_eq!(SeqRecord::from_bytes(&r.to_bytes()), Some(r));
    }

    /// A split's registers count each role's own notes (not the input it hears), none for the
    /// drums; a fine-tune's spans its base model's too.
    #[test]
    fn the_registers_are_each_roles_own_notes() {
        use models::tokenizer::Token;
        let mut d = SplitData::default();
        let id = |t: Token| Vocab::id(t);
        let notes = |pitches: &[u8]| -> Vec<u32> {
            let mut ids = vec![id(Token::Bos), id(Token::Bar), id(Token::Pos(0))];
            for &p in pitches {
                ids.extend([id(Token::InPitch(100)), id(Token::Pitch(p))]);
            }
            ids
        };
        d.push(&notes(&[40, 45, 50]), 0, Role::Bass, 0);
        d.push(&notes(&[43, 55]), 1, Role::Bass, 0);
        d.push(&notes(&[70, 75]), 2, Role::Lead, 0);
        d.push(&notes(&[36, 38]), 3, Role::Drums, 0);
        let r = d.registers();
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r["bass"], [40, 55]);
        assert_eq!(r["lead"], [70, 75]);
        let base = BTreeMap::from([("bass".to_string(), [28, 48]), ("piano".to_string(), [21, 108])]);
        let r = widen_registers(r, &base);
        assert_eq!(r["bass"], [28, 55]);
        assert_eq!(r["piano"], [21, 108]);
    }

    /// A role hears no input when none of its sequences holds an `IN` onset; the drums and the
    /// piano never count; a fine-tune hears what either its data or its base model heard.
    /// A bar of one note, the sequence the "never heard" tests vary.
    fn one_note() -> Vec<u32> {
        use models::tokenizer::Token;
        [Token::Bos, Token::Bar, Token::Pos(0), Token::Pitch(40)]
            .map(Vocab::id)
            .to_vec()
    }

    /// A base model's manifest of `roles`, for the fine-tune merges.
    fn base_of(roles: Vec<Role>) -> models::package::Manifest {
        let kind = models::package::ModelKind::Markov {
            file: "m".into(),
            order: 1,
        };
        models::package::Manifest::new("base", "", kind, Vocab::new(), roles)
    }

    #[test]
    fn roles_without_input_are_those_whose_data_gave_them_none() {
        use models::tokenizer::Token;
        let mut d = SplitData::default();
        let plain = one_note();
        let mut heard = plain.clone();
        heard.insert(3, Vocab::id(Token::InPitch(60)));
        d.push(&plain, 0, Role::Bass, 0);
        d.push(&plain, 1, Role::Bass, 0);
        d.push(&plain, 2, Role::Lead, 0);
        d.push(&heard, 3, Role::Lead, 0);
        d.push(&plain, 4, Role::Drums, 0);
        d.push(&plain, 5, Role::Piano, 0);
        assert_eq!(d.roles_without_input(), ["bass"]);
        let mut base = base_of(vec![Role::Bass, Role::Comping]);
        let roles = [Role::Bass, Role::Lead];
        assert!(
            merge_no_input(&d.roles_without_input(), &roles, &base).is_empty(),
            "the base's bass heard"
        );
        base.no_input = vec!["bass".into(), "comping".into()];
        assert_eq!(
            merge_no_input(&d.roles_without_input(), &roles, &base),
            ["bass", "comping"]
        );
        assert_eq!(merge_no_input(&[], &roles, &base), ["comping"], "the data's bass heard");
    }

    #[test]
    fn roles_without_chords_are_those_fewer_than_one_in_a_hundred_of_whose_sequences_had_one() {
        use models::tokenizer::Token;
        let mut d = SplitData::default();
        let plain = one_note();
        let mut chord = plain.clone();
        chord.insert(3, Vocab::id(Token::ChordRoot(2)));
        chord.insert(4, Vocab::id(Token::ChordQual(models::chord::ChordQuality::Min7)));
        // The piano: one sequence with a stray chord in 150; the bass: one in ten; the lead: none.
        for i in 0..150 {
            d.push(if i == 0 { &chord } else { &plain }, i, Role::Piano, 0);
        }
        for i in 0..10 {
            d.push(if i == 0 { &chord } else { &plain }, 150 + i, Role::Bass, 0);
        }
        d.push(&plain, 160, Role::Lead, 0);
        d.push(&plain, 161, Role::Drums, 0);
        assert_eq!(d.roles_without_chords(), ["lead", "drums", "piano"]);
        // A band's drums, rendered over the chords the others play, heard them.
        let mut band = SplitData::default();
        band.push(&chord, 0, Role::Drums, 0);
        assert!(band.roles_without_chords().is_empty());
        let mut base = base_of(vec![Role::Lead]);
        let roles = [Role::Lead, Role::Piano, Role::Bass];
        assert_eq!(
            merge_no_chords(&d.roles_without_chords(), &roles, &base),
            ["drums", "piano"],
            "the base's lead learned chords"
        );
        base.no_chords = vec!["lead".into()];
        assert_eq!(
            merge_no_chords(&d.roles_without_chords(), &roles, &base),
            ["drums", "lead", "piano"]
        );
    }

    #[test]
    fn meters_count_each_bar_under_its_signature() {
        use models::tokenizer::Token;
        let mut d = SplitData::default();
        let id = |t: Token| Vocab::id(t);
        let ts = |n, dd| {
            id(Token::TimeSig(
                models::tokenizer::vocab::time_signature_index(n, dd).unwrap(),
            ))
        };
        // 4/4 in the header, two bars; then 3/4 from the third bar on, two bars (the last empty).
        let a = vec![
            id(Token::Bos),
            ts(4, 4),
            id(Token::Bar),
            id(Token::Pos(0)),
            id(Token::Bar),
            id(Token::Bar),
            ts(3, 4),
            id(Token::Pos(0)),
            id(Token::Bar),
        ];
        d.push(&a, 0, Role::Lead, 0);
        d.push(
            &[id(Token::Bos), ts(3, 2), id(Token::Bar), id(Token::Pos(0))],
            1,
            Role::Piano,
            0,
        );
        let m = d.meters();
        assert_eq!(m["lead"], BTreeMap::from([("4/4".into(), 2), ("3/4".into(), 2)]));
        assert_eq!(m["piano"], BTreeMap::from([("3/2".into(), 1)]));
        let base = BTreeMap::from([("lead".into(), BTreeMap::from([("4/4".into(), 10)]))]);
        let m = add_meters(m, &base);
        assert_eq!(m["lead"]["4/4"], 12);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn split_is_stable_and_roughly_proportional() {
        assert_eq!(Split::of_piece("Anthropology"), Split::of_piece("Anthropology"));
        let n = 10_000;
        let train = (0..n)
            .filter(|i| Split::of_piece(&format!("piece-{i}")) == Split::Train)
            .count();
        assert!((8_700..9_300).contains(&train), "{train}");
    }

    #[test]
    fn every_small_collection_gets_held_out_pieces_whatever_its_name() {
        for source in ["chorales", "my-songs", "x", "Satie"] {
            for n in [2usize, 4, 10, 40, 100] {
                let ids: Vec<String> = (0..n).map(|i| format!("{source}/piece {i}")).collect();
                let splits = assign_splits(ids.iter().map(String::as_str));
                let count = |s: Split| splits.values().filter(|&&x| x == s).count();
                assert_eq!(splits.len(), n);
                assert!(count(Split::Valid) >= held_out_minimum(n, Split::Valid), "{source} {n}");
                assert!(count(Split::Test) >= held_out_minimum(n, Split::Test), "{source} {n}");
                assert!(count(Split::Valid) >= 1, "{source} {n}: no validation piece");
                assert!(count(Split::Train) >= n / 2, "{source} {n}: too few train pieces");
                // The same pieces in another order: the same splits.
                let again = assign_splits(ids.iter().rev().map(String::as_str));
                assert_eq!(splits, again);
            }
        }
        // A large corpus keeps its pure hash split.
        let ids: Vec<String> = (0..2000).map(|i| format!("big/{i}")).collect();
        let splits = assign_splits(ids.iter().map(String::as_str));
        assert!(splits.iter().all(|(id, s)| *s == Split::of_piece(id)));
    }
}
