//! Classifier-free guidance: a model read twice, with the producer's header and with a header
//! that asks for nothing in particular, and each choice moved away from the second.
//!
//! A network that reads its style tags weakly plays every genre a little like every other (the
//! drums' rock loses its backbeat to the genres around it: models/README.md, "Style guidance").
//! Guidance (Ho and Salimans 2022) sharpens what the tags add: with logits `c` under the full
//! header and `u` under the header without its style tags (those named to keep, such as `beat`
//! and `fill`, stay), the choice is drawn from `u + g (c - u)`; `g` = 1 is the network alone,
//! `g` > 1 leans further towards what the tags ask. It needs a network that has met the bare
//! header in training (`header_dropout` in the trainer's config); one that never did answers it
//! with noise, and the difference with it.
//!
//! [`Guided`] is a [`TokenModel`], so a session drives it like any model: it feeds every token
//! to both copies but the dropped style tags to the second, and maps a truncation of the first
//! onto the second. The scale is the role's, read off the stream's role token; a role at 1 reads
//! the second copy not at all (its tokens wait, unread, as an ONNX model's do until asked).

use crate::model::{ModelError, ModelState, TokenModel};
use crate::music::Role;
use crate::tokenizer::{Token, VOCAB_SIZE, Vocab};

/// A guidance scale for each role ([`Role::index`]); 1 is none.
pub type Scales = [f32; Role::ALL.len()];

/// A model, and when guidance is on, its twin reading the bare header.
pub struct Guided<M> {
    model: M,
    free: Option<Free<M>>,
}

/// The unconditional twin.
struct Free<M> {
    model: M,
    /// The guidance scale `g` of each role.
    scales: Scales,
    /// The stream's role token: its position and the role's scale (1 before it).
    role: Option<(usize, f32)>,
    /// By token id: a style tag the twin does not read.
    dropped: Vec<bool>,
    /// By position of the guided stream: whether the twin read that token.
    read: Vec<bool>,
    ids: Vec<u32>,
    logits: Vec<f32>,
}

/// What [`Guided::save`] keeps.
struct Saved {
    model: ModelState,
    free: ModelState,
    read: Vec<bool>,
    role: Option<(usize, f32)>,
}

impl<M: TokenModel> Guided<M> {
    /// The model alone, as if unwrapped.
    pub fn plain(model: M) -> Guided<M> {
        Guided { model, free: None }
    }

    /// `model` guided at each role's scale of `scales` by `twin` (a second copy of the same
    /// network, fresh), which reads every header style tag of `vocab` but those named in `keep`
    /// out of its header.
    pub fn new(model: M, twin: M, scales: Scales, vocab: &Vocab, keep: &[String]) -> Guided<M> {
        let mut dropped = vec![false; VOCAB_SIZE as usize];
        for (slot, name) in vocab.styles.iter().enumerate() {
            let kept = keep.iter().any(|k| k == name) || name == crate::tokenizer::vocab::OPENING_STYLE;
            if let Some(d) = dropped.get_mut(Vocab::id(Token::Style(slot as u16)) as usize) {
                *d = !kept;
            }
        }
        Guided {
            model,
            free: Some(Free {
                model: twin,
                scales,
                role: None,
                dropped,
                read: Vec::with_capacity(4096),
                ids: Vec::with_capacity(256),
                logits: vec![0.0; VOCAB_SIZE as usize],
            }),
        }
    }

    /// The guidance scale of the stream's role (1: none, or no role token yet).
    pub fn scale(&self) -> f32 {
        self.free.as_ref().and_then(|f| f.role).map_or(1.0, |(_, g)| g)
    }

    /// The guided model, back from the wrapper.
    pub fn into_inner(self) -> M {
        self.model
    }
}

impl<M: TokenModel> TokenModel for Guided<M> {
    fn feed(&mut self, ids: &[u32]) -> Result<(), ModelError> {
        let at = self.model.len();
        self.model.feed(ids)?;
        let Some(f) = self.free.as_mut() else {
            return Ok(());
        };
        f.ids.clear();
        for (i, &id) in ids.iter().enumerate() {
            if let Some(Token::Role(r)) = Vocab::token(id) {
                f.role = Some((at + i, f.scales[r.index()]));
            }
            let read = !f.dropped.get(id as usize).copied().unwrap_or(false);
            f.read.push(read);
            if read {
                f.ids.push(id);
            }
        }
        if f.ids.is_empty() {
            return Ok(());
        }
        f.model.feed(&f.ids)
    }

    fn truncate(&mut self, len: usize) {
        self.model.truncate(len);
        if let Some(f) = self.free.as_mut()
            && len < f.read.len()
        {
            f.read.truncate(len);
            let kept = f.read.iter().filter(|&&r| r).count();
            f.model.truncate(kept);
            if f.role.is_some_and(|(at, _)| at >= len) {
                f.role = None;
            }
        }
    }

    fn len(&self) -> usize {
        self.model.len()
    }

    fn next_logits(&mut self, out: &mut [f32]) -> Result<(), ModelError> {
        self.model.next_logits(out)?;
        let Some(f) = self.free.as_mut() else {
            return Ok(());
        };
        let g = f.role.map_or(1.0, |(_, g)| g);
        if g == 1.0 {
            return Ok(());
        }
        f.model.next_logits(&mut f.logits)?;
        for (o, &u) in out.iter_mut().zip(&f.logits) {
            *o = u + g * (*o - u);
        }
        Ok(())
    }

    fn context_len(&self) -> usize {
        self.model.context_len()
    }

    fn save(&self) -> Option<ModelState> {
        let model = self.model.save()?;
        let Some(f) = self.free.as_ref() else {
            return Some(model);
        };
        Some(ModelState::new(Saved {
            model,
            free: f.model.save()?,
            read: f.read.clone(),
            role: f.role,
        }))
    }

    fn restore(&mut self, state: &ModelState) -> bool {
        let Some(f) = self.free.as_mut() else {
            return self.model.restore(state);
        };
        let Some(s) = state.get::<Saved>() else {
            return false;
        };
        if !self.model.restore(&s.model) {
            return false;
        }
        if !f.model.restore(&s.free) {
            return false;
        }
        f.read.clone_from(&s.read);
        f.role = s.role;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model whose logits say what it has read: token `k`'s logit is how many times it was fed.
    struct Counting(Vec<u32>);

    impl TokenModel for Counting {
        fn feed(&mut self, ids: &[u32]) -> Result<(), ModelError> {
            self.0.extend_from_slice(ids);
            Ok(())
        }
        fn truncate(&mut self, len: usize) {
            self.0.truncate(len);
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn next_logits(&mut self, out: &mut [f32]) -> Result<(), ModelError> {
            out.fill(0.0);
            for &id in &self.0 {
                out[id as usize] += 1.0;
            }
            Ok(())
        }
        fn context_len(&self) -> usize {
            1 << 20
        }
        fn save(&self) -> Option<ModelState> {
            Some(ModelState::new(self.0.clone()))
        }
        fn restore(&mut self, state: &ModelState) -> bool {
            state.get::<Vec<u32>>().map(|v| self.0.clone_from(v)).is_some()
        }
    }

    fn vocab() -> (Vocab, u32, u32, u32) {
        let mut v = Vocab::new();
        let rock = Vocab::id(Token::Style(v.add_style("rock").unwrap()));
        let drummer = Vocab::id(Token::Style(v.add_style("drummer1").unwrap()));
        let beat = Vocab::id(Token::Style(v.add_style("beat").unwrap()));
        (v, rock, drummer, beat)
    }

    #[test]
    fn the_twin_reads_the_header_without_its_tags_and_the_logits_lean_away_from_it() {
        let (v, rock, drummer, beat) = vocab();
        let keep = ["beat".to_string()];
        let mut scales = [1.0; Role::ALL.len()];
        scales[Role::Drums.index()] = 2.0;
        let mut g = Guided::new(Counting(vec![]), Counting(vec![]), scales, &v, &keep);
        let bos = Vocab::id(Token::Bos);
        let role = Vocab::id(Token::Role(Role::Drums));
        let bar = Vocab::id(Token::Bar);
        g.feed(&[bos, role, rock, drummer, beat]).unwrap();
        g.feed(&[bar]).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g.free.as_ref().unwrap().model.0, vec![bos, role, beat, bar]);
        let mut out = vec![0.0; VOCAB_SIZE as usize];
        g.next_logits(&mut out).unwrap();
        // The tags the twin did not read: 0 + 2 (1 - 0); what both read: 1 + 2 (1 - 1).
        assert_eq!(out[rock as usize], 2.0);
        assert_eq!(out[drummer as usize], 2.0);
        assert_eq!(out[beat as usize], 1.0);
        assert_eq!(out[bar as usize], 1.0);
        // A truncation into the header maps onto the twin's shorter stream.
        let saved = g.save().unwrap();
        g.truncate(4);
        assert_eq!(g.free.as_ref().unwrap().model.0, vec![bos, role]);
        g.feed(&[beat, bar, bar]).unwrap();
        assert_eq!(g.free.as_ref().unwrap().model.0, vec![bos, role, beat, bar, bar]);
        assert!(g.restore(&saved));
        assert_eq!(g.len(), 6);
        assert_eq!(g.free.as_ref().unwrap().model.0, vec![bos, role, beat, bar]);
        g.truncate(5);
        assert_eq!(g.free.as_ref().unwrap().model.0, vec![bos, role, beat]);
        assert_eq!(g.scale(), 2.0);
        // Back before the role token there is no scale; another role plays at its own (1 here:
        // the twin is not read, the logits are the model's).
        g.truncate(1);
        assert_eq!(g.scale(), 1.0);
        g.feed(&[Vocab::id(Token::Role(Role::Bass)), rock]).unwrap();
        assert_eq!(g.scale(), 1.0);
        g.next_logits(&mut out).unwrap();
        assert_eq!(out[rock as usize], 1.0);
    }

    #[test]
    fn unguided_it_is_the_model() {
        let (_, rock, _, _) = vocab();
        let mut g = Guided::plain(Counting(vec![]));
        g.feed(&[rock, rock]).unwrap();
        let mut out = vec![0.0; VOCAB_SIZE as usize];
        g.next_logits(&mut out).unwrap();
        assert_eq!(out[rock as usize], 2.0);
        assert_eq!(g.scale(), 1.0);
        let s = g.save().unwrap();
        g.truncate(0);
        assert!(g.restore(&s));
        assert_eq!(g.into_inner().0, vec![rock, rock]);
    }
}
