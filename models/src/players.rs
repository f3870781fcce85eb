//! The players of a model whose data names who played each piece (the Groove MIDI Dataset's
//! `drummer1`..`drummer10`): which styles each played, so a producer can pick a player beside a
//! style, or let one be drawn from those who played that style.
//!
//! Every training header of the drums named its drummer, so a header with a genre and no drummer
//! is one the network never saw. **Auto** draws the player for each session (from its seed) in
//! proportion to the training beats each player recorded in the chosen style, which keeps the
//! header like the data's (models/README.md, "The players").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sampling::Rng;
use crate::tokenizer::vocab::Vocab;

/// Who played what in a model's training data ([`crate::package::Manifest::players`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Players {
    /// Training beats by player tag, all styles together.
    pub all: BTreeMap<String, u32>,
    /// Training beats by style tag (a genre, `genre/groove`), then by player tag.
    pub by_style: BTreeMap<String, BTreeMap<String, u32>>,
}

/// The player a session's header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerChoice {
    /// Drawn from the session's seed among those who played the style ([`Players::draw`]).
    Auto,
    /// This style slot.
    Slot(u16),
}

impl Players {
    /// Counts, from the style tags of each training beat, the beats of each player in each style.
    /// `is_player` tells the player tags; `skip` tags (`beat`, `fill`, the opening) are neither.
    pub fn count<'a>(
        beats: impl IntoIterator<Item = &'a [String]>,
        is_player: impl Fn(&str) -> bool,
        skip: impl Fn(&str) -> bool,
    ) -> Players {
        let mut p = Players::default();
        for tags in beats {
            let Some(player) = tags.iter().find(|t| is_player(t)) else {
                continue;
            };
            *p.all.entry(player.clone()).or_default() += 1;
            for t in tags.iter().filter(|t| !is_player(t) && !skip(t)) {
                *p.by_style
                    .entry(t.clone())
                    .or_default()
                    .entry(player.clone())
                    .or_default() += 1;
            }
        }
        p
    }

    /// The player tags, in their natural order (`drummer2` before `drummer10`).
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.all.keys().map(String::as_str).collect();
        v.sort_by_key(|s| natural_key(s));
        v
    }

    /// Whether `tag` is a player.
    pub fn is_player(&self, tag: &str) -> bool {
        self.all.contains_key(tag)
    }

    /// A player drawn from `seed` in proportion to their training beats in `style` (the most
    /// specific of the styles given that has any: `rock/halftime` before `rock`), or in all
    /// styles when none of them was played. `None` when there are no players, or when one of
    /// `styles` was learned without any (a producer's style fine-tuned on their own beats).
    pub fn draw(&self, styles: &[&str], seed: u64) -> Option<&str> {
        let nobody = |s: &&str| self.by_style.get(*s).is_some_and(|c| c.values().all(|&n| n == 0));
        if styles.iter().any(nobody) {
            return None;
        }
        let played = |s: &&str| self.by_style.get(*s).filter(|c| c.values().any(|&n| n > 0));
        let counts = (styles.iter().filter(|s| s.contains('/')).find_map(played))
            .or_else(|| styles.iter().find_map(played))
            .unwrap_or(&self.all);
        let total: u64 = counts.values().map(|&n| n as u64).sum();
        if total == 0 {
            return None;
        }
        let mut rng = Rng::new(seed ^ 0x5EED_91A7_E125_0001);
        let mut pick = rng.next_u64() % total;
        let mut names: Vec<(&String, &u32)> = counts.iter().collect();
        names.sort_by_key(|(s, _)| natural_key(s));
        for (name, &n) in names {
            if pick < n as u64 {
                return Some(name);
            }
            pick -= n as u64;
        }
        None
    }

    /// The choice of a player parameter: 0 (or a number past the players) Auto, `n` the n-th of
    /// [`Players::names`].
    pub fn choice(&self, vocab: &Vocab, n: i32) -> PlayerChoice {
        usize::try_from(n - 1)
            .ok()
            .and_then(|i| self.names().get(i).and_then(|name| vocab.style_slot(name)))
            .map_or(PlayerChoice::Auto, PlayerChoice::Slot)
    }

    /// Adds the chosen player's slot to a session's `styles` (slots of `vocab`) unless they
    /// already name a player: the slot itself, or for [`PlayerChoice::Auto`] one drawn from
    /// `seed` among those who played those styles.
    pub fn complete(&self, vocab: &Vocab, styles: &mut Vec<u16>, choice: PlayerChoice, seed: u64) {
        let named: Vec<&str> = styles
            .iter()
            .filter_map(|&s| vocab.styles.get(s as usize).map(String::as_str))
            .collect();
        if named.iter().any(|t| self.is_player(t)) {
            return;
        }
        let slot = match choice {
            PlayerChoice::Slot(s) => Some(s),
            PlayerChoice::Auto => self.draw(&named, seed).and_then(|p| vocab.style_slot(p)),
        };
        if let Some(s) = slot
            && !styles.contains(&s)
        {
            styles.push(s);
        }
    }
}

/// Orders `drummer2` before `drummer10`: the text before the trailing digits, then their value.
fn natural_key(s: &str) -> (&str, u64) {
    let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, tail) = s.split_at(s.len() - digits);
    (head, tail.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn players() -> Players {
        let beats = [
            tags(&["rock", "drummer2", "beat"]),
            tags(&["rock", "drummer2", "beat"]),
            tags(&["rock", "drummer10", "beat"]),
            tags(&["rock", "rock/halftime", "drummer10", "beat"]),
            tags(&["jazz", "drummer3", "beat"]),
            tags(&["funk", "beat"]),
        ];
        Players::count(
            beats.iter().map(Vec::as_slice),
            |t| t.starts_with("drummer"),
            |t| t == "beat" || t == "fill",
        )
    }

    #[test]
    fn counts_each_players_beats_by_style() {
        let p = players();
        assert_eq!(p.names(), ["drummer2", "drummer3", "drummer10"]);
        assert_eq!(p.by_style["rock"]["drummer2"], 2);
        assert_eq!(p.by_style["rock"]["drummer10"], 2);
        assert_eq!(p.by_style["rock/halftime"].len(), 1);
        assert!(!p.by_style.contains_key("beat"));
        assert!(
            !p.by_style.contains_key("funk"),
            "a beat without a player counts for nobody"
        );
    }

    #[test]
    fn draws_among_those_who_played_the_style_in_proportion() {
        let p = players();
        let mut n = BTreeMap::new();
        for seed in 0..4000 {
            *n.entry(p.draw(&["rock"], seed).unwrap()).or_insert(0) += 1;
        }
        assert_eq!(n.len(), 2, "{n:?}");
        assert!((1800..2200).contains(&n["drummer2"]), "{n:?}");
        // The groove is more specific than its genre; an unknown style draws from everyone.
        for seed in 0..50 {
            assert_eq!(p.draw(&["rock", "rock/halftime"], seed), Some("drummer10"));
            assert_eq!(p.draw(&["jazz"], seed), Some("drummer3"));
        }
        let any: std::collections::BTreeSet<_> = (0..200).filter_map(|s| p.draw(&["polka"], s)).collect();
        assert_eq!(any.len(), 3);
        assert_eq!(p.draw(&["rock"], 7), p.draw(&["rock"], 7), "a seed draws alike");
        assert_eq!(Players::default().draw(&["rock"], 1), None);
        let mut tuned = p.clone();
        tuned.by_style.insert("mine".into(), BTreeMap::new());
        assert_eq!(
            tuned.draw(&["mine"], 1),
            None,
            "a style learned without players gets none"
        );
    }

    #[test]
    fn completes_a_header_unless_it_names_a_player() {
        let p = players();
        let mut vocab = Vocab::new();
        let rock = vocab.add_style("rock").unwrap();
        let d3 = vocab.add_style("drummer3").unwrap();
        let d2 = vocab.add_style("drummer2").unwrap();
        let d10 = vocab.add_style("drummer10").unwrap();
        let mut styles = vec![rock];
        p.complete(&vocab, &mut styles, PlayerChoice::Slot(d3), 1);
        assert_eq!(styles, [rock, d3]);
        p.complete(&vocab, &mut styles, PlayerChoice::Slot(d2), 1);
        assert_eq!(styles, [rock, d3], "a header that names a player keeps it");
        assert_eq!(p.choice(&vocab, 3), PlayerChoice::Slot(d10), "natural order");
        assert_eq!(p.choice(&vocab, 0), PlayerChoice::Auto);
        assert_eq!(p.choice(&vocab, 4), PlayerChoice::Auto, "past the players");
        let mut styles = vec![rock];
        p.complete(&vocab, &mut styles, PlayerChoice::Auto, 5);
        assert!(styles == [rock, d2] || styles == [rock, d10], "{styles:?}");
    }
}
