//! `trainer markov`: trains the variable-order Markov baseline ([`models::markov`]) on a prepared
//! dataset and writes it as a model package; and [`evaluate`], the per-role validation metrics any
//! [`TokenModel`] is measured with (the baseline every neural model is compared against).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use rayon::prelude::*;

use models::Role;
use models::markov::{MarkovBuilder, MarkovModel, MarkovTable};
use models::model::TokenModel;
use models::package::{Manifest, ModelKind, Package};
use models::tokenizer::{VOCAB_SIZE, predicted_mask};

use crate::dataset::{Dataset, Split, SplitData};

/// File name of the model inside the package.
pub const MARKOV_FILE: &str = "markov.bin";

/// Train the Markov baseline on a prepared dataset.
#[derive(Debug, clap::Args)]
pub struct MarkovArgs {
    /// Prepared dataset folder (from `trainer prepare`).
    #[arg(long)]
    pub data: PathBuf,
    /// Package folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Longest context, in tokens (a note is 4 tokens: POS PITCH VEL DUR).
    #[arg(long, default_value_t = 12)]
    pub order: usize,
    /// Drop contexts seen fewer times (keeps the file small; 1 keeps everything).
    #[arg(long, default_value_t = 2)]
    pub min_count: u32,
    /// In the contexts kept, drop next tokens seen fewer times (their mass backs off).
    #[arg(long, default_value_t = 1)]
    pub min_entry_count: u32,
    /// Roles to train on, comma-separated (default: every role of the dataset).
    #[arg(long, value_delimiter = ',', value_parser = crate::args::roles())]
    pub roles: Vec<String>,
    /// Package name shown in the plugin.
    #[arg(long)]
    pub name: Option<String>,
    /// Validation sequences to score (0 = all).
    #[arg(long, default_value_t = 0)]
    pub eval_limit: usize,
}

/// Scores of a model on one role's predicted tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EvalStats {
    /// Predicted tokens scored.
    pub tokens: u64,
    /// Sum of negative log-likelihoods (nats).
    pub nll_sum: f64,
    /// Tokens whose most likely id was right.
    pub top1: u64,
    /// Tokens among the five most likely ids.
    pub top5: u64,
}

impl EvalStats {
    /// Mean NLL per predicted token, nats.
    pub fn nll(&self) -> f64 {
        if self.tokens == 0 {
            f64::NAN
        } else {
            self.nll_sum / self.tokens as f64
        }
    }

    /// Top-1 accuracy.
    pub fn top1_acc(&self) -> f64 {
        self.top1 as f64 / self.tokens.max(1) as f64
    }

    /// Top-5 accuracy.
    pub fn top5_acc(&self) -> f64 {
        self.top5 as f64 / self.tokens.max(1) as f64
    }

    fn add(&mut self, o: &EvalStats) {
        self.tokens += o.tokens;
        self.nll_sum += o.nll_sum;
        self.top1 += o.top1;
        self.top5 += o.top5;
    }
}

/// Scores one sequence: NLL and top-1/top-5 over its predicted tokens (per
/// [`predicted_mask`]). The model is fed token by token; when its context is full it is re-fed
/// the last half of the context.
pub fn score_sequence(model: &mut dyn TokenModel, ids: &[u32]) -> anyhow::Result<EvalStats> {
    let mask = predicted_mask(ids);
    let mut logits = vec![0.0f32; VOCAB_SIZE as usize];
    let mut s = EvalStats::default();
    model.truncate(0);
    let ctx = model.context_len().max(2);
    for (i, &id) in ids.iter().enumerate() {
        if i > 0 && mask[i] && (id as usize) < logits.len() {
            model.next_logits(&mut logits).map_err(|e| anyhow::anyhow!("{e}"))?;
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = max as f64 + logits.iter().map(|&l| ((l - max) as f64).exp()).sum::<f64>().ln();
            let target = logits[id as usize];
            s.tokens += 1;
            s.nll_sum += lse - target as f64;
            let better = logits.iter().filter(|&&l| l > target).count();
            if better == 0 {
                s.top1 += 1;
            }
            if better < 5 {
                s.top5 += 1;
            }
        }
        if model.len() + 1 > ctx {
            let keep = ctx / 2;
            model.truncate(0);
            model.feed(&ids[i - keep..i]).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        model.feed(&[id]).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(s)
}

/// Per-role scores of the models made by `make` on (up to `limit`, 0 = all) sequences of `split`,
/// scored in parallel.
pub fn evaluate<M, F>(make: F, split: &SplitData, limit: usize) -> anyhow::Result<BTreeMap<Role, EvalStats>>
where
    M: TokenModel,
    F: Fn() -> M + Sync,
{
    let n = if limit == 0 {
        split.seqs.len()
    } else {
        split.seqs.len().min(limit)
    };
    let per_seq: Vec<(Role, EvalStats)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let ids: Vec<u32> = split.seq(i).iter().map(|&t| t as u32).collect();
            let mut m = make();
            score_sequence(&mut m, &ids).map(|s| (split.seqs[i].role, s))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut out: BTreeMap<Role, EvalStats> = BTreeMap::new();
    for (role, s) in per_seq {
        out.entry(role).or_default().add(&s);
    }
    Ok(out)
}

/// Trains the model, scores it on the validation split and writes the package.
pub fn run(args: &MarkovArgs) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let ds = Dataset::open(&args.data)?;
    let roles: Vec<Role> = if args.roles.is_empty() {
        ds.manifest.roles.clone()
    } else {
        crate::args::parse_roles(&args.roles)?
    };
    if roles.is_empty() {
        bail!("no roles to train");
    }
    let train = ds.load_split(Split::Train)?;
    let chosen: Vec<usize> = (0..train.seqs.len())
        .filter(|&i| roles.contains(&train.seqs[i].role))
        .collect();
    if chosen.is_empty() {
        bail!("the train split has no sequences of roles {roles:?}");
    }
    eprintln!("counting {} sequences (order {})...", chosen.len(), args.order);
    let order = args.order;
    // One map, filled sequentially: parallel maps would each hold most contexts, and merging
    // them needs their sum in memory.
    let mut builder = MarkovBuilder::new(order);
    let mut ids = Vec::new();
    for &i in &chosen {
        ids.clear();
        ids.extend(train.seq(i).iter().map(|&t| t as u32));
        builder.add_sequence(&ids);
    }
    eprintln!("{} (context, token) pairs counted", builder.entries());
    let table = Arc::new(builder.build(args.min_count, args.min_entry_count));
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    let file = args.out.join(MARKOV_FILE);
    table.save(&file)?;
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "{} contexts, {} entries, {:.1} MB",
        table.contexts(),
        table.entries(),
        size as f64 / 1e6
    );

    let mut metrics = BTreeMap::new();
    metrics.insert("order".to_string(), order as f64);
    metrics.insert("min_count".to_string(), args.min_count as f64);
    metrics.insert("min_entry_count".to_string(), args.min_entry_count as f64);
    metrics.insert("contexts".to_string(), table.contexts() as f64);
    if let Ok(valid) = ds.load_split(Split::Valid) {
        let t = table.clone();
        let scores = evaluate(
            move || MarkovModel::with_context_len(t.clone(), 1 << 16),
            &valid,
            args.eval_limit,
        )?;
        for (role, s) in &scores {
            if !roles.contains(role) {
                continue;
            }
            eprintln!(
                "valid {role}: {} tokens, NLL {:.3} nats/token, top-1 {:.1}%, top-5 {:.1}%",
                s.tokens,
                s.nll(),
                100.0 * s.top1_acc(),
                100.0 * s.top5_acc()
            );
            metrics.insert(format!("valid_nll_{role}"), s.nll());
            metrics.insert(format!("valid_top1_{role}"), s.top1_acc());
            metrics.insert(format!("valid_top5_{role}"), s.top5_acc());
        }
    }
    let name = args.name.clone().unwrap_or_else(|| {
        format!(
            "Markov baseline ({})",
            roles.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
        )
    });
    let mut manifest = Manifest {
        microtiming: ds.manifest.microtiming,
        data: ds.manifest.sources.clone(),
        metrics,
        trainer_revision: crate::export::git_revision(),
        register: train.registers(),
        meters: train.meters(),
        ..Manifest::new(
            name,
            format!("Variable-order Markov model (order {order}, Witten-Bell) over Sideman tokens"),
            ModelKind::Markov {
                file: MARKOV_FILE.into(),
                order: order as u32,
            },
            ds.manifest.vocab.clone(),
            roles,
        )
    };
    Package::write(&args.out, &mut manifest)?;
    eprintln!("wrote {} in {:.1} s", args.out.display(), t0.elapsed().as_secs_f64());
    Ok(())
}

/// Loads the Markov table of a package (for `eval` and `generate`).
pub fn load_table(pkg: &Package) -> anyhow::Result<Arc<MarkovTable>> {
    match &pkg.manifest.model {
        ModelKind::Markov { file, .. } => Ok(Arc::new(MarkovTable::from_bytes(&pkg.read(file)?)?)),
        _ => bail!("{} is not a Markov package", pkg.dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::{Note, Sequence, Tokenizer};

    #[test]
    fn scores_are_finite_and_a_trained_model_beats_uniform() {
        let mut s = Sequence::new(Role::Bass);
        for i in 0..64 {
            s.notes.push(Note {
                start: i as f64,
                duration: 1.0,
                pitch: [36u8, 43, 41, 38][i % 4],
                velocity: 90,
            });
        }
        let ids = Tokenizer::default().encode(&s).unwrap();
        let mut b = MarkovBuilder::new(8);
        b.add_sequence(&ids);
        let mut m = MarkovModel::new(Arc::new(b.build(1, 1)));
        let st = score_sequence(&mut m, &ids).unwrap();
        assert!(st.tokens > 100);
        assert!(st.nll() < (VOCAB_SIZE as f64).ln() / 4.0, "{}", st.nll());
        assert!(st.top1_acc() > 0.9);
    }
}
