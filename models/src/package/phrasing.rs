//! Each player's phrasing ([`Manifest::player_silence`], [`Manifest::player_fast_notes`]): how
//! often a role rests, and how closely its notes follow one another, when a session names who it
//! plays like.

use crate::music::Role;

use super::Manifest;

/// The bounds of a silence calibration, nats a silent beat (as [`Manifest::silence`]).
const SILENCE_BOUND: f32 = 2.0;

/// The bounds of a fast-note calibration, nats for a note at the last onset's heels (as
/// [`Manifest::fast_notes`]).
const FAST_NOTES_BOUND: f32 = 4.0;

/// A role's phrasing calibrations for one session: the player's where the session names one the
/// model has them for, else the role's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Phrasing {
    /// [`crate::sampling::Constraints::silence`].
    pub silence: f32,
    /// [`crate::sampling::Constraints::fast_notes`].
    pub fast_notes: f32,
}

impl Phrasing {
    /// Sets these calibrations in `c`.
    pub fn apply(self, c: &mut crate::sampling::Constraints) {
        c.silence = self.silence;
        c.fast_notes = self.fast_notes;
    }
}

/// `player`'s value of `role` in `by_player` (role, then player), within `±bound`; `None` for a
/// player or value it does not have.
fn player_value(
    by_player: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, f32>>,
    role: Role,
    player: Option<&str>,
    bound: f32,
) -> Option<f32> {
    player
        .and_then(|p| by_player.get(role.name())?.get(p))
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(-bound, bound))
}

impl Manifest {
    /// The silence calibration of `role` for a session that names `player`: the player's own
    /// ([`Manifest::player_silence`]) where the model has one, else the role's
    /// ([`Manifest::silence`]); always within `[-2, 2]`.
    pub fn silence_of(&self, role: Role, player: Option<&str>) -> f32 {
        player_value(&self.player_silence, role, player, SILENCE_BOUND).unwrap_or_else(|| self.silence(role))
    }

    /// The fast-note calibration of `role` ([`Manifest::fast_notes`]), nats; 0 when the model
    /// names none; always within `[-4, 4]`.
    pub fn fast_notes(&self, role: Role) -> f32 {
        super::clamped(&self.fast_notes, role, -FAST_NOTES_BOUND, FAST_NOTES_BOUND, 0.0)
    }

    /// The fast-note calibration of `role` for a session that names `player`: the player's own
    /// ([`Manifest::player_fast_notes`]) where the model has one, else the role's.
    pub fn fast_notes_of(&self, role: Role, player: Option<&str>) -> f32 {
        player_value(&self.player_fast_notes, role, player, FAST_NOTES_BOUND).unwrap_or_else(|| self.fast_notes(role))
    }

    /// Both phrasing calibrations of `role` for a session that names `player` (`None`: Auto).
    pub fn phrasing_of(&self, role: Role, player: Option<&str>) -> Phrasing {
        Phrasing {
            silence: self.silence_of(role, player),
            fast_notes: self.fast_notes_of(role, player),
        }
    }

    /// The players `role` has a phrasing calibration for (silence, fast notes or both), in name
    /// order: the Player parameter's n-th player is the n-th of these (where the model names no
    /// drummers, [`Manifest::players`]).
    pub fn phrasing_players(&self, role: Role) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .by_player(role)
            .flat_map(|m| m.keys().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The first of `tags` (a piece's style names, say) that names a player `role` has a
    /// phrasing calibration for.
    pub fn phrasing_player<'a>(&self, role: Role, mut tags: impl Iterator<Item = &'a str>) -> Option<&'a str> {
        tags.find(|t| self.by_player(role).any(|m| m.contains_key(*t)))
    }

    /// `role`'s calibrations by player (silence, fast notes), those it has.
    fn by_player(&self, role: Role) -> impl Iterator<Item = &std::collections::BTreeMap<String, f32>> {
        [&self.player_silence, &self.player_fast_notes]
            .into_iter()
            .filter_map(move |m| m.get(role.name()))
    }
}
