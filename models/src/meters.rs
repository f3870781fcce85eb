//! The time signatures a network learned, and how a session writes one it did not.
//!
//! A network that never saw a meter does not play it: the melody model's chorales are in 4/4,
//! 3/4 and (one) 12/8, and over a chorale in 3/2 it closed each six-beat bar after four beats
//! and left the rest silent (models/README.md, "Meters a role never learned"). A
//! [`crate::generate::Session`] in such a meter writes its stream in a meter the role learned
//! whose bars divide the host's evenly (3/2 and 6/4 as two bars of 3/4, 2/2 as 4/4): the notes
//! land on the same beats, the bar lines of the host's meter are bar lines of the stream, and
//! the network plays bars it learned. A meter with no such divisor (5/4 for a role that knows
//! only 4/4 and 3/4) is written as it is. Meters are the role's own: the melody model's folk
//! lead learned 6/8 and its chorale piano did not.

use std::collections::BTreeMap;

/// Share of a role's training bars below which a meter does not count as learned: the melody
/// model's chorales hold 0.16 % of their bars in 3/2 (a few bars of one chorale, in twelve keys),
/// the GMD drummers 0.6 % in 6/8 (106 bars of their own).
pub const MIN_SHARE: f64 = 0.005;

/// The meter key of a manifest's [`crate::package::Manifest::meters`]: `"3/4"`.
pub fn key(numerator: u8, denominator: u8) -> String {
    format!("{numerator}/{denominator}")
}

/// A meter key (`"3/4"`) back to its numerator and denominator.
pub fn parse(key: &str) -> Option<(u8, u8)> {
    let (n, d) = key.split_once('/')?;
    let (n, d) = (n.trim().parse::<u8>().ok()?, d.trim().parse::<u8>().ok()?);
    (n > 0 && d > 0).then_some((n, d))
}

/// The meters of `bars` (one role's training bars by meter key) that hold at least
/// [`MIN_SHARE`] of them, the most played first.
pub fn learned(bars: &BTreeMap<String, u64>) -> Vec<(u8, u8)> {
    let total: u64 = bars.values().sum();
    let mut out: Vec<((u8, u8), u64)> = bars
        .iter()
        .filter(|&(_, &b)| total > 0 && b as f64 >= MIN_SHARE * total as f64)
        .filter_map(|(k, &b)| parse(k).map(|m| (m, b)))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out.into_iter().map(|(m, _)| m).collect()
}

/// Bar length of a meter in the tokenizer's ticks.
fn ticks(m: (u8, u8)) -> u32 {
    m.0 as u32 * 4 * crate::tokenizer::vocab::TICKS_PER_BEAT / m.1.max(1) as u32
}

/// Whether a meter counts its beats in dotted notes (6/8, 9/8, 12/8).
fn compound(m: (u8, u8)) -> bool {
    m.1 >= 8 && m.0 > 3 && m.0.is_multiple_of(3)
}

/// The meter a session over `host` writes its stream in, given the meters the role learned
/// (`learned`, the most played first; empty: every meter is written as it is): `host` itself
/// when learned, else the learned meter of two beats or more whose bars divide the host's evenly, with the same
/// denominator if one has it, then simple or compound as the host is, then the longest bars,
/// then the most played; `host` when none divides it. Returns the meter and how many of its
/// bars make one of the host's.
pub fn stream_meter(host: (u8, u8), learned: &[(u8, u8)]) -> ((u8, u8), u32) {
    if learned.is_empty() || learned.contains(&host) {
        return (host, 1);
    }
    let whole = ticks(host);
    // A one-beat "bar" (the WJazzD solos' 1/4 pickups) is no bar to play in.
    let fits = |m: &(u8, u8)| m.0 > 1 && ticks(*m) > 0 && whole.is_multiple_of(ticks(*m));
    // Ties keep the earlier (more played) meter: `max_by_key` keeps the last of equals, so rank
    // by the reversed position too.
    learned
        .iter()
        .enumerate()
        .filter(|(_, m)| fits(m))
        .max_by_key(|(i, m)| {
            (
                m.1 == host.1,
                compound(**m) == compound(host),
                ticks(**m),
                std::cmp::Reverse(*i),
            )
        })
        .map_or((host, 1), |(_, &m)| (m, whole / ticks(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
        list.iter().map(|&(k, b)| (k.to_string(), b)).collect()
    }

    #[test]
    fn a_meter_played_in_a_few_bars_is_not_learned() {
        let b = bars(&[("4/4", 9000), ("3/4", 900), ("12/8", 40), ("bad", 500)]);
        // 40 of 10,440 bars (0.4 %) is below the share; 60 of 10,460 is above it.
        assert_eq!(learned(&b), vec![(4, 4), (3, 4)]);
        assert_eq!(learned(&BTreeMap::new()), Vec::<(u8, u8)>::new());
        let b = bars(&[("4/4", 9000), ("3/4", 900), ("12/8", 60), ("bad", 500)]);
        assert_eq!(learned(&b), vec![(4, 4), (3, 4), (12, 8)]);
        assert_eq!(parse(&key(12, 8)), Some((12, 8)));
        assert_eq!(parse("0/4"), None);
    }

    #[test]
    fn an_unlearned_meter_is_written_in_learned_bars_that_divide_it() {
        let chorales = [(4, 4), (3, 4)];
        assert_eq!(stream_meter((4, 4), &chorales), ((4, 4), 1));
        assert_eq!(stream_meter((3, 2), &chorales), ((3, 4), 2));
        assert_eq!(stream_meter((6, 4), &chorales), ((3, 4), 2));
        assert_eq!(stream_meter((2, 2), &chorales), ((4, 4), 1));
        assert_eq!(stream_meter((8, 4), &chorales), ((4, 4), 2));
        // 12/8 is three beats of four or four of three: the same denominator wins, then the
        // longest bars.
        assert_eq!(stream_meter((12, 8), &[(4, 4), (3, 4), (6, 8)]), ((6, 8), 2));
        assert_eq!(stream_meter((12, 8), &chorales), ((3, 4), 2));
        // No learned bar divides 5/4 or 7/8: written as they are.
        assert_eq!(stream_meter((5, 4), &chorales), ((5, 4), 1));
        assert_eq!(stream_meter((7, 8), &chorales), ((7, 8), 1));
        // A one-beat bar is never a stand-in.
        assert_eq!(stream_meter((2, 4), &[(4, 4), (1, 4)]), ((2, 4), 1));
        // A model that names no meters writes every meter as it is.
        assert_eq!(stream_meter((3, 2), &[]), ((3, 2), 1));
        // Equal lengths: the same denominator, then simple for simple, then the more played.
        assert_eq!(stream_meter((6, 4), &[(4, 4), (6, 8), (3, 4)]), ((3, 4), 2));
        assert_eq!(stream_meter((3, 2), &[(6, 8), (4, 4), (3, 4)]), ((3, 4), 2));
        assert_eq!(stream_meter((12, 16), &[(3, 4), (6, 8)]), ((6, 8), 1));
        assert_eq!(stream_meter((3, 2), &[(2, 4), (4, 8)]), ((2, 4), 3));
        assert_eq!(stream_meter((3, 2), &[(4, 8), (2, 4)]), ((4, 8), 3));
    }
}
