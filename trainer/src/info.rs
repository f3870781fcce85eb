//! `trainer info`: what a model package is: roles, styles, size, data and licences, metrics, and
//! its model card.

use anyhow::Context;
use models::package::{ModelKind, Package};

/// `trainer info` arguments.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Example:\n  trainer info builtin:jazz-lead\n  trainer info runs/my-pkg --metrics")]
pub struct InfoArgs {
    /// Model package: a folder, or `builtin:<id>` (jazz-lead, band, melody, markov).
    pub package: String,
    /// Also list every stored metric.
    #[arg(long)]
    pub metrics: bool,
}

/// `trainer info`.
pub fn run(args: &InfoArgs) -> anyhow::Result<()> {
    let pkg = Package::open(&args.package).with_context(|| format!("cannot open the model {}", args.package))?;
    let m = &pkg.manifest;
    println!("{}", m.name);
    println!("  {}", m.description);
    let roles: Vec<&str> = m.roles.iter().map(|r| r.name()).collect();
    println!("  roles       {}", roles.join(", "));
    println!("  styles      {} ({})", m.vocab.styles.len(), m.vocab.styles.join(", "));
    if let Some(p) = &m.players {
        println!(
            "  players     {} (generate --player NAME, or auto)",
            p.names().join(", ")
        );
    }
    for role in &m.roles {
        let names = m.phrasing_players(*role);
        if !names.is_empty() {
            println!(
                "  players     {role}, by their phrasing: {} (generate --role {role} --player NAME, or auto)",
                names.join(", ")
            );
        }
    }
    match &m.model {
        ModelKind::Transformer {
            fp32,
            int8,
            layers,
            d_model,
            context_len,
            ..
        } => {
            let size = |f: &Option<String>| {
                f.as_ref()
                    .and_then(|f| pkg.read(f).ok())
                    .map_or("-".to_string(), |b| format!("{:.2} MB", b.len() as f64 / 1e6))
            };
            println!(
                "  network     transformer, {layers} layers x {d_model}, context {context_len} tokens; int8 {}, fp32 {}",
                size(int8),
                size(fp32)
            );
        }
        ModelKind::Markov { order, file } => {
            let size = pkg.read(file).map(|b| b.len() as f64 / 1e6).unwrap_or(0.0);
            println!("  network     Markov, order {order}, {size:.2} MB");
        }
    }
    println!("  microtiming {}", if m.microtiming { "yes" } else { "no" });
    for d in &m.data {
        println!("  data        {} ({} pieces), licence {}", d.name, d.pieces, d.licence);
    }
    println!("  trainer     {}", m.trainer_revision);
    if args.metrics {
        for (k, v) in &m.metrics {
            println!("  {k:<48} {v:.4}");
        }
    }
    let card = match args.package.trim().strip_prefix(models::package::BUILTIN_PREFIX) {
        Some(id) => models::assets::builtin(id).map(|b| b.card.to_string()),
        None => std::fs::read_to_string(pkg.dir.join("CARD.md")).ok(),
    };
    match card {
        Some(c) => println!("\n{c}"),
        None => println!("\n(no CARD.md: `trainer export` and `trainer ship` write one)"),
    }
    Ok(())
}
