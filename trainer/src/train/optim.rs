//! AdamW with checkpointable state, and the learning-rate schedule.

use std::collections::HashMap;

use anyhow::Context;
use candle_core::{DType, Tensor, Var};
use rayon::prelude::*;

use crate::fused::written_later;

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
        let cpu = self
            .slots
            .iter()
            .all(|(_, v, ..)| v.device().is_cpu() && v.dtype() == DType::F32);
        let mut sq = 0f64;
        for (_, v, ..) in &self.slots {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += if cpu {
                    let g = g.contiguous()?;
                    cpu_f32(&g, |g| {
                        // Chunk sums collected in order and added in order: the same norm on
                        // every run, whatever the threads did (a resumed run repeats exactly).
                        let parts: Vec<f64> = g
                            .par_chunks(CHUNK)
                            .map(|c| c.iter().map(|&x| (x as f64) * (x as f64)).sum())
                            .collect();
                        parts.iter().sum::<f64>()
                    })?
                } else {
                    g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64
                };
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
            let decay = if *decays && self.params.weight_decay > 0.0 {
                1.0 - lr * self.params.weight_decay
            } else {
                1.0
            };
            if cpu {
                let c = Coefficients {
                    clip: clip as f32,
                    b1: b1 as f32,
                    b2: b2 as f32,
                    bc1: bc1 as f32,
                    bc2: bc2 as f32,
                    eps: self.params.eps as f32,
                    lr: lr as f32,
                    decay: decay as f32,
                };
                let (p, nm, ns) = adamw_cpu(v.as_tensor(), m, s, &g.contiguous()?, &c)?;
                *m = nm;
                *s = ns;
                v.set(&p)?;
                continue;
            }
            let g = (g * clip)?;
            *m = ((&*m * b1)? + (&g * (1.0 - b1))?)?;
            *s = ((&*s * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let upd = ((&*m / bc1)? / ((&*s / bc2)?.sqrt()? + self.params.eps)?)?;
            let mut p = v.as_tensor().clone();
            if decay != 1.0 {
                p = (&p * decay)?;
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

/// Elements a rayon task of the CPU update takes.
const CHUNK: usize = 1 << 14;

/// The step's scalars, as the update applies them.
struct Coefficients {
    clip: f32,
    b1: f32,
    b2: f32,
    bc1: f32,
    bc2: f32,
    eps: f32,
    lr: f32,
    decay: f32,
}

/// `f` of a contiguous f32 CPU tensor's elements.
fn cpu_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    let (storage, layout) = t.storage_and_layout();
    let candle_core::Storage::Cpu(candle_core::CpuStorage::F32(v)) = &*storage else {
        candle_core::bail!("the CPU AdamW takes f32 CPU tensors")
    };
    let Some((a, b)) = layout.contiguous_offsets() else {
        candle_core::bail!("the CPU AdamW takes contiguous tensors")
    };
    Ok(f(&v[a..b]))
}

/// One AdamW update of a variable in one pass over its elements (the tensor ops made a dozen
/// passes and allocations, on one thread while the step's other thread waited): the new
/// parameters, first and second moments. The same arithmetic, in f32, as the tensor path.
fn adamw_cpu(
    p: &Tensor,
    m: &Tensor,
    s: &Tensor,
    g: &Tensor,
    c: &Coefficients,
) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let n = p.elem_count();
    let (mut np, mut nm, mut ns) = (written_later(n), written_later(n), written_later(n));
    let p = p.contiguous()?;
    let (m, s) = (m.contiguous()?, s.contiguous()?);
    cpu_f32(&p, |p| {
        cpu_f32(&m, |m| {
            cpu_f32(&s, |s| {
                cpu_f32(g, |g| {
                    np.par_chunks_mut(CHUNK)
                        .zip(nm.par_chunks_mut(CHUNK).zip(ns.par_chunks_mut(CHUNK)))
                        .enumerate()
                        .for_each(|(i, (op, (om, os)))| {
                            let at = i * CHUNK;
                            let len = op.len();
                            let (p, m, s, g) = (&p[at..at + len], &m[at..at + len], &s[at..at + len], &g[at..at + len]);
                            for j in 0..len {
                                let g = g[j] * c.clip;
                                let m = m[j] * c.b1 + g * (1.0 - c.b1);
                                let s = s[j] * c.b2 + g * g * (1.0 - c.b2);
                                let upd = (m / c.bc1) / ((s / c.bc2).sqrt() + c.eps);
                                op[j] = p[j] * c.decay - upd * c.lr;
                                om[j] = m;
                                os[j] = s;
                            }
                        })
                })
            })
        })
    })????;
    let shape = p.shape().clone();
    Ok((
        Tensor::from_vec(np, shape.clone(), p.device())?,
        Tensor::from_vec(nm, shape.clone(), p.device())?,
        Tensor::from_vec(ns, shape, p.device())?,
    ))
}
