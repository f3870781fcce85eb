//! AdamW with checkpointable state, and the learning-rate schedule.

use std::collections::HashMap;

use anyhow::Context;
use candle_core::{Tensor, Var};

use super::TrainParams;

/// AdamW over a fixed list of variables, with state that can be saved and restored.
pub struct AdamW {
    /// (name, variable, first moment, second moment, decays)
    slots: Vec<(String, Var, Tensor, Tensor, bool)>,
    /// Steps taken.
    pub t: u64,
    params: TrainParams,
}

impl AdamW {
    /// An optimizer over `vars` (weight decay on matrices only).
    pub fn new(vars: Vec<(String, Var)>, params: &TrainParams) -> candle_core::Result<AdamW> {
        let slots = vars
            .into_iter()
            .map(|(n, v)| {
                let z = v.as_tensor().zeros_like()?;
                let decays = v.as_tensor().rank() >= 2 && !n.starts_with("embed.");
                Ok((n, v, z.clone(), z, decays))
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(AdamW {
            slots,
            t: 0,
            params: params.clone(),
        })
    }

    /// One step at learning rate `lr`; returns the gradient norm before clipping.
    pub fn step(&mut self, grads: &candle_core::backprop::GradStore, lr: f64) -> candle_core::Result<f64> {
        let mut sq = 0f64;
        for (_, v, ..) in &self.slots {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
        }
        let norm = sq.sqrt();
        let clip = if self.params.grad_clip > 0.0 && norm > self.params.grad_clip {
            self.params.grad_clip / (norm + 1e-6)
        } else {
            1.0
        };
        self.t += 1;
        let (b1, b2) = (self.params.beta1, self.params.beta2);
        let bc1 = 1.0 - b1.powi(self.t as i32);
        let bc2 = 1.0 - b2.powi(self.t as i32);
        for (_, v, m, s, decays) in &mut self.slots {
            let Some(g) = grads.get(v.as_tensor()) else { continue };
            let g = (g * clip)?;
            *m = ((&*m * b1)? + (&g * (1.0 - b1))?)?;
            *s = ((&*s * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let upd = ((&*m / bc1)? / ((&*s / bc2)?.sqrt()? + self.params.eps)?)?;
            let mut p = v.as_tensor().clone();
            if *decays && self.params.weight_decay > 0.0 {
                p = (&p * (1.0 - lr * self.params.weight_decay))?;
            }
            v.set(&(p - (upd * lr)?)?)?;
        }
        Ok(norm)
    }

    /// Moments by name (`m.<var>`, `v.<var>`).
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        let mut h = HashMap::new();
        for (n, _, m, s, _) in &self.slots {
            h.insert(format!("m.{n}"), m.clone());
            h.insert(format!("v.{n}"), s.clone());
        }
        h
    }

    /// Restores moments saved by [`AdamW::state_tensors`].
    pub fn load_state(&mut self, mut h: HashMap<String, Tensor>, t: u64) -> anyhow::Result<()> {
        for (n, _, m, s, _) in &mut self.slots {
            *m = h
                .remove(&format!("m.{n}"))
                .with_context(|| format!("optimizer state lacks m.{n}"))?;
            *s = h
                .remove(&format!("v.{n}"))
                .with_context(|| format!("optimizer state lacks v.{n}"))?;
        }
        self.t = t;
        Ok(())
    }
}

/// Learning rate at `step` (1-based): linear warm-up, then cosine from `lr` to `lr * min_lr_ratio`.
pub fn lr_at(p: &TrainParams, step: u64, total: u64) -> f64 {
    let min = p.lr * p.min_lr_ratio;
    if step <= p.warmup_steps && p.warmup_steps > 0 {
        return p.lr * step as f64 / p.warmup_steps as f64;
    }
    let span = total.saturating_sub(p.warmup_steps).max(1);
    let x = ((step - p.warmup_steps.min(step)) as f64 / span as f64).min(1.0);
    min + 0.5 * (p.lr - min) * (1.0 + (std::f64::consts::PI * x).cos())
}
