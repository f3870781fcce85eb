//! The values `trainer ship` reads: each calibration's `ROLE=VALUE` and the files of values by
//! player, checked against their bounds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use models::Role;

/// `ROLE=[rel:]W1,W2,...` of `--memory`.
pub(super) fn memory_weights(s: &str) -> Result<(Role, models::package::MemorySpec), String> {
    let (role, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ROLE=W1,W2,... (lead=0,0.1,0.4)"))?;
    let role = Role::parse(role).ok_or_else(|| format!("{role:?} is not a role"))?;
    let (relative, v) = match v.strip_prefix("rel:") {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let w = v
        .split(',')
        .map(|x| x.trim().parse::<f32>().map_err(|_| format!("{x:?} is not a number")))
        .collect::<Result<Vec<f32>, String>>()?;
    let max = models::memory::MAX_WEIGHT;
    if w.len() > models::memory::MEMORY_CELLS || w.iter().any(|x| !(0.0..=max).contains(x)) {
        return Err(format!(
            "at most {} weights, each within 0 and {max} (got {v})",
            models::memory::MEMORY_CELLS
        ));
    }
    Ok((
        role,
        models::package::MemorySpec {
            relative,
            weights: w,
            changes: Vec::new(),
            rhythm: Vec::new(),
            phrase: Vec::new(),
            figure: Vec::new(),
        },
    ))
}

/// `ROLE=WEIGHT[,SHARE]` of `--rhythm`: a pitched role's weight (within 0 and
/// `models::memory::MAX_WEIGHT`) and the share of bars (within 0 and 1).
pub(super) fn rhythm_weights(s: &str) -> Result<(Role, Vec<f32>), String> {
    weights_and_share(
        s,
        1,
        models::memory::MAX_WEIGHT,
        "weight and the share of bars, ROLE=WEIGHT[,SHARE] (bass=0.9,0.6)",
    )
}

/// `ROLE=WEIGHT[,SHARE]` of `--phrase`: a pitched role's weight (within 0 and
/// `models::memory::PHRASE_MAX_WEIGHT`) and the share of bars (within 0 and 1).
pub(super) fn phrase_weights(s: &str) -> Result<(Role, Vec<f32>), String> {
    weights_and_share(
        s,
        1,
        models::memory::PHRASE_MAX_WEIGHT,
        "weight and the share of bars, ROLE=WEIGHT[,SHARE] (piano=0.995,1)",
    )
}

/// `ROLE=WEIGHT,START,GO_ON` of `--figure` (or `ROLE=0`): a pitched role's weight (within 0 and
/// `models::memory::MAX_WEIGHT`), the share of places where a figure starts and the chance that
/// it goes on (each within 0 and 1).
pub(super) fn figure_weights(s: &str) -> Result<(Role, Vec<f32>), String> {
    let form = "weight, the share of places where a figure starts and the chance it goes on, ROLE=WEIGHT,START,GO_ON (bass=0.95,0.2,0.57)";
    let (role, w) = weights_and_share(s, 2, 1.0, form)?;
    let off = w.iter().all(|&x| x == 0.0);
    if !off && (w.len() != 3 || w[0] > models::memory::MAX_WEIGHT) {
        return Err(format!("{s:?}: a pitched role's {form}"));
    }
    Ok((role, w))
}

/// Whether a role's memory entry says anything (a weight, the changes', the rhythm's, the
/// phrase's or the figure's).
pub(super) fn speaks(m: &models::package::MemorySpec) -> bool {
    m.weights.iter().any(|&x| x != 0.0)
        || !m.changes.is_empty()
        || !m.rhythm.is_empty()
        || !m.phrase.is_empty()
        || !m.figure.is_empty()
}

/// `ROLE=NOTE,TIME[,SHARE]` of `--changes`: a pitched role's two weights (each within 0 and
/// `models::memory::MAX_WEIGHT`) and the share of bars (within 0 and 1).
pub(super) fn changes_weights(s: &str) -> Result<(Role, Vec<f32>), String> {
    weights_and_share(
        s,
        2,
        models::memory::MAX_WEIGHT,
        "two weights and the share of bars, ROLE=NOTE,TIME[,SHARE] (bass=0.95,0.95,0.5)",
    )
}

/// `ROLE=W1,...,Wn[,SHARE]`: a pitched role's `n` memory weights (each within 0 and `max`; at
/// least the first) and the share of bars (within 0 and 1); `form` names them in the error.
pub(super) fn weights_and_share(s: &str, n: usize, max: f32, form: &str) -> Result<(Role, Vec<f32>), String> {
    let bad = || format!("{s:?}: a pitched role's {form}");
    let (role, v) = s.split_once('=').ok_or_else(bad)?;
    let role = Role::parse(role).filter(|r| !r.is_drums()).ok_or_else(bad)?;
    let w = v
        .split(',')
        .map(|x| x.trim().parse::<f32>().map_err(|_| bad()))
        .collect::<Result<Vec<f32>, String>>()?;
    let within = |x: &f32, max: f32| (0.0..=max).contains(x);
    let ok = !w.is_empty()
        && w.len() <= n + 1
        && w.iter().take(n).all(|x| within(x, max))
        && w.get(n).is_none_or(|x| within(x, 1.0));
    if !ok {
        return Err(bad());
    }
    Ok((role, w))
}

/// `ROLE=VALUE` with the value within `range`; `example` shows the form.
pub(crate) fn role_value(
    s: &str,
    example: &str,
    range: std::ops::RangeInclusive<f32>,
    what: &str,
) -> Result<(Role, f32), String> {
    let (role, v) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected {example}"))?;
    let role = Role::parse(role).ok_or_else(|| format!("{role:?} is not a role"))?;
    let v: f32 = v.trim().parse().map_err(|_| format!("{v:?} is not a number"))?;
    if !range.contains(&v) {
        return Err(format!(
            "{what} must be within {} and {} (got {v})",
            range.start(),
            range.end()
        ));
    }
    Ok((role, v))
}

/// `ROLE=T` of `--note-temperature`.
pub(super) fn note_temperature(s: &str) -> Result<(Role, f32), String> {
    role_value(s, "ROLE=T (lead=0.6)", 0.05..=2.0, "a tuned temperature")
}

/// `ROLE=P` of `--note-top-p`.
pub(super) fn note_top_p(s: &str) -> Result<(Role, f32), String> {
    role_value(
        s,
        "ROLE=P (bass=0.99)",
        models::sampling::TUNED_TOP_P_RANGE,
        "a tuned top-p",
    )
}

/// `ROLE=NATS` of `--harmony`.
pub(super) fn harmony(s: &str) -> Result<(Role, f32), String> {
    role_value(
        s,
        "ROLE=NATS (lead=0)",
        0.0..=models::sampling::FULL_CHORD_TONES,
        "a tuned Harmony",
    )
}

/// `ROLE=NATS` of `--rest-bias`.
pub(super) fn rest_bias(s: &str) -> Result<(Role, f32), String> {
    role_value(s, "ROLE=NATS (bass=1.5)", -4.0..=4.0, "a rest calibration")
}

/// `ROLE=NATS` of `--fast-rest`.
pub(super) fn fast_rest(s: &str) -> Result<(Role, f32), String> {
    role_value(s, "ROLE=NATS (lead=0.4)", -2.0..=2.0, "a fast-tempo rest calibration")
}

/// `ROLE=NATS` of `--fast-notes`.
pub(super) fn fast_notes(s: &str) -> Result<(Role, f32), String> {
    role_value(s, "ROLE=NATS (lead=1.5)", -4.0..=4.0, "a fast-note calibration")
}

/// `ROLE=NATS` of `--entry-rest`.
pub(super) fn entry_rest(s: &str) -> Result<(Role, f32), String> {
    role_value(s, "ROLE=NATS (lead=0.5)", -2.0..=2.0, "an entry calibration")
}

/// `ROLE=FILE` (or `ROLE=none`) of `--player-silence` and `--player-fast-notes`.
pub(super) fn player_file(s: &str) -> Result<(Role, Option<PathBuf>), String> {
    let (r, f) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ROLE=FILE (lead=players.json) or ROLE=none, got {s:?}"))?;
    let role = Role::parse(r).ok_or_else(|| format!("unknown role {r:?}"))?;
    Ok((role, (f != "none").then(|| PathBuf::from(f))))
}

/// The calibrations by player in a `--player-silence` (`what`: "silence", within ±2) or
/// `--player-fast-notes` ("fast-note calibration", ±4) file.
pub(super) fn read_player_values(
    path: &std::path::Path,
    what: &str,
    bound: f32,
) -> anyhow::Result<BTreeMap<String, f32>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let map: BTreeMap<String, f32> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a JSON object of nats by player", path.display()))?;
    if map.is_empty() {
        bail!("{}: names no player (`ROLE=none` removes a role's)", path.display());
    }
    if let Some((p, v)) = map
        .iter()
        .find(|(p, v)| p.trim().is_empty() || !(-bound..=bound).contains(*v))
    {
        bail!(
            "{}: {p:?} {v}: a player's {what} is a name and nats within -{bound} and {bound}",
            path.display()
        );
    }
    Ok(map)
}

/// `ROLE=NATS` of `--silence`.
pub(super) fn silence(s: &str) -> Result<(Role, f32), String> {
    role_value(s, "ROLE=NATS (piano=0.5)", -2.0..=2.0, "a silence calibration")
}

/// `ROLE=T` of `--duration-temperature`.
pub(super) fn duration_temperature(s: &str) -> Result<(Role, f32), String> {
    role_value(
        s,
        "ROLE=T (comping=0.5)",
        models::sampling::DURATION_TEMPERATURE_RANGE,
        "a duration temperature",
    )
}

/// `ROLE=T` of `--velocity-temperature`.
pub(super) fn velocity_temperature(s: &str) -> Result<(Role, f32), String> {
    role_value(
        s,
        "ROLE=T (bass=0.7)",
        models::sampling::VELOCITY_TEMPERATURE_RANGE,
        "a velocity temperature",
    )
}

/// `ROLE=SEMITONES` of `--register-hold`.
pub(super) fn register_hold(s: &str) -> Result<(Role, f32), String> {
    role_value(s, "ROLE=SEMITONES (comping=5)", 0.0..=48.0, "a register hold").map(|(r, h)| (r, h.round()))
}

/// `ROLE=TIMES` of `--length-hold` (0 removes one).
pub(super) fn length_hold(s: &str) -> Result<(Role, f32), String> {
    let (r, h) = role_value(s, "ROLE=TIMES (bass=1)", 0.0..=8.0, "a length hold")?;
    if h != 0.0 && h < 1.0 {
        return Err(format!(
            "a length hold is 0 (none) or 1-8 times the longest note (got {h})"
        ));
    }
    Ok((r, h))
}

/// `ROLE=NATS` of `--note-bias`.
pub(super) fn note_bias(s: &str) -> Result<(Role, f32), String> {
    role_value(s, "ROLE=NATS (piano=-0.4)", -4.0..=4.0, "a density calibration")
}
