//! The music report as text: the tables `trainer eval` prints, and the markdown a model card
//! carries.

use super::*;

/// Whether metric `k` has no value anywhere in `r` (the humans', calibration's, the model's):
/// one the role does not have, as a bass's phrase length, or nothing to measure in these pieces,
/// as toms no groove plays. Its row is left out of the tables.
fn undefined(r: &RoleReport, k: usize) -> bool {
    [&r.human, &r.calibration, &r.model]
        .iter()
        .all(|set| !set.get(k).is_some_and(|v| v.is_finite()))
}

/// Prints the report as tables, marking values more than [`OFF_BY`] off the human ones with `*`.
pub fn print(report: &BTreeMap<String, RoleReport>, bars: u32) {
    for (role, r) in report {
        println!(
            "\n{role}: {} pieces, their first {bars} bars at most, over their own conditioning{} (* = more than {:.0} % off human)",
            r.pieces,
            if r.draws > 1 {
                format!(
                    ", {} samples of each (the Markov column one; ± the standard error over them)",
                    r.draws
                )
            } else {
                String::new()
            },
            OFF_BY * 100.0
        );
        // With draws, each sampled value is followed by its standard error.
        let se = r.std_err.as_ref();
        let w = if se.is_some() { 16 } else { 9 };
        let mut header = format!("{:<28} {:>8} {:>w$} {:>w$}", "metric", "human", "calibr.", "model");
        if r.harmony.is_some() {
            header += &format!(" {:>w$}", "+harmony");
        }
        if r.markov.is_some() {
            header += &format!(" {:>9}", "markov");
        }
        println!("{header}");
        for (k, key) in r.metrics.iter().enumerate() {
            if undefined(r, k) {
                continue;
            }
            let h = r.human.get(k).copied().unwrap_or(f64::NAN);
            let cell = |set: &[f64], err: Option<&Vec<f64>>| {
                let v = set.get(k).copied().unwrap_or(f64::NAN);
                let err = err.map_or(String::new(), |e| {
                    format!(" ±{:<5.3}", e.get(k).copied().unwrap_or(f64::NAN))
                });
                format!("{:>8.3}{}{err}", v, if is_off(v, h) { "*" } else { " " })
            };
            let mut line = format!(
                "{:<28} {:>8.3} {} {}",
                metric_label(key),
                h,
                cell(&r.calibration, se.map(|s| &s.calibration)),
                cell(&r.model, se.map(|s| &s.model))
            );
            if let Some(x) = &r.harmony {
                line += &format!(" {}", cell(x, se.and_then(|s| s.harmony.as_ref())));
            }
            if let Some(x) = &r.markov {
                line += &format!(" {}", cell(x, None));
            }
            println!("{line}");
        }
        let s = r.sensitivity;
        println!(
            "chord sensitivity (teacher-forced, {} windows, {} tokens): chords a tritone away cost {:+.4} nats/token ({:+.4} per pitch token); input a tritone away {:+.4} ({:+.4})",
            s.windows, s.tokens, s.chord_cost, s.chord_cost_pitch, s.input_cost, s.input_cost_pitch
        );
        println!(
            "rest calibration: at {} timing decisions before a given event, the human rested until it {:.3} of the time; the model gave it {:.3}",
            r.rest.points, r.rest.data_rate, r.rest.model_mass
        );
        if r.rest.points > 0 {
            println!(
                "  a next onset before it where the bar before had a given event: human {:.3}, model {:.3}; elsewhere: human {:.3}, model {:.3}",
                r.rest.data_early_echo, r.rest.model_early_echo, r.rest.data_early_other, r.rest.model_early_other
            );
        }
    }
}

/// The music report as Markdown tables for a model card: for each role, every metric beside the
/// human value of the same pieces, this model at calibration settings, with Harmony 0 and with
/// the default Harmony, and the previous model (Harmony 0) when given; values more than
/// [`OFF_BY`] off the human one are marked with `*`. Then the chord sensitivity and rest
/// calibration of both.
pub fn markdown(
    report: &BTreeMap<String, RoleReport>,
    previous: Option<&BTreeMap<String, RoleReport>>,
    previous_name: &str,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for (role, r) in report {
        let prev = previous.and_then(|p| p.get(role));
        let draws = if r.std_err.is_some() {
            format!(", {} draws of each; ± the standard error over the draws", r.draws)
        } else {
            String::new()
        };
        let _ = writeln!(s, "\n### {role} ({} pieces{draws})\n", r.pieces);
        let mut head = "| metric | human | this model, Harmony 0 | + default Harmony | calibration |".to_string();
        let mut rule = "| --- | --- | --- | --- | --- |".to_string();
        if prev.is_some() {
            head += &format!(" {previous_name}, Harmony 0 |");
            rule += " --- |";
        }
        let _ = writeln!(s, "{head}\n{rule}");
        for (k, key) in r.metrics.iter().enumerate() {
            if undefined(r, k) {
                continue;
            }
            let h = r.human.get(k).copied().unwrap_or(f64::NAN);
            let cell = |v: Option<f64>| match v {
                Some(v) if v.is_finite() => format!("{v:.3}{}", if is_off(v, h) { "*" } else { "" }),
                _ => "-".to_string(),
            };
            // With draws, the standard error after the value.
            let with_err = |v: Option<f64>, err: Option<&Vec<f64>>| match err.and_then(|e| e.get(k)) {
                Some(e) if e.is_finite() && v.is_some_and(f64::is_finite) => format!("{} ± {e:.3}", cell(v)),
                _ => cell(v),
            };
            let se = r.std_err.as_ref();
            let mut line = format!(
                "| {} | {} | {} | {} | {} |",
                metric_label(key),
                cell(Some(h)).trim_end_matches('*'),
                with_err(r.model.get(k).copied(), se.map(|s| &s.model)),
                with_err(
                    r.harmony.as_ref().and_then(|x| x.get(k).copied()),
                    se.and_then(|s| s.harmony.as_ref())
                ),
                with_err(r.calibration.get(k).copied(), se.map(|s| &s.calibration)),
            );
            if let Some(p) = prev {
                line += &format!(" {} |", cell(p.value(&p.model, key)));
            }
            let _ = writeln!(s, "{line}");
        }
        // Each teacher-forced check where the pieces give it something to measure (no chord
        // symbols, no input, no given events: no sentence rather than a NaN).
        let sens = |x: &RoleReport| {
            let mut parts = Vec::new();
            let (sv, rv) = (&x.sensitivity, &x.rest);
            if sv.chord_cost.is_finite() {
                parts.push(format!(
                    "chords a tritone away cost {:+.3} nats per predicted token ({:+.3} per pitch token)",
                    sv.chord_cost, sv.chord_cost_pitch
                ));
            }
            if sv.input_cost.is_finite() {
                parts.push(format!(
                    "the input a tritone away {:+.3} ({:+.3})",
                    sv.input_cost, sv.input_cost_pitch
                ));
            }
            if rv.data_rate.is_finite() {
                parts.push(format!(
                    "rests before a given event: human {:.2}, model {:.2}",
                    rv.data_rate, rv.model_mass
                ));
            }
            parts.join("; ")
        };
        let this = sens(r);
        if !this.is_empty() {
            let _ = writeln!(s, "\nThis model: {this}.");
            if let Some(before) = prev.map(sens).filter(|b| !b.is_empty()) {
                let _ = writeln!(s, "{previous_name}: {before}.");
            }
        }
    }
    s
}
