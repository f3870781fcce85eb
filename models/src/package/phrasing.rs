//! Each player's silence calibration ([`Manifest::player_silence`]): how often a role rests when
//! a session names who it plays like.

use crate::music::Role;

use super::Manifest;

/// The bounds of a silence calibration, nats a silent beat (as [`Manifest::silence`]).
const SILENCE_BOUND: f32 = 2.0;

impl Manifest {
    /// The silence calibration of `role` for a session that names `player`: the player's own
    /// ([`Manifest::player_silence`]) where the model has one, else the role's
    /// ([`Manifest::silence`]); always within `[-2, 2]`.
    pub fn silence_of(&self, role: Role, player: Option<&str>) -> f32 {
        player
            .and_then(|p| self.player_silence.get(role.name())?.get(p))
            .filter(|v| v.is_finite())
            .map_or_else(|| self.silence(role), |v| v.clamp(-SILENCE_BOUND, SILENCE_BOUND))
    }

    /// The players `role` has a silence calibration for, in name order: the Player parameter's
    /// n-th player is the n-th of these (where the model names no drummers, [`Manifest::players`]).
    pub fn phrasing_players(&self, role: Role) -> Vec<&str> {
        self.player_silence
            .get(role.name())
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The first of `tags` (a piece's style names, say) that names a player `role` has a silence
    /// calibration for.
    pub fn phrasing_player<'a>(&self, role: Role, mut tags: impl Iterator<Item = &'a str>) -> Option<&'a str> {
        let players = self.player_silence.get(role.name())?;
        tags.find(|t| players.contains_key(*t))
    }
}
