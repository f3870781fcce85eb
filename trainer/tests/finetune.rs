//! `trainer finetune` end to end on a tiny package and pieces the test writes, and the `trainer
//! train --resume` promise at the process level: a run killed with SIGKILL, or stopped with Ctrl-C,
//! and resumed with only `--resume` ends with exactly the parameters of an uninterrupted run.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use models::tokenizer::Vocab;
use sideman_trainer::finetune::{FinetuneArgs, FinetuneReport};
use sideman_trainer::train::RunInfo;

const TRAINER: &str = env!("CARGO_BIN_EXE_trainer");

fn tiny_package(dir: &Path) {
    let (_, params) = tiny_model(3);
    let info = RunInfo {
        seed: 3,
        data: dir.to_path_buf(),
        init: None,
        sources: vec![],
        microtiming: false,
        roles: vec![models::Role::Lead, models::Role::Bass, models::Role::Drums],
        // Narrower than the grooves the tests fine-tune on: the fine-tune's spans both.
        registers: [("lead".to_string(), [60, 62]), ("bass".to_string(), [40, 41])].into(),
        // The base model learned 3/2 only: the fine-tune adds the grooves' 4/4.
        meters: [("lead".to_string(), [("3/2".to_string(), 500)].into())].into(),
        no_input: Default::default(),
        no_chords: Default::default(),
    };
    sideman_trainer::export::write_package(
        dir,
        "Tiny",
        &tiny_config(),
        &params,
        &Vocab::new(),
        &info,
        BTreeMap::new(),
        true,
    )
    .unwrap();
}

#[test]
fn finetune_turns_a_folder_and_a_style_into_a_better_package() {
    if skip_without_ort() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("tiny");
    tiny_package(&pkg);
    // Calibrations of the starting model, which the fine-tune plays with.
    let mut base = models::package::Package::load(&pkg).unwrap().manifest;
    base.register_hold.insert("bass".into(), 5.0);
    base.length_hold.insert("bass".into(), 1.0);
    base.note_bias.insert("lead".into(), -0.1);
    models::package::Package::write(&pkg, &mut base).unwrap();
    // "chorales": a folder name whose hash split put no piece in validation before.
    let mine = tmp.path().join("chorales");
    write_grooves(&mine, 12, 2);
    // Half of them titled as reels (`--tune-kinds`), under the same file names.
    for i in (0..12u8).step_by(2) {
        let mut p = common::groove_piece(i, 2);
        p.tracks[0].name = format!("Take {i} -- Reel");
        std::fs::write(mine.join(format!("take{i:02}.mid")), models::midi::write_smf(&p)).unwrap();
    }
    let config = tmp.path().join("ft.toml");
    std::fs::write(
        &config,
        "[train]\nbatch_size = 4\nlr = 3e-3\nwarmup_steps = 2\nmax_steps = 24\nmax_epochs = 50\nwindow_bars = 4\nwindow_stride_bars = 2\n",
    )
    .unwrap();
    let out = tmp.path().join("mine-pkg");
    let args = FinetuneArgs {
        from: pkg.display().to_string(),
        inputs: vec![mine.display().to_string()],
        style: "Test / Mine".into(),
        chords: None,
        tune_kinds: true,
        out: out.clone(),
        minutes: 10.0,
        role: vec!["lead".into(), "bass".into()],
        reference: None,
        rehearsal: 0.5,
        config: Some(config),
        seed: 1,
        samples: Some(2),
        force: false,
        resume: false,
        quiet: true,
    };
    sideman_trainer::finetune::run(&args).unwrap();
    // A package the plugin loads, with the style in its menu and a card with the report.
    let p = models::package::Package::load(&out).unwrap();
    assert!(p.manifest.vocab.styles.iter().any(|s| s == "Test / Mine"));
    // And the kind the titles name, beside it.
    assert!(
        p.manifest.vocab.styles.iter().any(|s| s == "reel"),
        "{:?}",
        p.manifest.vocab.styles
    );
    // It plays with the starting model's calibrations.
    assert_eq!(p.manifest.register_hold(models::Role::Bass), 5);
    assert_eq!(p.manifest.length_hold(models::Role::Bass), 1.0);
    assert_eq!(p.manifest.note_bias(models::Role::Lead), -0.1);
    // The register spans the base model's and the user's pieces' (a lead from D4 up).
    let (lo, hi) = p.manifest.register(models::Role::Lead).unwrap();
    assert!(lo <= 60 && hi >= 70, "lead register {lo}-{hi}");
    let (lo, hi) = p.manifest.register(models::Role::Bass).unwrap();
    assert!(lo <= 40 && hi > 41, "bass register {lo}-{hi}");
    // So do its meters: the base model's 3/2 and the grooves' 4/4.
    let learned = p.manifest.learned_meters(models::Role::Lead);
    assert!(learned.contains(&(3, 2)) && learned.contains(&(4, 4)), "{learned:?}");
    assert!(p.manifest.learned_meters(models::Role::Bass).contains(&(4, 4)));
    let card = std::fs::read_to_string(out.join("CARD.md")).unwrap();
    assert!(card.contains("before") && card.contains("after"), "{card}");
    let work = tmp.path().join("mine-pkg.work");
    let report: FinetuneReport =
        serde_json::from_str(&std::fs::read_to_string(work.join("finetune.json")).unwrap()).unwrap();
    assert!(
        report.pieces["valid"] >= 1 && report.pieces["test"] >= 1,
        "{:?}",
        report.pieces
    );
    assert!(report.best_step > 0 && report.best_step <= 24);
    let change = report.user_change().unwrap();
    assert!(change < -0.10, "held-out NLL changed by {change}");
    assert!(report.after.as_ref().unwrap().music.contains_key("lead"));
    assert_eq!(
        p.manifest.metrics.get("train_steps").copied(),
        Some(report.best_step as f64)
    );
    // An existing package is not replaced without --force.
    let again = sideman_trainer::finetune::run(&args).unwrap_err().to_string();
    assert!(again.contains("--force"), "{again}");
    assert!(out.join("manifest.json").is_file());
}

fn checkpoint_params(run: &Path) -> Vec<u8> {
    let name = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    std::fs::read(run.join("checkpoints").join(name.trim()).join("params.safetensors")).unwrap()
}

fn latest_step(run: &Path) -> Option<u64> {
    let name = std::fs::read_to_string(run.join("checkpoints/latest")).ok()?;
    name.trim().strip_prefix("step-")?.parse().ok()
}

#[test]
fn resume_after_kill_9_with_only_resume_reproduces_the_run_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("mine");
    write_grooves(&mine, 10, 2);
    let data = tmp.path().join("data");
    let st = Command::new(TRAINER)
        .args(["prepare", "--out"])
        .arg(&data)
        .arg("--input")
        .arg(&mine)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let config = tmp.path().join("tiny.toml");
    let c = tiny_config();
    std::fs::write(
        &config,
        format!(
            "[model]\nlayers = {}\nd_model = {}\nheads = {}\nd_ff = {}\ncontext = {}\nrope_base = 10000.0\nrope_span = 4\nvocab = {}\nfeatures = true\n\
             [train]\nbatch_size = 2\nlr = 3e-3\nwarmup_steps = 3\nmax_steps = 120\nmax_epochs = 100\ncheckpoint_every = 5\nlog_every = 5\neval_every = 20\nwindow_bars = 4\nwindow_stride_bars = 2\npatience = 0\n",
            c.layers, c.d_model, c.heads, c.d_ff, c.context, c.vocab
        ),
    )
    .unwrap();
    let train = |out: &Path| {
        let mut cmd = Command::new(TRAINER);
        cmd.args(["train", "--quiet", "--seed", "7", "--data"])
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .arg("--out")
            .arg(out);
        cmd
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let st = train(&a).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    // The same run, killed once it has a checkpoint and before its end.
    let mut child = train(&b).spawn().unwrap();
    let t0 = Instant::now();
    let killed_at = loop {
        if let Some(s) = latest_step(&b).filter(|&s| s >= 10) {
            child.kill().unwrap(); // SIGKILL
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "no checkpoint after 5 minutes");
        if child.try_wait().unwrap().is_some() {
            panic!("the run ended before it could be killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = child.wait();
    assert!(killed_at < 120, "killed too late to test anything ({killed_at})");
    let st = Command::new(TRAINER)
        .args(["train", "--quiet", "--resume", "--out"])
        .arg(&b)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert_eq!(latest_step(&b), Some(120));
    assert!(
        checkpoint_params(&a) == checkpoint_params(&b),
        "final parameters differ after kill -9 and --resume"
    );
    assert!(
        std::fs::read(a.join("best.safetensors")).unwrap() == std::fs::read(b.join("best.safetensors")).unwrap(),
        "best parameters differ"
    );
    // Ctrl-C (SIGINT): a checkpoint at the step reached, exit 130, and --resume ends the same.
    let c = tmp.path().join("c");
    let child = train(&c).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let t0 = Instant::now();
    while latest_step(&c).is_none_or(|s| s < 10) {
        assert!(t0.elapsed() < Duration::from_secs(300), "no checkpoint after 5 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(130) {
        let step: u64 = err
            .split("interrupted at step ")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no step in {err}"));
        assert_eq!(
            latest_step(&c),
            Some(step),
            "the checkpoint is not the step Ctrl-C stopped at"
        );
    } else {
        // The run ended before the signal arrived.
        assert!(out.status.success(), "{err}");
    }
    let st = Command::new(TRAINER)
        .args(["train", "--quiet", "--resume", "--out"])
        .arg(&c)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert!(
        checkpoint_params(&a) == checkpoint_params(&c),
        "final parameters differ after Ctrl-C and --resume"
    );
    // A contradicting flag is refused, not ignored.
    let st = Command::new(TRAINER)
        .args(["train", "--resume", "--seed", "8", "--out"])
        .arg(&b)
        .output()
        .unwrap();
    assert!(!st.status.success());
    assert!(String::from_utf8_lossy(&st.stderr).contains("--seed 7"));
}

/// `builtin:<id>` works wherever a package is read: info, eval, train --init, ship, prepare --vocab.
#[test]
fn builtin_models_are_accepted_by_every_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(TRAINER).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "trainer {args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let info = run(&["info", "builtin:band"]);
    assert!(info.contains("drums"), "{info}");
    let mine = tmp.path().join("mine");
    write_grooves(&mine, 6, 1);
    let data = tmp.path().join("data");
    let p = |x: &Path| x.display().to_string();
    run(&[
        "prepare",
        "--input",
        &p(&mine),
        "--out",
        &p(&data),
        "--vocab",
        "builtin:band",
    ]);
    let shipped = tmp.path().join("asset");
    let soloists = tmp.path().join("soloists.json");
    std::fs::write(&soloists, r#"{"Miles Davis": -0.9, "Chet Baker": 0.3}"#).unwrap();
    let fast = tmp.path().join("fast.json");
    std::fs::write(&fast, r#"{"Miles Davis": 2}"#).unwrap();
    run(&[
        "ship",
        "builtin:melody",
        "--out",
        &p(&shipped),
        "--note-temperature",
        "lead=0.7",
        "--note-top-p",
        "piano=0.99",
        "--harmony",
        "lead=0",
        "--memory",
        "lead=rel:0.5,0.25",
        "--silence",
        "piano=0.5",
        "--player-silence",
        &format!("lead={}", p(&soloists)),
        "--fast-notes",
        "lead=0.5",
        "--player-fast-notes",
        &format!("lead={}", p(&fast)),
    ]);
    assert!(shipped.join("CARD.md").is_file() && shipped.join("manifest.json").is_file());
    let tuned = models::package::Package::load(&shipped).unwrap();
    assert_eq!(tuned.manifest.note_temperature(models::Role::Lead), 0.7);
    let memory = tuned.manifest.memory(models::Role::Lead);
    assert!(memory.relative && memory.cells[..3] == [0.5, 0.25, 0.0], "{memory:?}");
    let melody = models::package::Package::open("builtin:melody").unwrap();
    assert_eq!(
        tuned.manifest.note_temperature(models::Role::Piano),
        melody.manifest.note_temperature(models::Role::Piano),
        "a role not named keeps its tuning"
    );
    let card = std::fs::read_to_string(shipped.join("CARD.md")).unwrap();
    let row = card
        .lines()
        .find(|l| l.starts_with("| tuned note temperature | "))
        .unwrap_or_default();
    assert!(row.contains("lead 0.7,") || row.contains("lead 0.7 ("), "{card}");
    assert_eq!(tuned.manifest.note_top_p(models::Role::Piano), 0.99);
    assert_eq!(
        tuned.manifest.note_top_p(models::Role::Lead),
        models::sampling::DEFAULT_TOP_P
    );
    assert!(card.contains("| tuned note top-p | piano 0.99 ("), "{card}");
    assert_eq!(tuned.manifest.silence(models::Role::Piano), 0.5);
    assert_eq!(
        tuned.manifest.silence(models::Role::Lead),
        melody.manifest.silence(models::Role::Lead),
        "a role not named keeps its calibration"
    );
    assert!(card.contains("piano +0.5 nats for each beat"), "{card}");
    let lead = models::Role::Lead;
    assert_eq!(tuned.manifest.silence_of(lead, Some("Miles Davis")), -0.9);
    assert_eq!(tuned.manifest.phrasing_players(lead), ["Chet Baker", "Miles Davis"]);
    assert_eq!(
        tuned.manifest.silence_of(lead, None),
        melody.manifest.silence(lead),
        "Auto: the role's"
    );
    assert!(
        card.contains("| silence by player | lead: 2 players") && card.contains("resting most: Miles Davis -0.90"),
        "{card}"
    );
    // A player's fast notes go with their silence; Chet Baker, fitted a silence alone, takes the
    // role's fast notes.
    let both = |player| tuned.manifest.phrasing_of(lead, Some(player));
    assert_eq!(
        (both("Miles Davis").silence, both("Miles Davis").fast_notes),
        (-0.9, 2.0)
    );
    assert_eq!((both("Chet Baker").silence, both("Chet Baker").fast_notes), (0.3, 0.5));
    assert!(
        card.contains("| fast-note calibration | lead +0.5 nats for a note at the heels")
            && card.contains("| fast notes by player | lead: 1 player, each fitted"),
        "{card}"
    );
    // A player's value out of its bounds is refused.
    for (file, flag, bounds) in [
        (&fast, "--player-fast-notes", "within -4 and 4"),
        (&soloists, "--player-silence", "within -2 and 2"),
    ] {
        std::fs::write(file, r#"{"Miles Davis": 5}"#).unwrap();
        let loud = Command::new(TRAINER)
            .args(["ship", &p(&shipped), "--out", &p(&tmp.path().join("loud"))])
            .arg(format!("{flag}=lead={}", p(file)))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&loud.stderr);
        assert!(!loud.status.success() && err.contains(bounds), "{flag}: {err}");
    }
    if !skip_without_ort() {
        let midi = tmp.path().join("miles.mid");
        let generate = |player: &str| {
            Command::new(TRAINER)
                .args([
                    "generate",
                    &p(&shipped),
                    "--role",
                    "lead",
                    "--chords",
                    "Dm7 G7",
                    "--bars",
                    "2",
                ])
                .arg("--out")
                .arg(&midi)
                .args(["--force", "--player", player])
                .output()
                .unwrap()
        };
        let ok = generate("Miles Davis");
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        let nobody = generate("Nobody");
        let err = String::from_utf8_lossy(&nobody.stderr);
        assert!(
            !nobody.status.success() && err.contains("auto, none, Chet Baker, Miles Davis"),
            "{err}"
        );
    }
    assert_eq!(tuned.manifest.harmony(models::Role::Lead), 0.0);
    // The piano keeps the shipped model's tuned Harmony (1 nat since the fifty-third session).
    let piano = melody.manifest.harmony(models::Role::Piano);
    assert!(
        card.contains(&format!("| tuned Harmony | lead 0, piano {piano} nats")),
        "{card}"
    );
    assert!(
        card.contains("| piece memory | lead (chord-relative, weight up to 0.50)"),
        "{card}"
    );
    let wrong = Command::new(TRAINER)
        .args([
            "ship",
            "builtin:melody",
            "--out",
            &p(&shipped),
            "--note-temperature",
            "drums=0.5",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        !wrong.status.success() && err.contains("does not play the drums role"),
        "{err}"
    );
    let config = tmp.path().join("one.toml");
    std::fs::write(
        &config,
        "[train]\nbatch_size = 2\nwindow_bars = 4\nmax_steps = 1\nlog_every = 1\n",
    )
    .unwrap();
    let ft = tmp.path().join("ft");
    run(&[
        "train",
        "--quiet",
        "--init",
        "builtin:band",
        "--data",
        &p(&data),
        "--config",
        &p(&config),
        "--out",
        &p(&ft),
    ]);
    assert!(ft.join("best.safetensors").is_file());
    if !skip_without_ort() {
        let report = run(&[
            "eval",
            "builtin:band",
            "--data",
            &p(&data),
            "--split",
            "all",
            "--samples",
            "0",
        ]);
        assert!(report.contains("drums"), "{report}");
    }
}
