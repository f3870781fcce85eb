//! Argument checks shared by the subcommands: value parsers with ranges (so nonsense is refused
//! before any work starts, with the range in the message) and the rules for output files (an
//! existing file is replaced only with `--force`; an output is never one of the inputs).

use std::path::{Path, PathBuf};

/// Lowest and highest tempo accepted, BPM.
pub const TEMPO_RANGE: (f64, f64) = (20.0, 400.0);
/// Most bars one `generate` writes.
pub const MAX_BARS: u32 = 2000;
/// Largest Harmony bonus, nats (the plugin's 100 %).
pub const MAX_HARMONY: f32 = models::sampling::FULL_CHORD_TONES;

/// `s` as a finite number; otherwise an error that states `rule` (the allowed range), so NaN,
/// infinity and words are refused with the range in the message like any other value.
fn finite(s: &str, rule: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("{rule} (got {s})")),
        Err(_) => Err(format!("{rule} (got {s:?}, not a number)")),
    }
}

/// A tempo in BPM within [`TEMPO_RANGE`].
pub fn tempo(s: &str) -> Result<f64, String> {
    let (lo, hi) = TEMPO_RANGE;
    let rule = format!("a tempo must be {lo}-{hi} BPM");
    let v = finite(s, &rule)?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// A time budget in minutes: 1 to a day.
pub fn minutes(s: &str) -> Result<f64, String> {
    let rule = "a budget must be 1-1440 minutes";
    let v = finite(s, rule)?;
    if (1.0..=1440.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// A share of the training windows: 0 to 0.9.
pub fn share(s: &str) -> Result<f64, String> {
    let rule = "a share must be 0-0.9";
    let v = finite(s, rule)?;
    if (0.0..=0.9).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// The value parser of every `--role`: one of [`models::Role::ALL`], listed in `--help` and in
/// the error.
pub fn roles() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(models::Role::ALL.map(|r| r.name()))
}

/// The roles a list of `--role` names (checked by [`roles`]) names.
pub fn parse_roles(names: &[String]) -> anyhow::Result<Vec<models::Role>> {
    names
        .iter()
        .map(|r| models::Role::parse(r).ok_or_else(|| anyhow::anyhow!("unknown role {r:?}")))
        .collect()
}

/// A sampling temperature: finite, above 0, at most 10.
pub fn temperature(s: &str) -> Result<f32, String> {
    let rule = "a temperature must be above 0 and at most 10";
    let v = finite(s, rule)?;
    if v > 0.0 && v <= 10.0 {
        Ok(v as f32)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// A nucleus mass in (0, 1].
pub fn top_p(s: &str) -> Result<f32, String> {
    let rule = "top-p must be above 0 and at most 1";
    let v = finite(s, rule)?;
    if v > 0.0 && v <= 1.0 {
        Ok(v as f32)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// A fraction in [0, 1] (density, feel amounts).
pub fn unit(s: &str) -> Result<f32, String> {
    let rule = "must be between 0 and 1";
    let v = finite(s, rule)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v as f32)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// A Harmony bonus in [0, [`MAX_HARMONY`]] nats.
pub fn harmony(s: &str) -> Result<f32, String> {
    let rule = format!("harmony must be 0-{MAX_HARMONY} nats");
    let v = finite(s, &rule)?;
    if (0.0..=MAX_HARMONY as f64).contains(&v) {
        Ok(v as f32)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// A Memory percentage in [0, 200] (the plugin's Memory knob).
pub fn memory_pct(s: &str) -> Result<f32, String> {
    let rule = "memory must be 0-200 %";
    let v = finite(s, rule)?;
    if (0.0..=200.0).contains(&v) {
        Ok(v as f32)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// Feel in percent: 0 (quantized) to 200 (twice the model's own offsets from the grid).
pub fn feel(s: &str) -> Result<f64, String> {
    let rule = "feel must be 0-200 %";
    let v = finite(s.trim().trim_end_matches('%'), rule)?;
    if (0.0..=200.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// Swing in percent: 50 (straight) to 75.
pub fn swing(s: &str) -> Result<f64, String> {
    let rule = "swing must be 50-75 % (50 straight, 67 triplet)";
    let v = finite(s.trim().trim_end_matches('%'), rule)?;
    if (50.0..=75.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// Fill every N bars: 0 (off), 2, 4, 8 or 16.
pub fn fills(s: &str) -> Result<u32, String> {
    let rule = "fills must be 0 (off), 2, 4, 8 or 16 bars";
    match s.trim().parse::<u32>() {
        Ok(v) if [0, 2, 4, 8, 16].contains(&v) => Ok(v),
        _ => Err(format!("{rule} (got {s:?})")),
    }
}

/// A time signature, `N/D` (`6/8`), one the tokenizer writes (n/2 up to 6, n/4 up to 12, n/8
/// and n/16 up to 16).
pub fn meter(s: &str) -> Result<(u8, u8), String> {
    let rule = "a meter is N/D: n/2 (n 1-6), n/4 (1-12), n/8 or n/16 (1-16)";
    match models::meters::parse(s) {
        Some((n, d)) if models::tokenizer::vocab::time_signature_index(n, d).is_some() => Ok((n, d)),
        _ => Err(format!("{rule} (got {s:?})")),
    }
}

/// A bar count in 1..=[`MAX_BARS`].
pub fn bars(s: &str) -> Result<u32, String> {
    let rule = format!("bars must be 1-{MAX_BARS}");
    let v: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{rule} (got {s:?}, not a whole number)"))?;
    if (1..=MAX_BARS as i64).contains(&v) {
        Ok(v as u32)
    } else {
        Err(format!("{rule} (got {v})"))
    }
}

/// Refuses an output that is one of `inputs` (the same file by any path), and an existing output
/// without `force`.
pub fn check_output(out: &Path, inputs: &[&Path], force: bool) -> anyhow::Result<()> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    };
    for i in inputs {
        if same(out, i) {
            anyhow::bail!(
                "the output {} is also an input: choose another --out (nothing was written)",
                out.display()
            );
        }
    }
    if out.exists() && !force {
        anyhow::bail!(
            "{} already exists: add --force to replace it (nothing was written)",
            out.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename, so a
/// failure never leaves a half-written file nor destroys the old one.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // tempfile appends ` at path "<the temporary file>"` to what the OS said: only `path` counts.
    let cannot = |e: std::io::Error| {
        let why = e.to_string();
        let why = why.split(" at path ").next().unwrap_or_default();
        anyhow::anyhow!("cannot write {}: {why}", path.display())
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(cannot)?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(cannot)?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_refuse_nonsense() {
        for bad in ["0", "NaN", "inf", "-5", "1e9", "x"] {
            assert!(tempo(bad).is_err(), "{bad}");
        }
        assert_eq!(tempo("140").unwrap(), 140.0);
        for bad in ["0", "NaN", "-1", "inf"] {
            assert!(temperature(bad).is_err(), "{bad}");
        }
        assert!(top_p("5").is_err() && top_p("0").is_err() && top_p("1").is_ok());
        assert!(unit("7").is_err() && unit("-0.1").is_err() && unit("0.5").is_ok());
        for bad in ["0", "100000", "4294967295", "-3"] {
            assert!(bars(bad).is_err(), "{bad}");
        }
        assert!(harmony("100").is_err() && harmony("1").is_ok());
    }

    #[test]
    fn outputs_never_replace_inputs_or_files_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let take = dir.path().join("take.mid");
        std::fs::write(&take, b"user's performance").unwrap();
        let err = check_output(&take, &[&take], true).unwrap_err().to_string();
        assert!(err.contains("also an input"), "{err}");
        let other = dir.path().join("./take.mid");
        assert!(check_output(&other, &[&take], true).is_err());
        let err = check_output(&take, &[], false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        assert!(check_output(&take, &[], true).is_ok());
        assert!(check_output(&dir.path().join("new.mid"), &[&take], false).is_ok());
        write_file_atomic(&dir.path().join("new.mid"), b"abc").unwrap();
        assert_eq!(std::fs::read(dir.path().join("new.mid")).unwrap(), b"abc");
        assert_eq!(std::fs::read(&take).unwrap(), b"user's performance");
    }
}
