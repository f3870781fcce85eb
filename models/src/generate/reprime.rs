//! Re-priming: the header a bar line calls for, and the kept bars re-encoded and fed again as one
//! prefill when the context runs short (the module's "Re-priming").

use super::*;

impl<M: TokenModel> Session<M> {
    /// The bar the stream is in, counted from the bar line the session started at.
    pub(super) fn bar_index(&self) -> i32 {
        (self.bar_start - self.first_origin).div_euclid(self.bar_ticks) as i32
    }

    /// The header's style slots for bar `bar` (on the caller's timeline), sorted.
    pub(super) fn header_styles(&self, bar: i64) -> Vec<u16> {
        let mut out = match &self.config.fills {
            Some(plan) => plan.styles(&self.config.styles, bar),
            None => self.config.styles.clone(),
        };
        out.sort_unstable();
        out.dedup();
        out.truncate(8);
        out
    }

    /// The style slots the stream's header holds now, less the opening tag.
    pub(super) fn current_styles(&self) -> Vec<u16> {
        self.tokens[..self.header_len.min(self.tokens.len())]
            .iter()
            .filter_map(|&id| match Vocab::token(id) {
                Some(Token::Style(s)) if Some(s) != self.config.opening => Some(s),
                _ => None,
            })
            .collect()
    }

    /// Keeps the last bars of a full context: decode, slice, re-encode, one prefill. Called right
    /// after a `BAR`. With `styles`, the new header holds those style tags (a fill switch) and
    /// the stream is rebuilt even when it has room: a fill bar starts from its header alone, as
    /// the fills the model learned from begin, and the bar after it picks the groove up from the
    /// bars before the fill (the fill itself is left out of that context, one bar later than it
    /// was played).
    pub(super) fn reprime(&mut self, styles: Option<Vec<u16>>) -> Result<(), GenerateError> {
        let Some(cur) = self.state.bar() else { return Ok(()) };
        let switching = styles.is_some();
        let this_bar = self.bar_start.div_euclid(self.bar_ticks);
        let plan = self.config.fills.filter(|_| switching);
        let into_fill = plan.is_some_and(|p| p.is_fill(this_bar));
        // The stream the kept bars come from, its origin, the bar (of that stream) they end
        // before, and how many bars later than played they are placed.
        let pre_fill = plan
            .filter(|p| !into_fill && p.is_fill(this_bar - 1))
            .and_then(|_| self.snapshots.last())
            .filter(|s| s.at == self.bar_start - self.bar_ticks && s.at > s.origin);
        let (source, source_origin, end, shift) = match pre_fill {
            Some(s) => (&s.tokens, s.origin, ((s.at - s.origin) / self.bar_ticks) as u32, 1),
            None => (&self.tokens, self.origin, cur, 0),
        };
        let mut seq: Sequence = decode(source).map_err(|e| match e {
            crate::tokenizer::DecodeError::Grammar(g) => GenerateError::Grammar(g),
        })?;
        seq.meter = Meter::constant(self.config.numerator, self.config.denominator);
        seq.tempo_bpm = self.config.tempo_bpm;
        if let Some(st) = styles {
            seq.styles = st;
        }
        // The kept bars are no longer the opening.
        seq.styles.retain(|&s| Some(s) != self.config.opening);
        let tok = Tokenizer {
            microtiming: self.config.microtiming,
            ..Tokenizer::default()
        };
        let encode = |from: u32| -> Result<Vec<u32>, GenerateError> {
            let mut kept = seq.slice_bars(from, end);
            kept.ended = false;
            if from >= end {
                // Nothing kept: no restated chord either (it would make a bar of its own).
                kept.chords.clear();
                kept.bars = 0;
            }
            let mut ids = tok.encode(&kept)?;
            ids.push(Vocab::id(Token::Bar));
            Ok(ids)
        };
        // Keep the last `keep_bars` bars, fewer if they would take more than half the context;
        // none in a fill bar.
        let half = self.model.context_len() / 2;
        let mut keep_from = if into_fill {
            end
        } else {
            end.saturating_sub(self.config.keep_bars.max(1))
        };
        let mut ids = encode(keep_from)?;
        while ids.len() > half && keep_from < end {
            keep_from += 1;
            ids = encode(keep_from)?;
        }
        if keep_from == 0 && !switching {
            if self.tokens.len() + CONTEXT_MARGIN < self.model.context_len() {
                return Ok(());
            }
            // The stream's first bars alone fill the context: keep none of them.
            keep_from = end;
            ids = encode(keep_from)?;
        }
        let new_origin = source_origin + (keep_from + shift) as i64 * self.bar_ticks;
        // Keep the stream as it was, for a rollback to before this bar line.
        self.snapshots.push(Snapshot {
            tokens: self.tokens.clone(),
            marks: self.marks.clone(),
            header_len: self.header_len,
            origin: self.origin,
            replayed: self.replayed,
            at: self.bar_start,
            model: self.model.save(),
        });
        if self.snapshots.len() > MAX_SNAPSHOTS {
            self.snapshots.remove(0);
        }
        self.rebuild(&ids, new_origin)?;
        self.reprimes += 1;
        Ok(())
    }

    /// Replaces the stream with `ids` (a header and whole bars from `origin`): replays them
    /// through the grammar and the bookkeeping without creating notes (they are not played
    /// again), then prefills the model. A rollback cannot reach into them.
    pub(super) fn rebuild(&mut self, ids: &[u32], origin: i64) -> Result<(), GenerateError> {
        self.tokens.clear();
        self.marks.clear();
        self.state = GrammarState::new();
        self.origin = origin;
        self.bar_start = origin - self.bar_ticks;
        self.group = None;
        self.chord = None;
        self.header_len = ids.iter().position(|&i| i == Vocab::id(Token::Bar)).unwrap_or(0);
        self.replaying = true;
        let mut r = Ok(());
        for &id in ids {
            r = self.push(id);
            if r.is_err() {
                break;
            }
        }
        self.replaying = false;
        self.replayed = self.tokens.len();
        r?;
        self.model.truncate(0);
        self.model.feed(&self.tokens)?;
        Ok(())
    }
}
