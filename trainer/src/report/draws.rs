//! Seeds and draws: which seed each sample of a report is drawn from, and the standard error of
//! a report's means over its draws.

use serde::{Deserialize, Serialize};

use super::{nan_opt_vec, nan_vec};

/// The distance between the report seeds of one piece's draws (draw `d` of the report at `seed`
/// is the one-draw report at `seed + DRAW_STRIDE * d`): beyond any seed range a user runs, so that
/// no two samples share a seed.
pub const DRAW_STRIDE: u64 = 1 << 20;

/// How far apart [`piece_seed`] puts the seeds of reports `k` and `k + 1`: beyond any piece
/// count, so that no two reports give one seed to two samples.
pub const SEED_STRIDE: u64 = 1 << 32;

/// The seed of piece `i` in a one-draw report drawn with `seed`: `seed + i + SEED_STRIDE
/// (seed - 1)`. Two pieces drawn from one random stream play alike (the same uniform draws pick
/// the same end of each choice's distribution): the jazz lead's notes a bar over the 25 test solos,
/// each solo drawn from one seed, spread 0.76 a bar from seed to seed, where independent draws
/// spread 0.31. When piece `i` took `seed + i`, reports `--seed 1` .. `8` shared most of their
/// seeds between neighbouring pieces, so their means moved together and their spread understated
/// the error of the mean (models/README.md, "Seeds that overlapped"). Seed 1 keeps its draws (the
/// model cards' reports).
pub fn piece_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_add(i as u64)
        .wrapping_add(seed.wrapping_sub(1).wrapping_mul(SEED_STRIDE))
}

/// The standard error of each sampled column's means (metric by metric), over the draws of a
/// report with `--draws` 2 or more: the spread of the draws' means over the pieces, divided by
/// the square root of their number. Each draw is an independent sample of the whole column
/// ([`piece_seed`]), so this is the error of the report's mean as an estimate of the model's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StdErr {
    /// Of the calibration column.
    #[serde(deserialize_with = "nan_vec")]
    pub calibration: Vec<f64>,
    /// Of the model column (Harmony 0).
    #[serde(deserialize_with = "nan_vec")]
    pub model: Vec<f64>,
    /// Of the default-Harmony column (pitched roles).
    #[serde(default, deserialize_with = "nan_opt_vec")]
    pub harmony: Option<Vec<f64>>,
}

/// One sampled column of a report as it is measured: each piece's metrics, draw by draw.
#[derive(Debug, Default)]
pub(super) struct Column {
    /// `[piece][draw]`: the metrics of that draw.
    pieces: Vec<Vec<Vec<f64>>>,
}

impl Column {
    /// Adds a piece's draws.
    pub(super) fn push(&mut self, draws: Vec<Vec<f64>>) {
        self.pieces.push(draws);
    }

    /// The column's values: each piece's mean over its draws, then the mean over the pieces
    /// ([`super::metrics::mean`], which leaves out a piece where a metric is undefined).
    pub(super) fn mean(&self) -> Vec<f64> {
        let per_piece: Vec<Vec<f64>> = self.pieces.iter().map(|d| super::metrics::mean(d)).collect();
        super::metrics::mean(&per_piece)
    }

    /// The standard error of [`Column::mean`] over the draws, metric by metric; `None` with
    /// fewer than two draws.
    pub(super) fn std_err(&self) -> Option<Vec<f64>> {
        let draws = self.pieces.iter().map(Vec::len).min().unwrap_or(0);
        if draws < 2 {
            return None;
        }
        // Each draw's mean over the pieces, as a one-draw report would give it.
        let means: Vec<Vec<f64>> = (0..draws)
            .map(|d| {
                let rows: Vec<Vec<f64>> = self.pieces.iter().map(|p| p[d].clone()).collect();
                super::metrics::mean(&rows)
            })
            .collect();
        let width = means.iter().map(Vec::len).max().unwrap_or(0);
        Some(
            (0..width)
                .map(|k| {
                    let v = super::metrics::finite_column(&means, k);
                    if v.len() < 2 {
                        return f64::NAN;
                    }
                    let n = v.len() as f64;
                    let mu = v.iter().sum::<f64>() / n;
                    let var = v.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1.0);
                    (var / n).sqrt()
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_reports_share_a_seed_and_seed_1_keeps_its_draws() {
        assert_eq!((0..5).map(|i| piece_seed(1, i)).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        let mut seen = std::collections::HashSet::new();
        for seed in 1..=20 {
            for i in 0..2_000 {
                for d in 0..4 {
                    assert!(
                        seen.insert(piece_seed(seed + DRAW_STRIDE * d, i)),
                        "seed {seed}, piece {i}, draw {d}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_standard_error_is_the_spread_of_the_draws_means() {
        let mut c = Column::default();
        // Two pieces, three draws, one metric (undefined in one draw of the second piece).
        c.push(vec![vec![1.0], vec![2.0], vec![3.0]]);
        c.push(vec![vec![3.0], vec![f64::NAN], vec![5.0]]);
        // Piece means 2 and 4.
        assert_eq!(c.mean(), vec![3.0]);
        // The draws' means over the pieces: 2, 2, 4; their sd is 2 / sqrt 3, over sqrt 3 draws.
        let se = c.std_err().unwrap()[0];
        assert!((se - 2.0 / 3.0).abs() < 1e-12, "{se}");
        let mut one = Column::default();
        one.push(vec![vec![1.0]]);
        assert_eq!(one.std_err(), None);
    }
}
