//! The token grammar: which token may follow which.
//!
//! [`GrammarState`] is a small `Copy` state machine. The decoder runs every token through it (a
//! token it refuses is a decode error, never a panic); the runtime asks it which ids are allowed
//! next and masks every other logit, so a sampled stream always decodes.
//!
//! ```text
//! sequence := BOS ROLE STYLE{0,8} TS TEMPO? bar* EOS? PAD*   (EOS may follow the header)
//! bar      := BAR TS? group*                     (TS only when the signature changes)
//! group    := POS chord? IN* note*               (POS strictly increasing within the bar,
//!                                                 below the bar's length; at least one event)
//! chord    := ROOT QUAL | CHORD:NC
//! IN*      := IN:p1 IN:p2 ...                    (strictly rising pitches)
//! note     := PITCH VEL DUR MICRO?               (pitched roles; pitches rising within a group)
//!           | DRUM VEL MICRO?                    (drums role; keys rising within a group)
//! ```

use super::vocab::{MAX_STYLES_PER_SEQUENCE, TICKS_PER_BEAT, Token, VOCAB_SIZE, Vocab, time_signature};
use crate::music::Role;

/// Where in the grammar a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Nothing read yet: `BOS` expected.
    Start,
    /// After `BOS`: `ROLE` expected.
    Role,
    /// After `ROLE` or a `STYLE`: more styles or the header `TS`.
    Styles,
    /// After the header `TS`: `TEMPO` or the first `BAR`.
    HeaderTempo,
    /// After `TEMPO`: the first `BAR`.
    FirstBar,
    /// Right after `BAR`: a `TS` change, a `POS`, another `BAR` or `EOS`.
    BarStart,
    /// In a bar, between groups.
    InBar,
    /// After `POS`, before its first event.
    GroupStart,
    /// After `ROOT`: `QUAL` expected.
    ChordQuality,
    /// After a complete chord or an `IN`: more input, notes, or time moves on.
    AfterGiven,
    /// After `PITCH`/`DRUM`: `VEL` expected.
    NoteVelocity,
    /// After a pitched note's `VEL`: `DUR` expected.
    NoteDuration,
    /// After a complete note: `MICRO`, another note, or time moves on.
    NoteDone,
    /// After `MICRO`: another note or time moves on.
    AfterMicro,
    /// After `EOS`: only `PAD`.
    Ended,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token {id} ({token}) at index {index} not allowed here ({phase:?})")]
pub struct GrammarError {
    /// Position in the stream.
    pub index: usize,
    /// The refused id.
    pub id: u32,
    /// Its readable name.
    pub token: String,
    /// Where the grammar was.
    pub phase: Phase,
}

/// The grammar's state after a prefix of a stream. `Copy`, so the runtime can keep one per
/// rollback point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrammarState {
    /// Where the stream is.
    pub phase: Phase,
    /// Generated role, once the header has named it.
    pub role: Option<Role>,
    /// Styles read so far.
    pub styles: u8,
    /// Last style slot read (styles rise strictly).
    pub last_style: Option<u16>,
    /// Time signature in force (`TS` offset).
    pub time_sig: u8,
    /// Bars started so far (the current bar is `bars - 1`).
    pub bars: u32,
    /// Length of the current bar in ticks.
    pub bar_ticks: u32,
    /// Position of the current group in the bar, if one has started in this bar.
    pub pos: Option<u32>,
    /// Last `IN` pitch in the current group.
    pub last_input: Option<u8>,
    /// Last generated pitch or drum key in the current group.
    pub last_note: Option<u8>,
    /// Tokens accepted so far.
    pub len: usize,
}

impl Default for GrammarState {
    fn default() -> Self {
        GrammarState::new()
    }
}

impl GrammarState {
    /// The state before any token.
    pub fn new() -> GrammarState {
        GrammarState {
            phase: Phase::Start,
            role: None,
            styles: 0,
            last_style: None,
            time_sig: 0,
            bars: 0,
            bar_ticks: 0,
            pos: None,
            last_input: None,
            last_note: None,
            len: 0,
        }
    }

    /// Current bar index, once a bar has started.
    pub fn bar(&self) -> Option<u32> {
        self.bars.checked_sub(1)
    }

    fn is_drums(&self) -> bool {
        self.role.is_some_and(Role::is_drums)
    }

    /// True if a time-advancing token may come now (a group or bar may end here).
    fn may_advance(&self) -> bool {
        matches!(
            self.phase,
            Phase::BarStart | Phase::InBar | Phase::AfterGiven | Phase::NoteDone | Phase::AfterMicro
        )
    }

    /// True if a generated note may start now.
    fn may_start_note(&self) -> bool {
        matches!(
            self.phase,
            Phase::GroupStart | Phase::AfterGiven | Phase::NoteDone | Phase::AfterMicro
        )
    }

    /// Whether `id` may come next.
    pub fn allows(&self, id: u32) -> bool {
        let Some(t) = Vocab::token(id) else { return false };
        self.allows_token(t)
    }

    /// Whether `token` may come next.
    pub fn allows_token(&self, token: Token) -> bool {
        use Phase as P;
        match token {
            Token::Pad => matches!(self.phase, P::Ended),
            Token::Bos => self.phase == P::Start,
            Token::Role(_) => self.phase == P::Role,
            Token::Style(s) => {
                self.phase == P::Styles
                    && (self.styles as usize) < MAX_STYLES_PER_SEQUENCE
                    && self.last_style.is_none_or(|l| s > l)
            }
            Token::TimeSig(_) => matches!(self.phase, P::Styles | P::BarStart),
            Token::Tempo(_) => self.phase == P::HeaderTempo,
            Token::Bar => matches!(self.phase, P::HeaderTempo | P::FirstBar) || self.may_advance(),
            // An empty piece may end right after its header.
            Token::Eos => matches!(self.phase, P::HeaderTempo | P::FirstBar) || self.may_advance(),
            Token::Pos(p) => {
                self.may_advance()
                    && self.bars > 0
                    && (p as u32) < self.bar_ticks
                    && self.pos.is_none_or(|c| p as u32 > c)
            }
            Token::ChordRoot(_) | Token::ChordNone => self.phase == P::GroupStart,
            Token::ChordQual(_) => self.phase == P::ChordQuality,
            Token::InPitch(p) => {
                matches!(self.phase, P::GroupStart | P::AfterGiven) && self.last_input.is_none_or(|l| p > l)
            }
            Token::Pitch(p) => !self.is_drums() && self.may_start_note() && self.last_note.is_none_or(|l| p > l),
            Token::Drum(k) => self.is_drums() && self.may_start_note() && self.last_note.is_none_or(|l| k > l),
            Token::Vel(_) => self.phase == P::NoteVelocity,
            Token::Dur(_) => self.phase == P::NoteDuration,
            Token::Micro(_) => self.phase == P::NoteDone,
        }
    }

    /// Advances over `id`, or says why it is not allowed (the state is then unchanged).
    pub fn step(&mut self, id: u32) -> Result<Token, GrammarError> {
        let refuse = |s: &GrammarState| GrammarError {
            index: s.len,
            id,
            token: Vocab::new().describe(id),
            phase: s.phase,
        };
        let Some(token) = Vocab::token(id) else {
            return Err(refuse(self));
        };
        if !self.allows_token(token) {
            return Err(refuse(self));
        }
        self.apply(token);
        self.len += 1;
        Ok(token)
    }

    fn apply(&mut self, token: Token) {
        use Phase as P;
        match token {
            Token::Pad => {}
            Token::Bos => self.phase = P::Role,
            Token::Role(r) => {
                self.role = Some(r);
                self.phase = P::Styles;
            }
            Token::Style(s) => {
                self.styles += 1;
                self.last_style = Some(s);
            }
            Token::TimeSig(i) => {
                self.time_sig = i;
                if self.phase == P::Styles {
                    self.phase = P::HeaderTempo;
                } else {
                    self.bar_ticks = bar_ticks(i);
                    self.phase = P::InBar;
                }
            }
            Token::Tempo(_) => self.phase = P::FirstBar,
            Token::Bar => {
                self.bars += 1;
                self.bar_ticks = bar_ticks(self.time_sig);
                self.pos = None;
                self.last_input = None;
                self.last_note = None;
                self.phase = P::BarStart;
            }
            Token::Eos => self.phase = P::Ended,
            Token::Pos(p) => {
                self.pos = Some(p as u32);
                self.last_input = None;
                self.last_note = None;
                self.phase = P::GroupStart;
            }
            Token::ChordRoot(_) => self.phase = P::ChordQuality,
            Token::ChordNone | Token::ChordQual(_) => self.phase = P::AfterGiven,
            Token::InPitch(p) => {
                self.last_input = Some(p);
                self.phase = P::AfterGiven;
            }
            Token::Pitch(p) | Token::Drum(p) => {
                self.last_note = Some(p);
                self.phase = P::NoteVelocity;
            }
            Token::Vel(_) => self.phase = if self.is_drums() { P::NoteDone } else { P::NoteDuration },
            Token::Dur(_) => self.phase = P::NoteDone,
            Token::Micro(_) => self.phase = P::AfterMicro,
        }
    }

    /// Writes `true` into `mask[id]` for every allowed id and `false` elsewhere.
    /// `mask` must hold at least [`VOCAB_SIZE`] entries; extra entries are set to `false`.
    pub fn allowed_mask(&self, mask: &mut [bool]) {
        for (id, m) in mask.iter_mut().enumerate() {
            *m = (id as u32) < VOCAB_SIZE && self.allows(id as u32);
        }
    }

    /// Tick position of the stream in the current bar: where the last group sits (0 at a bar start).
    pub fn tick_in_bar(&self) -> u32 {
        self.pos.unwrap_or(0)
    }
}

/// Length in ticks of a bar in the time signature with `TS` offset `index`.
pub fn bar_ticks(index: u8) -> u32 {
    let (n, d) = time_signature(index).unwrap_or((4, 4));
    n as u32 * 4 * TICKS_PER_BEAT / d as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::vocab::time_signature_index;

    fn ids(tokens: &[Token]) -> Vec<u32> {
        tokens.iter().map(|&t| Vocab::id(t)).collect()
    }

    #[test]
    fn accepts_a_well_formed_stream_and_refuses_a_bad_one() {
        let ts = time_signature_index(3, 4).unwrap();
        let good = ids(&[
            Token::Bos,
            Token::Role(Role::Lead),
            Token::Style(2),
            Token::TimeSig(ts),
            Token::Bar,
            Token::Pos(0),
            Token::ChordRoot(2),
            Token::ChordQual(crate::chord::ChordQuality::Min7),
            Token::InPitch(50),
            Token::Pitch(62),
            Token::Vel(5),
            Token::Dur(5),
            Token::Pos(35),
            Token::Pitch(60),
            Token::Vel(5),
            Token::Dur(5),
            Token::Micro(-2),
            Token::Bar,
            Token::Eos,
            Token::Pad,
        ]);
        let mut g = GrammarState::new();
        for &id in &good {
            g.step(id).unwrap();
        }
        // POS 36 is past the end of a 3/4 bar.
        let mut g = GrammarState::new();
        for &id in &good[..12] {
            g.step(id).unwrap();
        }
        let before = g;
        assert!(g.step(Vocab::id(Token::Pos(36))).is_err());
        assert_eq!(g, before);
        // Drums never take PITCH; lead never takes DRUM.
        assert!(!g.allows_token(Token::Drum(36)));
    }

    #[test]
    fn mask_matches_allows() {
        let mut g = GrammarState::new();
        for id in ids(&[
            Token::Bos,
            Token::Role(Role::Drums),
            Token::TimeSig(20),
            Token::Bar,
            Token::Pos(0),
        ]) {
            g.step(id).unwrap();
        }
        let mut mask = vec![false; VOCAB_SIZE as usize + 3];
        g.allowed_mask(&mut mask);
        assert!(mask[Vocab::id(Token::Drum(36)) as usize]);
        assert!(!mask[Vocab::id(Token::Pitch(36)) as usize]);
        assert!(!mask[Vocab::id(Token::Pos(0)) as usize]);
        assert!(!mask[VOCAB_SIZE as usize]);
    }
}
