//! `trainer ship`: turns an evaluated package into a default model (a Markov package is copied whole) under `models/assets/`: the
//! int8 graph only (the fp32 one stays in the run's package), its manifest, and a model card
//! (`CARD.md`) written from the manifest's facts and metrics, so the card cannot drift from the
//! model it describes.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use models::package::{ModelKind, Package};

/// Arguments of `trainer ship`.
#[derive(Debug, Args)]
pub struct ShipArgs {
    /// Evaluated package (from `trainer export`, then `trainer eval --write`).
    pub package: PathBuf,
    /// Asset folder to write (for example `models/assets/jazz-lead`).
    #[arg(long)]
    pub out: PathBuf,
    /// Name shown in the plugin's model picker.
    #[arg(long)]
    pub name: Option<String>,
    /// How the package was built (the commands), for the card.
    #[arg(long, default_value = "see models/README.md")]
    pub recipe: String,
}

/// `trainer ship`.
pub fn run(args: &ShipArgs) -> anyhow::Result<()> {
    let pkg = Package::load(&args.package).with_context(|| format!("loading {}", args.package.display()))?;
    let mut manifest = pkg.manifest.clone();
    if let Some(name) = &args.name {
        manifest.name = name.clone();
    }
    std::fs::create_dir_all(&args.out)?;
    let (file, fp32_size) = match &mut manifest.model {
        ModelKind::Transformer { fp32, int8, .. } => {
            let Some(int8_file) = int8.clone() else {
                bail!(
                    "{} has no int8 variant (export without --no-int8)",
                    args.package.display()
                );
            };
            let fp32_size = fp32
                .take()
                .and_then(|f| std::fs::metadata(pkg.file(&f)).map(|m| m.len()).ok());
            (int8_file, fp32_size)
        }
        ModelKind::Markov { file, .. } => (file.clone(), None),
    };
    let bytes = pkg.read(&file)?;
    if args.out.canonicalize().ok() != args.package.canonicalize().ok() {
        std::fs::write(args.out.join(&file), &bytes)?;
    }
    Package::write(&args.out, &mut manifest)?;
    let card = card(&manifest, bytes.len() as u64, fp32_size, &args.recipe);
    std::fs::write(args.out.join("CARD.md"), card)?;
    println!(
        "shipped {} -> {} ({:.2} MB model file)",
        manifest.name,
        args.out.display(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}

/// The model card of a shipped package.
pub fn card(m: &models::package::Manifest, int8_bytes: u64, fp32_bytes: Option<u64>, recipe: &str) -> String {
    let metric = |k: &str| m.metrics.get(k).copied();
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", m.name);
    let _ = writeln!(s, "{}\n", m.description);
    let roles: Vec<String> = m.roles.iter().map(|r| r.to_string()).collect();
    let _ = writeln!(s, "| | |\n| --- | --- |");
    let _ = writeln!(s, "| roles | {} |", roles.join(", "));
    let styles = if m.vocab.styles.len() > 12 {
        format!(
            "{} tags ({}, ...)",
            m.vocab.styles.len(),
            m.vocab.styles[..12].join(", ")
        )
    } else {
        m.vocab.styles.join(", ")
    };
    let _ = writeln!(s, "| styles | {styles} |");
    if let Some(p) = metric("parameters") {
        let _ = writeln!(s, "| parameters | {:.2} M |", p / 1e6);
    }
    let kind = match m.model {
        ModelKind::Transformer { .. } => "int8",
        ModelKind::Markov { .. } => "Markov table",
    };
    let _ = write!(s, "| size | {:.2} MB {kind} (shipped)", int8_bytes as f64 / 1e6);
    if let Some(f) = fp32_bytes {
        let _ = write!(s, ", {:.2} MB fp32 (not shipped)", f as f64 / 1e6);
    }
    let _ = writeln!(s, " |");
    for (k, label) in [
        ("decode_ms_per_token_int8", "int8"),
        ("decode_ms_per_token_fp32", "fp32"),
    ] {
        if let Some(ms) = metric(k).filter(|ms| *ms > 0.0) {
            let _ = writeln!(
                s,
                "| decode speed {label} | {:.0} tokens/s ({ms:.3} ms/token, batch 1, KV cache, 1 thread) |",
                1000.0 / ms
            );
        }
    }
    if let (Some(a), Some(k)) = (metric("int8_top1_agreement"), metric("int8_mean_kl")) {
        let _ = writeln!(
            s,
            "| int8 vs fp32 | top-1 agreement {:.1}%, mean KL {k:.1e} |",
            a * 100.0
        );
    }
    if let Some(t) = metric("train_tokens") {
        let _ = writeln!(
            s,
            "| training | {:.1} M tokens, {} steps |",
            t / 1e6,
            metric("train_steps").unwrap_or(0.0)
        );
    }
    let _ = writeln!(s, "| trainer revision | {} |", m.trainer_revision);
    let _ = writeln!(s, "\n## Data\n");
    for d in &m.data {
        let _ = writeln!(
            s,
            "- **{}** ({} pieces): {}. Licence: {}.",
            d.name, d.pieces, d.provenance, d.licence
        );
    }
    let _ = writeln!(
        s,
        "\n## Validation likelihood against the Markov baseline\n\nSame validation split, same tokens; lower is better (NLL in nats per predicted token).\n"
    );
    let _ = writeln!(s, "| role | model NLL | model top-1 | Markov NLL | change |");
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    let mut groups: Vec<&str> = vec!["all"];
    groups.extend(m.roles.iter().map(|r| r.name()));
    for g in groups {
        if let Some(n) = metric(&format!("valid_nll_{g}")) {
            let top1 = metric(&format!("valid_top1_{g}")).map_or(String::from("-"), |t| format!("{:.1}%", t * 100.0));
            let (b, change) = match metric(&format!("baseline_valid_nll_{g}")) {
                Some(b) => (format!("{b:.3}"), format!("{:+.1}%", (n / b - 1.0) * 100.0)),
                None => ("-".into(), "-".into()),
            };
            let _ = writeln!(s, "| {g} | {n:.3} | {top1} | {b} | {change} |");
        }
    }
    let mut music_rows = Vec::new();
    for role in &m.roles {
        for name in [
            "chord_tone_ratio",
            "scale_consistency",
            "dead_air",
            "notes_per_bar",
            "repetition4",
            "groove_consistency",
        ] {
            let get = |who: &str| metric(&format!("music_{}_{name}_{who}", role.name()));
            if let Some(model) = get("model") {
                let fmt = |v: Option<f64>| v.map_or(String::from("-"), |v| format!("{v:.2}"));
                music_rows.push(format!(
                    "| {role} | {name} | {model:.2} | {} | {} | {} |",
                    fmt(get("harmony")),
                    fmt(get("human")),
                    fmt(get("markov"))
                ));
            }
        }
    }
    if !music_rows.is_empty() {
        let _ = writeln!(
            s,
            "\n## Music metrics of generated samples\n\nSamples over the validation pieces' own chords and input, beside the human parts of the same bars. *model*: the network alone; *+ Harmony*: with the chord-tone pull the plugin and `trainer generate` apply by default (Harmony 25 %, 1 nat).\n"
        );
        let _ = writeln!(
            s,
            "| role | metric | model | + Harmony | human | Markov |\n| --- | --- | --- | --- | --- | --- |"
        );
        for r in music_rows {
            let _ = writeln!(s, "{r}");
        }
    }
    let _ = writeln!(s, "\n## How it was built\n\n{recipe}");
    s
}
